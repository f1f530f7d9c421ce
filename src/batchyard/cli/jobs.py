"""``batchyard jobs ...``: list, inspect and steer jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from batchyard.cli import complete
from batchyard.cli.args import workers_option
from batchyard.cli.charts import duration_bars
from batchyard.cli.output import (
    console,
    err,
    fmt_duration,
    jobs_table,
    listing,
    print_fields,
    print_json,
    print_json_line,
    print_table,
    snapshot_line,
    snapshot_view,
    status_text,
)
from batchyard.cli.run import check_executor, parts_lines, run_with_display
from batchyard.engine.progress import Snapshot
from batchyard.errors import Conflict, ParamError, UsageError
from batchyard.secrets import mask_secrets
from batchyard.store import JobFilter
from batchyard.store.models import FINISHED, Item, ItemStatus, Job, JobStatus

app = typer.Typer(help="List, inspect and steer jobs.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="jobs")


JSON = typer.Option(False, "--json", help="Print JSON.")
JOB_ID = typer.Argument(..., help="Job id (or a unique prefix).", autocompletion=complete.job_ids)
ACTIVE = ("pending", "running", "paused")


def parse_age(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w``."""
    from batchyard.config import parse_duration  # (pydantic: only for the commands that age)

    return parse_duration(text, where="--older-than")


def _filter(
    active: bool,
    status: list[str],
    kind: str | None,
    env: str | None,
    tag: str | None,
    search: str | None,
    children: bool,
) -> JobFilter:
    valid = {s.value for s in JobStatus}
    for s in status:
        if s not in valid:
            raise UsageError(f"--status {s!r}: use one of {', '.join(sorted(valid))}")
    return JobFilter(
        status=tuple(status) or (ACTIVE if active else ()),
        kind=kind,
        env=env,
        tag=tag,
        search=search,
        top_level=not children,
    )


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    active: bool = typer.Option(False, "--active", help="Only pending, running and paused jobs."),
    status: list[str] = typer.Option(
        [],
        "--status",
        help="Only jobs with this status: pending, running, paused, completed, "
        "partial, failed or cancelled (repeatable).",
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="Only jobs of this kind.", autocompletion=complete.kinds
    ),
    env: str | None = typer.Option(None, "--env", help="Only jobs of this env."),
    tag: str | None = typer.Option(None, "--tag", help="Only jobs with this tag."),
    search: str | None = typer.Option(None, "--search", "-s", help="Text in the id or name."),
    children: bool = typer.Option(False, "--children", help="Include the jobs a batch started."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10_000, help="How many to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many first."),
    as_json: bool = JSON,
) -> None:
    """List jobs, newest first."""
    filt = _filter(active, status, kind, env, tag, search, children)
    jobs, total = ctx.obj.view.jobs(filt, limit=limit, offset=offset)
    if as_json:
        print_json({"total": total, "jobs": [_public(j.to_dict()) for j in jobs]})
        return
    print_table(jobs_table(jobs, total))


def _public(data: dict[str, object]) -> dict[str, object]:
    data["params"] = mask_secrets(data["params"])
    return data


@app.command()
def show(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    as_json: bool = JSON,
) -> None:
    """Show one job: status, params, counts, timings and its first failures."""
    app = ctx.obj.view
    job = app.job(job_id)
    failures, _ = app.items(job.id, status=["failed"], limit=5)
    skips, _ = app.items(job.id, status=["skipped"], limit=5) if job.skipped else ([], 0)
    if as_json:
        data = _public(job.to_dict())
        data["failures"] = [
            {"key": i.key, "error": i.error, "attempts": i.attempts} for i in failures
        ]
        data["skips"] = [{"key": i.key, "reason": _skip_reason(i)} for i in skips]
        print_json(data)
        return
    rows: list[tuple[str, object]] = [
        ("id", job.id),
        ("name", job.name),
        ("kind", job.kind),
        ("env", job.env),
        ("status", status_text(job.status.value)),
        (
            "items",
            f"{job.total} total, {job.done} done, {job.failed} failed, "
            f"{job.skipped} skipped, {job.cancelled} cancelled, {job.remaining} to go",
        ),
        ("rows", f"{job.rows_read:,} read, {job.rows_written:,} written"),
        ("params", ", ".join(f"{k}={v}" for k, v in mask_secrets(job.params).items()) or "-"),
        ("options", _options_text(job.options)),
        ("created", str(job.created_at)),
        ("started", str(job.started_at or "-")),
        ("finished", str(job.finished_at or "-")),
        ("duration", fmt_duration(job.duration)),
    ]
    # Running time only above; the time it sat paused or waited for a runner apart.
    if job.paused_time is not None:
        rows.append(("paused", fmt_duration(job.paused_time)))
    if job.queued_time is not None:
        rows.append(("queued", fmt_duration(job.queued_time)))
    for label, value in (
        ("tags", ", ".join(job.tags)),
        ("retry of", job.retry_of),
        ("parent", job.parent_id),
        ("error", job.error),
        ("runner", job.lease_owner),
    ):
        if value:
            rows.append((label, value))
    print_fields(rows)
    if failures:
        console.print("first failures", style="bold")
        for item in failures:
            console.print(f"  {item.key} (attempt {item.attempts}): {item.error}")
    if skips:
        console.print("skipped", style="bold")
        for item in skips:
            console.print(f"  {item.key}: {_skip_reason(item) or '-'}", highlight=False)


