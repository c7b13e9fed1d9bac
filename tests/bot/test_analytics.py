"""NPS arithmetic against hand-computed values, and the grouped query on the real backend."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from bot.analytics import NpsFigures, UnknownSegmentField, nps_report
from bot.runtime import Runtime
from storage.models import Conversation, Respondent, Response
from storage.types import utcnow

DATA = Path(__file__).parent.parent / "data"


def test_nps_and_margin_by_hand() -> None:
    figures = NpsFigures(n=10, promoters=5, passives=3, detractors=2)

    assert figures.nps == pytest.approx(30.0)
    # p = 0.5, d = 0.2: variance = 0.7 - 0.3**2 = 0.61; 1.95996 * sqrt(0.061) = 0.48408
    assert figures.margin_of_error == pytest.approx(48.408, abs=0.001)


def test_empty_figures_have_no_nps() -> None:
    figures = NpsFigures(n=0, promoters=0, passives=0, detractors=0)

    assert figures.nps is None
    assert figures.margin_of_error is None


def test_all_promoters_have_zero_margin() -> None:
    assert NpsFigures(n=4, promoters=4, passives=0, detractors=0).margin_of_error == 0.0


async def _store(runtime: Runtime, rows: list[tuple[str, int]]) -> None:
    """Store one response per (country, score) row, as the conversation service would."""
    async with runtime.sessions() as session, session.begin():
        respondent = Respondent(channel="console", address="console:analytics")
        session.add(respondent)
        await session.flush()
        now = utcnow()
        for country, score in rows:
            conversation = Conversation(respondent_id=respondent.id, survey_id="relationship",
                                        step="done", locale="en", deadline=now)
            session.add(conversation)
            await session.flush()
            category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            session.add(Response(
                conversation_id=conversation.id, respondent_id=respondent.id,
                survey_id="relationship", scale="0-10", score=score, category=category,
                locale="en", channel="console", country=country if len(country) == 2 else None,
            ))


async def test_report_counts_per_segment(runtime: Runtime) -> None:
    await _store(runtime, [("BR", 10), ("BR", 3), ("BR", 8), ("JP", 9)])
    async with runtime.sessions() as session:
        report = await nps_report(session, by=("country",))

    assert report.overall == NpsFigures(n=4, promoters=2, passives=1, detractors=1)
    assert report.as_dict()["overall"]["nps"] == 25.0
    assert [segment.key for segment in report.segments] == [{"country": "BR"}, {"country": "JP"}]
    assert report.segments[0].figures == NpsFigures(n=3, promoters=1, passives=1, detractors=1)
    assert report.segments[1].figures.nps == 100.0


async def test_report_rejects_unknown_field(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(UnknownSegmentField, match="cannot segment by 'phone'"):
            await nps_report(session, by=("phone",))


async def test_carpentries_survey_nps(runtime: Runtime) -> None:
    with (DATA / "carpentries_longterm_2017.csv").open(encoding="utf-8") as handle:
        rows = [(row["country"], int(row["likely_to_recommend"])) for row in csv.DictReader(handle)]
    await _store(runtime, rows)
    async with runtime.sessions() as session:
        report = await nps_report(session)

    assert report.overall.n == 369
    assert report.as_dict()["overall"]["nps"] == 36.86
    assert math.isclose(report.overall.nps or 0, 100 * (report.overall.promoters
                        - report.overall.detractors) / 369)
