"""Small charts for the terminal: a sparkline of a series, and bars of durations per kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

#: Eight heights, lowest first.
BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], *, span: float = 10.0) -> str:
    """``values`` (oldest first) as one block character each, from ``▁`` (the lowest) to ``█``
    (the highest). The scale covers at least ``span`` (score points), so a series that moves by a
    fraction of a point stays flat rather than filling the whole height."""
    if not values:
        return ""
    hi = max(values)
    lo = min(min(values), hi - span)
    steps = len(BLOCKS) - 1
    return "".join(
        BLOCKS[round((v - lo) / (hi - lo) * steps) if hi > lo else steps] for v in values
    )


def score_style(score: float) -> str:
    return "green" if score >= 90 else "yellow" if score >= 70 else "red"


def duration_bars(groups: Sequence[dict[str, Any]], fmt: Any, *, width: int = 40) -> Table | None:
    """Per kind (and env, when there are several): a bar to the median duration (``█``), going
    on to the 95th percentile (``░``), all on one scale. None when no job has finished."""
    shown = [g for g in groups if g.get("duration_p95_s") is not None]
    if not shown:
        return None
    envs = {g["env"] for g in shown}
    top = max(float(g["duration_p95_s"]) for g in shown) or 1.0
    table = Table(
        title=f"durations by kind: █ median, ░ to p95 (full width {fmt(top)})",
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
    )
    table.add_column("kind", no_wrap=True)
    table.add_column("bar", no_wrap=True, min_width=width)
    table.add_column("figures", no_wrap=True)
    for g in shown:
        p50, p95 = float(g["duration_p50_s"] or 0.0), float(g["duration_p95_s"])
        solid = _cells(p50, top, width)
        light = max(_cells(p95, top, width) - solid, 0)
        bar = Text("█" * solid, style="cyan")
        bar.append("░" * light, style="cyan")
        label = g["kind"] if len(envs) == 1 else f"{g['kind']} ({g['env']})"
        table.add_row(label, bar, f"median {fmt(p50)} · p95 {fmt(p95)} · {g['jobs']} job(s)")
    return table


def _cells(seconds: float, top: float, width: int) -> int:
    """Cells of a bar for ``seconds`` on a scale where ``top`` fills ``width``; a duration above
    nothing gets at least one, so it shows."""
    if seconds <= 0:
        return 0
    return max(1, round(seconds / top * width))