def _skip_reason(item: Item) -> str | None:
    """Why an item was skipped (what it raised ``Skip`` with)."""
    result = item.result
    return str(result["skipped"]) if isinstance(result, dict) and "skipped" in result else None


@app.command()
def progress(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    watch: bool = typer.Option(False, "--watch", "-w", help="Refresh until the job stops."),
    interval: float = typer.Option(1.0, "--interval", min=0.1, help="Seconds between refreshes."),
    as_json: bool = JSON,
) -> None:
    """Show a job's progress as its runner last recorded it: %, rates, ETA, failures."""
    app = ctx.obj.view
    snap = app.progress(job_id)
    if as_json and not watch:
        print_json(snap.to_dict())
        return
    if not watch:
        console.print(
            snapshot_view(snap, snap.job_id) if console.is_terminal else snapshot_line(snap)
        )
        for line in parts_lines(snap):  # a migrate job's tables, say
            console.print(line, highlight=False)
        return
    while True:
        if as_json:
            print_json(snap.to_dict())
        else:
            console.print(snapshot_line(snap))
            for line in parts_lines(snap):
                console.print(line, highlight=False)
        if snap.status != "running":
            return
        time.sleep(interval)
        snap = app.progress(snap.job_id)


@app.command()
def items(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    status: list[str] = typer.Option(
        [],
        "--status",
        help="Only items with this status: pending, running, done, failed, "
        "skipped or cancelled (repeatable).",
    ),
    failed: bool = typer.Option(False, "--failed", help="Only failed items (as --status failed)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many first."),
    as_json: bool = JSON,
) -> None:
    """List a job's items with their status, attempts, errors and results."""
    valid = {s.value for s in ItemStatus}
    for s in status:
        if s not in valid:
            raise UsageError(f"--status {s!r}: use one of {', '.join(sorted(valid))}")
    wanted = [*status, *(["failed"] if failed else [])]
    found, total = ctx.obj.view.items(job_id, status=wanted, limit=limit, offset=offset)
    if as_json:
        print_json({"total": total, "items": [i.to_dict() for i in found]})
        return
    # Items run on a Dask cluster say which worker ran them (--json always does).
    clustered = any("://" in (i.worker or "") for i in found)
    columns = ("#", "key", "status", "attempts", "rows", "duration", "error / result")
    table = listing(
        f"{len(found)} of {total} item(s)",
        columns[:-1] + (("worker",) if clustered else ()) + columns[-1:],
    )
    for i in found:
        detail = i.error or ("" if i.result is None else str(i.result))
        table.add_row(
            str(i.position),
            i.key,
            status_text(i.status.value),
            str(i.attempts),
            f"{i.rows_written:,}" if i.rows_written else "",
            fmt_duration(i.duration_s) if i.duration_s is not None else "",
            *([i.worker or ""] if clustered else []),
            detail[:120],
        )
    print_table(table)


