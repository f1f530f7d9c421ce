"""Keys named by the user (``--key table=col1,col2``) for tables that have no primary key.

A named key must name columns of the table whose values are never NULL and never repeat: migrate
makes it the target table's primary key, chunks and checkpoints on it where it can, and verify
matches rows by it, so a key that does not hold would lose or merge rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batchyard.errors import UsageError

Keys = dict[str, tuple[str, ...]]


def parse_keys(raw: Any) -> Keys:
    """``["bets=match_id,book", ...]`` (or a mapping) as ``{"bets": ("match_id", "book")}``."""
    if not raw:
        return {}
    items: Iterable[tuple[str, Any]]
    if isinstance(raw, Mapping):
        items = raw.items()
    else:
        items = []
        for part in raw:
            table, sep, cols = str(part).rpartition("=")
            if not sep or not table.strip():
                raise UsageError(f"--key {part!r}: write it as TABLE=COLUMN[,COLUMN...]")
            items.append((table, cols))
    out: Keys = {}
    for table, cols in items:
        names = cols.split(",") if isinstance(cols, str) else list(cols)
        columns = tuple(str(c).strip() for c in names if str(c).strip())
        if not columns:
            raise UsageError(f"--key {table}=: name at least one column")
        if len(set(columns)) != len(columns):
            raise UsageError(f"--key {table}={','.join(columns)}: a column is named twice")
        if table.strip() in out:
            raise UsageError(f"--key {table}: the table's key is named twice")
        out[table.strip()] = columns
    return out


def unknown_tables(keys: Keys, tables: Sequence[str]) -> None:
    """Refuse a key for a table that is not being moved (a typo, most likely)."""
    for table in keys:
        if table not in tables:
            raise UsageError(
                f"--key {table}=...: no table {table!r} among those to move "
                f"({', '.join(tables) or 'none'})"
            )


def missing_columns(table: str, key: Sequence[str], columns: Sequence[str]) -> None:
    for col in key:
        if col not in columns:
            raise UsageError(
                f"--key {table}={','.join(key)}: table {table!r} has no column {col!r} "
                f"(it has: {', '.join(columns)})"
            )


def check_unique(conn: Any, table: str, key: Sequence[str], quote: Any) -> None:
    """Raise :class:`UsageError` unless ``key``'s values in ``table`` are all set and distinct.

    ``conn`` is a SQLAlchemy connection; ``quote`` quotes an identifier."""
    cols = ", ".join(quote(c) for c in key)
    shown = f"--key {table}={','.join(key)}"
    nulls = " OR ".join(f"{quote(c)} IS NULL" for c in key)
    row = conn.exec_driver_sql(f"SELECT {cols} FROM {quote(table)} WHERE {nulls} LIMIT 1").first()
    if row is not None:
        raise UsageError(
            f"{shown}: some rows have no value in the key, e.g. ({_show(row)}); "
            "a key needs a value in every row: name other columns"
        )
    dup = conn.exec_driver_sql(
        f"SELECT {cols}, count(*) FROM {quote(table)} GROUP BY {cols} HAVING count(*) > 1 LIMIT 1"
    ).first()
    if dup is not None:
        raise UsageError(
            f"{shown}: the key is not unique, e.g. ({_show(dup[:-1])}) is in {dup[-1]} rows; "
            "name columns whose values never repeat"
        )


def _show(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)
