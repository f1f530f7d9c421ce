"""The monitoring report written out: JSON, Markdown, plain text, or one self-contained HTML page
whose charts are inline SVG (no scripts, fonts or links to fetch: it opens with no network)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

FORMATS = ("md", "json", "text", "html")
ARROWS = {"up": "↑", "down": "↓", "flat": "→", None: ""}

_ENV = Environment(
    loader=PackageLoader("batchyard.monitor", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(report: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "md":
        return to_markdown(report)
    if fmt == "text":
        return to_text(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(fmt)


def series_name(m: Mapping[str, Any]) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(m["labels"].items()))
    return f"{m['monitor']}/{m['metric']}" + (f"{{{labels}}}" if labels else "")


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.4g}"


def trend_text(t: Mapping[str, Any]) -> str:
    if t.get("direction") is None:
        return "-"
    change = t.get("change_pct")
    shown = f"{change:+g}%" if change is not None else "new"
    verdict = t.get("verdict")
    return f"{ARROWS[t['direction']]} {shown}" + (f" ({verdict})" if verdict != "steady" else "")


def _status(m: Mapping[str, Any]) -> str:
    return str(m["status"]) + (" · anomaly" if m["anomaly"] else "")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def to_markdown(report: Mapping[str, Any]) -> str:
    h = report["health"]
    lines = [
        "# Monitoring report",
        "",
        f"Generated {report['generated_at']}, covering the last {report['window_h']:g} h.",
        "",
        "## Overall health",
        "",
        f"**{h['status'].upper()}**: {h['series']} series; {h['ok']} ok, {h['warn']} warn, "
        f"{h['fail']} fail, {h['error']} error; {h['anomalies']} anomalous now"
        + (f"; {h['healthy_pct']:g}% healthy." if h["healthy_pct"] is not None else "."),
        "",
        "## Active alerts by severity",
        "",
    ]
    alerts = report["alerts"]["by_severity"]
    if not alerts:
        lines.append("No active alerts.")
    for severity, items in alerts.items():
        lines.append(
            f"- **{severity}** ({len(items)}): " + "; ".join(a.get("title", "?") for a in items)
        )
    lines += ["", "## Recent checks", ""]
    checks = report["recent_checks"]
    if checks:
        lines += _table(
            ["job", "at", "status", "monitors", "failed"],
            [
                [c["job"], c["at"] or "-", c["status"], str(c["monitors"]), str(c["failed"])]
                for c in checks
            ],
        )
    else:
        lines.append("No monitor jobs in the window.")
    lines += ["", "## Metrics", ""]
    if report["metrics"]:
        lines += _table(
            ["series", "value", "status", "24 h", "7 d", "note"],
            [
                [
                    series_name(m),
                    number(m["value"]),
                    _status(m),
                    trend_text(m["trend_24h"]),
                    trend_text(m["trend_7d"]),
                    m["message"] or "",
                ]
                for m in report["metrics"]
            ],
        )
    else:
        lines.append("No metrics in the window.")
    lines += ["", "## Anomalies", ""]
    if report["anomalies"]:
        lines += _table(
            ["at", "series", "value", "expected", "score"],
            [
                [
                    a["at"][:19],
                    series_name(a),
                    number(a["value"]),
                    number(a["expected"]),
                    f"{a['score']:+.1f}",
                ]
                for a in report["anomalies"]
            ],
        )
    else:
        lines.append("No anomalies in the window.")
    lines += ["", "## Recommendations", ""]
    lines += [f"{n}. {r}" for n, r in enumerate(report["recommendations"], start=1)]
    return "\n".join(lines) + "\n"


def to_text(report: Mapping[str, Any]) -> str:
    h = report["health"]
    out = [
        f"Monitoring report, {report['generated_at']} (last {report['window_h']:g} h)",
        f"Health: {h['status'].upper()} ({h['series']} series: {h['ok']} ok, {h['warn']} warn, "
        f"{h['fail']} fail, {h['error']} error, {h['anomalies']} anomalous)",
        "",
        "Active alerts:",
    ]
    alerts = report["alerts"]["by_severity"]
    out += [
        f"  {s:<9} {len(a):>3}  " + "; ".join(x.get("title", "?") for x in a)
        for s, a in alerts.items()
    ]
    if not alerts:
        out.append("  none")
    out += ["", "Recent checks:"]
    out += [
        f"  {c['at'] or '-':<20} {c['status']:<10} {c['job']}" for c in report["recent_checks"]
    ] or ["  none"]
    out += ["", "Metrics:"]
    width = max([len(series_name(m)) for m in report["metrics"]] + [10])
    for m in report["metrics"]:
        out.append(
            f"  {series_name(m):<{width}} {number(m['value']):>14} {_status(m):<16} "
            f"24h {trend_text(m['trend_24h']):<18} 7d {trend_text(m['trend_7d'])}"
        )
    if not report["metrics"]:
        out.append("  none")
    out += ["", "Anomalies:"]
    out += [
        f"  {a['at'][:19]} {series_name(a)} = {number(a['value'])} (expected {number(a['expected'])})"
        for a in report["anomalies"]
    ] or ["  none"]
    out += ["", "Recommendations:"]
    out += [f"  {n}. {r}" for n, r in enumerate(report["recommendations"], start=1)]
    return "\n".join(out) + "\n"


# -- HTML ------------------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 1000, 170, 40


def chart(m: Mapping[str, Any]) -> Markup:
    """The series' history as an inline SVG line, anomalies as red dots, thresholds as dashes."""
    points = [(datetime.fromisoformat(t), v, a) for t, v, a, _ in m["history"] if v is not None]
    title = escape(series_name(m))
    if not points:
        return Markup(
            f'<svg class="chart" width="{WIDTH}" height="40" role="img" aria-label="{title}: no values"><text x="4" y="24" font-size="12">no values yet</text></svg>'
        )
    lines = [t for t in m["thresholds"] if "above" in t or "below" in t or "outside" in t]
    bounds = [
        b
        for t in lines
        for b in ([t["above"]] if "above" in t else [t["below"]] if "below" in t else t["outside"])
    ]
    values = [v for _, v, _ in points]
    lo, hi = min(values + bounds), max(values + bounds)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (t1 - t0) or 1.0

    def x(t: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((t.timestamp() - t0) / span if t1 > t0 else 0.5)

    def y(v: float) -> float:
        return float(HEIGHT - 18 - (HEIGHT - 36) * (v - lo) / (hi - lo))

    parts = [
        f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{title}: {len(points)} values">',
        f'<text x="2" y="{y(hi) + 4:.1f}" font-size="10" fill="#57606a">{escape(number(hi))}</text>',
        f'<text x="2" y="{y(lo) + 4:.1f}" font-size="10" fill="#57606a">{escape(number(lo))}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - 18}" x2="{WIDTH - PAD}" y2="{HEIGHT - 18}" stroke="#d0d7de"/>',
    ]
    for t in lines:
        color = "#cf222e" if t.get("level", "fail") == "fail" else "#bf8700"
        for b in [t["above"]] if "above" in t else [t["below"]] if "below" in t else t["outside"]:
            parts.append(
                f'<line class="threshold" x1="{PAD}" y1="{y(b):.1f}" x2="{WIDTH - PAD}" y2="{y(b):.1f}" '
                f'stroke="{color}" stroke-dasharray="4 3"><title>{escape(t["text"])}</title></line>'
            )
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v, _ in points)
    parts.append(
        f'<polyline class="line" points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
    )
    for t, v, a in points:
        if a:
            parts.append(
                f'<circle class="anomaly" cx="{x(t):.1f}" cy="{y(v):.1f}" r="4" fill="#cf222e">'
                f"<title>anomaly: {escape(number(v))} at {t.isoformat()[:16]}</title></circle>"
            )
    last_t, last_v, _ = points[-1]
    parts.append(f'<circle cx="{x(last_t):.1f}" cy="{y(last_v):.1f}" r="2.5" fill="#0969da"/>')
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 4}" font-size="10" fill="#57606a">{points[0][0].isoformat()[:16]}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 4}" font-size="10" fill="#57606a" text-anchor="end">{last_t.isoformat()[:16]}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def to_html(report: Mapping[str, Any]) -> str:
    return _ENV.get_template("report.html.j2").render(
        report=report, chart=chart, name=series_name, number=number, trend=trend_text
    )
