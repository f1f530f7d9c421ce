"""The report in each format: JSON, Markdown, JUnit XML, self-contained HTML, and Rich for terminals."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from batchyard.check.report import Report, delta
from batchyard.check.results import RuleResult

FORMATS = ("table", "json", "md", "html", "junit")
STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta"}


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        from batchyard.check.html import to_html  # (Jinja2: loaded only for HTML)

        return to_html(report)
    if fmt == "junit":
        return to_junit(report)
    raise ValueError(fmt)


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def _sample_text(samples: list[dict[str, Any]], limit: int = 3) -> str:
    return "; ".join(
        ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in s.items())
        for s in samples[:limit]
    )


def _rule_trend(report: Report, table: str, rule: RuleResult) -> dict[str, Any] | None:
    if not report.trend:
        return None
    found: dict[str, Any] | None = (
        report.trend["tables"].get(table, {}).get("rules", {}).get(rule.name)
    )
    return found


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    lines = [f"# Validation: {report.suite}", ""]
    trend = report.trend
    since = (
        f" ({delta(trend['delta'])} since {trend['at'] or trend['job']}, was {trend['score']})"
        if trend
        else ""
    )
    lines += [
        f"- target: `{report.target}`",
        f"- job: `{report.job}`" if report.job else "- job: -",
        f"- score: **{report.score}**/100{since}",
        f"- rules: {', '.join(f'{n} {k}' for k, n in report.counts.items())}",
        f"- rows checked: {report.rows:,}",
        "",
    ]
    for t in report.tables:
        tt = (trend or {}).get("tables", {}).get(t.table)
        change = f" ({delta(tt['delta'])})" if tt else ""
        lines += [f"## {t.table}: score {t.score}{change}, {t.rows:,} rows", ""]
        lines += [
            "| rule | severity | status | failing | % | trend | fix |",
            "|---|---|---|---:|---:|---|---|",
        ]
        for r in t.rules:
            rt = _rule_trend(report, t.table, r)
            lines.append(
                f"| {_md(r.name)} | {r.severity} | {r.status.value} | {r.failing:,} | "
                f"{r.percent:g} | {delta(rt['delta']) if rt else ''} | {_md(r.fix or r.message or '')} |"
            )
        samples = [r for r in t.rules if r.samples]
        if samples:
            lines += ["", "Samples:", ""]
            for r in samples:
                lines.append(f"- **{_md(r.name)}**: {_md(_sample_text(r.samples))}")
        lines.append("")
    for e in report.errors:
        lines.append(f"- error in `{e['table']}`: {_md(e['error'])}")
    return "\n".join(lines).rstrip() + "\n"


def to_junit(report: Report) -> str:
    """One testsuite per table, one testcase per rule: failures at error, warnings as skipped."""
    root = ET.Element(
        "testsuites",
        name=f"batchyard validate {report.suite}",
        tests=str(len(report.rules)),
        failures=str(report.counts["fail"]),
        errors=str(report.counts["error"] + len(report.errors)),
    )
    for t in report.tables:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=t.table,
            tests=str(len(t.rules)),
            failures=str(t.counts["fail"]),
            errors=str(t.counts["error"]),
            skipped=str(t.counts["warn"]),
            time=f"{t.seconds:.3f}",
        )
        ET.SubElement(
            ET.SubElement(suite, "properties"), "property", name="score", value=str(t.score)
        )
        for r in t.rules:
            case = ET.SubElement(
                suite, "testcase", classname=f"{report.suite}.{t.table}", name=r.name
            )
            detail = (
                f"{r.failing} of {r.checked} row(s) fail ({r.percent:g}%), threshold {r.threshold}. "
                f"Fix: {r.fix or '-'}\n{_sample_text(r.samples, 10)}"
            )
            if r.status.value == "fail":
                ET.SubElement(
                    case, "failure", message=f"{r.failing} failing row(s)", type=r.rule
                ).text = detail
            elif r.status.value == "error":
                ET.SubElement(case, "error", message=r.message or "error").text = r.message
            elif r.status.value == "warn":
                ET.SubElement(
                    case, "skipped", message=f"{r.severity}: {r.failing} failing row(s)"
                ).text = detail
    for e in report.errors:
        suite = ET.SubElement(root, "testsuite", name=e["table"], tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname=report.suite, name=e["table"])
        ET.SubElement(case, "error", message=e["error"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_rich(report: Report) -> RenderableType:
    parts: list[RenderableType] = []
    trend = report.trend
    head = Text.assemble(
        (f"{report.suite}", "bold"),
        f" on {report.target}: score ",
        (f"{report.score}", "bold"),
        "/100",
        (f" {delta(trend['delta'])} since {trend['job']}" if trend else "", "dim"),
    )
    parts.append(head)
    for t in report.tables:
        tt = (trend or {}).get("tables", {}).get(t.table)
        table = Table(
            title=f"{t.table}: score {t.score}{' ' + delta(tt['delta']) if tt else ''}, "
            f"{t.rows:,} rows",
            title_justify="left",
        )
        for col in ("rule", "severity", "status", "failing", "%", "trend", "fix / samples"):
            table.add_column(col, justify="right" if col in ("failing", "%") else "left")
        for r in t.rules:
            rt = _rule_trend(report, t.table, r)
            note = r.fix or r.message or ""
            if r.samples:
                note += ("\n" if note else "") + _sample_text(r.samples)
            table.add_row(
                r.name,
                r.severity,
                Text(r.status.value, style=STYLE.get(r.status.value, "")),
                f"{r.failing:,}",
                f"{r.percent:g}",
                delta(rt["delta"]) if rt else "",
                note,
            )
        parts.append(table)
    return Group(*parts)
