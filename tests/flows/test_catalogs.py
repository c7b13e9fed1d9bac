"""Catalog completeness: every locale has every message, word list and number word of English."""

from __future__ import annotations

import string
from collections.abc import Iterable
from importlib import resources

import pytest

from flows.catalog import (
    SOURCE_LOCALE,
    SUPPORTED_LOCALES,
    Catalog,
    CatalogError,
    all_catalogs,
    get_catalog,
    source_keys,
)

PRODUCT = "Acme Security"
POLICY_URL = "https://example.com/privacy"
KEYWORD_KINDS = ("yes", "no", "stop", "start", "help", "skip")
PLACEHOLDERS = frozenset({"product", "policy_url", "score", "max"})

# Every key that flows.machine and flows.prompts look up.
REQUIRED_KEYS = frozenset(
    {
        "consent.prompt", "consent.hint", "consent.score_held", "consent.declined",
        "score.prompt_0_10", "score.prompt_1_5", "score.hint_0_10", "score.hint_1_5",
        "reason.promoter", "reason.passive", "reason.detractor", "reason.hint",
        "effort.prompt", "effort.hint",
        "thanks.promoter", "thanks.passive", "thanks.detractor",
        "stop.confirm", "help.text", "language.switched",
        "ended.unreadable", "ended.expired",
        "button.yes", "button.no", "button.skip",
        "language.names", "pattern.out_of", "pattern.score",
        *(f"keywords.{kind}" for kind in KEYWORD_KINDS),
        *(f"number.{value}" for value in range(11)),
    }
)


def is_list_key(key: str) -> bool:
    """Whether ``key`` contains a comma-separated list of what respondents type."""
    return key.startswith(("keywords.", "number.")) or key == "language.names"


def missing_entries(catalog: Catalog, keys: Iterable[str]) -> list[str]:
    """Return the keys that ``catalog`` lacks or leaves blank, sorted.

    A list entry counts as blank when it has no item left after splitting.
    """
    missing = []
    for key in sorted(keys):
        value = catalog.entries.get(key, "")
        if not value.strip() or (is_list_key(key) and not catalog.words(key)):
            missing.append(key)
    return missing


def placeholders_of(template: str) -> frozenset[str]:
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(template) if name is not None
    )


def placeholder_mismatches(catalog: Catalog, source: Catalog) -> list[str]:
    """Return the keys whose placeholders differ from those of the same source entry."""
    return [
        key
        for key in sorted(source.entries)
        if key in catalog.entries
        and placeholders_of(catalog.entries[key]) != placeholders_of(source.entries[key])
    ]


def english_entries() -> dict[str, str]:
    return dict(get_catalog(SOURCE_LOCALE).entries)


# --- Locales ----------------------------------------------------------------------------


def test_supported_locales_list() -> None:
    assert SUPPORTED_LOCALES == (
        "en", "es", "pt_BR", "de", "fr", "ja", "zh_Hans", "ko", "ar", "hi", "id", "tr",
    )


def test_locale_folders_match() -> None:
    folder = resources.files("flows") / "locales"
    present = {entry.name for entry in folder.iterdir() if entry.is_dir()}

    assert present == set(SUPPORTED_LOCALES)


def test_all_catalogs_source_first() -> None:
    locales = [catalog.locale for catalog in all_catalogs()]

    assert locales == list(SUPPORTED_LOCALES)
    assert locales[0] == SOURCE_LOCALE


def test_unknown_locale_raises() -> None:
    with pytest.raises(CatalogError, match="'xx' is not supported"):
        get_catalog("xx")


def test_missing_message_raises() -> None:
    with pytest.raises(CatalogError, match=r"has no message 'nope\.key'"):
        get_catalog("en").text("nope.key")


# --- Completeness -----------------------------------------------------------------------


def test_source_has_required_keys() -> None:
    assert sorted(REQUIRED_KEYS - source_keys()) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    assert missing_entries(get_catalog(locale), source_keys()) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_no_extra_keys(locale: str) -> None:
    assert sorted(set(get_catalog(locale).entries) - source_keys()) == []


def test_helper_passes_full_copy() -> None:
    catalog = Catalog(locale="xx", version="0", entries=english_entries())

    assert missing_entries(catalog, source_keys()) == []


def test_helper_reports_removed_key() -> None:
    entries = english_entries()
    del entries["thanks.passive"]
    catalog = Catalog(locale="xx", version="0", entries=entries)

    assert missing_entries(catalog, source_keys()) == ["thanks.passive"]


