"""One database of a comparison: opening it, and what its tables look like.

psycopg is imported only where a PostgreSQL database is opened.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from batchyard.db import pg_read_only
from batchyard.errors import UsageError
from batchyard.move.reflect import ANY_COMMENT  # the mark migrate leaves on jsonb "any" columns
from batchyard.move.types import ColumnType, from_postgres, from_sqlite

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
PG_SETTINGS = (
    "SET DateStyle TO 'ISO, YMD'",
    "SET TimeZone TO 'UTC'",
    "SET extra_float_digits TO 3",
    "SET IntervalStyle TO 'postgres'",
)


def qi(name: str) -> str:
    """A quoted identifier, the same on SQLite and PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Endpoint:
    """How to open one database: ``dialect`` is ``sqlite`` or ``postgresql``; ``shown`` is masked."""

    dialect: str
    dsn: str
    shown: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        import sqlalchemy as sa

        from batchyard.config import mask_url

        shown = mask_url(url)
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise UsageError(f"{shown!r} is not a database URL") from exc
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            return cls("sqlite", parsed.database or "", shown)
        if backend in ("postgresql", "postgres"):
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            return cls("postgresql", dsn, shown)
        raise UsageError(f"{shown}: verify compares sqlite:///PATH and postgresql://... databases")

    @property
    def param(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def connect(self) -> Any:
        """A read-only SQLite connection or an autocommit, read-only psycopg one; bad input is a
        UsageError."""
        if self.dialect == "sqlite":
            if not self.dsn or self.dsn == ":memory:":
                raise UsageError(f"{self.shown}: give a SQLite file to compare")
            try:
                con = sqlite3.connect(
                    f"file:{quote(self.dsn)}?mode=ro",
                    uri=True,
                    check_same_thread=False,
                    isolation_level=None,
                )
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
                # Pages read straight from the file's mapping: no copy through SQLite's cache.
                con.execute("PRAGMA mmap_size = 1073741824")
            except sqlite3.Error as exc:
                raise UsageError(_sqlite_problem(self.shown, self.dsn, exc)) from exc
            return con
        try:
            import psycopg
        except ModuleNotFoundError as exc:  # pragma: no cover - an install without the extra
            raise UsageError("PostgreSQL needs psycopg: pip install 'batchyard[postgres]'") from exc
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise UsageError(f"cannot connect to {self.shown}: {_pg_problem(exc)}") from exc
        for statement in PG_SETTINGS:
            conn.execute(statement)
        conn.cursor_factory, conn.server_cursor_factory = _cursors()
        return pg_read_only(conn)  # verify only reads


def _sqlite_problem(shown: str, path: str, exc: sqlite3.Error) -> str:
    if not Path(path).is_file():
        return f"cannot open {shown}: there is no such file"
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return f"{path} is not a SQLite database (give a SQLite file or a postgresql:// URL)"
    return f"cannot open {shown}: {exc}"


def _pg_problem(exc: Exception) -> str:
    """What the server or the network said, without libpq's wrapping ("connection to server at
    ... failed: FATAL: ...")."""
    text = str(exc).strip()
    said = text.rpartition("FATAL:")[2] if "FATAL:" in text else text.rpartition(" failed: ")[2]
    first = (said.strip().splitlines() or [type(exc).__name__])[0].strip()
    if "does not exist" in first and first.startswith("database"):
        return f"{first} (create it first, or check the name)"
    if "Connection refused" in first:
        return f"{first} (is a server running there, on that port?)"
    return first


def percent_safe(query: Any) -> Any:
    """``query`` with each ``%`` inside a quoted name or string doubled: psycopg reads a ``%``
    anywhere in a query with params as a placeholder, and a name may hold one (``"growth %"``)."""
    if not isinstance(query, str) or "%" not in query:
        return query
    out: list[str] = []
    quote = ""
    for ch in query:
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "%":
                out.append("%")
        elif ch in "\"'":
            quote = ch
        out.append(ch)
    return "".join(out)


@functools.cache
def _cursors() -> tuple[Any, Any]:
    """psycopg's cursors, taking names with a ``%`` in them (see :func:`percent_safe`)."""
    import psycopg

    class Cursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            safe = percent_safe(query) if params is not None else query
            return super().execute(safe, params, **kw)

    class ServerCursor(psycopg.ServerCursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            safe = percent_safe(query) if params is not None else query
            return super().execute(safe, params, **kw)

    return Cursor, ServerCursor


# -- what a table looks like ----------------------------------------------------------------------


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
    if dialect == "sqlite":
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
    return _describe_sqlite(conn, table) if dialect == "sqlite" else _describe_pg(conn, table)


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
        raise UsageError(f"table {table!r} does not exist")
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
