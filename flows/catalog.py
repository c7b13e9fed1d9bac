"""Message catalogs: every prompt, button label and keyword list a respondent sees or types.

Catalogs are gettext ``.po`` files under ``flows/locales/<locale>/LC_MESSAGES/``. Each entry
is looked up by its ``msgctxt`` key (``score.prompt_0_10``, ``keywords.stop``), so a
translator can reword the English source without breaking the code. The files ship inside the
package and are parsed with Babel once per process, on first use; that read of package data is
the only file access in ``flows``.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

SOURCE_LOCALE = "en"

# Locale identifiers as Babel spells them; the folder names under flows/locales/.
SUPPORTED_LOCALES: tuple[str, ...] = (
    "en", "es", "pt_BR", "de", "fr", "ja", "zh_Hans", "ko", "ar", "hi", "id", "tr",
)

RIGHT_TO_LEFT_LOCALES = frozenset({"ar"})

_LIST_SEPARATOR = re.compile(r"\s*[,،、，]\s*")


class CatalogError(LookupError):
    """A catalog is missing, or lacks an entry the conversation needs."""


# Phones type typographic apostrophes; Turkish dotted capital I must fold to a plain "i"
# (casefold would leave a combining dot after it, so "İPTAL" would not match "iptal").
_FOLD_FIRST = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u0130": "i"})


def fold(text: str) -> str:
    """Normalise text for keyword matching: NFKC, case-folded, inner spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text.translate(_FOLD_FIRST)).casefold()
    return " ".join(folded.split())


@dataclass(frozen=True)
class Catalog:
    """The translated entries of one locale, keyed by ``msgctxt``."""

    locale: str
    version: str
    entries: dict[str, str] = field(repr=False)

    def text(self, key: str, **params: str) -> str:
        """Render the message ``key``, filling its ``{placeholders}`` from ``params``."""
        try:
            template = self.entries[key]
        except KeyError:
            raise CatalogError(f"catalog {self.locale!r} has no message {key!r}") from None
        return template.format(**params) if params else template

    def words(self, key: str) -> tuple[str, ...]:
        """Return the comma-separated list under ``key``, each item folded for matching."""
        raw = self.text(key)
        return tuple(item for item in (fold(part) for part in _LIST_SEPARATOR.split(raw)) if item)

    def patterns(self, key: str) -> tuple[str, ...]:
        """Return the ``|``-separated phrasings under ``key``, each folded for matching."""
        return tuple(fold(part) for part in self.text(key).split("|") if part.strip())

    @property
    def right_to_left(self) -> bool:
        return self.locale in RIGHT_TO_LEFT_LOCALES


def _read_catalog(locale: str) -> Catalog:
    path = resources.files("flows") / "locales" / locale / "LC_MESSAGES" / "messages.po"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"no catalog for locale {locale!r} at {path}") from None

    po = read_po(io.BytesIO(raw), locale=locale)
    entries: dict[str, str] = {}
    for message in po:
        if not message.context or message.fuzzy:
            continue
        translated = message.string if isinstance(message.string, str) else ""
        if translated:
            entries[message.context] = translated
    version = hashlib.sha256(raw).hexdigest()[:12]
    return Catalog(locale=locale, version=version, entries=entries)


@cache
def get_catalog(locale: str) -> Catalog:
    """Return the catalog of a supported locale, parsed once per process."""
    if locale not in SUPPORTED_LOCALES:
        raise CatalogError(
            f"locale {locale!r} is not supported; choose one of {', '.join(SUPPORTED_LOCALES)}"
        )
    return _read_catalog(locale)


def all_catalogs() -> tuple[Catalog, ...]:
    """Return the catalogs of every supported locale, source locale first."""
    return tuple(get_catalog(locale) for locale in SUPPORTED_LOCALES)


def source_keys() -> frozenset[str]:
    """Return every key of the English source catalog: what each translation must contain."""
    return frozenset(get_catalog(SOURCE_LOCALE).entries)
