"""Reading chat replies: scores in every script and locale, yes/no, keywords, language names.

Expected values come from the locale catalogs under flows/locales/. The sweeps at the end of
each section read the catalogs, so a word a translator adds is checked without a new case.
"""

from __future__ import annotations

import pytest

from flows.answers import (
    EFFORT_PAYLOAD_PREFIX,
    SCORE_PAYLOAD_PREFIX,
    Keyword,
    is_skip,
    parse_keyword,
    parse_language_choice,
    parse_number,
    parse_payload_number,
    parse_yes_no,
)
from flows.catalog import SUPPORTED_LOCALES, get_catalog


def ten_point(text: str, expected: int | None, locale: str = "en", *, id: str) -> object:
    """Build one case of the 0-10 score table."""
    return pytest.param(text, locale, 0, 10, expected, id=id)


def five_point(text: str, expected: int | None, locale: str = "en", *, id: str) -> object:
    """Build one case of the 1-5 score table."""
    return pytest.param(text, locale, 1, 5, expected, id=id)


PARSE_CASES = [
    # ASCII digits and the noise around them.
    ten_point("0", 0, id="ascii-zero"),
    ten_point("7", 7, id="ascii-seven"),
    ten_point("10", 10, id="ascii-ten"),
    ten_point(" 8 ", 8, id="ascii-padded"),
    ten_point("9!", 9, id="ascii-exclaimed"),
    ten_point("(9)", 9, id="ascii-bracketed"),
    # Decimal digits of other scripts.
    ten_point("٩", 9, "ar", id="arabic-indic-nine"),
    ten_point("١٠", 10, "ar", id="arabic-indic-ten"),
    ten_point("٠", 0, "ar", id="arabic-indic-zero"),
    ten_point("٩", 9, "en", id="arabic-indic-nine-en"),
    ten_point("۹", 9, id="persian-nine"),
    ten_point("۱۰", 10, id="persian-ten"),
    ten_point("３", 3, "ja", id="full-width-three"),
    ten_point("１０", 10, "ja", id="full-width-ten"),
    ten_point("९", 9, "hi", id="devanagari-nine"),
    ten_point("१०", 10, "hi", id="devanagari-ten"),
    ten_point("৯", 9, id="bengali-nine"),
    ten_point("๙", 9, id="thai-nine"),
    # Keycap emoji, with and without the emoji variation selector.
    ten_point("0️⃣", 0, id="keycap-zero"),
    ten_point("5️⃣", 5, id="keycap-five"),
    ten_point("9️⃣", 9, id="keycap-nine"),
    ten_point("9\u20e3", 9, id="keycap-nine-bare"),
    ten_point("🔟", 10, id="keycap-ten"),
    # Fractions.
    ten_point("9/10", 9, id="slash-nine"),
    ten_point("10/10", 10, id="slash-ten"),
    ten_point("9 / 10", 9, id="slash-spaced"),
    ten_point("٩/١٠", 9, "ar", id="slash-arabic-indic"),
    ten_point("９／１０", 9, "ja", id="slash-full-width"),
    # pattern.out_of of each catalog.
    ten_point("10 out of 10", 10, id="en-out-of-ten"),
    ten_point("9 out of 10", 9, id="en-out-of-nine"),
    ten_point("8 of 10", 8, id="en-of"),
    ten_point("nine out of ten", 9, id="en-out-of-words"),
    ten_point("9 de 10", 9, "es", id="es-de"),
    ten_point("9 sobre 10", 9, "es", id="es-sobre"),
    ten_point("un 9 de 10", 9, "es", id="es-un-de"),
    ten_point("nueve de diez", 9, "es", id="es-de-words"),
    ten_point("9 de 10", 9, "pt_BR", id="pt-de"),
    ten_point("9 em 10", 9, "pt_BR", id="pt-em"),
    ten_point("nota 9 de 10", 9, "pt_BR", id="pt-nota-de"),
    ten_point("9 von 10", 9, "de", id="de-von"),
    ten_point("9 von 10 Punkten", 9, "de", id="de-von-punkten"),
    ten_point("neun von zehn", 9, "de", id="de-von-words"),
    ten_point("9 sur 10", 9, "fr", id="fr-sur"),
    ten_point("9 points sur 10", 9, "fr", id="fr-points-sur"),
    ten_point("10点中9点", 9, "ja", id="ja-chuu"),
    ten_point("10点満点中9点", 9, "ja", id="ja-manten"),
    ten_point("１０点中９点", 9, "ja", id="ja-chuu-full-width"),
    ten_point("10分中9分", 9, "zh_Hans", id="zh-zhong"),
    ten_point("满分10分给9分", 9, "zh_Hans", id="zh-manfen"),
    ten_point("9分（满分10分）", 9, "zh_Hans", id="zh-bracketed"),
    ten_point("10점 만점에 9점", 9, "ko", id="ko-manjeome"),
    ten_point("10점 중 9점", 9, "ko", id="ko-jung"),
    ten_point("9 من 10", 9, "ar", id="ar-min"),
    ten_point("٩ من ١٠", 9, "ar", id="ar-min-arabic-indic"),
    ten_point("9 من أصل 10", 9, "ar", id="ar-min-asl"),
    ten_point("10 में से 9", 9, "hi", id="hi-mein-se"),
    ten_point("9 out of 10", 9, "hi", id="hi-out-of"),
    ten_point("9 dari 10", 9, "id", id="id-dari"),
    ten_point("10 üzerinden 9", 9, "tr", id="tr-uzerinden"),
    ten_point("10'da 9", 9, "tr", id="tr-da"),
    ten_point("10点中9点", 9, "en", id="ja-phrasing-in-en"),
    # pattern.score of some catalogs.
    ten_point("i'd say 8", 8, id="en-id-say"),
    ten_point("I\u2019d say 8", 8, id="en-id-say-curly"),
    ten_point("le doy un 8", 8, "es", id="es-le-doy"),
    ten_point("ich gebe 8", 8, "de", id="de-ich-gebe"),
    ten_point("8点", 8, "ja", id="ja-ten"),
    ten_point("8점", 8, "ko", id="ko-jeom"),
    ten_point("8分", 8, "zh_Hans", id="zh-fen"),
    ten_point("8 puan", 8, "tr", id="tr-puan"),
    ten_point("nilai 8", 8, "id", id="id-nilai"),
    # number.N words, at least one per locale.
    ten_point("zero", 0, id="en-zero"),
    ten_point("nine", 9, id="en-nine"),
    ten_point("TEN", 10, id="en-ten-upper"),
    ten_point("cero", 0, "es", id="es-cero"),
    ten_point("nueve", 9, "es", id="es-nueve"),
    ten_point("nueve", 9, "en", id="es-word-in-en"),
    ten_point("três", 3, "pt_BR", id="pt-tres"),
    ten_point("dez", 10, "pt_BR", id="pt-dez"),
    ten_point("fünf", 5, "de", id="de-fuenf"),
    ten_point("neun", 9, "de", id="de-neun"),
    ten_point("zéro", 0, "fr", id="fr-zero"),
    ten_point("dix", 10, "fr", id="fr-dix"),
    ten_point("九", 9, "ja", id="ja-kanji-nine"),
    ten_point("きゅう", 9, "ja", id="ja-kana-nine"),
    ten_point("十", 10, "zh_Hans", id="zh-ten"),
    ten_point("玖", 9, "zh_Hans", id="zh-formal-nine"),
    ten_point("구", 9, "ko", id="ko-sino-nine"),
    ten_point("아홉", 9, "ko", id="ko-native-nine"),
    ten_point("تسعة", 9, "ar", id="ar-nine"),
    ten_point("عشرة", 10, "ar", id="ar-ten"),
    ten_point("नौ", 9, "hi", id="hi-nine"),
    ten_point("दस", 10, "hi", id="hi-ten"),
    ten_point("sembilan", 9, "id", id="id-nine"),
    ten_point("sepuluh", 10, "id", id="id-ten"),
    ten_point("dokuz", 9, "tr", id="tr-nine"),
    ten_point("SEKİZ", 8, "tr", id="tr-eight-dotted-capital"),
    # Replies that are not one score from 0 to 10.
    ten_point("11", None, id="reject-eleven"),
    ten_point("100", None, id="reject-hundred"),
    ten_point("-1", None, id="reject-negative"),
    ten_point("²", None, id="reject-superscript"),
    ten_point("①", None, id="reject-circled"),
    ten_point("7 or 8", None, id="reject-two-scores"),
    ten_point("", None, id="reject-empty"),
    ten_point("   ", None, id="reject-blank"),
    ten_point("9.5", None, id="reject-decimal"),
    ten_point("banana", None, id="reject-word"),
    ten_point("4/5", None, id="reject-other-max-slash"),
    ten_point("10 out of 5", None, id="reject-other-max-phrase"),
    ten_point("9 de 5", None, "es", id="reject-other-max-es"),
    ten_point("5점 만점에 4점", None, "ko", id="reject-other-max-ko"),
    ten_point("١١", None, "ar", id="reject-arabic-indic-eleven"),
    # The 1-5 scale.
    five_point("1", 1, id="five-low"),
    five_point("5", 5, id="five-high"),
    five_point("0", None, id="five-reject-zero"),
    five_point("6", None, id="five-reject-six"),
    five_point("4/5", 4, id="five-slash"),
    five_point("5/5", 5, id="five-slash-max"),
    five_point("4 out of 5", 4, id="five-out-of"),
    five_point("9/10", None, id="five-reject-ten-max"),
    five_point("🔟", None, id="five-reject-keycap-ten"),
    five_point("cinco", 5, "es", id="five-es-word"),
    five_point("五", 5, "ja", id="five-ja-word"),
    five_point("٥", 5, "ar", id="five-arabic-indic"),
]