@app.command()
def log(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new lines until the job ends."
    ),
    item: str | None = typer.Option(None, "--item", help="Only lines of the item with this key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, one event a line."),
) -> None:
    """Show a job's log: runner events and ctx.log lines."""
    app = ctx.obj.view
    job = app.job(job_id)
    after = 0
    while True:
        events = app.log(job.id, after=after)
        shown = [e for e in events if item is None or e.item_key == item]
        if as_json:
            for e in shown:
                print_json_line(e.to_dict())
        else:
            for e in shown:
                where = f" [{e.item_key}]" if e.item_key else ""
                console.print(
                    f"{e.ts:%Y-%m-%d %H:%M:%S} {e.level:<7}{where} {e.message}", markup=False
                )
        if events:
            after = events[-1].id
        if not follow:
            return
        if not events and app.job(job.id).status.finished:
            return  # the job ended and every line it wrote has been shown
        time.sleep(0.5)


@app.command()
def resume(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    workers: int | None = workers_option("Items at once (default: as the job was started)."),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="Run the rest on another executor: threads, processes, dask or dask://HOST:PORT "
        "(default: as the job was started).",
        autocompletion=complete.executors,
    ),
) -> None:
    """Resume a paused or interrupted job from its checkpoints."""
    check_executor(executor, "--executor")
    state = ctx.obj
    job = state.reader.job(job_id)  # read-only first: an unknown id must not create a store
    app = state.app
    announced = False

    def announce() -> None:
        # Said once the runner holds the job (its first message or figures), so a resume that is
        # turned away (another runner holds it, or it has finished) prints its error line only.
        nonlocal announced
        if not announced:
            announced = True
            err.print(f"resuming job {job.id}: {job.remaining:,} of {job.total:,} item(s) to go")

    def start(*, on_progress: Callable[[Snapshot], None], on_message: Callable[[str], None]) -> Job:
        def progress(snap: Snapshot) -> None:
            announce()
            on_progress(snap)

        def message(text: str) -> None:
            announce()
            on_message(text)

        ended: Job = app.execute(
            job.id, workers=workers, executor=executor, on_progress=progress, on_message=message
        )
        return ended

    run_with_display(state, job.name, start)


@app.command()
def retry(
    ctx: typer.Context,
    job_id: str = JOB_ID,
    failed_only: bool = typer.Option(
        True, "--failed-only/--all", help="Only the items that did not finish (default), or all."
    ),
) -> None:
    """Run a finished job again as a new job: its failed items only, or all of it."""
    state = ctx.obj
    old = state.reader.job(job_id)  # read-only first: an unknown id must not create a store
    app = state.app
    job = app.retry(old.id, failed_only=failed_only)
    err.print(f"job {job.id} retries {job.retry_of}: {job.total:,} item(s)")
    try:
        run_with_display(state, job.name, lambda **kw: app.execute(job.id, **kw))
    except ParamError:
        # The new job could not start (say a secret param that was never stored): leave no
        # pending job behind for a retry that never ran.
        if app.job(job.id).status is JobStatus.PENDING:
            app.delete(job.id, force=True)
        raise


@app.command()
def cancel(
    ctx: typer.Context,
    job_id: str = JOB_ID,
) -> None:
    """Cancel a job. A running job stops at its runner's next heartbeat."""
    found = ctx.obj.reader.job(job_id)  # read-only first: an unknown id must not create a store
    job = ctx.obj.app.cancel(found.id)
    if job.status is JobStatus.CANCELLED:
        console.print(f"job {job.id} cancelled")
    else:
        console.print(f"job {job.id}: cancel requested; its runner stops within seconds")


@app.command()
def delete(
    ctx: typer.Context,
    job_ids: list[str] = typer.Argument(
        ..., help="Job ids (or unique prefixes).", autocompletion=complete.job_ids
    ),
    force: bool = typer.Option(False, "--force", help="Delete even if the job has not finished."),
) -> None:
    """Delete finished jobs with their items and log."""
    # Check every id before deleting any, so a typo in the third id deletes nothing.
    jobs = [ctx.obj.reader.job(job_id) for job_id in job_ids]
    for job in jobs:
        if not force and not job.status.finished:
            raise Conflict(
                f"job {job.id} is {job.status.value}; cancel it first "
                f"(`batchyard jobs cancel {job.id}`) or pass --force"
            )
    app = ctx.obj.app
    for job in jobs:
        app.delete(job.id, force=force)
        console.print(f"deleted {job.id}")


