"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, fonts or links to fetch)."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from batchyard.check.chart import Run, history_chart
from batchyard.check.report import Report, delta

_ENV = Environment(
    loader=PackageLoader("batchyard.check", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _color(score: float) -> str:
    return "#1a7f37" if score >= 90 else "#b08800" if score >= 70 else "#cf222e"


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _runs(report: Report, table: str | None = None) -> list[Run]:
    """The suite's runs (or one table's) for the history chart, oldest first; the report's own
    run at the end even when the store had no history to give."""
    runs = []
    for point in report.history:
        figures = point if table is None else (point.get("tables") or {}).get(table)
        if figures is not None:
            runs.append(Run(point["job"], point.get("at"), figures["score"], figures["failing"]))
    if runs and runs[-1].job == report.job:
        return runs
    this = report.job or "this run"
    if table is None:
        runs.append(Run(this, report.created_at or None, report.score, _failing(report.rules)))
    else:
        for t in report.tables:
            if t.table == table:
                runs.append(Run(this, report.created_at or None, t.score, _failing(t.rules)))
    return runs


def _failing(rules: list[Any]) -> int:
    return sum(not r.passed for r in rules)


def to_html(report: Report) -> str:
    template = _ENV.get_template("report.html.j2")
    trend = report.trend or {}
    return template.render(
        report=report,
        suite_chart=history_chart(
            _runs(report), label=f"Score of {report.suite}", css_id="history-suite"
        ),
        table_chart=lambda name, n: history_chart(
            _runs(report, name),
            label=f"Score of table {name}",
            width=520,
            height=150,
            css_id=f"history-table-{n}",
        ),
        trend=report.trend,
        table_trend=lambda name: trend.get("tables", {}).get(name),
        rule_trend=lambda table, rule: (
            trend.get("tables", {}).get(table, {}).get("rules", {}).get(rule)
        ),
        delta=delta,
        color=_color,
        cell=_cell,
    )
