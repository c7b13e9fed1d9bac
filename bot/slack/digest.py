"""Content of the weekly summary: Block Kit and the trend chart for one week.

Overall and per-segment NPS with the change from the week before, the response rate per
market against the target, the most mentioned words in detractor comments per language,
open alerts by age, then every detractor comment of the week (the part that may need the
thread, since a message holds at most 50 blocks).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics import (
    EMPTY,
    FigureKey,
    NpsFigures,
    Rate,
    Window,
    figures_by_window,
    rates_by_window,
)
from bot.slack.blocks import quote
from bot.slack.chart import trend_chart
from bot.slack.config import SlackConfig
from bot.slack.figures import (
    LEGEND,
    context,
    figure_line,
    header,
    rate_text,
    section,
    segment_label,
    text_sections,
)
from bot.slack.mrkdwn import escape
from bot.slack.queries import Comment, detractor_comments, open_alert_ages
from bot.slack.words import top_terms

TREND_WEEKS = 12
# Comments listed one per block; beyond this the summary states how many more there were.
MAX_COMMENTS = 200
COMMENT_SHOWN = 600
MAX_MARKETS = 40
_PREVIOUS = "the week before"


@dataclass(frozen=True)
class Digest:
    title: str
    blocks: list[dict[str, Any]]
    chart: bytes | None


async def build_digest(session: AsyncSession, *, week: Window, config: SlackConfig,
                       now: datetime) -> Digest:
    """Compute every figure of the summary for ``week`` and lay it out."""
    zone = config.zone
    previous = Window(week.start - timedelta(days=7), week.start)
    title = (f"Weekly NPS · {week.start.astimezone(zone):%d %b} to "
             f"{week.end.astimezone(zone):%d %b %Y}")
    blocks = [header(title), context(
        f"The week to {week.end.astimezone(zone):%Y-%m-%d %H:%M %Z}, compared with "
        f"{_PREVIOUS}. {LEGEND}")]
    blocks += await _nps_sections(session, week, previous, config.summary.by)
    blocks += await _rate_sections(session, week, config.summary.response_rate_target)
    comments = await detractor_comments(session, window=week)
    blocks += text_sections(_word_lines(comments))
    ages = await open_alert_ages(session, now=now)
    blocks.append(section("*Open alerts by age*\n"
                          + " · ".join(f"{label}: {count}" for label, count in ages.items())))
    blocks += _comment_blocks(comments)
    chart = await _chart(session, week, zone)
    return Digest(title=title, blocks=blocks, chart=chart)


async def _nps_sections(session: AsyncSession, week: Window, previous: Window,
                        fields: list[str]) -> list[dict[str, Any]]:
    current, before = await figures_by_window(session, windows=[week, previous])
    [rates] = await rates_by_window(session, windows=[week])
    lines = [figure_line("Overall", figures, previous=before.get(key), previous_label=_PREVIOUS,
                         rate=rates.get(None), scale=key[1])
             for key, figures in sorted(current.items())]
    if not lines:
        return text_sections(["*Overall*: no answers this week"])
    for field in fields:
        current, before = await figures_by_window(session, windows=[week, previous], by=field)
        [rates] = await rates_by_window(session, windows=[week], by=field)
        lines.append(f"*By {field}*")
        lines += [_segment_line(key, current, before, rates) for key in sorted(
            current, key=lambda key: (key[0] is None, key[0] or "", key[1]))]
    return text_sections(lines)


def _segment_line(key: FigureKey, current: dict[FigureKey, NpsFigures],
                  before: dict[FigureKey, NpsFigures], rates: dict[str | None, Rate]) -> str:
    return figure_line(segment_label(key[0]), current.get(key, EMPTY), previous=before.get(key),
                       previous_label=_PREVIOUS, rate=rates.get(key[0]), scale=key[1])


async def _rate_sections(session: AsyncSession, week: Window,
                         target: float) -> list[dict[str, Any]]:
    [rates] = await rates_by_window(session, windows=[week], by="country")
    title = f"*Response rate by market* (target {100 * target:.0f} %)"
    if not rates:
        return [section(f"{title}\nNo invitations were sent this week.")]
    ranked = sorted(rates.items(), key=lambda item: (-item[1].sent, item[0] or ""))
    lines = [title]
    for country, rate in ranked[:MAX_MARKETS]:
        mark = "✅" if (rate.rate or 0) >= target else "⚠️ below target"
        lines.append(f"{segment_label(country)}: {rate_text(rate)} {mark}")
    if len(ranked) > MAX_MARKETS:
        lines.append(f"… and {len(ranked) - MAX_MARKETS} smaller markets")
    return text_sections(lines)


def _word_lines(comments: list[Comment]) -> list[str]:
    by_language: dict[str, list[str]] = defaultdict(list)
    for comment in comments:
        by_language[comment.language].append(comment.text)
    lines = ["*Most mentioned in detractor comments*"]
    for language in sorted(by_language, key=lambda name: (-len(by_language[name]), name)):
        texts = by_language[language]
        ranked = top_terms(texts, language)
        shown = ", ".join(f"“{escape(term)}” ({count})" for term, count in ranked) \
            or "no word in two comments or more"
        lines.append(f"*{escape(language)}* ({len(texts)} comments): {shown}")
    if len(lines) == 1:
        lines.append("No detractor comments this week.")
    return lines


def _comment_blocks(comments: list[Comment]) -> list[dict[str, Any]]:
    if not comments:
        return []
    blocks = [section(f"*Detractor comments this week* ({len(comments)})")]
    for comment in comments[:MAX_COMMENTS]:
        high = 10 if comment.scale == "0-10" else 5
        where = " · ".join(escape(value) for value in (
            comment.region, comment.country, comment.customer_type, comment.channel) if value)
        text = quote(comment.text, limit=COMMENT_SHOWN, note=" …")
        blocks.append(section(f"*{comment.score}/{high}* · {where}\n{text}"))
    if len(comments) > MAX_COMMENTS:
        blocks.append(context(f"… and {len(comments) - MAX_COMMENTS} more comments"))
    return blocks


async def _chart(session: AsyncSession, week: Window, zone: tzinfo) -> bytes | None:
    """NPS by region for the 12 weeks to the end of ``week``; None without any answers."""
    windows = [Window(week.end - timedelta(weeks=TREND_WEEKS - index),
                      week.end - timedelta(weeks=TREND_WEEKS - index - 1))
               for index in range(TREND_WEEKS)]
    figures = await figures_by_window(session, windows=windows, by="region")
    names = {key for bucket in figures for key in bucket}
    if not names:
        return None
    series: dict[str, list[float | None]] = {}
    for region, scale in names:
        label = (region or "no region") + (" (1-5)" if scale == "1-5" else "")
        series[label] = [bucket[(region, scale)].nps if (region, scale) in bucket else None
                         for bucket in figures]
    weeks = [window.start.astimezone(zone).date() for window in windows]
    title = f"NPS by region, {TREND_WEEKS} weeks"
    # Rendering takes about 0.1 s of CPU; a thread keeps the event loop responsive.
    return await asyncio.to_thread(trend_chart, weeks, series, title=title)
