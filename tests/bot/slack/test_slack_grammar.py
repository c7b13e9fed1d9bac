"""The ``/nps`` grammar: periods in the team's time zone, filters, and errors that teach."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.analytics import Window
from bot.slack.grammar import GrammarError, parse, trend_windows

BERLIN = ZoneInfo("Europe/Berlin")
# Friday 4 December 2026, 12:00 UTC (13:00 in Berlin).
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
REGIONS = ["AMER", "LATAM", "EMEA", "APAC"]


def _parse(text: str):  # type: ignore[no-untyped-def]
    return parse(text, now=NOW, zone=BERLIN, regions=REGIONS)


def test_default_is_last_30_days() -> None:
    query = _parse("")

    assert query.period.current == Window(datetime(2026, 11, 4, 12, 0, tzinfo=UTC), NOW)
    assert query.period.previous == Window(datetime(2026, 10, 5, 12, 0, tzinfo=UTC),
                                           datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    assert query.period.label == "the last 30 days"


def test_quarter_compares_same_days() -> None:
    query = _parse("region=apac quarter")

    # Q4 starts 1 October 00:00 in Berlin (CEST, UTC+2); 64 days 13 hours have passed.
    assert query.period.current.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert query.period.previous.start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert query.period.previous.end == datetime(2026, 9, 3, 12, 0, tzinfo=UTC)
    assert query.filters == {"region": "APAC"}


def test_since_and_filters() -> None:
    query = _parse("since 2026-11-01 country=br maturity=high survey=relationship by channel "
                   "language=pt-BR detractors open public")

    assert query.period.current.start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert query.filters == {"country": "BR", "security_maturity": "high",
                             "survey_id": "relationship", "language": "pt_BR"}
    assert query.by == "channel"
    assert query.detractors is True
    assert query.open_only is True
    assert query.public is True


def test_quoted_value_with_space() -> None:
    assert _parse('customer_type="mid market"').filters == {"customer_type": "mid market"}


@pytest.mark.parametrize(("text", "problem"), [
    ("planet=mars", "`planet` cannot be filtered on; use one of region, country,"),
    ("last 14d", "`last 14d` is not a period; use last 7d, last 30d, last 90d, last 12w."),
    ("quarter last 7d", "Give at most one period."),
    ("since 2026-13-01", "`since 2026-13-01` is not a date; write it as YYYY-MM-DD."),
    ("since 2027-01-01", "`since 2027-01-01` is in the future."),
    ("trend daily", "`trend` needs an interval: weekly, monthly or quarterly."),
    ("region=mars", "`region=mars` is not a configured region; use one of AMER, LATAM,"),
    ("country=Brazil", "`country=Brazil` is not a two-letter country code such as BR."),
    ("how are we doing", "`how` is not part of the `/nps` grammar."),
    ('region="APAC', "Could not read `region=\"APAC`: No closing quotation."),
])
def test_errors_show_grammar(text: str, problem: str) -> None:
    with pytest.raises(GrammarError) as raised:
        _parse(text)

    assert raised.value.problem.startswith(problem)
    assert "*Usage:* `/nps [filters] [period] [by FIELD]" in str(raised.value)


def test_weekly_buckets_start_monday() -> None:
    period = Window(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), NOW)

    windows = trend_windows("weekly", period, BERLIN)

    # Mondays 23 and 30 November at 00:00 in Berlin (CET, UTC+1).
    assert [window.start for window in windows] == [
        datetime(2026, 11, 18, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 0, tzinfo=UTC),
    ]
    assert windows[-1].end == NOW