def test_parse_table_size() -> None:
    assert len(PARSE_CASES) >= 80


@pytest.mark.parametrize(("text", "locale", "low", "high", "expected"), PARSE_CASES)
def test_parse_number_table(
    text: str, locale: str, low: int, high: int, expected: int | None
) -> None:
    assert parse_number(text, low=low, high=high, locale=locale) == expected


def _number_words() -> list[object]:
    params = []
    for locale in SUPPORTED_LOCALES:
        catalog = get_catalog(locale)
        for value in range(11):
            for word in catalog.words(f"number.{value}"):
                params.append(pytest.param(locale, word, value, id=f"{locale}-{value}-{word}"))
    return params


@pytest.mark.parametrize(("locale", "word", "value"), _number_words())
def test_catalog_number_word(locale: str, word: str, value: int) -> None:
    assert parse_number(word, low=0, high=10, locale=locale) == value


def _out_of_phrasings() -> list[object]:
    params = []
    for locale in SUPPORTED_LOCALES:
        for phrasing in get_catalog(locale).patterns("pattern.out_of"):
            params.append(pytest.param(locale, phrasing, id=f"{locale}-{phrasing}"))
    return params


@pytest.mark.parametrize(("locale", "phrasing"), _out_of_phrasings())
def test_catalog_out_of_phrasing(locale: str, phrasing: str) -> None:
    nine_of_ten = phrasing.replace("{score}", "9").replace("{max}", "10")
    four_of_five = phrasing.replace("{score}", "4").replace("{max}", "5")

    assert parse_number(nine_of_ten, low=0, high=10, locale=locale) == 9
    assert parse_number(four_of_five, low=1, high=5, locale=locale) == 4
    assert parse_number(four_of_five, low=0, high=10, locale=locale) is None


