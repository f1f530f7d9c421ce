"""``batchyard alerts``: list, show, acknowledge, silence and resolve alerts; check the channels."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from batchyard.cli.output import console, err, listing, print_fields, print_json, print_table
from batchyard.config import parse_duration
from batchyard.errors import BatchyardError, ConfigError, UsageError

if TYPE_CHECKING:
    from batchyard.monitor.alerts import Alert

app = typer.Typer(
    help="List, acknowledge, silence and resolve alerts; check their channels.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
ALERT_ID = typer.Argument(..., help="Alert id (from `batchyard alerts list`).", min=1)
BY = typer.Option(None, "--by", help="Who does it (default: your user name).")

SEVERITY_STYLE = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}
STATUS_STYLE = {"open": "red", "acknowledged": "yellow", "resolved": "green"}


def _me(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    status: list[str] = typer.Option(
        [],
        "--status",
        help="Only alerts with this status: active (open or acknowledged; the default), open, "
        "acknowledged, resolved or all (repeatable).",
    ),
    severity: list[str] = typer.Option(
        [],
        "--severity",
        help="Only alerts of this severity: info, low, medium, high or critical (repeatable).",
    ),
    monitor: str | None = typer.Option(None, "--monitor", help="Only alerts of this monitor."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000, help="How many to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many first."),
    as_json: bool = JSON,
) -> None:
    """List alerts, newest first: by default those not resolved yet."""
    from batchyard.monitor.alerts import severities, statuses

    try:
        statuses(status)
        severities(severity)
    except UsageError as exc:  # "status 'x': use one of ...": the option it came from
        raise UsageError(f"--{exc}") from None
    alerts, total = ctx.obj.reader.alerts.list(
        status=status or ("active",),
        severity=severity,
        monitor=monitor,
        limit=limit,
        offset=offset,
    )
    if as_json:
        print_json({"total": total, "alerts": [a.to_dict() for a in alerts]})
        return
    if not alerts:
        err.print("No alerts" + ("" if status else " open") + ".")
        return
    table = listing(
        f"{len(alerts)} of {total} alert(s)",
        ("id", "severity", "status", "alert", "failures", "opened", "last failing", "note"),
        right=("id", "failures"),
    )
    now = datetime.now(UTC)
    for a in alerts:
        note = f"silenced until {_when(a.silenced_until)}" if a.silenced(now) else ""
        table.add_row(
            str(a.id),
            Text(a.severity.value, style=SEVERITY_STYLE[a.severity.value]),
            Text(a.status.value, style=STATUS_STYLE[a.status.value]),
            a.title,
            str(a.failures),
            _when(a.opened_at),
            _when(a.last_seen_at),
            note,
        )
    print_table(table)


@app.command()
def show(ctx: typer.Context, alert_id: int = ALERT_ID, as_json: bool = JSON) -> None:
    """Show one alert: what failed, its history, and every delivery to its channels."""
    data = ctx.obj.reader.alerts.show(alert_id)
    if as_json:
        print_json(data)
        return
    rows: list[tuple[str, Any]] = [
        ("id", data["id"]),
        ("alert", data["title"]),
        ("severity", Text(data["severity"], style=SEVERITY_STYLE[data["severity"]])),
        ("status", Text(data["status"], style=STATUS_STYLE[data["status"]])),
        ("cause", data["cause"]),
        ("message", data["message"] or "-"),
        ("value", "-" if data["value"] is None else f"{data['value']:g}"),
        ("opened", data["opened_at"]),
        ("last failing", data["last_seen_at"]),
        ("checks", f"{data['failures']} failing, {data['passes']} passing since"),
        ("channels", ", ".join(data["channels"]) or "none"),
        ("reminders", data["reminders"]),
    ]
    for label, key in (
        ("acknowledged", "acknowledged_at"),
        ("by", "acknowledged_by"),
        ("silenced until", "silenced_until"),
        ("resolved", "resolved_at"),
        ("resolved by", "resolved_by"),
        ("note", "note"),
    ):
        if data[key]:
            rows.append((label, data[key]))
    rows.append(("fingerprint", data["fingerprint"]))
    print_fields(rows)
    pending = [n for n in data["notices"] if n["status"] == "pending"]
    for notice in pending:
        console.print(
            Text.assemble(
                ("not delivered yet: ", "red"),
                f"{notice['event']} to {notice['channel']} after {notice['attempts']} attempt(s)"
                + (f": {notice['last_error']}" if notice["last_error"] else ""),
            )
        )
    if not data["deliveries"]:
        console.print("no deliveries yet")
        return
    deliveries = listing(
        "deliveries", ("at", "event", "channel", "attempt", "status", "error"), right=("attempt",)
    )
    for d in data["deliveries"]:
        deliveries.add_row(
            d["at"][:19].replace("T", " "),
            d["event"],
            d["channel"],
            str(d["attempt"]),
            Text(d["status"], style="green" if d["status"] == "ok" else "red"),
            d["error"] or "",
        )
    print_table(deliveries)


def _done(alert: Alert, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(alert.to_dict())
    else:
        console.print(f"alert {alert.id} {verb}: {alert.title}")


@app.command("ack")
def acknowledge(
    ctx: typer.Context,
    alert_id: int = ALERT_ID,
    by: str | None = BY,
    note: str | None = typer.Option(None, "--note", help="A note kept on the alert."),
    as_json: bool = JSON,
) -> None:
    """Acknowledge an alert: no more reminders; it still resolves when its checks pass."""
    alert = ctx.obj.app.alerts.acknowledge(alert_id, by=_me(by), note=note)
    _done(alert, f"acknowledged by {alert.acknowledged_by}", as_json)


@app.command()
def silence(
    ctx: typer.Context,
    alert_id: int = ALERT_ID,
    for_: str | None = typer.Option(
        None, "--for", help="How long: 30m, 4h, 2d (one of --for and --until)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Until when: an ISO time such as 2024-06-01T08:00 (UTC if no zone)."
    ),
    by: str | None = BY,
    as_json: bool = JSON,
) -> None:
    """Silence an alert's reminders until a time; they start again after it."""
    if (for_ is None) == (until is None):
        raise UsageError("give one of --for (such as 4h) and --until (an ISO time)")
    book = ctx.obj.app.alerts
    if for_ is not None:
        end = book.clock() + parse_duration(for_, where="--for")
    else:
        try:
            end = datetime.fromisoformat(str(until))
        except ValueError:
            raise UsageError(
                f"--until {until!r}: give an ISO time such as 2024-06-01T08:00"
            ) from None
    try:
        alert = book.silence(alert_id, until=end, by=_me(by))
    except UsageError as exc:
        raise UsageError(f"--{'for' if for_ else 'until'}: {exc}") from None
    _done(alert, f"silenced until {_when(alert.silenced_until)} UTC", as_json)


