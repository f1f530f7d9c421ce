"""``generate``: deterministic synthetic datasets into a database or a folder of files.

Setup creates the tables; items are chunks of rows, parents before children, each written with its
key range in one transaction (so a rerun replaces, never duplicates); finish builds indexes and
foreign keys, joins file parts and writes the defect manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.generate.spec import IF_EXISTS, Spec
from batchyard.generate.targets import Target, open_target
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import GenerateParams


def spec_of(params: GenerateParams) -> Spec:
    """The dataset, its size and its seed, as the params give them."""
    return Spec.from_params(
        params.dataset,
        scale=params.scale or "1",
        rows=params.rows,
        table=params.table,
        seed=params.seed,
        inject_errors=params.inject_errors,
        chunk_rows=params.chunk_rows,
    )


def plan(params: GenerateParams, settings: Settings) -> list[Item]:
    spec = spec_of(params)
    if params.if_exists not in IF_EXISTS:
        raise ParamError(f"if_exists={params.if_exists!r}: use fail or replace")
    target, _ = destination(params, settings)
    if params.if_exists == "fail":
        found = target.existing([t.name for t in spec.dataset.tables])
        if found:
            raise ParamError(
                f"{target.name} already has {', '.join(found)}; pass --if-exists replace to "
                "replace them"
            )
    return [
        Item(f"{t.name}:{start}-{stop}", {"table": t.name, "start": start, "stop": stop})
        for t, start, stop in spec.chunks()
    ]


def destination(params: GenerateParams, settings: Settings) -> tuple[Target, Path | None]:
    """The target of a generate job's params, and where its manifest goes (None: nowhere)."""
    target = open_target(params.to, params.format, params.dataset, settings)
    if params.manifest:
        return target, Path(params.manifest).expanduser().absolute()
    if not params.inject_errors:
        return target, None
    default = target.default_manifest()
    if default is None:
        raise ParamError(
            f"--inject-errors into {target.name}: say where the manifest goes with --manifest PATH"
        )
    return target, default


def setup(ctx: Context[GenerateParams]) -> None:
    """Create the tables. The first run of a job with if_exists=replace drops the old ones first;
    a resume (some chunks done) or a retry job keeps what is there."""
    spec, (target, _) = spec_of(ctx.params), destination(ctx.params, ctx.settings)
    first_run = (
        ctx.store.get_job(ctx.job_id).retry_of is None
        and ctx.store.item_counts(ctx.job_id).get("done", 0) == 0
    )
    replace = first_run and ctx.params.if_exists == "replace"
    target.create(spec, replace=replace, fresh=first_run)


def write(value: dict[str, Any], ctx: Context[GenerateParams]) -> dict[str, Any]:
    spec, (target, _) = spec_of(ctx.params), destination(ctx.params, ctx.settings)
    table = spec.dataset.table(value["table"])
    rows = target.write(spec, table, int(value["start"]), int(value["stop"]))
    ctx.add_rows(written=rows)
    return {"table": table.name, "rows": rows}


def finish(ctx: Context[GenerateParams]) -> None:
    spec, (target, path) = spec_of(ctx.params), destination(ctx.params, ctx.settings)
    done = target.finish(spec)
    ctx.log.info("finished %s: %d step(s)", target.name, len(done))
    if path is not None:
        spec.write_manifest(path)
        ctx.log.info("wrote the defect manifest to %s", path)


def _options(params: GenerateParams) -> dict[str, Any]:
    # SQLite takes one writer at a time; PostgreSQL and files gain from a second.
    to = params.to or ""
    parallel = to.startswith("postgres") or params.format in ("csv", "jsonl")
    return {"workers": 2 if parallel else 1}


kind = BUILTIN["generate"].implement(plan, options_from_params=_options)
kind.item(write)
kind.setup(setup)
kind.finish(finish)