@app.command()
def cleanup(
    ctx: typer.Context,
    older_than: str = typer.Option(
        ..., "--older-than", help="Age such as 30m, 12h, 7d or 2w (s, m, h, d, w)."
    ),
    status: list[str] = typer.Option(
        [],
        "--status",
        help="Only jobs with this status: completed, partial, failed or cancelled "
        "(repeatable; default: all four).",
    ),
) -> None:
    """Delete finished jobs older than an age."""
    age = parse_age(older_than)
    finished = {s.value for s in FINISHED}
    for s in status:
        if s not in finished:
            raise UsageError(
                f"--status {s!r}: cleanup deletes finished jobs only; use one of "
                f"{', '.join(sorted(finished))}"
            )
    state = ctx.obj
    # Nothing to clean in a store with no jobs (or none yet): do not make one just to say so.
    ids = state.app.cleanup(age, statuses=status) if state.reader.jobs(limit=1)[1] else []
    console.print(f"deleted {len(ids)} job(s) older than {older_than}")


@app.command()
def stats(
    ctx: typer.Context,
    kind: str | None = typer.Option(
        None, "--kind", help="Only jobs of this kind.", autocompletion=complete.kinds
    ),
    env: str | None = typer.Option(None, "--env", help="Only jobs of this env."),
    as_json: bool = JSON,
) -> None:
    """Totals, success rate and durations by kind and env."""
    data = ctx.obj.reader.stats(JobFilter(kind=kind, env=env))
    if as_json:
        print_json(data)
        return
    rate = data["success_rate"]
    console.print(
        f"{data['total']} job(s): "
        + ", ".join(f"{n} {s}" for s, n in data["by_status"].items())
        + (f"; success rate {rate:.1%}" if rate is not None else "")
        + f"; duration p50 {fmt_duration(data['duration_p50_s'])}, "
        f"p95 {fmt_duration(data['duration_p95_s'])}"
    )
    table = listing(
        "by kind and env",
        (
            "kind",
            "env",
            "jobs",
            "completed",
            "partial",
            "failed",
            "success",
            "p50",
            "p95",
            "items done",
            "rows written",
        ),
    )
    for g in data["by_kind_env"]:
        table.add_row(
            g["kind"],
            g["env"],
            str(g["jobs"]),
            str(g["completed"]),
            str(g["partial"]),
            str(g["failed"]),
            f"{g['success_rate']:.0%}" if g["success_rate"] is not None else "-",
            fmt_duration(g["duration_p50_s"]),
            fmt_duration(g["duration_p95_s"]),
            f"{g['items_done']:,}",
            f"{g['rows_written']:,}",
        )
    print_table(table)
    chart = duration_bars(data["by_kind_env"], fmt_duration)
    if chart is not None:
        console.print()
        print_table(chart)


@app.command()
def export(
    ctx: typer.Context,
    job_ids: list[str] = typer.Argument(
        None, help="Jobs to export (default: all that match).", autocompletion=complete.job_ids
    ),
    fmt: str = typer.Option(
        "json", "--format", "-f", help="json (an array) or csv (a header row)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    status: list[str] = typer.Option(
        [], "--status", help="Only jobs with this status (repeatable)."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="Only jobs of this kind.", autocompletion=complete.kinds
    ),
    env: str | None = typer.Option(None, "--env", help="Only jobs of this env."),
    limit: int = typer.Option(10_000, "--limit", min=1, help="At most this many jobs."),
) -> None:
    """Export jobs (params masked) as JSON or CSV."""
    app = ctx.obj.reader
    if fmt not in ("json", "csv"):
        raise UsageError(f"--format {fmt!r}: use json or csv")
    if job_ids:
        jobs = [app.job(j) for j in job_ids]
    else:
        jobs, _ = app.jobs(_filter(False, status, kind, env, None, None, True), limit=limit)
    text = app.export(jobs, fmt)
    if output:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {output}: cannot write: {exc.strerror or exc}") from exc
        err.print(f"wrote {len(jobs)} job(s) to {output}")
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def _options_text(options: dict[str, Any]) -> str:
    """``workers=2, ..., retry=(attempts=3 delay=1.0 ...)``: the retry policy on one line too."""
    return ", ".join(
        f"{k}=({' '.join(f'{n}={x}' for n, x in v.items())})" if isinstance(v, dict) else f"{k}={v}"
        for k, v in options.items()
    )
