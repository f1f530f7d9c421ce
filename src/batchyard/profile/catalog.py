"""The schema catalogue of a database: tables, columns, types, keys, indexes, foreign keys, rows.

Read through :func:`batchyard.move.reflect.reflect`, so SQLite and PostgreSQL describe themselves in
the same terms (each column's logical type beside the type it was declared with).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from batchyard.db import Database, reason
from batchyard.errors import UsageError
from batchyard.move.migrate import connect
from batchyard.move.reflect import Table, reflect
from batchyard.secrets import mask_url


def describe_table(table: Table) -> dict[str, Any]:
    pk = set(table.primary_key)
    return {
        "name": table.name,
        "rows": table.rows,
        "columns": [
            {
                "name": c.name,
                "type": c.type.logical,
                "declared": c.type.declared,
                "nullable": c.nullable,
                "default": None if c.default is None else str(c.default),
                "primary_key": c.name in pk,
            }
            for c in table.columns
        ],
        "primary_key": list(table.primary_key),
        "unique": [list(u) for u in table.uniques],
        "indexes": [
            {"name": i.name, "columns": list(i.columns), "unique": i.unique} for i in table.indexes
        ],
        "foreign_keys": [
            {
                "columns": list(f.columns),
                "ref_table": f.ref_table,
                "ref_columns": list(f.ref_columns),
            }
            for f in table.foreign_keys
        ],
    }


def open_database(url: str) -> tuple[sa.Engine, list[str]]:
    """An engine on the source database and its table names; a clear :class:`UsageError` when
    it cannot be read (a file that is not a database only fails once it is read)."""
    engine = connect(url, "source")
    try:
        names = sa.inspect(engine).get_table_names()
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise UsageError(
            f"source {mask_url(url)}: not a database this can read ({reason(exc)}); name a "
            "SQLite file or a PostgreSQL URL"
        ) from exc
    return engine, names


def catalogue(url: str, tables: list[str] | None = None) -> dict[str, Any]:
    """The catalogue of the database at ``url`` (its URL masked), tables in dependency order."""
    engine, _ = open_database(url)
    try:
        found = reflect(engine, tables=tables or ())
    finally:
        engine.dispose()
    return {
        "source": mask_url(url),
        "backend": Database.of(url).dialect.value,
        "inspected": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": [describe_table(t) for t in found],
    }


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _names(values: list[str]) -> str:
    return ", ".join(values)


def to_markdown(catalogues: list[dict[str, Any]]) -> str:
    """The catalogues as one Markdown document: a section per source, a table per table."""
    lines: list[str] = []
    for cat in catalogues:
        lines += [f"# {cat['source']}", "", f"{cat['backend']}, {len(cat['tables'])} table(s).", ""]
        for t in cat["tables"]:
            lines += [f"## {t['name']}", "", f"{t['rows']:,} rows."]
            if t["primary_key"]:
                lines.append(f"Primary key: {_names(t['primary_key'])}.")
            lines += [
                "",
                "| column | type | declared | null | default | key |",
                "|---|---|---|---|---|---|",
            ]
            for c in t["columns"]:
                lines.append(
                    f"| {_cell(c['name'])} | {c['type']} | {_cell(c['declared'])} | "
                    f"{'yes' if c['nullable'] else 'no'} | {_cell(c['default'])} | "
                    f"{'PK' if c['primary_key'] else ''} |"
                )
            lines.append("")
            for u in t["unique"]:
                lines.append(f"- unique ({_names(u)})")
            for i in t["indexes"]:
                kind = "unique index" if i["unique"] else "index"
                lines.append(f"- {kind} {i['name']} ({_names(i['columns'])})")
            for f in t["foreign_keys"]:
                lines.append(
                    f"- foreign key ({_names(f['columns'])}) references "
                    f"{f['ref_table']} ({_names(f['ref_columns'])})"
                )
            if t["unique"] or t["indexes"] or t["foreign_keys"]:
                lines.append("")
    return "\n".join(lines)