def _score_phrasings() -> list[object]:
    return [
        pytest.param(locale, phrasing, id=f"{locale}-{phrasing}")
        for locale in SUPPORTED_LOCALES
        for phrasing in get_catalog(locale).patterns("pattern.score")
    ]


@pytest.mark.parametrize(("locale", "phrasing"), _score_phrasings())
def test_catalog_score_phrasing(locale: str, phrasing: str) -> None:
    text = phrasing.replace("{score}", "7")

    assert parse_number(text, low=0, high=10, locale=locale) == 7


# --- Button payloads --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param("nps:9", 9, id="nine"),
        pytest.param("nps:0", 0, id="zero"),
        pytest.param("nps:10", 10, id="ten"),
        pytest.param("nps:11", None, id="above-scale"),
        pytest.param("nps:-1", None, id="negative"),
        pytest.param("nps:", None, id="no-digits"),
        pytest.param("nps:٩", None, id="arabic-indic-digit"),
        pytest.param("nps: 9", None, id="inner-space"),
        pytest.param("nps:9.0", None, id="decimal"),
        pytest.param("NPS:9", None, id="upper-prefix"),
        pytest.param("ces:9", None, id="effort-prefix"),
        pytest.param("9", None, id="bare-number"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_score_payload(payload: str | None, expected: int | None) -> None:
    assert parse_payload_number(payload, "nps:", low=0, high=10) == expected


def test_payload_prefix_constants() -> None:
    assert SCORE_PAYLOAD_PREFIX == "nps:"
    assert EFFORT_PAYLOAD_PREFIX == "ces:"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param("ces:1", 1, id="low"),
        pytest.param("ces:5", 5, id="five"),
        pytest.param("ces:7", 7, id="high"),
        pytest.param("ces:0", None, id="below"),
        pytest.param("ces:8", None, id="above"),
        pytest.param("nps:5", None, id="score-prefix"),
    ],
)
def test_parse_effort_payload(payload: str, expected: int | None) -> None:
    assert parse_payload_number(payload, "ces:", low=1, high=7) == expected


