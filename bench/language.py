"""Measure flows.language.detect_language on the project's set of short survey replies.

Run from the repository root: ``python bench/language.py [PATH]``. PATH defaults to
bench/data/short_replies.tsv, a UTF-8 file with the header ``locale<TAB>text``. The script
prints the share of replies whose locale is detected right, overall and per locale, the
number of replies and their median length, and every miss. It exits 0 whatever the score,
and 2 when the data file is missing or malformed.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from flows.catalog import SUPPORTED_LOCALES  # noqa: E402
from flows.language import detect_language  # noqa: E402

DEFAULT_DATA = REPOSITORY / "bench" / "data" / "short_replies.tsv"


def read_replies(path: Path) -> list[tuple[str, str]]:
    """Return the (locale, text) rows of a bench file, raising ValueError on a bad row."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["locale", "text"]:
            raise ValueError(f"{path}: expected the header 'locale<TAB>text', got {header!r}")
        rows = []
        for line_number, row in enumerate(reader, start=2):
            if len(row) != 2 or row[0] not in SUPPORTED_LOCALES or not row[1].strip():
                raise ValueError(f"{path}:{line_number}: invalid row {row!r}")
            rows.append((row[0], row[1]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DATA,
                        help="TSV file with the columns locale and text")
    arguments = parser.parse_args()

    try:
        replies = read_replies(arguments.path)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    totals: Counter[str] = Counter()
    rights: Counter[str] = Counter()
    misses: list[tuple[str, str | None, str]] = []
    for expected, text in replies:
        detected = detect_language(text)
        totals[expected] += 1
        if detected == expected:
            rights[expected] += 1
        else:
            misses.append((expected, detected, text))

    count = sum(totals.values())
    right = sum(rights.values())
    median_length = statistics.median(len(text) for _, text in replies)
    print(f"replies: {count}, median length: {median_length:g} characters")
    print(f"right: {right}/{count} = {right / count:.1%}")
    print()
    print("locale    right   share")
    for locale in SUPPORTED_LOCALES:
        if totals[locale]:
            share = rights[locale] / totals[locale]
            print(f"{locale:<8} {rights[locale]:>3}/{totals[locale]:<3} {share:>6.1%}")
    print()
    print(f"misses: {len(misses)}")
    for expected, detected, text in misses:
        print(f"  expected {expected:<7} got {detected!s:<7} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
