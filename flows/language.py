"""Language detection of short chat replies, and the choice of a respondent's locale.

Replies to a survey are short ("too slow", "muy caro", "値段が高い"), and statistical
detectors guess badly on a few words. ``detect_language`` therefore decides in steps:

1. the Unicode script, which alone identifies ja, ko, zh_Hans, ar and hi;
2. for Latin script, letters that only some languages use (ñ, ã, ß, ğ, œ ...) plus the
   hand-written word lists of ``flows.lexicon``;
3. langdetect, only for Latin-script replies long enough for it to be reliable
   (``LANGDETECT_MIN_CHARS``), added as one more piece of evidence.

It returns None rather than guess when the evidence is missing or split.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from enum import IntEnum
from functools import cache

from babel.core import get_global
from babel.languages import get_official_languages
from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from flows.catalog import SOURCE_LOCALE, SUPPORTED_LOCALES, CatalogError, fold, get_catalog
from flows.lexicon import CONTROL_WORDS, LEXICONS, LOANWORDS

# langdetect samples n-grams at random, so a fixed seed is needed for repeatable results.
DetectorFactory.seed = 0

# The locale used when no signal names a supported one, and the survey default is invalid.
DEFAULT_LOCALE = SOURCE_LOCALE


class LocaleSource(IntEnum):
    """Strength of the signal that a locale was taken from, strongest highest."""

    DEFAULT = 0
    COUNTRY = 1
    TEXT = 2
    PLATFORM = 3
    EXPLICIT = 4


# --- Locale codes -------------------------------------------------------------------------

# Every supported locale has its own language, so the language subtag alone picks the
# locale: "pt-PT" gets pt_BR, "en-GB" gets en.
# NOTE: Traditional Chinese ("zh-TW", "zh-Hant", country TW or HK) also maps to zh_Hans,
# the closest supported written form. Change this when a zh_Hant catalog is added.
_LOCALE_BY_LANGUAGE: dict[str, str] = {locale.split("_")[0]: locale for locale in SUPPORTED_LOCALES}

# A BCP 47 or POSIX tag ("pt-BR", "zh_Hans_CN", "es-419", "en-US-u-ca-gregory") once any
# POSIX encoding or modifier ("de_DE.UTF-8@euro") is cut off.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

# India: Babel lists Hindi first, but CLDR (as shipped with Babel 2.19) counts Hindi
# speakers as 41 % of the population, and states such as Tamil Nadu and West Bengal have
# other first languages. English is co-official and the common language of business and
# IT across states, so it is the safer first prompt. A reply in Hindi still switches the
# conversation to hi, because TEXT beats COUNTRY.
_COUNTRY_OVERRIDES: dict[str, str] = {"IN": "en"}


@cache
def _language_aliases() -> Mapping[str, str]:
    # CLDR aliases map legacy and ISO 639-2 codes to current ones: "in" -> "id", "deu" -> "de".
    return get_global("language_aliases")


def normalize_locale(code: str | None) -> str | None:
    """Map a platform or user language code to a supported locale, or None if there is none.

    Accepts BCP 47 tags and POSIX locale names in any case ("pt-BR", "pt_br", "zh-Hans",
    "es-419", "de_DE.UTF-8"). Only the language subtag chooses the locale.
    """
    if not isinstance(code, str):
        return None
    tag = code.strip().split(".", 1)[0].split("@", 1)[0]
    if not _LANGUAGE_TAG.fullmatch(tag):
        return None

    language = tag.replace("-", "_").split("_", 1)[0].lower()
    language = _language_aliases().get(language, language).split("_", 1)[0]
    return _LOCALE_BY_LANGUAGE.get(language)


def locale_for_country(country: str | None) -> str | None:
    """Map an ISO 3166-1 alpha-2 country code to the supported locale most people there read.

    Uses the country's most widely spoken official language in Babel's CLDR data,
    de facto ones included, because the US and Mexico have no de jure official language.
    Returns None when that language is not supported, for example Belgium (Dutch) or
    Israel (Hebrew): a minority official language would be worse than the survey default.
    """
    if not isinstance(country, str):
        return None
    territory = country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", territory):
        return None
    if territory in _COUNTRY_OVERRIDES:
        return _COUNTRY_OVERRIDES[territory]

    languages = get_official_languages(territory, de_facto=True)
    if not languages:
        return None
    return normalize_locale(languages[0])


def resolve_locale(
    *,
    explicit: str | None = None,
    platform_code: str | None = None,
    text: str | None = None,
    country: str | None = None,
    default: str = DEFAULT_LOCALE,
) -> tuple[str, LocaleSource]:
    """Choose the locale of a conversation from the strongest signal that names a supported one.

    Order: the respondent's explicit choice, the platform's language code, the language of
    their free text (only when ``detect_language`` is confident), the country of their
    phone number, the survey default. An unsupported or unusable value falls through to
    the next signal. An unsupported ``default`` falls back to English, so a conversation
    never stops on a configuration mistake.
    """
    # Each signal is computed only when the stronger ones gave nothing: detecting the
    # language of a long reply runs langdetect.
    locale = normalize_locale(explicit)
    if locale is not None:
        return locale, LocaleSource.EXPLICIT
    locale = normalize_locale(platform_code)
    if locale is not None:
        return locale, LocaleSource.PLATFORM
    locale = detect_language(text) if text else None
    if locale is not None:
        return locale, LocaleSource.TEXT
    locale = locale_for_country(country)
    if locale is not None:
        return locale, LocaleSource.COUNTRY
    return normalize_locale(default) or DEFAULT_LOCALE, LocaleSource.DEFAULT


# --- Scripts ------------------------------------------------------------------------------

_LATIN = "Latin"
_HANGUL = "Hangul"
_KANA = "Kana"
_HAN = "Han"
_ARABIC = "Arabic"
_DEVANAGARI = "Devanagari"
_OTHER = "Other"

# Code point ranges from the Unicode block charts (Unicode 15).
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0600, 0x06FF, _ARABIC),
    (0x0750, 0x077F, _ARABIC),
    (0x08A0, 0x08FF, _ARABIC),
    (0x0900, 0x097F, _DEVANAGARI),
    (0x1100, 0x11FF, _HANGUL),
    (0x3005, 0x3007, _HAN),  # iteration mark 々, closing mark 〆, ideographic zero
    (0x3040, 0x30FF, _KANA),
    (0x3130, 0x318F, _HANGUL),
    (0x31F0, 0x31FF, _KANA),
    (0x3400, 0x4DBF, _HAN),
    (0x4E00, 0x9FFF, _HAN),
    (0xA8E0, 0xA8FF, _DEVANAGARI),
    (0xAC00, 0xD7AF, _HANGUL),
    (0xF900, 0xFAFF, _HAN),
    (0xFB50, 0xFDFF, _ARABIC),
    (0xFE70, 0xFEFF, _ARABIC),
    (0x20000, 0x3FFFF, _HAN),
)

# One Han, kana or Hangul character carries about as much text as a short Latin word, so
# it counts three times when scripts are weighed ("VPN老是断线" is Chinese, not English).
_SYLLABIC_WEIGHT = 3
_SYLLABIC_SCRIPTS = frozenset({_HANGUL, _KANA, _HAN})

_LOCALE_BY_SCRIPT: dict[str, str] = {
    _HANGUL: "ko",
    _KANA: "ja",
    _HAN: "zh_Hans",
    _ARABIC: "ar",
    # NOTE: Marathi and Nepali are also written in Devanagari and are detected as hi.
    _DEVANAGARI: "hi",
}

# Letters of the Persian and Urdu alphabets that Arabic does not use: keheh and farsi yeh
# (the Persian forms of kaf and ya), pe, tcheh, jeh, gaf, and Urdu's retroflex letters.
_NON_ARABIC_LETTERS = frozenset("کیپچژگٹڈڑںےہ")


def _script_of(char: str) -> str | None:
    """Return the script group of a letter, or of a vowel sign of a listed script.

    Other combining marks return None: emoji variation selectors and keycaps are marks
    too, and NFKC has already composed Latin accents into their letters.
    """
    is_letter = char.isalpha()
    if not is_letter and not unicodedata.category(char).startswith("M"):
        return None
    code_point = ord(char)
    for start, end, script in _SCRIPT_RANGES:
        if start <= code_point <= end:
            return script
    if not is_letter:
        return None
    if unicodedata.name(char, "").startswith("LATIN"):
        return _LATIN
    return _OTHER


def _script_weights(text: str) -> Counter[str]:
    weights: Counter[str] = Counter()
    for char in text:
        script = _script_of(char)
        if script is not None:
            weights[script] += _SYLLABIC_WEIGHT if script in _SYLLABIC_SCRIPTS else 1
    return weights


def _locale_from_script(text: str, weights: Counter[str]) -> str | None:
    """Return the locale that a non-Latin script identifies, or None."""
    # Chinese and Japanese share Han characters. Only Japanese mixes in kana, and almost
    # every Japanese sentence has some, so Han text without kana is taken as Chinese.
    cjk = weights[_HAN] + weights[_KANA]
    scores = {
        _HANGUL: weights[_HANGUL],
        _KANA if weights[_KANA] else _HAN: cjk,
        _ARABIC: weights[_ARABIC],
        _DEVANAGARI: weights[_DEVANAGARI],
        _OTHER: weights[_OTHER],
    }
    script = max(scores, key=lambda name: scores[name])
    if script == _ARABIC and _NON_ARABIC_LETTERS.intersection(text):
        return None
    return _LOCALE_BY_SCRIPT.get(script)


# --- Latin-script evidence ----------------------------------------------------------------

# Letters used by only some of the supported Latin-script languages (Unicode code charts
# and each language's standard orthography). Accents are often left out in chat, so only
# the presence of a letter counts as evidence, never its absence.
_LETTER_EVIDENCE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys("ñ¿¡", ("es",)),
    **dict.fromkeys("ãõ", ("pt_BR",)),
    **dict.fromkeys("ßä", ("de",)),
    **dict.fromkeys("ğşı", ("tr",)),
    **dict.fromkeys("œèùëïîûÿ", ("fr",)),
    **dict.fromkeys("âêôà", ("fr", "pt_BR")),
    **dict.fromkeys("áíóú", ("es", "pt_BR")),
    "é": ("es", "pt_BR", "fr"),
    "ç": ("fr", "pt_BR", "tr"),
    **dict.fromkeys("öü", ("de", "tr")),
}
# A letter used by one language alone is worth two words of a shared list.
_UNIQUE_LETTER_WEIGHT = 2.0

# Word endings typical of one language, checked on unlisted words of 5 or more letters:
# Indonesian possessive -nya, Spanish -ción and Portuguese
# -ção nouns, German -ung/-keit/-heit/-lich, English -ing, French -eux/-ait.
_SUFFIX_EVIDENCE: tuple[tuple[str, str], ...] = (
    ("nya", "id"),
    ("cion", "es"),
    ("ciones", "es"),
    ("cao", "pt_BR"),
    ("coes", "pt_BR"),
    ("ung", "de"),
    ("ungen", "de"),
    ("keit", "de"),
    ("heit", "de"),
    ("lich", "de"),
    ("ing", "en"),
    ("eux", "fr"),
    ("ait", "fr"),
)
# Turkish present tense -iyor/-uyor, searched anywhere because person suffixes follow it.
_TURKISH_PRESENT = re.compile(r"[iu]yor")
# Portuguese spells the palatal n and l "nh" and "lh" (sozinho, melhor), where Spanish has
# "ñ" and "ll". The pairs are rare inside words of the other supported languages.
_PORTUGUESE_DIGRAPH = re.compile(r"[a-z](?:nh|lh)[aeiou]")

# French elided articles and pronouns before an apostrophe: l'interface, n'est, j'ai.
_FRENCH_ELISIONS = frozenset({"l", "d", "j", "n", "c", "qu", "s", "m", "t"})

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

# The shortest reply, counted in letters and spaces, that langdetect 1.0.9 gets a vote on.
# Measured on 70 feedback sentences written for the purpose, 10 each in en, es, pt, de, fr,
# id and tr, none from the bench set. Each was cut into every run of 1-8 consecutive words,
# and langdetect was restricted to those 7 languages. Alone it is right on 61 % of runs of
# 0-4 characters, 74 % at 5-9, 87 % at 10-14, 93 % at 15-19, 96 % at 20-24, 98 % at 25-29
# and 99 % at 30-39. Lower-cased with accents removed, as people type in chat, it is right
# on 94 % at 20-24 and 97 % at 25-29. Its probability is no guide on short text: it
# reports p >= 0.95 on 94 % of the 0-4 character runs, and 62 % of those are right.
# In this detector a vote from 25 characters raises the correct results on 25-29 character
# runs from 94 % to 98 % (92 % to 97 % without accents), and precision stays at 99.6 % or
# above. A vote from 20 characters would cost 0.1 to 1.0 points of precision at 20-24.
LANGDETECT_MIN_CHARS = 25
# The langdetect vote counts as much as two words of one language's list.
_LANGDETECT_WEIGHT = 2.0
# The winning language must lead the runner-up by at least one word of evidence.
_MIN_MARGIN = 1.0

_LANGDETECT_CODES: dict[str, str] = {
    "en": "en", "es": "es", "pt": "pt_BR", "de": "de", "fr": "fr", "id": "id", "tr": "tr",
}


def _strip_accents(word: str) -> str:
    # Dotless i and sharp s have no decomposition, so they are replaced explicitly.
    word = word.replace("ı", "i").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _index_words(lexicons: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for language, words in lexicons.items():
        for word in words:
            index.setdefault(_strip_accents(word), set()).add(language)
    return {word: frozenset(languages) for word, languages in index.items()}


_WORD_INDEX: dict[str, frozenset[str]] = _index_words(LEXICONS)
_LOANWORDS: frozenset[str] = frozenset(_strip_accents(word) for word in LOANWORDS)


@cache
def _control_phrases() -> frozenset[str]:
    """Return the folded replies that are commands or yes/no, in any catalog present."""
    phrases = {fold(word) for word in CONTROL_WORDS}
    keys = ("keywords.yes", "keywords.no", "keywords.stop", "keywords.start",
            "keywords.help", "keywords.skip")
    for locale in SUPPORTED_LOCALES:
        try:
            catalog = get_catalog(locale)
        except CatalogError:
            continue
        for key in keys:
            try:
                phrases.update(catalog.words(key))
            except CatalogError:
                continue
    return frozenset(phrases)


def _is_control_reply(words: list[str]) -> bool:
    # Whole catalog phrases only: their single words ("pas", "bisa") also start real
    # comments. Repeated yes/no words ("ok ok", "no no no") count as one.
    return " ".join(words) in _control_phrases() or all(word in CONTROL_WORDS for word in words)


def _word_languages(key: str) -> frozenset[str] | None:
    languages = _WORD_INDEX.get(key)
    if languages is None and re.search("ae|oe|ue", key):
        # German typed without umlauts, as DIN 5007-2 spells names: laeuft, groesse.
        languages = _WORD_INDEX.get(key.replace("ae", "a").replace("oe", "o").replace("ue", "u"))
    if languages is None and len(key) >= 4 and key.endswith("s"):
        # A plural of a listed word: en, es, pt and fr add -s ("alertas", "reports").
        languages = _WORD_INDEX.get(key[:-1])
    return languages


def _word_evidence(words: list[str], scores: defaultdict[str, float]) -> None:
    for word in words:
        parts = word.split("'")
        if len(parts) > 1 and parts[0] in _FRENCH_ELISIONS:
            scores["fr"] += 1

        whole = _strip_accents(word)
        keys = [whole] if whole in _WORD_INDEX else [_strip_accents(part) for part in parts]
        for key in keys:
            if key in _LOANWORDS:
                continue
            languages = _word_languages(key)
            if languages:
                for language in languages:
                    scores[language] += 1 / len(languages)
            else:
                # Spelling clues only for words the lists lack, so that a listed word
                # such as Indonesian "sering" is not also counted as English -ing.
                _spelling_evidence(key, scores)


def _spelling_evidence(key: str, scores: defaultdict[str, float]) -> None:
    # Searching from the second letter skips prefixes such as un-h and en-h (unhelpful,
    # enhance) and leaves sozinho, melhor.
    if _PORTUGUESE_DIGRAPH.search(key, 1):
        scores["pt_BR"] += 1
    if len(key) < 5:
        return
    for suffix, language in _SUFFIX_EVIDENCE:
        if key.endswith(suffix):
            scores[language] += 1
            return
    if _TURKISH_PRESENT.search(key):
        scores["tr"] += 1


def _letter_evidence(text: str, scores: defaultdict[str, float]) -> None:
    letters = set(text.lower())
    if "İ" in text:
        letters.add("ı")
    for letter in letters:
        languages = _LETTER_EVIDENCE.get(letter)
        if not languages:
            continue
        if len(languages) == 1:
            scores[languages[0]] += _UNIQUE_LETTER_WEIGHT
        else:
            for language in languages:
                scores[language] += 1 / len(languages)


@cache
def _latin_detector_factory() -> DetectorFactory:
    # A factory of its own, so that the prior map below restricts the result without
    # changing the module-level factory that langdetect.detect() shares with other callers.
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


def _langdetect_vote(text: str) -> tuple[str, float] | None:
    """Return langdetect's best supported Latin-script locale and its probability."""
    try:
        detector = _latin_detector_factory().create()
        # A prior of zero removes a language from the result, because langdetect multiplies
        # the prior by the probability of each n-gram.
        detector.set_prior_map(dict.fromkeys(_LANGDETECT_CODES, 1.0))
        detector.append(text)
        ranked = detector.get_probabilities()
    except LangDetectException:
        return None
    if not ranked or ranked[0].lang not in _LANGDETECT_CODES:
        return None
    return _LANGDETECT_CODES[ranked[0].lang], ranked[0].prob


