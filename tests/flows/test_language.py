"""Tests of flows.language: locale codes, country defaults, reply language, resolution order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langdetect import DetectorFactory
from langdetect.detector import Detector
from langdetect.lang_detect_exception import ErrorCode, LangDetectException

from flows import language
from flows.catalog import CatalogError
from flows.language import (
    LANGDETECT_MIN_CHARS,
    LocaleSource,
    detect_language,
    locale_for_country,
    normalize_locale,
    resolve_locale,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pt-BR", "pt_BR"),
        ("pt_br", "pt_BR"),
        ("pt", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("EN", "en"),
        ("es-419", "es"),
        ("es-MX", "es"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh_Hans_CN", "zh_Hans"),
        ("zh-TW", "zh_Hans"),
        ("de_DE.UTF-8", "de"),
        ("fr-CA", "fr"),
        ("ja-JP", "ja"),
        ("ko_KR", "ko"),
        ("ar-EG", "ar"),
        ("hi-IN", "hi"),
        ("id-ID", "id"),
        ("in", "id"),
        ("deu", "de"),
        ("tr-TR", "tr"),
        (" es ", "es"),
        ("en-US-u-ca-gregory", "en"),
    ],
)
def test_normalize_locale_supported(code: str, expected: str) -> None:
    assert normalize_locale(code) == expected


@pytest.mark.parametrize(
    "code", ["it-IT", "it", "nl", "", "   ", None, "xx", "english", "en-!!", "123", "C", "-en"]
)
def test_normalize_locale_unsupported_or_invalid(code: str | None) -> None:
    assert normalize_locale(code) is None


def test_normalize_locale_non_string() -> None:
    assert normalize_locale(42) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("BR", "pt_BR"),
        ("br", "pt_BR"),
        (" MX ", "es"),
        ("ES", "es"),
        ("JP", "ja"),
        ("CN", "zh_Hans"),
        ("TW", "zh_Hans"),
        ("KR", "ko"),
        ("EG", "ar"),
        ("SA", "ar"),
        ("IN", "en"),
        ("ID", "id"),
        ("TR", "tr"),
        ("US", "en"),
        ("GB", "en"),
        ("DE", "de"),
        ("CH", "de"),
        ("FR", "fr"),
        ("PT", "pt_BR"),
    ],
)
def test_locale_for_country_supported(country: str, expected: str) -> None:
    assert locale_for_country(country) == expected


@pytest.mark.parametrize("country", ["IT", "BE", "IL", "ZZ", "USA", "", None, "1A", 7])
def test_locale_for_country_unsupported_or_invalid(country: object) -> None:
    assert locale_for_country(country) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("너무 비싸요", "ko"),
        ("はい", "ja"),
        ("ログインできない", "ja"),
        ("設定が難しい", "ja"),
        ("太贵了", "zh_Hans"),
        ("很好用，謝謝", "zh_Hans"),
        ("VPN老是断线", "zh_Hans"),
        ("ｻﾎﾟｰﾄ遅い", "ja"),
        ("غالي جدا", "ar"),
        ("बहुत महंगा", "hi"),
        ("Windows अपडेट के बाद बंद", "hi"),
    ],
)
def test_detect_language_script(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("too slow", "en"),
        ("great", "en"),
        ("precio muy alto", "es"),
        ("año tras año igual", "es"),
        ("muito lento", "pt_BR"),
        ("versões antigas", "pt_BR"),
        ("zu teuer", "de"),
        ("Größe", "de"),
        ("trop cher", "fr"),
        ("l’appli plante", "fr"),
        ("mahal banget", "id"),
        ("harganya naik", "id"),
        ("çok yavaş", "tr"),
        ("İyi değil", "tr"),
        ("bahut accha", "hi"),
    ],
)
def test_detect_language_latin(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "9",
        "10/10",
        "9 / 10 !!",
        "👍",
        "🙂🙂",
        "❤️",
        "9️⃣",
        "...",
        "ok",
        "OK 👍",
        "Ok!!",
        "yes",
        "no",
        "si",
        "stop",
        "no thanks",
        "9 de 10",
        "de la",
        "очень хорошо",
        "خیلی خوب",
        "שירות מצוין",
    ],
)
def test_detect_language_no_signal(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", [None, 42, "\x00", "\ud800"])
def test_detect_language_odd_input(text: object) -> None:
    assert detect_language(text) is None  # type: ignore[arg-type]


def test_langdetect_seeded_at_import() -> None:
    assert DetectorFactory.seed == 0


@pytest.fixture
def langdetect_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every Detector that flows.language creates, with the text appended to it."""
    calls: list[str] = []
    original_append = Detector.append

    def recording_append(self: Detector, text: str) -> None:
        calls.append(text)
        original_append(self, text)

    monkeypatch.setattr(Detector, "append", recording_append)
    return calls


