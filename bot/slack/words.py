"""The words and two-word phrases that come up most in a set of comments of one language.

Each comment counts a term once, so the count reads "mentioned in N comments". Stop words
come from the stopwords-iso lists shipped in the ``stopwordsiso`` package. Chinese and
Japanese are written without spaces, so their runs of Han, Hiragana and Katakana are counted
as overlapping two-character pieces instead of words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from itertools import pairwise

import stopwordsiso

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_UNSPACED_LANGUAGES = ("ja", "zh")
MIN_WORD_LENGTH = 3


@cache
def _stop_words(language: str) -> frozenset[str]:
    base = language.replace("-", "_").split("_", 1)[0].lower()
    if not stopwordsiso.has_lang(base):
        return frozenset()
    return frozenset(stopwordsiso.stopwords(base))


def terms(comment: str, language: str) -> set[str]:
    """Return the distinct content words and adjacent word pairs of one comment."""
    text = comment.lower()
    stop = _stop_words(language)
    if language.split("_", 1)[0] in _UNSPACED_LANGUAGES:
        pieces = {run[index:index + 2] for run in _UNSPACED.findall(text)
                  for index in range(len(run) - 1)}
        return {piece for piece in pieces if piece not in stop}
    words: list[str] = _WORD.findall(text)
    found = {word for word in words if len(word) >= MIN_WORD_LENGTH and word not in stop}
    for first, second in pairwise(words):
        if first in found and second in found:
            found.add(f"{first} {second}")
    return found


def top_terms(comments: Iterable[str], language: str, *, limit: int = 5,
              min_count: int = 2) -> list[tuple[str, int]]:
    """Return up to ``limit`` terms mentioned in at least ``min_count`` comments, most first.

    A word is left out when a phrase containing it has the same count, because the phrase
    is more specific ("app crashes" rather than "app" and "crashes").
    """
    counts: Counter[str] = Counter()
    for comment in comments:
        counts.update(terms(comment, language))
    ranked = sorted((item for item in counts.items() if item[1] >= min_count),
                    key=lambda item: (-item[1], -item[0].count(" "), item[0]))
    phrases = {term: count for term, count in ranked if " " in term}
    chosen: list[tuple[str, int]] = []
    for term, count in ranked:
        covered = any(count == phrase_count and term in phrase.split(" ")
                      for phrase, phrase_count in phrases.items())
        if " " not in term and covered:
            continue
        chosen.append((term, count))
        if len(chosen) == limit:
            break
    return chosen
