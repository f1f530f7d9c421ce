"""``batchyard init``, ``run``, ``kinds`` and ``pipelines``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Group
from rich.text import Text

from batchyard.cli import complete
from batchyard.cli.args import pairs, workers_option
from batchyard.cli.output import (
    ProgressDisplay,
    console,
    err,
    fmt_duration,
    fmt_rate,
    listing,
    print_json,
    print_table,
    snapshot_line,
    snapshot_view,
)
from batchyard.cli.templates import write_project
from batchyard.engine.progress import Snapshot
from batchyard.errors import ParamError, UnknownKind, UsageError
from batchyard.project import locate, split_executor
from batchyard.store.models import Job, JobStatus

# Imports inside the commands below load what only running needs (the engine, the kinds,
# pydantic): ``jobs list`` and ``--help`` import this module and should not pay for them.


def parts_lines(snap: Snapshot) -> list[str]:
    """One line per part of a job that reports parts (a migrate job's tables)."""
    width = max((len(str(p["name"])) for p in snap.parts), default=0)
    lines = []
    for p in snap.parts:
        eta = fmt_duration(p.get("eta_s")) if p.get("eta_s") is not None else "-"
        lines.append(
            f"  {p['name']!s:<{width}}  {p['percent']:5.1f}%  {p['done']:,}/{p['total']:,} rows"
            f"  {fmt_rate(float(p.get('rows_per_s') or 0))} rows/s  ETA {eta}"
        )
    return lines


class PartsDisplay(ProgressDisplay):
    """The live display, with a line per part under the bar when the job reports parts."""

    def update(self, snap: Snapshot) -> None:
        if not snap.parts:
            super().update(snap)
        elif self.live:
            self.live.update(
                Group(snapshot_view(snap, self.title), Text("\n".join(parts_lines(snap))))
            )
        else:
            now = time.monotonic()
            if now - self._last_line >= self.interval or snap.status != "running":
                self._last_line = now
                err.print("\n".join([snapshot_line(snap), *parts_lines(snap)]))


def run_with_display(
    state: Any,
    title: str,
    start: Callable[..., Job],
    report: Callable[[Job], None] | None = None,
) -> None:
    """Run a job with the live display, print how it ended (``report`` first prints what the
    job found), and exit with its code."""
    display = PartsDisplay(title)
    with display:
        job = start(on_progress=display.update, on_message=display.message)
    if report is not None:
        report(job)
    print_end(state, job)
    raise typer.Exit(job.exit_code)


def showing_results(
    app: Any, job_id: str, show: Callable[[dict[str, Any]], None]
) -> Callable[..., Job]:
    """A ``start`` for :func:`run_with_display` that runs the job, then shows what each item
    found (its result, when a mapping) while the display still stands."""

    def start(**kw: Any) -> Job:
        done: Job = app.execute(job_id, **kw)
        items, _ = app.store.list_items(job_id, limit=None)
        for item in items:
            if isinstance(item.result, dict):
                show(item.result)
        return done

    return start


def print_end(state: Any, job: Job) -> None:
    """How a job ended, on stderr: its counts, what went wrong, and the command to go on with
    (resume a paused job; see and retry failed items). Every command that runs a job ends so."""
    line = (
        f"job {job.id} {job.status.value}: {job.done} done, {job.failed} failed, "
        f"{job.skipped} skipped of {job.total}; {job.rows_written:,} rows written"
    )
    err.print(line, style="green" if job.status is JobStatus.COMPLETED else "yellow")
    if job.status is JobStatus.PAUSED:
        err.print(f"Paused. Resume with: {state.command_prefix()} jobs resume {job.id}")
    elif job.metadata.get("bad_data"):
        err.print(job.error or "the source holds data that cannot be moved as it is")
    elif job.failed:
        if job.error:
            err.print(job.error)  # "N item(s) failed; first: item KEY: Error: message"
        err.print(
            f"See them with: {state.command_prefix()} jobs items {job.id} --failed; "
            f"run them again with: {state.command_prefix()} jobs retry {job.id} --failed-only"
        )
    elif job.error:
        err.print(job.error)  # the job's setup or finish failed ("setup: ...", "finishing: ...")
    elif job.result_failed:
        from batchyard.kinds.validate import failing_message

        err.print(failing_message(job.metadata["result"]), style="red")


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        ctx: typer.Context,
        folder: Path | None = typer.Argument(
            None, help="Where to make the project (default: the -C folder, else the current one)."
        ),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    ) -> None:
        """Make a project: batchyard.toml, an example jobs.py and a pipeline."""
        written = write_project(folder or ctx.obj.project or Path("."), force=force)
        for path in written:
            console.print(f"wrote {path}")
        console.print(
            "Next: batchyard run daily-scores --param start=2024-04-01 --param end=2024-04-30"
        )

    @app.command(context_settings={"allow_interspersed_args": True, "allow_extra_args": True})
    def run(
        ctx: typer.Context,
        target: str | None = typer.Argument(
            None, help="A job kind or a pipeline name.", autocompletion=complete.targets
        ),
        param: list[str] = typer.Option(
            [],
            "--param",
            "-p",
            help="A param as NAME=VALUE; a list param takes a,b,c or JSON. Repeat for each param.",
        ),
        workers: int | None = workers_option(
            "Items at once (default: the pipeline's, the kind's, BATCHYARD_WORKERS, or "
            "defaults.workers in batchyard.toml)."
        ),
        executor: str | None = typer.Option(
            None,
            "--executor",
            help="threads (default), processes (for CPU-bound items), dask (a Dask cluster of "
            "this machine, or the scheduler in [executor] address / BATCHYARD_DASK) or "
            "dask://HOST:PORT (a running Dask scheduler).",
            autocompletion=complete.executors,
        ),
        retries: int | None = typer.Option(
            None,
            "--retries",
            min=0,
            help="Extra attempts for a failing item (default: the kind's, else defaults.retries).",
        ),
        timeout: float | None = typer.Option(
            None,
            "--timeout",
            min=0.001,
            help="Most seconds one attempt may take; a slower one fails (and may be retried).",
        ),
        stop_on_error: bool | None = typer.Option(
            None,
            "--stop-on-error/--continue-on-error",
            help="Stop the job at the first failed item, or run the others on (the default).",
        ),
        name: str | None = typer.Option(
            None, "--name", help="A name for the job (default: the pipeline's or kind's name)."
        ),
        tag: list[str] = typer.Option([], "--tag", help="Tag the job; repeat for more tags."),
        batch: list[str] = typer.Option(
            [],
            "--batch",
            autocompletion=complete.pipelines,
            help="Run pipelines as one batch job, each as a child job: --batch A B, or repeat "
            "--batch A --batch B.",
        ),
        parallel: int = typer.Option(
            1, "--parallel", min=1, max=64, help="With --batch: how many pipelines run at once."
        ),
    ) -> None:
        """Run a job kind or a pipeline, with live progress. Ctrl+C pauses; resume picks up."""
        from batchyard import pipelines as pipelines_module

        state = ctx.obj
        app = state.app
        extra = list(ctx.args)
        # Checked here to name the flag; BATCHYARD_EXECUTOR and pipelines are checked where read.
        check_executor(executor, "--executor")
        if batch or extra:
            names = [*batch, *([target] if target else []), *extra]
            if param:
                raise UsageError("--param does not apply to a batch: set params in the pipelines")
            if retries is not None:
                raise UsageError(
                    "--retries does not apply to a batch: set retries in the pipelines"
                )
            missing = [n for n in names if not pipelines_module.exists(app.settings.root, n)]
            if missing:
                if not batch and target is not None and target in app.registry:
                    raise UsageError(
                        f"unexpected argument {extra[0]!r}: {target!r} is a job kind; give its "
                        "params as --param NAME=VALUE (only pipelines run together as a batch)"
                    )
                raise UsageError(f"no pipeline {missing[0]!r} in {app.settings.root / 'pipelines'}")
            for pipeline_name in names:
                # Read each pipeline now, so a broken file or an unknown kind stops the batch
                # before it is recorded, rather than failing as one of its items later.
                pipeline = pipelines_module.load(app.settings.root, pipeline_name)
                app.kind(pipeline.kind)
            params: dict[str, Any] = {
                "pipelines": names,
                "parallel": parallel,
                "stop_on_error": bool(stop_on_error),
            }
            target = "batch"
        else:
            if target is None:
                raise UsageError(
                    "give a job kind or pipeline to run (`batchyard kinds` lists them)"
                )
            params = pairs(param, "--param", ParamError)
        job = app.submit(
            target,
            params,
            workers=workers,
            executor=executor,
            retries=retries,
            timeout=timeout,
            stop_on_error=stop_on_error,
            name=name,
            tags=tag,
        )
        err.print(f"job {job.id}: {job.total:,} item(s)")
        run_with_display(state, job.name, lambda **kw: app.execute(job.id, **kw))

    @app.command()
    def kinds(
        ctx: typer.Context,
        name: str | None = typer.Argument(
            None,
            help="Show only this kind (with --json, the JSON Schema of its params).",
            autocompletion=complete.kinds,
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List the job kinds this project can run, with their params."""
        # The registry alone, not the API: a kind's code, and the store, are not needed to list it.
        from batchyard.engine.registry import load_registry

        state = ctx.obj
        if locate(state.project, store=state.store) is None:
            state.app  # noqa: B018 - batchyard.toml needs the whole check to say what is wrong
        registry = load_registry(state.root)
        if name and name not in registry:
            from batchyard import pipelines as pipelines_module

            if pipelines_module.exists(state.root, name):
                kind = pipelines_module.load(state.root, name).kind
                raise UnknownKind(
                    f"{name!r} is a pipeline, not a job kind: `batchyard pipelines` shows it, "
                    f"`batchyard kinds {kind}` its kind"
                )
        found = [registry.get(name)] if name else list(registry)
        if as_json:
            print_json([k.describe() for k in found])
            return
        table = listing("job kinds", ("kind", "params", "description"))
        for k in found:
            schema = k.params_schema()
            required = set(schema.get("required", []))
            params = ", ".join(
                f"{p}{'' if p in required else '?'}: {_type_name(s)}"
                for p, s in schema.get("properties", {}).items()
            )
            table.add_row(k.name, params, k.description.splitlines()[0] if k.description else "")
        print_table(table)

    @app.command("pipelines")
    def list_pipelines(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List the pipelines saved in pipelines/*.yaml."""
        from batchyard import pipelines as pipelines_module

        found = pipelines_module.list_all(ctx.obj.root)
        if as_json:
            print_json([p.to_dict() for p in found])
            return
        table = listing(f"{len(found)} pipeline(s)", ("name", "kind", "params", "description"))
        for p in found:
            table.add_row(
                p.name, p.kind, ", ".join(f"{k}={v}" for k, v in p.params.items()), p.description
            )
        print_table(table)


def check_executor(name: str | None, where: str) -> None:
    if name is not None:
        split_executor(name, where=where)


def _type_name(schema: dict[str, Any]) -> str:
    if "type" in schema:
        fmt = schema.get("format")
        return f"{schema['type']}{f' ({fmt})' if fmt else ''}"
    if "anyOf" in schema:
        return " | ".join(_type_name(s) for s in schema["anyOf"])
    return "any"
