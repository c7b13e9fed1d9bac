"""Score scales and the promoter / passive / detractor split."""

from __future__ import annotations

from enum import StrEnum


class Scale(StrEnum):
    """How a market was asked. A 1-5 answer is stored as 1-5, never stretched to 0-10."""

    ZERO_TO_TEN = "0-10"
    ONE_TO_FIVE = "1-5"

    @property
    def low(self) -> int:
        return 0 if self is Scale.ZERO_TO_TEN else 1

    @property
    def high(self) -> int:
        return 10 if self is Scale.ZERO_TO_TEN else 5


class Category(StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


# Lowest promoter score and highest detractor score per scale. On 0-10 this is the standard
# NPS split (9-10 / 7-8 / 0-6). On 1-5 a 5 is a promoter, 3-4 passive and 1-2 a detractor.
_THRESHOLDS: dict[Scale, tuple[int, int]] = {
    Scale.ZERO_TO_TEN: (9, 6),
    Scale.ONE_TO_FIVE: (5, 2),
}


def categorize(score: int, scale: Scale) -> Category:
    """Return the NPS category of ``score``; raise ValueError when it is outside ``scale``."""
    if not scale.low <= score <= scale.high:
        raise ValueError(f"score {score} is outside the {scale} scale")
    promoter_from, detractor_to = _THRESHOLDS[scale]
    if score >= promoter_from:
        return Category.PROMOTER
    if score <= detractor_to:
        return Category.DETRACTOR
    return Category.PASSIVE