def test_helper_reports_blank_entries() -> None:
    entries = english_entries()
    entries["number.7"] = " , ,"
    entries["keywords.stop"] = ""
    entries["consent.hint"] = "   "
    catalog = Catalog(locale="xx", version="0", entries=entries)

    assert missing_entries(catalog, source_keys()) == [
        "consent.hint", "keywords.stop", "number.7",
    ]


@pytest.mark.parametrize(
    ("locale", "value"),
    [pytest.param(locale, value, id=f"{locale}-{value}")
     for locale in SUPPORTED_LOCALES for value in range(11)],
)
def test_number_words_present(locale: str, value: int) -> None:
    assert get_catalog(locale).words(f"number.{value}") != ()


@pytest.mark.parametrize(
    ("locale", "kind"),
    [pytest.param(locale, kind, id=f"{locale}-{kind}")
     for locale in SUPPORTED_LOCALES for kind in KEYWORD_KINDS],
)
def test_keyword_list_present(locale: str, kind: str) -> None:
    assert get_catalog(locale).words(f"keywords.{kind}") != ()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_language_names_present(locale: str) -> None:
    assert get_catalog(locale).words("language.names") != ()


# --- Placeholders -----------------------------------------------------------------------


def test_english_placeholders_known() -> None:
    source = get_catalog(SOURCE_LOCALE)
    used = set().union(*(placeholders_of(text) for text in source.entries.values()))

    assert used == PLACEHOLDERS


def test_english_consent_has_placeholders() -> None:
    consent = get_catalog(SOURCE_LOCALE).entries["consent.prompt"]

    assert placeholders_of(consent) == {"product", "policy_url"}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_match_english(locale: str) -> None:
    source = get_catalog(SOURCE_LOCALE)

    assert placeholder_mismatches(get_catalog(locale), source) == []


def test_placeholder_check_catches_drop() -> None:
    entries = english_entries()
    entries["consent.prompt"] = entries["consent.prompt"].replace("{policy_url}", "our site")
    entries["pattern.out_of"] = "{score} out of ten"
    catalog = Catalog(locale="xx", version="0", entries=entries)

    assert placeholder_mismatches(catalog, get_catalog(SOURCE_LOCALE)) == [
        "consent.prompt", "pattern.out_of",
    ]


# --- Word lists -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_yes_no_disjoint(locale: str) -> None:
    catalog = get_catalog(locale)

    assert set(catalog.words("keywords.yes")) & set(catalog.words("keywords.no")) == set()


def test_language_names_unique() -> None:
    owners: dict[str, list[str]] = {}
    for catalog in all_catalogs():
        for name in catalog.words("language.names"):
            owners.setdefault(name, []).append(catalog.locale)
    shared = {name: locales for name, locales in owners.items() if len(locales) > 1}

    assert shared == {}


def test_number_words_unambiguous() -> None:
    # parse_number tries every catalog, so one word must not mean two numbers anywhere.
    values: dict[str, set[int]] = {}
    for catalog in all_catalogs():
        for value in range(11):
            for word in catalog.words(f"number.{value}"):
                values.setdefault(word, set()).add(value)
    ambiguous = {word: found for word, found in values.items() if len(found) > 1}

    assert ambiguous == {}


# --- Rendering --------------------------------------------------------------------------


def _render_params() -> list[object]:
    return [
        pytest.param(locale, key, id=f"{locale}-{key}")
        for locale in SUPPORTED_LOCALES
        for key in sorted(source_keys())
    ]


@pytest.mark.parametrize(("locale", "key"), _render_params())
def test_message_renders(locale: str, key: str) -> None:
    catalog = get_catalog(locale)
    wanted = placeholders_of(get_catalog(SOURCE_LOCALE).entries[key])
    values = {"product": PRODUCT, "policy_url": POLICY_URL}
    if key.startswith("pattern."):
        values |= {"score": "9", "max": "10"}

    text = catalog.text(key, **values)

    assert text.strip() != ""
    assert "{" not in text
    assert ("product" not in wanted) or (PRODUCT in text)
    assert ("policy_url" not in wanted) or (POLICY_URL in text)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_consent_names_policy(locale: str) -> None:
    text = get_catalog(locale).text("consent.prompt", product=PRODUCT, policy_url=POLICY_URL)

    assert PRODUCT in text
    assert POLICY_URL in text
