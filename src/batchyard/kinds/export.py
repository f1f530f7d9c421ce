"""``export``: tables of a database into files, one item per table.

One table into a path with a format suffix gives that file; otherwise ``to`` is a folder that gets
one file per table and a ``manifest.json`` with each table's schema, row count and sha256 (an export
into a folder that has one adds its tables to it). A table's file appears only once complete, so a
resumed export redoes just the tables not yet written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from batchyard.check import expr
from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError, UsageError
from batchyard.files.formats import FORMATS, SUFFIX, check_writable
from batchyard.files.manifest import (
    MANIFEST,
    merged_manifest,
    read_manifest,
    sidecar_of,
    table_entry,
    write_manifest,
)
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import ExportParams
from batchyard.move.migrate import connect
from batchyard.move.reflect import Table, reflect
from batchyard.secrets import mask_url


def source_tables(url: str, tables: list[str]) -> list[Table]:
    engine = connect(url, "source")
    try:
        return reflect(engine, tables=tables)
    finally:
        engine.dispose()


def layout(to: str, fmt: str, tables: list[Table]) -> tuple[bool, Path]:
    """(one file?, the file or folder): a single table into a path ending in its suffix."""
    path = Path(to).expanduser().absolute()
    single = len(tables) == 1 and path.suffix.lower() == SUFFIX[fmt]
    if fmt == "sqlite" and path.suffix.lower() in (".sqlite", ".sqlite3") and len(tables) == 1:
        single = True
    return single, path


def target_path(single: bool, path: Path, table: str, fmt: str) -> Path:
    if single:
        return path
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in table)
    return path / f"{safe}{SUFFIX[fmt]}"


def plan(params: ExportParams, settings: Settings) -> list[Item]:
    from batchyard.files.export import check_where, select_table  # (pyarrow: only when used)

    fmt, where, columns = params.format, params.where, params.columns
    if fmt not in FORMATS:
        raise ParamError(f"format={fmt!r}: use one of {', '.join(FORMATS)}")
    url = settings.resolve(params.source)
    found = _found(url, params.tables, params.query)
    if not found:
        raise ParamError(f"the source {mask_url(params.source)} has no tables to export")
    if (where or columns) and len(found) != 1:
        raise ParamError("where and columns apply to one table: name it with --tables")
    single, path = layout(params.to, fmt, found)
    if not single and (path / MANIFEST).exists():
        try:  # the export adds to it at its end: it must be one
            read_manifest(path / MANIFEST)
        except UsageError as exc:
            raise ParamError(f"{exc}; move it away or export into another folder") from exc
    for t in found:
        select_table(t, columns)
        if where:
            check_where(url, t, where_sql(where, t, url))
        out = target_path(single, path, t.name, fmt)
        if out.exists() and not params.overwrite:
            raise ParamError(f"{out} exists already; pass --overwrite to replace it")
        check_writable(out, "--to")
    return [Item(t.name, {"table": t.name}, weight=t.rows) for t in found]


def where_sql(where: str | None, table: Table, url: str) -> str | None:
    """``--where`` as one condition over ``table``'s columns, in the source's dialect (bad SQL,
    a second statement or a function that acts is refused here, naming the option)."""
    if not where:
        return None
    dialect = "sqlite" if sa.make_url(url).get_backend_name() == "sqlite" else "postgres"
    return expr.sql_condition(where, table.column_names, "--where", dialect)


def _found(url: str, tables: list[str], query: str | None) -> list[Table]:
    """The tables to export, or the query's result as one table (named by --tables, if given)."""
    from batchyard.files.export import query_table  # (pyarrow: only when used)

    if not query:
        return source_tables(url, tables)
    if len(tables) > 1:
        raise ParamError("--query gives one result: name it with at most one --tables NAME")
    return [query_table(url, query, tables[0] if tables else "query")]


def _table(ctx: Context, name: str) -> tuple[Table, Table, bool, Path]:
    """The table as found, the table as exported (its --columns), and where it goes."""
    from batchyard.files.export import select_table  # (pyarrow: only when used)

    p = ctx.params
    found = _found(ctx.settings.resolve(p["source"]), list(p.get("tables") or []), p.get("query"))
    single, path = layout(p["to"], p.get("format") or "parquet", found)
    table = next(t for t in found if t.name == name)
    return table, select_table(table, list(p.get("columns") or [])), single, path


def write(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from batchyard.files.export import export_table  # (pyarrow: only when used)

    p = ctx.params
    fmt = p.get("format") or "parquet"
    whole, table, single, path = _table(ctx, value["table"])
    url = ctx.settings.resolve(p["source"])
    result = export_table(
        url,
        table,
        target_path(single, path, table.name, fmt),
        fmt,
        where=where_sql(p.get("where"), whole, url),
        progress=lambda n: ctx.add_rows(read=n, written=n),
        should_stop=lambda: ctx.should_stop,
    )
    return table_entry(table, result["file"], result["rows"], result["sha256"])


def finish(ctx: Context) -> None:
    p = ctx.params
    fmt = p.get("format") or "parquet"
    items, _ = ctx.store.list_items(ctx.job_id, limit=None)
    entries = sorted((i.result for i in items if isinstance(i.result, dict)), key=_order(items))
    data = {
        "format": fmt,
        "source": mask_url(p["source"]),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "job_id": ctx.job_id,
        "tables": entries,
    }
    to = Path(p["to"]).expanduser().absolute()
    if len(entries) == 1 and to.suffix.lower() in (SUFFIX[fmt], ".sqlite", ".sqlite3"):
        # One file keeps its types too: an import of it reads them from FILE.manifest.json.
        manifest = write_manifest(to.parent, data, sidecar_of(to).name)
        ctx.log.info("wrote %s (%d rows) and %s", to, entries[0]["rows"], manifest)
        return
    # A folder's manifest lists what earlier exports into it wrote too.
    merged = merged_manifest(to, data)
    manifest = write_manifest(to, merged)
    kept = len(merged["tables"]) - len(entries)
    ctx.log.info(
        "wrote %d file(s) and %s%s",
        len(entries),
        manifest,
        f" (which also lists {kept} file(s) of earlier exports)" if kept else "",
    )


def _order(items: list[Any]) -> Any:
    position = {i.key: n for n, i in enumerate(items)}
    return lambda entry: position.get(entry["table"], 0)


kind = BUILTIN["export"].implement(plan)
kind.item(write)
kind.finish(finish)
