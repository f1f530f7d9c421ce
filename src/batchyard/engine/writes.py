"""``ctx.write``: rows into a table of any connection, upserted on a key so reruns never duplicate.

The table is created on first write from the rows' Python types, gains columns when new fields
appear, and gets a unique index on the key. Every row carries ``_job_id`` and ``_item_key``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from batchyard.db import ENGINES, reason
from batchyard.errors import WriteError

LINEAGE = ("_job_id", "_item_key")
_lock = threading.Lock()
_known: dict[tuple[str, str], sa.Table] = {}


def _sql_type(value: Any) -> sa.types.TypeEngine[Any]:
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, float):
        return sa.Float()
    if isinstance(value, Decimal):
        return sa.Numeric()
    if isinstance(value, datetime):
        return sa.DateTime(timezone=value.tzinfo is not None)
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, time):
        return sa.Time()
    if isinstance(value, bytes | bytearray | memoryview):
        return sa.LargeBinary()
    return sa.Text()


def _prepare(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def _normalise(rows: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> list[dict[str, Any]]:
    if isinstance(rows, Mapping):
        return [dict(rows)]
    out = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise WriteError(
                f"row {index} is a {type(row).__name__}, not a mapping of column to value"
            )
        out.append(dict(row))
    return out


def _check_identifier(name: str, what: str) -> None:
    if not name or len(name) > 63 or "\x00" in name:
        raise WriteError(f"{what} {name!r} is not a usable name")


def _table(
    engine: Engine, url: str, name: str, rows: list[dict[str, Any]], key: Sequence[str]
) -> sa.Table:
    """The target table, created or widened to hold ``rows`` and keyed on ``key``."""
    columns: dict[str, Any] = {}
    for row in rows:
        for col, value in row.items():
            if columns.get(col) is None:
                columns[col] = value
    cache_key = (url, name)
    table = _known.get(cache_key)
    if table is not None and all(c in table.c for c in columns):
        return table
    with _lock:
        for attempt in range(3):
            try:
                table = _ensure(engine, name, columns, key)
                break
            except sa.exc.DBAPIError as exc:
                # Two processes creating the same table at once: the loser sees it exist now.
                if attempt == 2:
                    raise WriteError(f"cannot create table {name!r}: {reason(exc)}") from exc
        assert table is not None
        _known[cache_key] = table
        return table


def _ensure(engine: Engine, name: str, columns: dict[str, Any], key: Sequence[str]) -> sa.Table:
    meta = sa.MetaData()
    with engine.begin() as conn:
        insp = sa.inspect(conn)
        if not insp.has_table(name):
            cols = [sa.Column(c, _sql_type(v)) for c, v in columns.items()]
            table = sa.Table(name, meta, *cols)
            table.create(conn, checkfirst=True)
        else:
            existing = {c["name"] for c in insp.get_columns(name)}
            for col, value in columns.items():
                if col not in existing:
                    ddl = _sql_type(value).compile(dialect=engine.dialect)
                    quoted = engine.dialect.identifier_preparer.quote
                    conn.exec_driver_sql(
                        f"ALTER TABLE {quoted(name)} ADD COLUMN {quoted(col)} {ddl}"
                    )
        if key:
            index = f"uq_{name}_{'_'.join(key)}"[:63]
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes(name)}
            if index not in indexes:
                quoted = engine.dialect.identifier_preparer.quote
                key_cols = ", ".join(quoted(k) for k in key)
                try:
                    conn.exec_driver_sql(
                        f"CREATE UNIQUE INDEX IF NOT EXISTS {quoted(index)} "
                        f"ON {quoted(name)} ({key_cols})"
                    )
                except sa.exc.IntegrityError as exc:
                    raise WriteError(
                        f"table {name!r} already holds duplicate rows for key ({', '.join(key)}); "
                        "remove them or write with another key"
                    ) from exc
        return sa.Table(name, sa.MetaData(), autoload_with=conn)


def write_rows(
    url: str,
    table_name: str,
    rows: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    *,
    key: Sequence[str] | str | None,
    lineage: Mapping[str, str],
    mode: str = "upsert",
    guard: Callable[[Connection], None] | None = None,
) -> int:
    """Write ``rows`` to ``table_name`` at ``url`` in one transaction; return how many.

    ``guard`` runs first in that transaction; if it raises, nothing is written."""
    _check_identifier(table_name, "table")
    if mode not in ("upsert", "append"):
        raise WriteError(f"mode={mode!r}: use 'upsert' (with key=...) or 'append'")
    keys = [key] if isinstance(key, str) else list(key or [])
    if mode == "upsert" and not keys:
        raise WriteError(
            f"ctx.write({table_name!r}, ...) needs key=[...] so reruns never duplicate rows; "
            "pass mode='append' to add rows without a key"
        )
    batch = _normalise(rows)
    if not batch:
        return 0
    for index, row in enumerate(batch):
        for k in keys:
            if row.get(k) is None:
                raise WriteError(
                    f"table {table_name!r}, row {index}: key column {k!r} is missing or null"
                )
        for col in row:
            _check_identifier(col, f"table {table_name!r}: column")
        row.update(lineage)
    if mode == "upsert":
        seen: dict[tuple[Any, ...], int] = {}
        for index, row in enumerate(batch):
            ident = tuple(row[k] for k in keys)
            if ident in seen:
                raise WriteError(
                    f"table {table_name!r}: rows {seen[ident]} and {index} have the same key {ident!r}"
                )
            seen[ident] = index
    engine = ENGINES.get(url)
    table = _table(engine, url, table_name, batch, keys)
    values = [{c: _prepare(row.get(c)) for c in row} for row in batch]
    columns = sorted({c for row in batch for c in row})
    for row in values:
        for c in columns:
            row.setdefault(c, None)
    dialect = engine.dialect.name
    if mode == "append":
        stmt: Any = table.insert()
    else:
        # (Each dialect's insert is imported when used: PostgreSQL's costs every command 40 ms.)
        from sqlalchemy.dialects import postgresql, sqlite

        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        update = {c: insert.excluded[c] for c in columns if c not in keys}
        stmt = insert.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=update)
    try:
        with engine.begin() as conn:
            if guard is not None:
                guard(conn)
            conn.execute(stmt, values)
    except (sa.exc.IntegrityError, sa.exc.DataError, sa.exc.ProgrammingError) as exc:
        # Bad rows fail the same way every time; lost connections and locks may retry.
        raise WriteError(f"cannot write to table {table_name!r}: {reason(exc)}") from exc
    return len(values)
