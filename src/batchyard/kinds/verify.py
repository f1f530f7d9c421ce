"""``verify``: prove two databases hold the same rows; with ``diff``, find the rows that differ.

Items are tables (those named, else every table of either database); each item's result holds the row
counts, checksums and differences (see :class:`batchyard.move.verify.TableResult`). The job completes
when every table is identical, and fails, naming the tables that are not, otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ItemError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import VerifyParams
from batchyard.move import verify as v
from batchyard.move import workers
from batchyard.move.keys import parse_keys


def plan(params: VerifyParams, settings: Settings) -> list[Item]:
    source_end, target_end = v.databases(
        settings.resolve(params.source), settings.resolve(params.target)
    )
    names = v.table_names(source_end, target_end, params.tables)
    v.check_keys(source_end, parse_keys(params.keys), names)
    if v.need_workers(source_end, target_end, names):
        # The worker processes start while the job is recorded, not when its first item runs.
        threading.Thread(target=workers.warm, name="batchyard-verify-warm", daemon=True).start()
    return [Item(name, {"table": name}) for name in names]


def check(value: dict[str, Any], ctx: Context[VerifyParams]) -> dict[str, Any]:
    p = ctx.params
    result = v.verify_table(
        ctx.settings.resolve(p.source),
        ctx.settings.resolve(p.target),
        value["table"],
        diff=p.diff,
        max_diff=p.max_diff,
        should_stop=lambda: ctx.should_stop,
        progress=lambda rows: ctx.add_rows(read=rows),
        key=parse_keys(p.keys).get(value["table"], ()),
    )
    if not result.identical:
        ctx.log.info("%s: %s", result.table, summary(result.to_dict()))
    return result.to_dict()


#: What a table that is on one side only lacks, in words.
ABSENT = {v.ONLY_SOURCE: "missing from the target", v.ONLY_TARGET: "only in the target"}


def summary(result: dict[str, Any]) -> str:
    """One line about a table's result: what differs."""
    status = str(result.get("status"))
    if status == v.ONLY_SOURCE:
        return f"{status}: the table is missing from the target"
    if status == v.ONLY_TARGET:
        return f"{status}: the table is not in the source"
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


def differences(results: list[dict[str, Any]]) -> str | None:
    """What differs over all tables, in one line (None: every table is identical). Tables on one
    side only are named apart: there are no rows of theirs to compare."""
    different = [r for r in results if r.get("status") != v.IDENTICAL]
    if not different:
        return None
    head = f"{len(different)} of {len(results)} table(s) differ: "
    if all(r.get("status") == v.DIFFERENT for r in different):
        return head + _names(different)
    groups = [
        (label, [r for r in different if r.get("status") == status])
        for status, label in ((v.DIFFERENT, "different"), *ABSENT.items())
    ]
    return head + ", ".join(
        f"{len(found)} {label} ({_names(found)})" for label, found in groups if found
    )


def _names(results: list[dict[str, Any]], most: int = 10) -> str:
    names = ", ".join(str(r.get("table")) for r in results[:most])
    return names + (f" and {len(results) - most} more" if len(results) > most else "")


def finish(ctx: Context) -> None:
    items, _ = ctx.store.list_items(ctx.job_id, limit=None)
    found = differences([i.result for i in items if isinstance(i.result, dict)])
    if found:
        raise ItemError(found)
    ctx.log.info("all %d table(s) identical", len(items))


def verify_copy(
    ctx: Context,
    source: str,
    target: str,
    tables: list[str],
    keys: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Verify the tables a job copied (``migrate --verify``): each table's result is logged and
    kept in the job's metadata (``verify``), for the command to print; raise ItemError naming the
    tables that differ."""
    found = v.verify_tables(source, target, tables, lambda: ctx.should_stop, keys)
    for r in found:
        ctx.log.info(
            "verify %s: %s, %s rows, checksum %s",
            r.table,
            r.status.value,
            f"{r.source_rows:,}" if r.source_rows is not None else "-",
            r.source_checksum or "-",
        )
    results = [r.to_dict() for r in found]
    ctx.store.update_job(
        ctx.job_id, metadata={**ctx.store.get_job(ctx.job_id).metadata, "verify": results}
    )
    message = differences(results)
    if message:
        hint = " (see them with `batchyard verify SRC DST --diff`)"
        raise ItemError(
            f"verify: {message}"
            + (hint if any(r["status"] == v.DIFFERENT for r in results) else "")
        )


kind = BUILTIN["verify"].implement(plan)
kind.item(check)
kind.finish(finish)
