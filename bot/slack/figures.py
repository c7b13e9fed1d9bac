"""NPS figures as Slack mrkdwn lines, shared by ``/nps`` answers and the weekly summary.

Every figure shows n, the NPS with its 95 % margin of error, the response rate, and the
change from the previous period, marked when it is significant. Segments with fewer than 30
answers are marked as too small to trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.analytics import Change, NpsFigures, Rate, compare
from bot.slack.blocks import MAX_BLOCKS, TEXT_LIMIT
from bot.slack.mrkdwn import escape

# Below this many answers the margin of error is wide and the normal approximation behind
# it is rough; such figures are shown but flagged.
MIN_TRUSTED_N = 30
SIGNIFICANT_MARK = "†"
SMALL_MARK = "⚠️"
LEGEND = (f"{SIGNIFICANT_MARK} change significant at the 95 % level · {SMALL_MARK} fewer than "
          f"{MIN_TRUSTED_N} answers, too small to trust · ± is the 95 % margin of error")


def signed(value: float, digits: int = 1) -> str:
    """Format points with an explicit sign: +36.9, -4.0, 0.0."""
    text = f"{value:+.{digits}f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def scale_note(scale: str) -> str:
    return " · _asked 1-5_" if scale == "1-5" else ""


def change_text(change: Change | None, previous_label: str) -> str:
    if change is None:
        return f"no answers in {previous_label} to compare"
    if change.delta > 0:
        arrow = "▲"
    elif change.delta < 0:
        arrow = "▼"
    else:
        arrow = "="
    mark = SIGNIFICANT_MARK if change.significant else ""
    return f"{arrow} {signed(change.delta)}{mark} vs {previous_label}"


def rate_text(rate: Rate | None) -> str:
    if rate is None or rate.rate is None:
        return "response rate n/a"
    return f"response rate {100 * rate.rate:.1f} % ({rate.answered}/{rate.sent})"


def figure_line(
    label: str,
    current: NpsFigures,
    *,
    previous: NpsFigures | None,
    previous_label: str,
    rate: Rate | None,
    scale: str,
) -> str:
    """One line: label, NPS ± margin, n, response rate, change, and the small-n warning.

    ``label`` is mrkdwn already; segment values must be escaped by the caller.
    """
    if current.nps is None:
        return f"*{label}*{scale_note(scale)}: no answers"
    margin = current.margin_of_error or 0.0
    parts = [
        f"*{label}*{scale_note(scale)}: NPS *{signed(current.nps)}* ±{margin:.1f}",
        f"n={current.n}",
        rate_text(rate),
        change_text(compare(current, previous) if previous else None, previous_label),
    ]
    line = " · ".join(parts)
    if current.n < MIN_TRUSTED_N:
        line += f" · {SMALL_MARK} n < {MIN_TRUSTED_N}, too small to trust"
    return line


def segment_label(value: Any) -> str:
    return "(none)" if value is None else escape(str(value))


def text_sections(lines: Sequence[str], *, limit: int = TEXT_LIMIT) -> list[dict[str, Any]]:
    """Pack lines into as few mrkdwn sections as fit Slack's 3,000 characters each."""
    sections: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        if current and size + len(line) + 1 > limit:
            sections.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        sections.append(section("\n".join(current)))
    return sections


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def header(text: str) -> dict[str, Any]:
    # Slack caps header text at 150 characters.
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def fit_blocks(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """Keep at most 50 blocks, replacing the tail with ``note`` when there are more."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[:MAX_BLOCKS - 1], context(note)]