def test_langdetect_runs_on_long_latin_reply(langdetect_calls: list[str]) -> None:
    assert detect_language("the reports take far too long to load every morning") == "en"
    assert len(langdetect_calls) == 1


@pytest.mark.parametrize(
    "text",
    [
        "9",
        "10/10",
        "ok",
        "yes",
        "nein",
        "too slow",
        "muy caro",
        "pas mal du tout mais bon",  # 24 letters and spaces
        "管理画面がわかりにくくて設定に時間がかかりました",
        "الدعم الفني بطيء جدا ولا يرد على الرسائل",
    ],
)
def test_langdetect_not_run_on_short_or_control_reply(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    def fail_if_called(self: DetectorFactory, alpha: float | None = None) -> Detector:
        raise AssertionError(f"langdetect was run on {text!r}")

    monkeypatch.setattr(DetectorFactory, "create", fail_if_called)
    detect_language(text)


def test_langdetect_threshold_boundary(langdetect_calls: list[str]) -> None:
    below = "pas mal du tout mais bon"
    at_threshold = below + "s"
    assert len(below) == LANGDETECT_MIN_CHARS - 1

    detect_language(below)
    assert langdetect_calls == []
    detect_language(f"{at_threshold} !!! 10/10")
    assert langdetect_calls == [at_threshold]


def test_langdetect_exception_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Detector) -> list[object]:
        raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")

    monkeypatch.setattr(Detector, "get_probabilities", fail)
    assert detect_language("the support team never answers our emails") == "en"
    assert detect_language("qwrtz bcdfg hjklm npqrst vwxyz bcdfg") is None


@pytest.fixture
def english_catalog_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make every catalog but the English one missing, as before translations exist."""
    real_get_catalog = language.get_catalog

    def get_catalog(locale: str) -> object:
        if locale != "en":
            raise CatalogError(f"no catalog for locale {locale!r}")
        return real_get_catalog(locale)

    monkeypatch.setattr(language, "get_catalog", get_catalog)
    language._control_phrases.cache_clear()
    yield
    language._control_phrases.cache_clear()


@pytest.mark.usefixtures("english_catalog_only")
def test_detect_language_english_catalog_only() -> None:
    assert detect_language("ok") is None
    assert detect_language("no thank you") is None
    assert detect_language("muy caro") == "es"
    assert detect_language("値段が高い") == "ja"


def test_locale_source_order() -> None:
    ordered = sorted(LocaleSource)
    assert ordered == [
        LocaleSource.DEFAULT,
        LocaleSource.COUNTRY,
        LocaleSource.TEXT,
        LocaleSource.PLATFORM,
        LocaleSource.EXPLICIT,
    ]


def test_resolve_locale_explicit_wins() -> None:
    resolved = resolve_locale(
        explicit="de", platform_code="fr-FR", text="muy caro", country="BR", default="ja"
    )
    assert resolved == ("de", LocaleSource.EXPLICIT)


def test_resolve_locale_platform_beats_text() -> None:
    resolved = resolve_locale(platform_code="pt-BR", text="muy caro", country="JP")
    assert resolved == ("pt_BR", LocaleSource.PLATFORM)


def test_resolve_locale_text_beats_country() -> None:
    assert resolve_locale(text="muy caro", country="BR") == ("es", LocaleSource.TEXT)


def test_resolve_locale_country_beats_default() -> None:
    assert resolve_locale(country="TR", default="fr") == ("tr", LocaleSource.COUNTRY)


def test_resolve_locale_default() -> None:
    assert resolve_locale(default="fr") == ("fr", LocaleSource.DEFAULT)
    assert resolve_locale() == ("en", LocaleSource.DEFAULT)


def test_resolve_locale_unsupported_falls_through() -> None:
    resolved = resolve_locale(explicit="it", platform_code="nl-NL", text="9/10", country="JP")
    assert resolved == ("ja", LocaleSource.COUNTRY)
    assert resolve_locale(explicit="it-IT", platform_code="ko") == ("ko", LocaleSource.PLATFORM)
    assert resolve_locale(text="ok", country="IT", default="es-MX") == ("es", LocaleSource.DEFAULT)


def test_resolve_locale_unsupported_default() -> None:
    assert resolve_locale(default="it") == ("en", LocaleSource.DEFAULT)


def test_resolve_locale_empty_values() -> None:
    resolved = resolve_locale(explicit="", platform_code=None, text="", country="", default="de")
    assert resolved == ("de", LocaleSource.DEFAULT)
