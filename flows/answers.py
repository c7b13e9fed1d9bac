"""Reading what a respondent typed: scores, yes/no, and the keywords that work at any step.

Everything here is pure: text in, a value or ``None`` out. Word lists come from the message
catalogs, so a translator extends what is understood without touching code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from flows.catalog import SOURCE_LOCALE, SUPPORTED_LOCALES, CatalogError, fold, get_catalog

# Button payloads, shared by every channel: Telegram callback_data and Twilio ButtonPayload.
SCORE_PAYLOAD_PREFIX = "nps:"
EFFORT_PAYLOAD_PREFIX = "ces:"
CONSENT_YES_PAYLOAD = "consent:yes"
CONSENT_NO_PAYLOAD = "consent:no"
SKIP_PAYLOAD = "skip"

_KEYCAP_TEN = "\U0001f51f"  # 🔟
_KEYCAP = re.compile(r"([0-9])\ufe0f?\u20e3")  # 0️⃣ .. 9️⃣, with or without the emoji selector
_TRAILING_NOISE = re.compile(r"[\s.!。！,，、;:)）\]…~\-]+$")
_LEADING_NOISE = re.compile(r"^[\s(（\[]+")
_INTEGER = re.compile(r"\d{1,2}")
_INNER_COMMA = re.compile(r"[,،、，]")
_SLASH_FORM = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})")
_YES_EMOJI = frozenset({"👍", "👌", "✅", "🙆", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"})
_NO_EMOJI = frozenset({"👎", "❌", "🙅", "👎🏻", "👎🏼", "👎🏽", "👎🏾", "👎🏿"})


class Keyword(StrEnum):
    """Commands a respondent can send at any step of the survey."""

    STOP = "stop"
    START = "start"
    HELP = "help"


def _available_catalog_locales() -> tuple[str, ...]:
    present = []
    for locale in SUPPORTED_LOCALES:
        try:
            get_catalog(locale)
        except CatalogError:
            continue
        present.append(locale)
    return tuple(present)


def _strip_noise(text: str) -> str:
    return _LEADING_NOISE.sub("", _TRAILING_NOISE.sub("", text))


def _normalize(text: str) -> str | None:
    """Fold ``text`` and turn every decimal digit into ASCII; None if it contains a digit variant.

    Superscripts, subscripts and circled numbers (``²``, ``①``) count as digits but not as
    decimal digits in Unicode; NFKC would silently turn them into plain digits, so a reply
    containing one is rejected rather than read as a score.
    """
    text = text.replace(_KEYCAP_TEN, "10")
    text = _KEYCAP.sub(r"\1", text)
    if any(char.isdigit() and not char.isdecimal() for char in text):
        return None
    folded = fold(text)
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in folded)


@dataclass(frozen=True)
class _Lexicon:
    """The number words and phrasings of one locale, folded for matching."""

    numbers: dict[str, int]
    phrasings: tuple[re.Pattern[str], ...]


def _compile_phrasing(pattern: str, number_alternation: str) -> re.Pattern[str]:
    value = rf"(?:\d{{1,2}}|{number_alternation})" if number_alternation else r"\d{1,2}"
    parts = re.split(r"(\{score\}|\{max\})", pattern)
    pieces = []
    for part in parts:
        if part == "{score}":
            pieces.append(f"(?P<score>{value})")
        elif part == "{max}":
            pieces.append(f"(?P<max>{value})")
        else:
            # Spaces are optional so that "9 out of 10", "9out of10" and CJK forms all match.
            pieces.append(r"\s*" + r"\s*".join(re.escape(word) for word in part.split()) + r"\s*")
    return re.compile("".join(pieces))


@cache
def _lexicon(locale: str) -> _Lexicon:
    catalog = get_catalog(locale)
    numbers: dict[str, int] = {}
    for value in range(11):
        for word in catalog.words(f"number.{value}"):
            numbers.setdefault(word, value)
    alternation = "|".join(re.escape(word) for word in sorted(numbers, key=len, reverse=True))
    phrasings = tuple(
        _compile_phrasing(pattern, alternation)
        for key in ("pattern.out_of", "pattern.score")
        for pattern in catalog.patterns(key)
    )
    return _Lexicon(numbers=numbers, phrasings=phrasings)


def _search_order(locale: str) -> tuple[str, ...]:
    """Order the catalogs to search: the respondent's locale, English, then the rest."""
    others = [code for code in _available_catalog_locales() if code not in (locale, SOURCE_LOCALE)]
    head = [locale] if locale in SUPPORTED_LOCALES else []
    if locale != SOURCE_LOCALE:
        head.append(SOURCE_LOCALE)
    return (*head, *others)