# --- Yes and no -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        pytest.param("yes", "en", True, id="en-yes"),
        pytest.param("YES", "en", True, id="en-yes-upper"),
        pytest.param("Yes!", "en", True, id="en-yes-exclaimed"),
        pytest.param("👍", "en", True, id="thumbs-up"),
        pytest.param("sí", "es", True, id="es-si"),
        pytest.param("si", "es", True, id="es-si-unaccented"),
        pytest.param("sí", "en", True, id="es-si-in-en"),
        pytest.param("sim", "pt_BR", True, id="pt-sim"),
        pytest.param("ja", "de", True, id="de-ja"),
        pytest.param("oui", "fr", True, id="fr-oui"),
        pytest.param("はい", "ja", True, id="ja-hai"),
        pytest.param("是", "zh_Hans", True, id="zh-shi"),
        pytest.param("네", "ko", True, id="ko-ne"),
        pytest.param("نعم", "ar", True, id="ar-naam"),
        pytest.param("हाँ", "hi", True, id="hi-haan"),
        pytest.param("ya", "id", True, id="id-ya"),
        pytest.param("evet", "tr", True, id="tr-evet"),
        pytest.param("EVET", "tr", True, id="tr-evet-upper"),
        pytest.param("no", "en", False, id="en-no"),
        pytest.param("👎", "en", False, id="thumbs-down"),
        pytest.param("no", "es", False, id="es-no"),
        pytest.param("não", "pt_BR", False, id="pt-nao"),
        pytest.param("nein", "de", False, id="de-nein"),
        pytest.param("non", "fr", False, id="fr-non"),
        pytest.param("いいえ", "ja", False, id="ja-iie"),
        pytest.param("不", "zh_Hans", False, id="zh-bu"),
        pytest.param("否", "zh_Hans", False, id="zh-fou"),
        pytest.param("아니요", "ko", False, id="ko-aniyo"),
        pytest.param("لا", "ar", False, id="ar-la"),
        pytest.param("नहीं", "hi", False, id="hi-nahin"),
        pytest.param("tidak", "id", False, id="id-tidak"),
        pytest.param("HAYIR", "tr", False, id="tr-hayir-upper"),
        pytest.param("maybe", "en", None, id="other-word"),
        pytest.param("yes no", "en", None, id="both-words"),
        pytest.param("9", "en", None, id="score"),
        pytest.param("", "en", None, id="empty"),
    ],
)
def test_parse_yes_no_table(text: str, locale: str, expected: bool | None) -> None:
    assert parse_yes_no(text, locale=locale) is expected


def _catalog_words(*keys: str) -> list[object]:
    return [
        pytest.param(locale, key, word, id=f"{locale}-{key}-{word}")
        for locale in SUPPORTED_LOCALES
        for key in keys
        for word in get_catalog(locale).words(key)
    ]


@pytest.mark.parametrize(("locale", "key", "word"), _catalog_words("keywords.yes", "keywords.no"))
def test_catalog_yes_no_word(locale: str, key: str, word: str) -> None:
    assert parse_yes_no(word, locale=locale) is (key == "keywords.yes")


