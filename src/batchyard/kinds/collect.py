"""``collect``: resumable HTTP collection, one item per date, key or grid combination.

Each item fetches its pages (rate limited, retried on 429, 5xx and network errors), extracts rows
with JMESPath, upserts them into a table of any connection and/or appends raw responses to a
landing folder, checkpointing after every page. ``incremental`` plans only the items with no rows
in the target yet. See docs/collect.md.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field

from batchyard.collect import collector, gaps
from batchyard.collect import items as planning
from batchyard.collect.spec import Spec
from batchyard.config import MAX_WORKERS, Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import REGISTRY, Item, JobKind
from batchyard.errors import ParamError


def plan(
    url: str,
    settings: Settings,
    method: str = "GET",
    start: date | None = None,
    end: date | None = None,
    every: str = "day",
    keys: list[str] = [],  # noqa: B006 - pydantic copies defaults
    keys_file: str | None = None,
    keys_query: str | None = None,
    keys_connection: str | None = None,
    grid: dict[str, list[Any]] = {},  # noqa: B006
    query: dict[str, Any] = {},  # noqa: B006
    body: Any = None,
    headers: dict[str, str] = {},  # noqa: B006
    header_env: list[str] = [],  # noqa: B006
    query_env: list[str] = [],  # noqa: B006
    bearer_env: str | None = None,
    basic_env: str | None = None,
    records: str | None = None,
    fields: dict[str, str] = {},  # noqa: B006
    add_columns: dict[str, str] = {},  # noqa: B006
    table: str | None = None,
    connection: str | None = None,
    key: list[str] = [],  # noqa: B006
    landing: str | None = None,
    paginate: str | None = None,
    page_param: str | None = None,
    page_size: Annotated[int, Field(ge=1)] | None = None,
    size_param: str | None = None,
    first_page: int = 1,
    cursor_path: str | None = None,
    next_path: str | None = None,
    max_pages: Annotated[int, Field(ge=1)] = 10_000,
    rate: Annotated[float, Field(gt=0)] | None = None,
    concurrency: Annotated[int, Field(ge=1, le=MAX_WORKERS)] | None = None,
    timeout: Annotated[float, Field(gt=0)] = 30.0,
    request_retries: Annotated[int, Field(ge=0, le=100)] = 5,
    backoff: Annotated[float, Field(ge=0)] = 0.5,
    max_wait: Annotated[float, Field(ge=0)] = 60.0,
    incremental: bool = False,
) -> list[Item]:
    """Collect JSON from an HTTP API per date, key or grid cell into a table or landing folder."""
    params = dict(locals())
    params.pop("settings")
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


def _options(params: BaseModel) -> dict[str, Any]:
    # Threads, always: the rate limit is shared by the threads of one process.
    concurrency = getattr(params, "concurrency", None)
    return {"executor": "threads", **({"workers": concurrency} if concurrency else {})}


kind = REGISTRY.add(
    JobKind("collect", plan, builtin=True, executor="threads", options_from_params=_options)
)
kind.item(collect_item)
kind.finish(finish)