def _detect_latin(text: str) -> str | None:
    # Turkish capital İ lower-cases to i plus a combining dot, which would split the word.
    lowered = text.replace("İ", "i").replace("’", "'").lower()
    words = [word for word in _WORD.findall(lowered) if _script_of(word[0]) == _LATIN]
    if not words or _is_control_reply(words):
        return None

    scores: defaultdict[str, float] = defaultdict(float)
    _word_evidence(words, scores)
    _letter_evidence(text, scores)

    letters_and_spaces = " ".join(words)
    if len(letters_and_spaces) >= LANGDETECT_MIN_CHARS:
        vote = _langdetect_vote(letters_and_spaces)
        if vote is not None:
            locale, probability = vote
            scores[locale] += _LANGDETECT_WEIGHT * probability

    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0] if ranked else (None, 0.0)
    second_score = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_score - second_score < _MIN_MARGIN:
        return None
    return best


def detect_language(text: str) -> str | None:
    """Return the supported locale a chat reply is written in, or None if it is unclear.

    None for empty text, text without letters (scores such as "9/10", emoji,
    punctuation), Latin-script yes/no and command words ("ok", "si", "stop"), scripts of
    unsupported languages, and Latin-script text whose evidence does not clearly favour
    one language. A reply in another supported script is identified even when it is a
    single yes/no word ("はい" is ja), because the script alone identifies the language.
    """
    if not isinstance(text, str):
        return None
    normalized = unicodedata.normalize("NFKC", text).strip()
    weights = _script_weights(normalized)
    if not weights:
        return None

    non_latin = sum(weight for script, weight in weights.items() if script != _LATIN)
    if non_latin > weights[_LATIN]:
        return _locale_from_script(normalized, weights)
    return _detect_latin(normalized)
