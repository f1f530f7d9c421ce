"""``collect``: resumable HTTP collection, one item per date, key or grid combination.

Each item fetches its pages (rate limited, retried on 429, 5xx and network errors), extracts rows
with JMESPath, upserts them into a table of any connection and/or appends raw responses to a
landing folder, checkpointing after every page. ``incremental`` plans only the items with no rows
in the target yet. See docs/collect.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from batchyard.collect import collector, gaps
from batchyard.collect import items as planning
from batchyard.collect.spec import Spec
from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import CollectParams


def plan(given: CollectParams, settings: Settings) -> list[Item]:
    params = given.model_dump()
    incremental = given.incremental
    spec = Spec.from_params(params)
    spec.check_env()
    if spec.table:
        collector.check_target(target(spec, settings))
    planned = plan_items(params, settings)
    if incremental:
        if not spec.table:
            raise ParamError("incremental needs a table: it collects the items with no rows there")
        wanted = set(gaps.missing([i.key for i in planned], target(spec, settings), spec.table))
        planned = [i for i in planned if i.key in wanted]
    return planned


def plan_items(params: dict[str, Any], settings: Settings) -> list[Item]:
    """The items the params describe, before any incremental filtering."""
    keys = list(params.get("keys") or [])
    if params.get("keys_file"):
        keys += planning.read_keys_file(str(params["keys_file"]))
    if params.get("keys_query"):
        keys += planning.query_keys(
            settings, str(params["keys_query"]), params.get("keys_connection")
        )
    start, end = params.get("start"), params.get("end")
    return planning.plan(
        start=date.fromisoformat(start) if isinstance(start, str) else start,
        end=date.fromisoformat(end) if isinstance(end, str) else end,
        every=str(params.get("every") or "day"),
        keys=keys,
        grid=params.get("grid") or {},
    )


def target(spec: Spec, settings: Settings) -> str:
    return collector.target_url(settings, spec.connection)


def missing(params: dict[str, Any], settings: Settings) -> tuple[int, list[str]]:
    """How many items the params plan, and the keys of those with no rows in the table."""
    spec = Spec.from_params(params)
    if not spec.table:
        raise ParamError("--missing needs a table: it lists the items with no rows there")
    keys = [i.key for i in plan_items(params, settings)]
    return len(keys), gaps.missing(keys, target(spec, settings), spec.table)


def collect_item(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return collector.collect(value, ctx)


def finish(ctx: Context) -> None:
    collector.release(ctx.job_id)


def _options(params: CollectParams) -> dict[str, Any]:
    # Threads, always: the rate limit is shared by the threads of one process.
    concurrency = params.concurrency
    return {"executor": "threads", **({"workers": concurrency} if concurrency else {})}


kind = BUILTIN["collect"].implement(plan, options_from_params=_options)
kind.item(collect_item)
kind.finish(finish)
