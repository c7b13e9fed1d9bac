"""NPS arithmetic against hand-computed values, and the grouped query on the real backend."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.analytics import (
    EMPTY,
    NpsFigures,
    Rate,
    UnknownSegmentField,
    Window,
    WindowParts,
    compare,
    figures_by_window,
    figures_query,
    nps_report,
    rates_by_window,
    rates_query,
    split_window,
)
from bot.runtime import Runtime
from bot.slack.grammar import trend_windows
from flows import Scale, categorize
from storage.models import Conversation, Invitation, Respondent, Response
from storage.types import utcnow

DATA = Path(__file__).parent.parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")


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
            category = categorize(score, Scale.ZERO_TO_TEN).value
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


async def test_rates_without_answers(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        person = Respondent(channel="console", address="console:silent", country="BR")
        session.add(person)
        await session.flush()
        for day in (2, 3, 4):
            session.add(Invitation(survey_id="relationship", respondent_id=person.id,
                                   due_at=datetime(2026, 3, day, 9, tzinfo=UTC), status="sent"))
    window = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))

    async with runtime.sessions() as session:
        [rates] = await rates_by_window(session, windows=[window], by="country")

    assert rates == {"BR": Rate(sent=3, answered=0)}


async def test_window_queries_reject_unknown_fields(runtime: Runtime) -> None:
    # A whole UTC month, which PostgreSQL reads from the rollups alone.
    march = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))

    async with runtime.sessions() as session:
        with pytest.raises(UnknownSegmentField, match="cannot segment by 'phone'"):
            await figures_by_window(session, windows=[march], by="phone")
        with pytest.raises(UnknownSegmentField, match="cannot be split by 'scale'"):
            await rates_by_window(session, windows=[march], filters={"scale": "0-10"})


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


def test_split_window_by_hand() -> None:
    # Wednesday 2 December 2026 06:00 to Thursday 25 February 2027 18:00 (UTC).
    window = Window(datetime(2026, 12, 2, 6, tzinfo=UTC), datetime(2027, 2, 25, 18, tzinfo=UTC))

    parts = split_window(window)

    # The ends move to the nearest midnights, 2 December and 26 February. January is the one
    # whole month between them, December and February's days are whole days, and the six
    # hours beyond each end are subtracted.
    assert parts.months == Window(datetime(2027, 1, 1, tzinfo=UTC),
                                  datetime(2027, 2, 1, tzinfo=UTC))
    assert parts.days == (
        Window(datetime(2026, 12, 2, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        Window(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 2, 26, tzinfo=UTC)),
    )
    assert parts.added == ()
    assert parts.subtracted == (Window(datetime(2026, 12, 2, tzinfo=UTC), window.start),
                                Window(window.end, datetime(2027, 2, 26, tzinfo=UTC)))


def test_split_window_adds_short_edges() -> None:
    # 3 December 2026 13:30 to 10 December 2026 11:00: the start rounds up to 4 December
    # and the end down to 10 December, so the 10.5 and 11 hours beyond those are added.
    window = Window(datetime(2026, 12, 3, 13, 30, tzinfo=UTC),
                    datetime(2026, 12, 10, 11, tzinfo=UTC))

    assert split_window(window) == WindowParts(
        months=None,
        days=(Window(datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 10, tzinfo=UTC)),),
        added=(Window(window.start, datetime(2026, 12, 4, tzinfo=UTC)),
               Window(datetime(2026, 12, 10, tzinfo=UTC), window.end)),
        subtracted=(),
    )


def test_split_window_within_half_a_day() -> None:
    window = Window(datetime(2026, 12, 2, 1, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC))

    assert split_window(window) == WindowParts(months=None, days=(), added=(window,),
                                               subtracted=())


def test_split_window_whole_months() -> None:
    # The fourth quarter of 2026 in UTC: three whole months and nothing else.
    window = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))

    assert split_window(window) == WindowParts(months=window, days=(), added=(), subtracted=())


def test_split_window_local_month() -> None:
    # March 2026 in Berlin: 28 February 23:00 UTC to 31 March 22:00 UTC (summer time). The
    # ends round to 1 March and 1 April, so the whole UTC month is read, the hour before it
    # added and the last two hours of March subtracted.
    window = Window(datetime(2026, 3, 1, tzinfo=BERLIN), datetime(2026, 4, 1, tzinfo=BERLIN))

    parts = split_window(window)

    assert parts.months == Window(datetime(2026, 3, 1, tzinfo=UTC),
                                  datetime(2026, 4, 1, tzinfo=UTC))
    assert parts.days == ()
    assert parts.added == (Window(window.start, datetime(2026, 3, 1, tzinfo=UTC)),)
    assert parts.subtracted == (Window(window.end, datetime(2026, 4, 1, tzinfo=UTC)),)


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
        # Deleting and re-categorising rows must move the daily counts too.
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


# A series of responses and invitations, one every 5 hours from Thursday 1 January 2026 00:00
# UTC: row k is at hour 5k, and the last (k = 479) on 10 April 2026 at 19:00.
SERIES_START = datetime(2026, 1, 1, tzinfo=UTC)
SERIES = 480
REGIONS = ("APAC", "EMEA", "LATAM")


def _at(index: int) -> datetime:
    return SERIES_START + timedelta(hours=5 * index)


def _months(zone: tzinfo = UTC) -> list[Window]:
    """January, February and March 2026 as calendar months in ``zone``."""
    period = Window(datetime(2026, 1, 1, tzinfo=zone), datetime(2026, 4, 1, tzinfo=zone))
    return trend_windows("monthly", period, zone)


# Bucket edges that are not Mondays (1 February and 1 March 2026 are Sundays), edges at 23:00
# or 22:00 UTC (Berlin), and a 30-day period starting and ending at 13:30.
WINDOW_SETS: dict[str, list[Window]] = {
    "utc-months": _months(),
    "quarters": [Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
                 Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))],
    "berlin-months": _months(BERLIN),
    "mid-day": [Window(datetime(2026, 2, 10, 13, 30, tzinfo=UTC),
                       datetime(2026, 3, 12, 13, 30, tzinfo=UTC))],
    # Both round to 11 February: the first subtracts 13:00 to midnight, the second adds
    # 15:00 to midnight.
    "close-edges": [Window(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 10, 13, tzinfo=UTC)),
                    Window(datetime(2026, 2, 10, 15, tzinfo=UTC),
                           datetime(2026, 2, 20, tzinfo=UTC))],
}
# Rows per window, by hand from "row k at hour 5k" (hour 0 = 1 January 00:00 UTC):
# January is hours [0, 744) so k = 0..148; February [744, 1416) k = 149..283; March
# [1416, 2160) k = 284..431; Q2 k = 432..479. Berlin's months start an hour earlier, and
# April at 31 March 22:00 (hour 2158), so February loses k = 283 to March. The mid-day
# period is hours [973.5, 1693.5), k = 195..338. The close edges are hours [744, 973) and
# [975, 1200): k = 149..194 and k = 195..239.
SERIES_COUNTS: dict[str, list[int]] = {
    "utc-months": [149, 135, 148],
    "quarters": [432, 48],
    "berlin-months": [149, 134, 149],
    "mid-day": [144],
    "close-edges": [46, 45],
}


async def _store_series(runtime: Runtime) -> None:
    await _store_at(runtime, [(REGIONS[index % 3], "0-10", index % 11, _at(index))
                              for index in range(SERIES)])


async def _base_figures_by_window(runtime: Runtime, windows: list[Window],
                                  by: str) -> list[dict[object, NpsFigures]]:
    """The figures counted from base rows only, on either backend."""
    found: list[dict[object, NpsFigures]] = [{} for _ in windows]
    async with runtime.sessions() as session:
        for row in await session.exec(figures_query(windows=windows, by=by)):
            found[row[0]][(row[2], row[1])] = NpsFigures(*(int(value) for value in row[-4:]))
    return found


@pytest.mark.parametrize("name", list(WINDOW_SETS))
async def test_rollups_match_base_rows_per_window(runtime: Runtime, name: str) -> None:
    await _store_series(runtime)
    windows = WINDOW_SETS[name]

    async with runtime.sessions() as session:
        figures = await figures_by_window(session, windows=windows, by="region")

    assert figures == await _base_figures_by_window(runtime, windows, "region")
    assert [sum(value.n for value in bucket.values()) for bucket in figures] \
        == SERIES_COUNTS[name]


async def test_rollups_follow_moved_responses(runtime: Runtime) -> None:
    await _store_series(runtime)
    async with runtime.sessions() as session, session.begin():
        rows = (await session.exec(select(Response))).all()
        for response in rows:
            if response.score == 10:
                # Re-scored as a detractor and moved a day later, which takes k = 428
                # (31 March 04:00) into April.
                response.score, response.category = 0, "detractor"
                response.created_at += timedelta(days=1)
            elif response.score == 5:
                await session.delete(response)
    months, mid_day = WINDOW_SETS["utc-months"], WINDOW_SETS["mid-day"]

    async with runtime.sessions() as session:
        by_month = await figures_by_window(session, windows=months, by="region")
        [in_mid_day] = await figures_by_window(session, windows=mid_day, by="region")

    assert by_month == await _base_figures_by_window(runtime, months, "region")
    assert [in_mid_day] == await _base_figures_by_window(runtime, mid_day, "region")
    # Q1 had k = 0..431. Deleted: k % 11 == 5, 39 of them (k = 5..423). Moved out: k = 428
    # (score 10, 31 March 04:00) to 1 April.
    assert sum(value.n for bucket in by_month for value in bucket.values()) == 432 - 39 - 1
    # Promoters left are the 9s: k % 11 == 9, 39 in Q1 (k = 9..427) and 13 in the mid-day
    # period (k = 196..328).
    assert sum(value.promoters for bucket in by_month for value in bucket.values()) == 39
    assert sum(value.promoters for value in in_mid_day.values()) == 13


# Invitation k of the series goes to person k % 3 with status k % 4 from this list.
STATUSES = ("answered", "sent", "expired", "scheduled")


async def _store_invitations(runtime: Runtime) -> list[str]:
    """Store the invitation series for three respondents and return their ids."""
    async with runtime.sessions() as session, session.begin():
        people = [Respondent(channel="console", address="console:apac", region="APAC",
                             locale="ja"),
                  Respondent(channel="console", address="console:emea", region="EMEA",
                             locale="de"),
                  Respondent(channel="console", address="console:latam", region="LATAM")]
        session.add_all(people)
        await session.flush()
        session.add_all(Invitation(survey_id="relationship", respondent_id=people[index % 3].id,
                                   due_at=_at(index), status=STATUSES[index % 4])
                        for index in range(SERIES))
    return [person.id for person in people]


async def _base_rates(runtime: Runtime, windows: list[Window], by: str | None,
                      filters: dict[str, str] | None = None) -> list[dict[str | None, Rate]]:
    """The response rates counted from base rows only, on either backend."""
    found: list[dict[str | None, Rate]] = [{} for _ in windows]
    async with runtime.sessions() as session:
        for row in await session.exec(rates_query(windows=windows, by=by, filters=filters)):
            found[row[0]][row[1] if by else None] = Rate(int(row[-2]), int(row[-1]))
    return found


async def _rollup_rates(runtime: Runtime, windows: list[Window], by: str | None,
                        filters: dict[str, str] | None = None) -> list[dict[str | None, Rate]]:
    async with runtime.sessions() as session:
        return await rates_by_window(session, windows=windows, by=by, filters=filters)


async def test_rate_rollups_by_hand(runtime: Runtime) -> None:
    await _store_invitations(runtime)

    [january] = await _rollup_rates(runtime, WINDOW_SETS["utc-months"][:1], "region")

    # January has k = 0..148, so k % 12 = 0..4 occur 13 times and 5..11 twelve times.
    # APAC (k % 12 in 0, 3, 6, 9): 13 answered, 13 scheduled, 12 expired, 12 sent.
    # EMEA (1, 4, 7, 10): 13 sent, 13 answered, 12 scheduled, 12 expired.
    # LATAM (2, 5, 8, 11): 13 expired, 12 sent, 12 answered, 12 scheduled.
    assert january == {"APAC": Rate(sent=37, answered=13), "EMEA": Rate(sent=38, answered=13),
                       "LATAM": Rate(sent=37, answered=12)}


async def _change_invitations(runtime: Runtime, people: list[str]) -> None:
    """Apply, one transaction each, the changes the rate rollup must follow."""
    apac, emea, latam = people
    async with runtime.sessions() as session, session.begin():
        person = await session.get(Respondent, apac)
        assert person is not None
        person.region, person.locale = "EMEA", "en"
    async with runtime.sessions() as session, session.begin():
        for invitation in (await session.exec(select(Invitation).where(
                Invitation.respondent_id == emea, Invitation.status == "sent"))).all():
            invitation.status = "answered"
    async with runtime.sessions() as session, session.begin():
        for invitation in (await session.exec(select(Invitation).where(
                Invitation.respondent_id == latam, Invitation.status == "expired"))).all():
            await session.delete(invitation)
    async with runtime.sessions() as session, session.begin():
        # k = 148 (EMEA, answered, 31 January 20:00) moves to February; k = 1 (EMEA,
        # answered by now, 1 January 05:00) moves to the former APAC respondent.
        moved = (await session.exec(select(Invitation).where(Invitation.due_at == _at(148)))).one()
        moved.due_at = datetime(2026, 2, 2, 9, tzinfo=UTC)
        switched = (await session.exec(select(Invitation).where(Invitation.due_at == _at(1)))).one()
        switched.respondent_id = apac


async def test_rate_rollups_follow_respondents_and_invitations(runtime: Runtime) -> None:
    people = await _store_invitations(runtime)
    await _change_invitations(runtime, people)

    [january] = await _rollup_rates(runtime, WINDOW_SETS["utc-months"][:1], "region")

    # EMEA: the former APAC respondent's 37 sent and 13 answered, and k = 1 (38, 14), plus
    # EMEA's own 38 sent with its 13 sent now answered (38, 26), less k = 148 and k = 1.
    # LATAM loses its 13 expired invitations.
    assert january == {"EMEA": Rate(sent=38 + 36, answered=14 + 24),
                       "LATAM": Rate(sent=24, answered=12)}


@pytest.mark.parametrize(("name", "by", "filters"), [
    ("utc-months", "region", None),
    ("berlin-months", "language", None),
    ("quarters", "region", {"language": "en"}),
    ("mid-day", None, None),
    ("mid-day", "language", {"region": "EMEA"}),
])
async def test_rate_rollups_match_base_rows(runtime: Runtime, name: str, by: str | None,
                                            filters: dict[str, str] | None) -> None:
    people = await _store_invitations(runtime)
    await _change_invitations(runtime, people)
    windows = WINDOW_SETS[name]

    rates = await _rollup_rates(runtime, windows, by, filters)

    assert rates == await _base_rates(runtime, windows, by, filters)
    assert all(rates)
