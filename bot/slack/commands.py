"""``/nps``: parse the command, compute the figures in the database, and build the answer.

Bolt acknowledges the command first (Slack shows an error unless the ack arrives within
3 seconds) and the answer computed here goes to the command's ``response_url`` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics import EMPTY, FigureKey, NpsFigures, Rate, figures_by_window, rates_by_window
from bot.masking import mask_address
from bot.slack.blocks import local_time, mention, quote
from bot.slack.figures import (
    LEGEND,
    context,
    figure_line,
    fit_blocks,
    header,
    section,
    segment_label,
    signed,
    text_sections,
)
from bot.slack.grammar import NpsQuery, parse, trend_windows
from bot.slack.mrkdwn import escape
from bot.slack.queries import Detractor, latest_detractors
from bot.surveys import SurveysFile
from storage.types import utcnow

# Detractors listed by ``/nps detractors``, and how much of each comment is shown.
DETRACTORS_SHOWN = 10
COMMENT_SHOWN = 500
_TREND_PREVIOUS = {"weekly": "the week before", "monthly": "the month before",
                   "quarterly": "the quarter before"}


class NpsCommand:
    """Turns ``/nps`` text into a Slack message payload for ``response_url``."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], surveys: SurveysFile,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._surveys = surveys
        self._clock = clock

    def parse(self, text: str) -> NpsQuery:
        """Parse the command text; raises GrammarError with the grammar in its message."""
        return parse(text, now=self._clock(), zone=self._surveys.slack.zone,
                     regions=list(self._surveys.regions))

    async def answer(self, query: NpsQuery) -> dict[str, Any]:
        """Compute the figures ``query`` asks for and return the message payload."""
        zone = self._surveys.slack.zone
        blocks: list[dict[str, Any]] = [header(f"NPS · {query.period.label}"),
                                        context(_describe(query, zone))]
        async with self._sessions() as session:
            lines, overall = await _figure_lines(session, query)
            blocks += text_sections(lines)
            if query.trend:
                blocks += text_sections(await _trend_lines(session, query, zone))
            if query.detractors:
                blocks += await _detractor_blocks(session, query, zone)
        blocks.append(context(LEGEND))
        summary = ("no answers" if overall.nps is None
                   else f"NPS {signed(overall.nps)} (n={overall.n})")
        return {
            "response_type": "in_channel" if query.public else "ephemeral",
            "text": f"{summary} for {query.period.label}",
            "blocks": fit_blocks(blocks, "More rows than one Slack message holds; "
                                         "narrow the query with a filter."),
        }


def _describe(query: NpsQuery, zone: tzinfo) -> str:
    filters = " ".join(f"{name}={value}" for name, value in query.filters.items())
    previous = query.period.previous
    parts = [
        f"Filters: {escape(filters)}" if filters else "All responses",
        f"{local_time(query.period.current.start, zone)} to "
        f"{local_time(query.period.current.end, zone)}",
        f"compared with {query.period.previous_label} "
        f"({local_time(previous.start, zone)} to {local_time(previous.end, zone)})",
    ]
    return " · ".join(parts)


async def _figure_lines(session: AsyncSession, query: NpsQuery) -> tuple[list[str], NpsFigures]:
    period = query.period
    current, previous = await figures_by_window(
        session, windows=[period.current, period.previous], by=query.by, filters=query.filters)
    [rates] = await rates_by_window(session, windows=[period.current], by=query.by,
                                    filters=query.filters)
    totals = _by_scale(current)
    totals_before = _by_scale(previous)
    overall_rate = Rate(sum(rate.sent for rate in rates.values()),
                        sum(rate.answered for rate in rates.values()))
    lines = [
        figure_line("Overall", totals.get(scale, EMPTY), previous=totals_before.get(scale),
                    previous_label=period.previous_label, rate=overall_rate, scale=scale)
        for scale in sorted(totals.keys() | totals_before.keys()) or ["0-10"]
    ]
    if query.by:
        lines.append(f"*By {query.by}*")
        for value, scale in _keys(current, previous):
            lines.append(figure_line(
                segment_label(value), current.get((value, scale), EMPTY),
                previous=previous.get((value, scale)), previous_label=period.previous_label,
                rate=rates.get(value), scale=scale))
    overall = sum(totals.values(), EMPTY)
    return lines, overall


def _by_scale(figures: dict[FigureKey, NpsFigures]) -> dict[str, NpsFigures]:
    totals: dict[str, NpsFigures] = {}
    for (_, scale), value in figures.items():
        totals[scale] = totals.get(scale, EMPTY) + value
    return totals


def _keys(*groups: dict[FigureKey, NpsFigures]) -> list[FigureKey]:
    keys = {key for group in groups for key in group}
    return sorted(keys, key=lambda key: (key[0] is None, key[0] or "", key[1]))


async def _trend_lines(session: AsyncSession, query: NpsQuery, zone: tzinfo) -> list[str]:
    assert query.trend is not None
    windows = trend_windows(query.trend, query.period.current, zone)
    figures = await figures_by_window(session, windows=windows, by=query.by,
                                      filters=query.filters)
    rates = await rates_by_window(session, windows=windows, by=query.by, filters=query.filters)
    lines = [f"*Trend, {query.trend}*"]
    for index, window in enumerate(windows):
        before = figures[index - 1] if index else {}
        for value, scale in _keys(figures[index]):
            name = _bucket_label(query.trend, window.start, zone)
            if query.by:
                name += f" · {segment_label(value)}"
            lines.append(figure_line(
                name, figures[index][(value, scale)], previous=before.get((value, scale)),
                previous_label=_TREND_PREVIOUS[query.trend], rate=rates[index].get(value),
                scale=scale))
    if len(lines) == 1:
        lines.append("No answers in this period.")
    return lines


def _bucket_label(interval: str, start: datetime, zone: tzinfo) -> str:
    local = start.astimezone(zone)
    if interval == "weekly":
        return f"Week of {local:%Y-%m-%d}"
    if interval == "monthly":
        return f"{local:%Y-%m}"
    return f"{local.year} Q{(local.month - 1) // 3 + 1}"


async def _detractor_blocks(session: AsyncSession, query: NpsQuery,
                            zone: tzinfo) -> list[dict[str, Any]]:
    found = await latest_detractors(session, window=query.period.current, filters=query.filters,
                                    open_only=query.open_only, limit=DETRACTORS_SHOWN)
    title = "*Latest detractors with an open alert*" if query.open_only \
        else "*Latest detractors*"
    if not found:
        return [section(f"{title}\nNone in this period.")]
    return [section(title), *(section(_detractor_text(item, zone)) for item in found)]


def _detractor_text(item: Detractor, zone: tzinfo) -> str:
    high = 10 if item.scale == "0-10" else 5
    segment = " · ".join(escape(str(value)) for value in item.segment.values() if value)
    who = f"{escape(item.customer or 'Unnamed customer')} ({escape(mask_address(item.address))})"
    state = "no alert" if item.alert_status is None else f"alert {item.alert_status}"
    if item.claimed_by:
        state += f" by {mention(item.claimed_by)}"
    comment = quote(item.comment, limit=COMMENT_SHOWN, note=" …") if item.comment \
        else "_No comment._"
    return (f"*{item.score}/{high}* · {who} · {segment} · "
            f"{local_time(item.created_at, zone)} · {state}\n{comment}")
