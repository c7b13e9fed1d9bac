"""The weekly summary's chart: NPS per region per week, drawn with matplotlib as a PNG."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

from matplotlib.figure import Figure


def trend_chart(weeks: Sequence[date], series: Mapping[str, Sequence[float | None]],
                *, title: str) -> bytes:
    """Draw one line per region over ``weeks`` and return the PNG bytes.

    A week without answers is a gap in its line, not a zero. Building a ``Figure`` directly
    (not through pyplot) renders with the Agg backend and keeps no global state, so it is
    safe in a worker thread.
    """
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.add_subplot()
    positions = list(range(len(weeks)))
    for name in sorted(series):
        values = [float("nan") if value is None else value for value in series[name]]
        axes.plot(positions, values, marker="o", linewidth=1.8, label=name)
    axes.set_xticks(positions, [f"{week:%d %b}" for week in weeks])
    axes.axhline(0, color="#999999", linewidth=0.8)
    axes.set_ylim(-100, 100)
    axes.set_ylabel("NPS")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    if series:
        axes.legend(loc="lower left", fontsize="small", ncols=min(len(series), 6))
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
