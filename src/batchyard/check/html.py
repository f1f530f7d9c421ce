"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, fonts or links to fetch)."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

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


def to_html(report: Report) -> str:
    template = _ENV.get_template("report.html.j2")
    trend = report.trend or {}
    return template.render(
        report=report,
        trend=report.trend,
        table_trend=lambda name: trend.get("tables", {}).get(name),
        rule_trend=lambda table, rule: (
            trend.get("tables", {}).get(table, {}).get("rules", {}).get(rule)
        ),
        delta=delta,
        color=_color,
        cell=_cell,
    )
