"""``batchyard monitor run|list|show|history|report``: check monitors and read their history."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from batchyard.cli.jobs import parse_age
from batchyard.cli.output import ProgressDisplay, console, err, listing, print_json, print_table

app = typer.Typer(
    help="Monitors: check file counts, JSON validity, freshness, nulls, job health and more, "
    "keep their history, and report trends and anomalies.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="monitor")


STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "error": "magenta"}
REPORT_SUFFIXES = {".md": "md", ".json": "json", ".txt": "text", ".html": "html", ".htm": "html"}


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _status(status: str, anomaly: bool) -> Text:
    text = Text(status, style=STATUS_STYLE.get(status, ""))
    if anomaly:
        text.append(" anomaly", style="red bold")
    return text


@app.command("run")
def run(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Monitors to check (default: all of them)."),
    as_json: bool = typer.Option(False, "--json", help="Print the observations as JSON."),
) -> None:
    """Check monitors now: measure, judge against thresholds and history, and record.

    Exits 1 when a value fails a threshold or cannot be measured (warnings and anomalies are
    shown and recorded, and exit 0)."""
    from batchyard.monitor.render import number

    api = ctx.obj.app
    display = ProgressDisplay("monitor")
    with display:
        job = api.check_monitors(
            names or [], on_progress=display.update, on_message=display.message
        )
    found = api.metric_history(job_id=job.id)
    if as_json:
        print_json(
            {
                "job": job.id,
                "status": job.status.value,
                "observations": [o.to_dict() for o in found],
            }
        )
    else:
        table = listing(
            f"job {job.id}: {len(found)} observation(s)",
            ("monitor", "metric", "labels", "value", "status", "note"),
            right=("value",),
        )
        for o in found:
            table.add_row(
                o.monitor,
                o.metric,
                _labels(o.labels),
                number(o.value),
                _status(o.status.value, o.anomaly),
                o.message or "",
            )
        print_table(table)
    if job.status.value != "completed":
        raise typer.Exit(1)
    if any(o.status.value in ("fail", "error") for o in found):
        raise typer.Exit(1)


@app.command("list")
def list_monitors(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the project's monitors, their metrics and the latest status of each."""
    api = ctx.obj.app
    monitors = api.monitors()
    latest = api.latest_metrics()
    worst: dict[str, str] = {}
    order = ["ok", "warn", "fail", "error"]
    for o in latest:
        if order.index(o.status.value) >= order.index(worst.get(o.monitor, "ok")):
            worst[o.monitor] = o.status.value
    rows = [
        {
            "name": m.name,
            "description": m.description,
            "metrics": [f"{x.label} ({x.type})" for x in m.metrics],
            "schedule": m.schedule.cron if m.schedule else None,
            "status": worst.get(m.name),
            "path": m.path,
        }
        for m in monitors
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        err.print("No monitors: add one as monitors/NAME.yaml (see docs/monitor.md).")
        return
    table = listing(
        f"{len(rows)} monitor(s)", ("name", "metrics", "schedule", "latest", "description")
    )
    for r in rows:
        table.add_row(
            r["name"],
            ", ".join(r["metrics"]),
            r["schedule"] or "-",
            _status(r["status"] or "-", False),
            r["description"],
        )
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The monitor."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a monitor's definition and the latest value of each of its series."""
    from batchyard.monitor.render import number

    api = ctx.obj.app
    (monitor,) = api.monitors([name])
    latest = api.latest_metrics(name)
    if as_json:
        print_json(
            {
                "monitor": monitor.to_dict(),
                "path": monitor.path,
                "latest": [o.to_dict() for o in latest],
            }
        )
        return
    console.print(f"{monitor.name}: {monitor.description or '(no description)'}")
    if monitor.path:
        console.print(f"  from {monitor.path}")
    for metric in monitor.metrics:
        values = ", ".join(v.name for v in metric.values())
        console.print(f"  {metric.label} ({metric.type}): {values}")
        for t in metric.thresholds:
            console.print(f"    threshold {t.describe()}" + (f" on {t.value}" if t.value else ""))
        spec = metric.anomaly_spec()
        if spec:
            console.print(
                f"    anomaly: sensitivity {spec.sensitivity:g}, seasonality {spec.seasonality}, "
                f"min history {spec.min_history}"
            )
    if not latest:
        console.print("No observations yet: `batchyard monitor run " + name + "`.")
        return
    table = listing("latest", ("metric", "labels", "value", "status", "at"))
    for o in latest:
        table.add_row(
            o.metric,
            _labels(o.labels),
            number(o.value),
            _status(o.status.value, o.anomaly),
            o.observed_at.isoformat(timespec="seconds"),
        )
    print_table(table)


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The monitor."),
    metric: str | None = typer.Option(
        None, "--metric", "-m", help="Only this series, e.g. games.files."
    ),
    since: str = typer.Option("7d", "--since", help="How far back: 30m, 24h, 7d, 2w."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many (the newest)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The observations of a monitor over a window, oldest first."""
    from batchyard.monitor.render import number

    api = ctx.obj.reader
    found = api.metric_history(monitor=name, metric=metric, since=parse_age(since), limit=limit)
    if as_json:
        print_json([o.to_dict() for o in found])
        return
    if not found:
        err.print(f"No observations of {name!r} in the last {since}.")
        return
    table = listing(
        f"{len(found)} observation(s)", ("at", "metric", "labels", "value", "expected", "status")
    )
    for o in found:
        table.add_row(
            o.observed_at.isoformat(timespec="seconds"),
            o.metric,
            _labels(o.labels),
            number(o.value),
            number(o.expected),
            _status(o.status.value, o.anomaly),
        )
    print_table(table)


@app.command("report")
def report(
    ctx: typer.Context,
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="md, json, text or html (default: from --output's suffix, else text).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to this file."
    ),
    window: str = typer.Option("24h", "--window", help="The window the report covers: 24h, 7d..."),
    monitor: str | None = typer.Option(None, "--monitor", help="Only this monitor."),
) -> None:
    """Overall health, recent checks, alerts by severity, metrics with trends, anomalies and
    recommendations, as Markdown, JSON, text or a self-contained HTML page with charts."""
    from batchyard.errors import UsageError
    from batchyard.monitor.render import FORMATS, render

    chosen = fmt or (REPORT_SUFFIXES.get(output.suffix.lower()) if output else None) or "text"
    if chosen not in FORMATS:
        raise UsageError(f"--format {chosen!r}: use one of {', '.join(FORMATS)}")
    data = ctx.obj.reader.monitor_report(window=parse_age(window), monitor=monitor)
    text = render(data, chosen)
    if output is None:
        console.file.write(text)
        return
    output = output.expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    err.print(f"wrote the {chosen} report to {output}")
