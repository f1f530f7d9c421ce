"""``verify``: prove two databases hold the same rows; with ``diff``, find the rows that differ.

Items are tables (those named, else every table of either database); each item's result holds the row
counts, checksums and differences (see :class:`batchyard.move.verify.TableResult`). The job completes
when every table is identical, and fails, naming the tables that are not, otherwise.
"""

from __future__ import annotations

import threading
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import REGISTRY, Item, JobKind
from batchyard.errors import ItemError, ParamError
from batchyard.move import verify as v
from batchyard.move import workers
from batchyard.move.keys import parse_keys


def plan(
    source: str,
    target: str,
    settings: Settings,
    tables: list[str] = [],  # noqa: B006 - pydantic copies defaults
    diff: bool = False,
    max_diff: int = 100,
    keys: list[str] = [],  # noqa: B006
) -> list[Item]:
    """Compare tables of SOURCE and TARGET: row counts and checksums; diff finds the rows."""
    if max_diff < 1:
        raise ParamError(f"max_diff={max_diff}: report at least 1 row per table")
    source_end, target_end = v.endpoints(settings.resolve(source), settings.resolve(target))
    names = v.table_names(source_end, target_end, tables)
    v.check_keys(source_end, parse_keys(keys), names)
    # The worker processes start while the job is recorded, rather than when its first item runs.
    threading.Thread(target=workers.warm, name="batchyard-verify-warm", daemon=True).start()
    return [Item(name, {"table": name}) for name in names]


def check(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    result = v.verify_table(
        ctx.settings.resolve(p["source"]),
        ctx.settings.resolve(p["target"]),
        value["table"],
        diff=bool(p.get("diff")),
        max_diff=int(p.get("max_diff") or 100),
        should_stop=lambda: ctx.should_stop,
        progress=lambda rows: ctx.add_rows(read=rows),
        key=parse_keys(p.get("keys")).get(value["table"], ()),
    )
    if not result.identical:
        ctx.log.info("%s: %s", result.table, summary(result.to_dict()))
    return result.to_dict()


def summary(result: dict[str, Any]) -> str:
    """One line about a table's result: what differs."""
    status = str(result.get("status"))
    if status in (v.ONLY_SOURCE, v.ONLY_TARGET):
        return status
    parts = []
    rows = result.get("rows") or {}
    if rows.get("source") != rows.get("target"):
        parts.append(
            f"{rows.get('source'):,} rows in the source, {rows.get('target'):,} in the target"
        )
    diff = result.get("diff")
    if diff:
        found = ", ".join(f"{diff[k]} {k}" for k in ("missing", "extra", "changed") if diff.get(k))
        if found:
            parts.append(found + (" (and more)" if diff.get("truncated") else ""))
    columns = result.get("columns") or {}
    for side in ("only_source", "only_target"):
        if columns.get(side):
            parts.append(f"columns {side.replace('_', ' in ')}: {', '.join(columns[side])}")
    if status == v.DIFFERENT and not parts:
        parts.append("checksums differ")
    return f"{status}: " + "; ".join(parts) if parts else status


def finish(ctx: Context) -> None:
    items, _ = ctx.store.list_items(ctx.job_id, limit=None)
    different = [
        i.result
        for i in items
        if isinstance(i.result, dict) and i.result.get("status") != v.IDENTICAL
    ]
    if different:
        names = ", ".join(str(r.get("table")) for r in different[:10])
        more = f" and {len(different) - 10} more" if len(different) > 10 else ""
        raise ItemError(f"{len(different)} of {len(items)} table(s) differ: {names}{more}")
    ctx.log.info("all %d table(s) identical", len(items))


kind = REGISTRY.add(JobKind("verify", plan, builtin=True, executor="threads"))
kind.item(check)
kind.finish(finish)