def _value_of(token: str, lexicon: _Lexicon) -> int | None:
    token = token.strip()
    if _INTEGER.fullmatch(token):
        return int(token)
    return lexicon.numbers.get(token)


def _in_range(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def parse_number(text: str, *, low: int, high: int, locale: str) -> int | None:
    """Read one whole number from ``low`` to ``high`` out of a chat reply, or return None.

    Accepts digits in any script (NFKC, Arabic-Indic, Persian, full-width, Devanagari), keycap
    emoji, ``9/10`` and the catalog phrasings such as ``10 out of 10``, and number words of
    every catalog. A fraction or phrasing must use ``high`` as its maximum, so ``4/5`` is not
    read on a 0-10 scale. Anything else (``11``, ``-1``, ``²``, ``7 or 8``, empty text) is None.
    """
    normalized = _normalize(text)
    if normalized is None:
        return None
    candidate = _strip_noise(normalized)
    if not candidate:
        return None

    if _INTEGER.fullmatch(candidate):
        return _in_range(int(candidate), low, high)

    slash = _SLASH_FORM.fullmatch(candidate)
    if slash:
        if int(slash.group(2)) != high:
            return None
        return _in_range(int(slash.group(1)), low, high)

    # Phrasings may end in punctuation of their own, such as "9分（满分10分）".
    forms = dict.fromkeys((candidate, normalized.strip()))
    for code in _search_order(locale):
        lexicon = _lexicon(code)
        if candidate in lexicon.numbers:
            return _in_range(lexicon.numbers[candidate], low, high)
        matches = (phrasing.fullmatch(form) for phrasing in lexicon.phrasings for form in forms)
        for match in matches:
            if not match:
                continue
            groups = match.groupdict()
            if groups.get("max") is not None and _value_of(groups["max"], lexicon) != high:
                return None
            return _in_range(_value_of(groups["score"], lexicon), low, high)
    return None


def parse_payload_number(payload: str | None, prefix: str, *, low: int, high: int) -> int | None:
    """Read the number out of a button payload such as ``nps:9``; None if it is not one."""
    if not payload or not payload.startswith(prefix):
        return None
    digits = payload[len(prefix):]
    if not (digits.isascii() and digits.isdigit()):
        return None
    return _in_range(int(digits), low, high)


@cache
def _word_set(kind: str, locale: str) -> frozenset[str]:
    # Replies lose trailing punctuation before matching, so catalog words must too ("k.a.").
    return frozenset(_strip_noise(word) for word in get_catalog(locale).words(kind))


def _matches(text: str, kind: str, locales: tuple[str, ...]) -> bool:
    # Catalog items cannot contain the list separator, so "ok, sure" is matched as "ok sure".
    candidate = fold(_INNER_COMMA.sub(" ", _strip_noise(fold(text))))
    return bool(candidate) and any(candidate in _word_set(kind, code) for code in locales)


def parse_yes_no(text: str, *, locale: str) -> bool | None:
    """Return True for yes, False for no, None for anything else, in every catalog's words."""
    stripped = text.strip()
    if stripped in _YES_EMOJI:
        return True
    if stripped in _NO_EMOJI:
        return False
    order = _search_order(locale)
    if _matches(text, "keywords.yes", order):
        return True
    if _matches(text, "keywords.no", order):
        return False
    return None


def parse_keyword(text: str) -> Keyword | None:
    """Return the command a whole reply is (STOP, START, HELP in any catalog), if it is one."""
    locales = _available_catalog_locales()
    for keyword in Keyword:
        if _matches(text, f"keywords.{keyword.value}", locales):
            return keyword
    return None


def is_skip(text: str, *, locale: str) -> bool:
    """Whether a reply asks to skip the open question."""
    return _matches(text, "keywords.skip", _search_order(locale))


def parse_language_choice(text: str) -> str | None:
    """Return the locale whose name the whole reply is (``español``, ``日本語``), if any."""
    candidate = _strip_noise(fold(text))
    if not candidate:
        return None
    for code in _available_catalog_locales():
        if candidate in _word_set("language.names", code):
            return code
    return None
