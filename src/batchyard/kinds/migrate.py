"""``migrate``: copy tables between SQLite and PostgreSQL databases, exactly once, with proof.

Items are table chunks; each chunk's batches commit with their checkpoint in the target, so a
migration killed at any instant resumes without losing or duplicating a row.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.engine.progress import PART_SOURCES
from batchyard.errors import (
    BadData,
    BatchyardError,
    Interrupted,
    Misfits,
    NotFound,
)
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import MigrateParams
from batchyard.kinds.verify import verify_copy
from batchyard.move import migrate as m
from batchyard.move import profile as profiler
from batchyard.move.checkpoints import Run
from batchyard.move.copiers import copy_chunk
from batchyard.move.copy import Chunk
from batchyard.move.keys import parse_keys


def options(params: MigrateParams, settings: Settings) -> m.Options:
    """What the copy runs with: connections resolved to URLs, types and keys parsed."""
    return m.Options(
        source=settings.resolve(params.source),
        target=settings.resolve(params.target),
        tables=tuple(params.tables),
        exclude=tuple(params.exclude),
        if_exists=params.if_exists,
        types=m.parse_types(params.types),
        skip_bad=tuple(params.skip_bad),
        chunk_rows=params.chunk_rows,
        batch_rows=params.batch_rows or None,
        keys=parse_keys(params.keys),
        keep_checkpoints=params.keep_checkpoints,
    )


def plan(params: MigrateParams, settings: Settings) -> list[Item]:
    opts = options(params, settings)
    found = m.preflight(opts)
    by_name = {t.name: t for t in found}
    return [
        Item(
            c.id, {"table": c.table, "lo": c.lo, "hi": c.hi}, weight=_estimate(by_name[c.table], c)
        )
        for c in m.plan_chunks(m.load_order(found), m.default_chunk_rows(opts))
    ]


def _estimate(table: Any, chunk: Chunk) -> int:
    """Rows a chunk is likely to hold: its share of the table's key span."""
    span = table.extra.get("key_span") or 0
    if not chunk.ranged or not span:
        return int(table.rows)
    assert chunk.lo is not None and chunk.hi is not None
    return max(int(table.rows * (chunk.hi - chunk.lo) / span), 1)


def _tables(ctx: Context[MigrateParams]) -> tuple[m.Options, list[Any]]:
    opts = options(ctx.params, ctx.settings)
    found = m.source_tables(
        opts.source, opts.tables, opts.exclude, opts.types, opts.keys, job_id=ctx.job_id
    )
    return opts, found


#: Per job run by this process: how to count its rows per table (set up by ``setup``).
_tallies: dict[str, tuple[m.Tally, dict[str, int]]] = {}
#: Per job run by this process: the run in the target it works on (see checkpoints.py).
_runs: dict[str, Run] = {}


def _run(ctx: Context[MigrateParams], opts: m.Options) -> Run:
    """The migration this job carries on in the target: its own, the one it retries (``jobs
    retry``), or the one ``--if-exists resume`` took up (recorded in the target by ``setup``)."""
    found = _runs.get(ctx.job_id)
    if found is None:
        if opts.if_exists == "resume":
            found = m.recorded_run(opts, ctx.job_id)
        else:
            found = Run.of(_origin(ctx))
        _remember(_runs, ctx.job_id, found)
    return found


def _origin(ctx: Context[MigrateParams]) -> str:
    """The first job of a chain of retries: the one whose tables and checkpoints they share."""
    job = ctx.store.get_job(ctx.job_id)
    while job.retry_of:
        try:
            job = ctx.store.get_job(job.retry_of)
        except NotFound:  # deleted: the chain starts where it is known
            break
    return job.id


def _remember(found: dict[str, Any], job_id: str, value: Any) -> None:
    while len(found) >= 64:  # a long-lived server: the oldest jobs' go
        del found[next(iter(found))]
    found[job_id] = value


def setup(ctx: Context[MigrateParams]) -> None:
    opts, tables = _tables(ctx)
    if opts.if_exists == "resume":
        _remember(_runs, ctx.job_id, m.resume_run(opts, tables, ctx.job_id))
    run = _run(ctx, opts)
    counts = ctx.store.item_counts(ctx.job_id)
    # Every chunk done (the job stopped after its finish dropped the checkpoints): nothing to make.
    pending = counts.get("pending", 0) + counts.get("running", 0)
    if pending and m.create_schema(opts, tables, run.key, run):
        for note in m.schema_notes(opts, tables):
            # Into the job's log alone (not Python's logging too): the CLI prints them from there.
            ctx.store.log(ctx.job_id, note, level="warning", item_key=ctx.item_key)
    tally = m.Tally(opts.target, run.scope, [t.name for t in tables])
    _remember(_tallies, ctx.job_id, (tally, {t.name: int(t.rows) for t in tables}))


