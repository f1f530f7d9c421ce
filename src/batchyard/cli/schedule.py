"""``batchyard scheduler`` and ``batchyard schedules list|next|runs|pause|resume``."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

import typer

from batchyard.cli.output import console, err, listing, print_json, print_table, status_text
from batchyard.schedule.scheduler import SchedulerOptions
from batchyard.schedule.status import ScheduleStatus, find
from batchyard.store.models import utcnow

app = typer.Typer(
    help="The project's schedules (pipelines and monitors with schedule:): list, next times, "
    "runs, pause, resume.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
SCHEDULE = typer.Argument(
    ..., help="The schedule: its pipeline's name, or monitor:NAME for a monitor's."
)

SCHEDULER_HELP = """Run the project's pipelines and monitors on their cron schedules, until Ctrl+C.

A pipeline (or a monitor, in monitors/NAME.yaml) runs on a schedule when its file says so:

\b
    # pipelines/nightly-scores.yaml
    kind: daily-scores
    params: {start: 2024-04-01, end: 2024-04-30}
    schedule:
      cron: "0 3 * * *"          # five fields, or six with seconds first
      timezone: Europe/Paris     # default UTC
      missed: once               # skip | once (default) | catch_up

\b
Example:
    batchyard scheduler --max-jobs 2

One scheduler is active per project and env: a second one waits and takes over when the first
stops or dies. Every run is recorded in the store before it starts, so a scheduler that
restarts (even after SIGKILL) finishes the runs left unfinished and decides about the times it
missed by each schedule's `missed` policy. Pipelines due at the same time run as one batch job,
each after the ones it depends on; a monitor runs as a monitor job. The active scheduler also
sends the alerts' reminders and retries their failed deliveries every 30 seconds, even when no
monitor runs. Ctrl+C (SIGTERM) stops firing and pauses running jobs; the next scheduler resumes
them.
"""


def _print(text: str) -> None:
    err.print(f"{utcnow():%Y-%m-%d %H:%M:%S}Z {text}", highlight=False)


def register(root: typer.Typer) -> None:
    @root.command(help=SCHEDULER_HELP)
    def scheduler(
        ctx: typer.Context,
        max_jobs: int = typer.Option(
            4, "--max-jobs", min=1, max=64, help="Scheduled jobs that run at once."
        ),
        lease_ttl: float = typer.Option(
            30.0,
            "--lease-ttl",
            min=1.0,
            max=3600.0,
            help="Seconds the active scheduler's lease lasts without a heartbeat; after that "
            "a waiting scheduler takes over (at once if the holder's process is gone).",
        ),
    ) -> None:
        api = ctx.obj.app
        options = SchedulerOptions(lease_ttl=lease_ttl, max_jobs=max_jobs)
        runner = api.scheduler(options, on_message=_print)
        _print(
            f"{len(runner.schedules)} schedule(s) in {api.settings.root}: "
            + (", ".join(f"{s.id} ({s.cron.expression})" for s in runner.schedules.values()) or "-")
        )
        previous = _install_signals(runner)
        try:
            runner.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if runner.paused_runs:
            _print(f"stopped; {runner.paused_runs} run(s) paused: the next scheduler resumes them")
            raise typer.Exit(130)
        _print("stopped")

    root.add_typer(app, name="schedules")


def _install_signals(runner: Any) -> dict[signal.Signals, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    count = 0

    def handler(_signum: int, _frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        if count == 1:
            _print("stopping: no more runs start; running jobs pause (Ctrl+C again to stop now)")
            runner.stop()
        else:
            os.write(2, b"stopped now; unfinished runs go on when a scheduler starts\n")
            os._exit(130)

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


@app.command("list")
def list_schedules(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Each schedule: its cron and time zone, missed-run policy, paused or not, latest run, next time."""
    found = ctx.obj.reader.schedule_overview()
    if as_json:
        print_json([s.to_dict() for s in found])
        return
    table = listing(
        f"{len(found)} schedule(s)",
        ("schedule", "cron", "timezone", "missed", "state", "last run", "next"),
    )
    for s in found:
        last = s.last_run
        table.add_row(
            s.schedule.id,
            s.schedule.cron.expression,
            s.schedule.cron.timezone,
            s.schedule.missed.value,
            status_text("paused" if s.paused else "active"),
            f"{last.scheduled_at:%Y-%m-%d %H:%M:%S}Z {last.status.value}" if last else "-",
            f"{s.next_at[0]:%Y-%m-%d %H:%M:%S}Z" if s.next_at else "-",
        )
    print_table(table)


@app.command("next")
def next_times(
    ctx: typer.Context,
    schedule_id: str | None = typer.Argument(None, help="Only this schedule."),
    count: int = typer.Option(5, "--count", "-n", min=1, max=1000, help="How many times each."),
    as_json: bool = JSON,
) -> None:
    """The next times each schedule is due (UTC, and in the schedule's time zone)."""
    found = ctx.obj.reader.schedule_overview(count=count)
    if schedule_id is not None:
        find([s.schedule for s in found], schedule_id)  # NotFound names the schedules there are
        found = [s for s in found if s.schedule.id == schedule_id]
    if as_json:
        print_json({s.schedule.id: [t.isoformat() for t in s.next_at] for s in found})
        return
    for s in found:
        console.print(
            f"{s.schedule.id}  ({s.schedule.cron.expression}, {s.schedule.cron.timezone})"
            + ("  paused" if s.paused else ""),
            highlight=False,
        )
        zone = s.schedule.cron.zone
        for at in s.next_at:
            console.print(f"  {at:%Y-%m-%d %H:%M:%S}Z  {at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}")


@app.command("runs")
def runs(
    ctx: typer.Context,
    schedule_id: str | None = typer.Argument(None, help="Only this schedule's runs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many, newest first."),
    as_json: bool = JSON,
) -> None:
    """The runs the scheduler recorded: when each was due, its job and how it ended."""
    found = ctx.obj.reader.schedule_runs(schedule_id, limit=limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    table = listing(f"{len(found)} run(s)", ("schedule", "due", "status", "job", "detail"))
    for r in found:
        table.add_row(
            r.schedule_id,
            f"{r.scheduled_at:%Y-%m-%d %H:%M:%S}Z",
            status_text(r.status.value),
            r.job_id,
            (r.detail or "")[:120],
        )
    print_table(table)


def _done(done: ScheduleStatus, verb: str, as_json: bool) -> None:
    """A paused or resumed schedule's status: as JSON, or one line."""
    if as_json:
        print_json(done.to_dict())
    else:
        console.print(f"schedule {done.schedule.id} {verb}", highlight=False)


@app.command()
def pause(ctx: typer.Context, schedule_id: str = SCHEDULE, as_json: bool = JSON) -> None:
    """Stop firing a schedule; its times pass unrun until it is resumed."""
    _done(ctx.obj.app.pause_schedule(schedule_id), "paused", as_json)


@app.command()
def resume(ctx: typer.Context, schedule_id: str = SCHEDULE, as_json: bool = JSON) -> None:
    """Fire a paused schedule again, from its next time on."""
    done = ctx.obj.app.resume_schedule(schedule_id)
    at = f"; next at {done.next_at[0]:%Y-%m-%d %H:%M:%S}Z" if done.next_at else ""
    _done(done, f"resumed{at}", as_json)
