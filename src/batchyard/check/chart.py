"""The history chart of the HTML report: a suite's (or a table's) score over its runs as a line,
and how many rules failed in each run as bars, in one inline SVG (no script, nothing to fetch).

Each point and bar carries a ``<title>`` (the run, its time, score and failing rules), which a
browser shows on hover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SCORE_COLOR = "#0969da"
FAILING_COLOR = "#cf222e"
GRID_COLOR = "#d0d7de"
TEXT_COLOR = "#57606a"


@dataclass(frozen=True)
class Run:
    """One run on the chart: its job, when, its score and how many rules failed."""

    job: str
    at: str | None
    score: float
    failing: int


def history_chart(
    runs: Sequence[Run], *, label: str, width: int = 680, height: int = 190, css_id: str = ""
) -> Markup:
    """The SVG of ``runs`` (oldest first): score on the left axis (0 to 100), failing rules on
    the right one (0 to the most any run had)."""
    left, right, top, bottom = 40, 48, 26, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(runs)
    step = plot_w / max(n, 1)
    most = max((r.failing for r in runs), default=0)
    scale_top = max(most, 1)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y_score(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(value, 100.0)) / 100)

    def y_count(value: int) -> float:
        return top + plot_h * (1 - value / scale_top)

    first, last = runs[0] if runs else None, runs[-1] if runs else None
    summary = (
        f"{label}: {n} run(s), score {first.score:g} to {last.score:g}, "
        f"{last.failing} failing rule(s) in the last"
        if first and last
        else f"{label}: no runs"
    )
    out = [
        f'<svg class="history-chart" id="{escape(css_id)}" data-runs="{n}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(summary)}" '
        f'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(summary)}</title>",
    ]
    # Grid and axes: score 0, 50, 100 on the left; failing rules 0 and the most on the right.
    for value in (0, 50, 100):
        gy = y_score(value)
        out.append(
            f'<line x1="{left}" y1="{gy:.1f}" x2="{left + plot_w}" y2="{gy:.1f}" '
            f'stroke="{GRID_COLOR}" stroke-dasharray="{"" if value == 0 else "3 3"}"/>'
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT_COLOR}">{value}</text>'
        )
    for value in sorted({0, most}):
        out.append(
            f'<text x="{left + plot_w + 6}" y="{y_count(value) + 4:.1f}" '
            f'fill="{FAILING_COLOR}">{value}</text>'
        )
    out.append(
        f'<text x="{left - 6}" y="{top - 14}" text-anchor="end" fill="{SCORE_COLOR}">score</text>'
        f'<text x="{left + plot_w + 6}" y="{top - 14}" fill="{FAILING_COLOR}">failing</text>'
    )
    # Failing rules: a bar per run.
    bar_w = max(min(step * 0.5, 28), 2)
    for i, run in enumerate(runs):
        if run.failing <= 0:
            continue
        by = y_count(run.failing)
        out.append(
            f'<rect class="failing-bar" x="{x(i) - bar_w / 2:.1f}" y="{by:.1f}" '
            f'width="{bar_w:.1f}" height="{top + plot_h - by:.1f}" fill="{FAILING_COLOR}" '
            f'fill-opacity="0.25"><title>{escape(_tip(run))}</title></rect>'
        )
    # The score: a line through the runs, a dot on each (the latest run larger).
    if n > 1:
        points = " ".join(f"{x(i):.1f},{y_score(r.score):.1f}" for i, r in enumerate(runs))
        out.append(
            f'<polyline class="score-line" points="{points}" fill="none" '
            f'stroke="{SCORE_COLOR}" stroke-width="2" stroke-linejoin="round"/>'
        )
    for i, run in enumerate(runs):
        radius = 4.5 if i == n - 1 else 3
        out.append(
            f'<circle class="score-point" cx="{x(i):.1f}" cy="{y_score(run.score):.1f}" '
            f'r="{radius}" fill="{SCORE_COLOR}" data-score="{run.score:g}" '
            f'data-failing="{run.failing}"><title>{escape(_tip(run))}</title></circle>'
        )
    # Times of the first and last runs under the axis.
    if first is not None and first.at:
        out.append(
            f'<text x="{left}" y="{height - 10}" fill="{TEXT_COLOR}">{escape(_when(first.at))}</text>'
        )
    if last is not None and last.at and n > 1:
        out.append(
            f'<text x="{left + plot_w}" y="{height - 10}" text-anchor="end" '
            f'fill="{TEXT_COLOR}">{escape(_when(last.at))}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _when(at: str) -> str:
    """``2024-06-01T03:00:12+00:00`` as ``2024-06-01 03:00``."""
    return at[:16].replace("T", " ")


def _tip(run: Run) -> str:
    when = f" at {run.at}" if run.at else ""
    return f"{run.job}{when}: score {run.score:g}, {run.failing} failing rule(s)"