def table_rows(job: Any) -> Callable[[], dict[str, tuple[int, int]] | None]:
    """Rows copied and estimated per table of a running migrate job (for its progress)."""

    def read() -> dict[str, tuple[int, int]] | None:
        found = _tallies.get(job.id)
        if found is None:
            return None
        tally, estimates = found
        rows = tally.rows()
        if rows is None:
            return None
        # A table can hold more rows than counted up front (rows added since): never over 100%.
        return {t: (rows.get(t, 0), max(estimates[t], rows.get(t, 0))) for t in estimates}

    return read


def copy(value: dict[str, Any], ctx: Context[MigrateParams]) -> dict[str, Any]:
    opts, tables = _tables(ctx)
    table = next(t for t in tables if t.name == value["table"])
    run = _run(ctx, opts)
    chunk = Chunk(f"{run.scope}{ctx.item_key}", table.name, value.get("lo"), value.get("hi"))

    def progress(n: int) -> None:
        ctx.add_rows(read=n, written=n)
        if ctx.should_stop:
            # The batch and its checkpoint are committed: a pause stops here, not at the chunk's end.
            raise Interrupted(f"chunk {ctx.item_key} paused after a committed batch")

    try:
        rows = copy_chunk(opts.source, opts.target, m.copy_plan(table, opts), chunk, progress)
    except Misfits:
        raise BadData(_misfits(opts, tables)) from None

    def build() -> None:
        built = m.build_loaded_keys(opts, tables, table.name, run.key, run)
        if built:
            ctx.log.info(
                "%s loaded: built %d key(s), index(es) and foreign key(s)", table.name, len(built)
            )

    if multiprocessing.parent_process() is None:
        # The server builds them while this worker takes the next chunk; the job's finish waits
        # for builds under way (they hold locks it takes) and builds whatever is still missing.
        threading.Thread(target=_quietly(build), name="batchyard-keys", daemon=True).start()
    else:  # a worker process may be gone before a thread of its own is done
        build()
    return {"table": table.name, "rows": rows}


def _quietly(fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):  # what fails here, the job's finish builds
            fn()

    return run


def _misfits(opts: m.Options, tables: list[Any]) -> str:
    """The report of every column whose stored values do not fit (the same as a refusal up front)."""
    engine = m.connect(opts.source, "source")
    try:
        found = profiler.profile(engine, tables, skip=opts.skip_bad)
    finally:
        engine.dispose()
    if not found:  # changed since: the rows the copy met are gone
        return "stored values did not fit their declared types (no longer in the source)"
    return profiler.report(found)


def cleanup(ctx: Context[MigrateParams]) -> bool:
    """After bad data stopped the copy: drop the tables the job made (the target is as it was),
    and count the rows it wrote as gone."""
    opts, tables = _tables(ctx)
    run = _run(ctx, opts)
    dropped = m.undo_schema(opts, tables, run.key, run)
    if dropped:
        written = ctx.store.get_job(ctx.job_id).rows_written
        ctx.add_rows(written=-written)
        ctx.log.info(
            "dropped the %d table(s) the job made, with the %d row(s) it wrote: nothing is kept",
            len(dropped),
            written,
        )
    return bool(dropped)


def finish(ctx: Context[MigrateParams]) -> None:
    opts, tables = _tables(ctx)
    run = _run(ctx, opts)
    tally = _tallies.get(ctx.job_id)
    if tally is not None:
        tally[0].freeze()
    built = m.finish_schema(opts, tables, run.key, run)
    ctx.log.info("built %d key(s), index(es), foreign key(s) and sequence(s)", len(built))
    if not opts.keep_checkpoints:
        ctx.log.info(
            "dropped the job's checkpoints from the target (--keep-checkpoints keeps them)"
        )
    if ctx.params.verify:
        verify_copy(ctx, opts.source, opts.target, [t.name for t in tables], opts.keys)


def _run_options(params: MigrateParams, settings: Settings) -> dict[str, Any]:
    """One worker into SQLite, which takes one writer at a time; two into PostgreSQL.

    From PostgreSQL to SQLite, where rows pass through Python objects, each worker gets a
    process of its own. Elsewhere rows move in C (inside SQLite, COPY to COPY, or Arrow batches
    encoded by numpy, which release the GIL), and threads share one process: no interpreter to
    start per worker, one source reading per job, one set of libraries in memory."""
    try:
        pair = (
            sa.make_url(settings.resolve(params.source)).get_backend_name(),
            sa.make_url(settings.resolve(params.target)).get_backend_name(),
        )
    except (BatchyardError, sa.exc.ArgumentError):
        return {}  # planning reports the bad connection; no executor to choose for it
    return {
        "workers": 1 if pair[1] == "sqlite" else 2,
        "executor": "processes" if pair == ("postgresql", "sqlite") else "threads",
    }


kind = BUILTIN["migrate"].implement(plan, options_from_params=_run_options)
kind.item(copy)
kind.setup(setup)
kind.finish(finish)
kind.cleanup(cleanup)
PART_SOURCES["migrate"] = table_rows
