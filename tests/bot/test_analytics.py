"""NPS arithmetic against hand-computed values, and the grouped query on the real backend."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.analytics import (
    EMPTY,
    NpsFigures,
    Rate,
    UnknownSegmentField,
    Window,
    compare,
    figures_by_window,
    figures_query,
    nps_report,
    rates_by_window,
    split_weeks,
)
from bot.runtime import Runtime
from flows import Scale, categorize
from storage.models import Conversation, Invitation, Respondent, Response
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


def test_change_significant_by_hand() -> None:
    current = NpsFigures(n=100, promoters=60, passives=20, detractors=20)
    previous = NpsFigures(n=100, promoters=40, passives=20, detractors=40)

    change = compare(current, previous)

    assert change is not None
    # NPS 40 vs 0. Variances: 0.8 - 0.4**2 = 0.64 and 0.8 - 0 = 0.8.
    # SE = sqrt(0.64 / 100 + 0.8 / 100) = sqrt(0.0144) = 0.12; z = 0.40 / 0.12 = 3.3333.
    assert change.delta == pytest.approx(40.0)
    assert change.z == pytest.approx(3.3333, abs=0.0001)
    assert change.significant is True


def test_change_not_significant_by_hand() -> None:
    current = NpsFigures(n=20, promoters=9, passives=6, detractors=5)
    previous = NpsFigures(n=20, promoters=8, passives=6, detractors=6)

    change = compare(current, previous)

    assert change is not None
    # NPS 20 vs 10. Variances: 0.7 - 0.2**2 = 0.66 and 0.7 - 0.1**2 = 0.69.
    # SE = sqrt(0.66 / 20 + 0.69 / 20) = sqrt(0.0675) = 0.25981; z = 0.10 / 0.25981 = 0.3849.
    assert change.z == pytest.approx(0.3849, abs=0.0001)
    assert change.significant is False


def test_change_without_previous_answers() -> None:
    assert compare(NpsFigures(n=3, promoters=3, passives=0, detractors=0), EMPTY) is None


def test_change_with_zero_variance_unmarked() -> None:
    change = compare(NpsFigures(n=5, promoters=5, passives=0, detractors=0),
                     NpsFigures(n=5, promoters=0, passives=0, detractors=5))

    assert change is not None
    assert change.delta == 200.0
    assert change.z is None
    assert change.significant is False


def test_response_rate_by_hand() -> None:
    assert Rate(sent=40, answered=9).rate == pytest.approx(0.225)
    assert Rate(sent=0, answered=0).rate is None


async def _store_at(runtime: Runtime, rows: list[tuple[str, str, int, datetime]]) -> None:
    """Store (region, scale, score, time) rows."""
    async with runtime.sessions() as session, session.begin():
        respondent = Respondent(channel="console", address="console:windows")
        session.add(respondent)
        await session.flush()
        for region, scale, score, at in rows:
            conversation = Conversation(respondent_id=respondent.id, survey_id="relationship",
                                        step="done", locale="en", deadline=at)
            session.add(conversation)
            await session.flush()
            category = categorize(score, Scale(scale)).value
            session.add(Response(
                conversation_id=conversation.id, respondent_id=respondent.id,
                survey_id="relationship", scale=scale, score=score, category=category,
                locale="en", channel="console", region=region, created_at=at, updated_at=at))


async def test_windows_keep_scales_apart(runtime: Runtime) -> None:
    now = utcnow()
    day = timedelta(days=1)
    await _store_at(runtime, [
        ("APAC", "0-10", 10, now - day), ("APAC", "0-10", 0, now - day),
        ("APAC", "1-5", 5, now - day), ("APAC", "1-5", 4, now - day),
        ("APAC", "1-5", 1, now - day), ("EMEA", "0-10", 9, now - 10 * day),
        ("EMEA", "0-10", 9, now - 40 * day),
    ])
    current = Window(now - 7 * day, now)
    previous = Window(now - 14 * day, now - 7 * day)
    async with runtime.sessions() as session:
        this_week, last_week = await figures_by_window(session, windows=[current, previous],
                                                       by="region")

    # 0-10: 10 is a promoter, 0 a detractor. 1-5: 5 promoter, 4 passive, 1 detractor.
    assert this_week == {
        ("APAC", "0-10"): NpsFigures(n=2, promoters=1, passives=0, detractors=1),
        ("APAC", "1-5"): NpsFigures(n=3, promoters=1, passives=1, detractors=1),
    }
    assert last_week == {("EMEA", "0-10"): NpsFigures(n=1, promoters=1, passives=0,
                                                      detractors=0)}


async def test_rates_count_sent_invitations(runtime: Runtime) -> None:
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        person = Respondent(channel="console", address="console:rates", country="BR",
                            region="LATAM")
        session.add(person)
        await session.flush()
        statuses = ["answered"] * 3 + ["sent"] * 4 + ["expired"] * 1 + ["scheduled", "failed"]
        for status in statuses:
            session.add(Invitation(survey_id="relationship", respondent_id=person.id,
                                   due_at=now - timedelta(days=1), status=status))
    async with runtime.sessions() as session:
        [rates] = await rates_by_window(session, windows=[Window(now - timedelta(days=7), now)],
                                        by="country")

    # Scheduled and failed invitations never went out: 3 answered of 8 sent.
    assert rates == {"BR": Rate(sent=8, answered=3)}


async def test_carpentries_margin_by_hand(runtime: Runtime) -> None:
    with (DATA / "carpentries_longterm_2017.csv").open(encoding="utf-8") as handle:
        rows = [(row["country"], int(row["likely_to_recommend"])) for row in csv.DictReader(handle)]
    await _store(runtime, rows)
    async with runtime.sessions() as session:
        report = await nps_report(session)

    # 200 promoters, 105 passives, 64 detractors of 369: NPS = 100 * 136 / 369 = 36.86.
    # p = 0.54201, d = 0.17344: variance = 0.71545 - 0.36856**2 = 0.57961;
    # 1.95996 * sqrt(0.57961 / 369) = 0.077679, so ±7.77 points.
    assert report.overall == NpsFigures(n=369, promoters=200, passives=105, detractors=64)
    assert report.overall.margin_of_error == pytest.approx(7.7679, abs=0.0001)


def test_split_weeks_by_hand() -> None:
    # Wednesday 2 December 2026 12:00 to Friday 25 December 2026 06:00 (UTC).
    window = Window(datetime(2026, 12, 2, 12, tzinfo=UTC), datetime(2026, 12, 25, 6, tzinfo=UTC))

    whole, edges = split_weeks(window)

    # Whole weeks: Monday 7 December to Monday 21 December.
    assert whole == Window(datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC))
    assert edges == [Window(window.start, datetime(2026, 12, 7, tzinfo=UTC)),
                     Window(datetime(2026, 12, 21, tzinfo=UTC), window.end)]


def test_split_weeks_short_window() -> None:
    window = Window(datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))

    assert split_weeks(window) == (None, [window])


async def _base_figures(runtime: Runtime, window: Window) -> dict[object, NpsFigures]:
    async with runtime.sessions() as session:
        rows = await session.exec(figures_query(windows=[window], by="region"))
        return {(row[2], row[1]): NpsFigures(*(int(value) for value in row[-4:]))
                for row in rows}


async def test_rollups_match_base_rows(runtime: Runtime) -> None:
    now = utcnow()
    rows = [("APAC" if index % 3 else "EMEA", "0-10", index % 11, now - timedelta(hours=5 * index))
            for index in range(200)]
    await _store_at(runtime, rows)
    async with runtime.sessions() as session, session.begin():
        # Deleting and re-categorising rows must move the weekly counts too.
        doomed = (await session.exec(select(Response).where(Response.score == 0))).all()
        for response in doomed:
            await session.delete(response)
        moved = (await session.exec(select(Response).where(Response.score == 10))).all()
        for response in moved:
            response.region = "LATAM"
    window = Window(now - timedelta(days=50), now)

    async with runtime.sessions() as session:
        [rolled_up] = await figures_by_window(session, windows=[window], by="region")

    assert rolled_up == await _base_figures(runtime, window)
    assert sum(figures.n for figures in rolled_up.values()) == 200 - len(doomed)