# --- Keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("STOP", Keyword.STOP, id="stop-upper"),
        pytest.param("stop", Keyword.STOP, id="stop-lower"),
        pytest.param("Stop.", Keyword.STOP, id="stop-period"),
        pytest.param("opt out", Keyword.STOP, id="en-opt-out"),
        pytest.param("baja", Keyword.STOP, id="es-baja"),
        pytest.param("BAJA", Keyword.STOP, id="es-baja-upper"),
        pytest.param("sair", Keyword.STOP, id="pt-sair"),
        pytest.param("abmelden", Keyword.STOP, id="de-abmelden"),
        pytest.param("arrêt", Keyword.STOP, id="fr-arret"),
        pytest.param("停止", Keyword.STOP, id="ja-teishi"),
        pytest.param("退订", Keyword.STOP, id="zh-tuiding"),
        pytest.param("TD", Keyword.STOP, id="zh-td-upper"),
        pytest.param("수신거부", Keyword.STOP, id="ko-susin-geobu"),
        pytest.param("إيقاف", Keyword.STOP, id="ar-iqaf"),
        pytest.param("बंद", Keyword.STOP, id="hi-band"),
        pytest.param("berhenti", Keyword.STOP, id="id-berhenti"),
        pytest.param("İPTAL", Keyword.STOP, id="tr-iptal-dotted-capital"),
        pytest.param("HELP", Keyword.HELP, id="help-upper"),
        pytest.param("?", Keyword.HELP, id="question-mark"),
        pytest.param("ayuda", Keyword.HELP, id="es-ayuda"),
        pytest.param("hilfe", Keyword.HELP, id="de-hilfe"),
        pytest.param("aide", Keyword.HELP, id="fr-aide"),
        pytest.param("ヘルプ", Keyword.HELP, id="ja-herupu"),
        pytest.param("帮助", Keyword.HELP, id="zh-bangzhu"),
        pytest.param("؟", Keyword.HELP, id="ar-question-mark"),
        pytest.param("START", Keyword.START, id="start-upper"),
        pytest.param("alta", Keyword.START, id="es-alta"),
        pytest.param("reprendre", Keyword.START, id="fr-reprendre"),
        pytest.param("再開", Keyword.START, id="ja-saikai"),
        pytest.param("başla", Keyword.START, id="tr-basla"),
        pytest.param("stop it", None, id="stop-in-sentence"),
        pytest.param("please help me", None, id="help-in-sentence"),
        pytest.param("yes", None, id="yes-word"),
        pytest.param("9", None, id="score"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_keyword_table(text: str, expected: Keyword | None) -> None:
    assert parse_keyword(text) is expected


@pytest.mark.parametrize(
    ("locale", "key", "word"),
    _catalog_words("keywords.stop", "keywords.start", "keywords.help"),
)
def test_catalog_keyword_word(locale: str, key: str, word: str) -> None:
    assert parse_keyword(word) is Keyword(key.removeprefix("keywords."))


def _skip_words() -> list[object]:
    params = []
    for locale in SUPPORTED_LOCALES:
        for word in get_catalog(locale).words("keywords.skip"):
            params.append(pytest.param(locale, word, id=f"{locale}-{word}"))
    return params


@pytest.mark.parametrize(("locale", "word"), _skip_words())
def test_catalog_skip_word(locale: str, word: str) -> None:
    assert is_skip(word, locale=locale) is True


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        pytest.param("SKIP", "en", True, id="en-skip-upper"),
        pytest.param("omitir", "es", True, id="es-omitir"),
        pytest.param("特になし", "ja", True, id="ja-tokuni-nashi"),
        pytest.param("The setup took too long", "en", False, id="comment"),
        pytest.param("", "en", False, id="empty"),
    ],
)
def test_is_skip_table(text: str, locale: str, expected: bool) -> None:
    assert is_skip(text, locale=locale) is expected


# --- Language names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("español", "es", id="es-native"),
        pytest.param("ESPAÑOL", "es", id="es-upper"),
        pytest.param("spanish", "es", id="es-english-name"),
        pytest.param("English", "en", id="en"),
        pytest.param("português", "pt_BR", id="pt"),
        pytest.param("Deutsch", "de", id="de"),
        pytest.param("français", "fr", id="fr"),
        pytest.param("日本語", "ja", id="ja"),
        pytest.param("中文", "zh_Hans", id="zh"),
        pytest.param("한국어", "ko", id="ko"),
        pytest.param("العربية", "ar", id="ar"),
        pytest.param("हिन्दी", "hi", id="hi"),
        pytest.param("bahasa indonesia", "id", id="id"),
        pytest.param("Türkçe", "tr", id="tr"),
        pytest.param("klingon", None, id="unsupported"),
        pytest.param("I speak English", None, id="sentence"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_language_choice_table(text: str, expected: str | None) -> None:
    assert parse_language_choice(text) == expected


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [("OK, sure", "en", True), ("yes, please", "en", True), ("Sí, claro", "es", True),
     ("no, gracias", "es", False), ("no, thanks!", "en", False)],
    ids=["ok-sure", "yes-please", "si-claro", "no-gracias", "no-thanks"],
)
def test_yes_no_with_inner_comma(text: str, locale: str, expected: bool) -> None:
    assert parse_yes_no(text, locale=locale) is expected