@app.command()
def resolve(
    ctx: typer.Context, alert_id: int = ALERT_ID, by: str | None = BY, as_json: bool = JSON
) -> None:
    """Resolve an alert now and tell its channels; a later failing check opens a new one."""
    alert = ctx.obj.app.alerts.resolve(alert_id, by=_me(by))
    _done(alert, f"resolved by {alert.resolved_by}", as_json)


@app.command()
def channels(
    ctx: typer.Context,
    check: bool = typer.Option(
        False,
        "--check",
        help="Also check each channel now: its secrets are set and its server answers.",
    ),
    as_json: bool = JSON,
) -> None:
    """List the channels of [channels] in batchyard.toml (secrets named, never shown)."""
    book = ctx.obj.reader.alerts
    rows = []
    first: BatchyardError | None = None
    for _name, channel in sorted(book.channels.items()):
        row = channel.describe()
        if check:
            try:
                channel.check()
                row["check"] = "ok"
            except BatchyardError as exc:
                row["check"] = str(exc)
                first = first or exc
        rows.append(row)
    if as_json:
        print_json(rows)
    elif not rows:
        err.print("No channels: add one as [channels.NAME] in batchyard.toml.")
    else:
        columns = ("name", "type", "min severity", "where", *(("check",) if check else ()))
        table = listing(f"{len(rows)} channel(s)", columns)
        for row in rows:
            where = row.get("url") or row.get("url_env") or row.get("host")
            if row["type"] == "email":
                where = f"{row['host']}:{row['port']} to {', '.join(row['to'])}"
            elif "url_env" in row:
                where = f"${row['url_env']}"
            cells = [row["name"], row["type"], row["min_severity"], str(where)]
            if check:
                ok = row["check"] == "ok"
                cells.append(Text(row["check"], style="green" if ok else "red"))
            table.add_row(*cells)
        print_table(table)
    if first is not None:
        raise ConfigError(str(first))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="alerts")
