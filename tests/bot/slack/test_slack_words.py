"""Most mentioned words and phrases in detractor comments."""

from __future__ import annotations

from bot.slack.words import terms, top_terms


def test_phrase_replaces_its_words() -> None:
    comments = ["The app crashes every day", "app crashes on login", "slow support",
                "support is slow and the app crashes"]

    # "app crashes" is in 3 comments, so "app" and "crashes" (also 3) are left out;
    # "slow" and "support" are in 2 each; "slow support" only in 1.
    assert top_terms(comments, "en") == [("app crashes", 3), ("slow", 2), ("support", 2)]


def test_stop_words_dropped_in_spanish() -> None:
    # "la", "se" and "siempre" are in the stopwords-iso Spanish list; "se" parts the pair.
    assert terms("la app se cae siempre", "es") == {"app", "cae"}


def test_japanese_counted_in_pairs() -> None:
    assert terms("遅い", "ja") == {"遅い"}
    assert top_terms(["アプリが遅い", "とても遅い"], "ja") == [("遅い", 2)]


def test_single_mentions_not_ranked() -> None:
    assert top_terms(["billing problem", "login broken"], "en") == []
