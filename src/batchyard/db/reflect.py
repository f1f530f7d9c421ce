"""What the tables of a SQLite or PostgreSQL database look like, read through a DB-API connection.

Column types are mapped to logical types (:mod:`batchyard.db.types`); tables batchyard keeps for
itself (``_batchyard*``) are never listed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from batchyard.db.quote import quote_identifier as qi
from batchyard.db.types import ANY_COMMENT, ColumnType, from_postgres, from_sqlite
from batchyard.db.url import Dialect
from batchyard.errors import NoSuchTable

#: Tables batchyard keeps for itself in a target (migrate's checkpoints): never compared.
INTERNAL_PREFIX = "_batchyard"
#: PostgreSQL types whose values psycopg returns as int, float, str, bytes or bool.
PG_PLAIN = (
    "boolean",
    "smallint",
    "integer",
    "bigint",
    "real",
    "double precision",
    "text",
    "character varying",
    "character",
    "bytea",
    "name",
    '"char"',
)


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: ColumnType
    #: PostgreSQL: a type psycopg reads as a plain Python value (else it is read as text).
    plain: bool = True

    @property
    def logical(self) -> str:
        return self.type.logical


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    #: Columns that lead an index (or are SQLite's rowid): ranges of them are cheap to read.
    indexed: frozenset[str] = frozenset()

    def column(self, name: str) -> ColumnInfo:
        return next(c for c in self.columns if c.name == name)


def list_tables(conn: Any, dialect: str) -> list[str]:
    """The user tables of the database, sorted (SQLite or PostgreSQL's current schema)."""
    if dialect == Dialect.SQLITE:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\'"
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND NOT c.relispartition"
        ).fetchall()
    return sorted(r[0] for r in rows if not r[0].startswith(INTERNAL_PREFIX))


def describe(conn: Any, dialect: str, table: str) -> TableInfo:
    """``table``'s columns (with logical types), primary key and indexed columns."""
    if dialect == Dialect.SQLITE:
        return _describe_sqlite(conn, table)
    return _describe_pg(conn, table)


def _describe_sqlite(con: sqlite3.Connection, table: str) -> TableInfo:
    info = con.execute(f"PRAGMA table_info({qi(table)})").fetchall()
    columns = tuple(ColumnInfo(r[1], from_sqlite(r[2])) for r in info)
    pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    indexed = set()
    ddl = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    rowid = "WITHOUT ROWID" not in str(ddl[0] if ddl else "").upper()
    if rowid and len(pk) == 1 and next(r[2] for r in info if r[1] == pk[0]).upper() == "INTEGER":
        indexed.add(pk[0])
    for index in con.execute(f"PRAGMA index_list({qi(table)})").fetchall():
        first = con.execute(f"PRAGMA index_info({qi(index[1])})").fetchone()
        if first and first[2]:
            indexed.add(first[2])
    return TableInfo(table, columns, pk, frozenset(indexed))


def _describe_pg(conn: Any, table: str) -> TableInfo:
    oid = conn.execute(
        "SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s))::oid",
        (table,),
    ).fetchone()[0]
    if oid is None:
        raise NoSuchTable(f"table {table!r} does not exist")
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, attnum) "
        "FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        (oid,),
    ).fetchall()
    columns = tuple(
        ColumnInfo(
            name,
            ColumnType("any", declared) if comment == ANY_COMMENT else from_postgres(declared),
            plain=declared.split("(")[0].strip() in PG_PLAIN,
        )
        for name, declared, comment in rows
    )
    pk = tuple(
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (oid,),
        ).fetchall()
    )
    indexed = frozenset(
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s",
            (oid,),
        ).fetchall()
    )
    return TableInfo(table, columns, pk, indexed)
