"""One database of a comparison: opening it, what its tables look like, and checksumming row ranges.

This module is what verify's worker processes import, so it stays light: ``sqlite3``, psycopg (only
when a PostgreSQL database is read) and the standard library.
"""

from __future__ import annotations

import marshal
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import Any
from urllib.parse import quote

from batchyard.errors import UsageError
from batchyard.move.canonical import canonical_json
from batchyard.move.types import ColumnType, from_postgres, from_sqlite

#: Tables batchyard keeps for itself in a target (migrate's checkpoints): never compared.
INTERNAL_PREFIX = "_batchyard"
#: The comment on a PostgreSQL jsonb column that holds an untyped SQLite column (see migrate).
ANY_COMMENT = "batchyard:any"
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
FETCH_ROWS = 5_000
MASK64 = (1 << 64) - 1


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
        """A read-only SQLite connection or an autocommit psycopg one; bad input is a UsageError."""
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
                raise UsageError(f"cannot open {self.shown}: {exc} (does the file exist?)") from exc
            return con
        try:
            import psycopg
        except ModuleNotFoundError as exc:  # pragma: no cover - an install without the extra
            raise UsageError("PostgreSQL needs psycopg: pip install 'batchyard[postgres]'") from exc
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"cannot connect to {self.shown}: {first}") from exc
        for statement in PG_SETTINGS:
            conn.execute(statement)
        return conn


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


# -- how each side reads a column ------------------------------------------------------------------
#
# The checksum reads each column in a form that gives the same Python value on both sides whenever
# the canonical values are the same (and never the same value when they differ), so rows hash in C
# with no per-value Python work. Where the forms could still differ for equal values (a timestamp
# text with a timezone, a decimal with 17 digits), the row ranges whose checksums differ are compared
# again value by value in canonical form: the fast form only ever decides "equal".

# ISO text as PostgreSQL prints it: a space, not "T", before the time; no trailing zeros in the
# fraction. Most values are written so already, and pass untouched (no string is built for them).
_TEMPORAL_TEXT = (
    "CASE WHEN typeof({q}) <> 'text' OR (instr({q}, 'T') = 0 AND instr({q}, '.') = 0) THEN {q} "
    "WHEN instr({q}, '.') > 0 THEN rtrim(rtrim(replace({q}, 'T', ' '), '0'), '.') "
    "ELSE replace({q}, 'T', ' ') END"
)
_PG_DECIMAL_INT = "({q} = trunc({q}) AND {q} BETWEEN -9223372036854775808 AND 9223372036854775807)"
_PG_DECIMAL_FLOAT = "(abs({q}) < 1e308)"


def _exact_in_float(pg: ColumnInfo) -> bool:
    """A PostgreSQL numeric(p, s) with p <= 15: distinct values stay distinct as float8 (and a
    SQLite real equal to one is the same decimal), so the column is compared as float8."""
    return pg.type.precision is not None and pg.type.precision <= 15


def fast_exprs(
    col: ColumnInfo, dialect: str, peer: ColumnInfo, peer_dialect: str
) -> tuple[list[str], str | None]:
    """The select expressions for one column's checksum form, and a converter name (or None)."""
    q = qi(col.name)
    logical = col.logical if col.logical == peer.logical else None
    if dialect == "sqlite":
        if peer_dialect == "sqlite":
            return [q], None
        if logical == "decimal" and _exact_in_float(peer):
            # Text (a decimal SQLite would not store as a number) stays text: never a float.
            return [
                f"CASE WHEN typeof({q}) IN ('integer', 'real') THEN CAST({q} AS REAL) ELSE {q} END"
            ], None
        if logical == "decimal":
            return [
                f"CASE WHEN typeof({q}) = 'integer' THEN {q} END",
                f"CASE WHEN typeof({q}) = 'real' THEN {q} END",
                f"CASE WHEN typeof({q}) IN ('text', 'blob') THEN {q} END",
            ], None
        if logical in ("datetime", "time"):
            return [_TEMPORAL_TEXT.format(q=q)], None
        if logical == "uuid":
            return [f"CASE WHEN typeof({q}) = 'text' THEN lower({q}) ELSE {q} END"], None
        if logical == "any":
            return [
                f"CASE WHEN typeof({q}) = 'blob' THEN {q} END",
                f"CASE WHEN typeof({q}) <> 'blob' THEN {q} END",
                "NULL",
            ], None
        if logical == "json":
            return [q], "json"
        return [q], None
    # PostgreSQL
    if peer_dialect == "postgresql" or logical is None:
        return [q if col.plain else f"{q}::text"], None
    if logical == "boolean":
        return [f"{q}::int"], None
    if logical == "decimal" and _exact_in_float(col):
        return [f"{q}::float8"], None
    if logical == "decimal":
        i, f = _PG_DECIMAL_INT.format(q=q), _PG_DECIMAL_FLOAT.format(q=q)
        return [
            f"CASE WHEN {i} THEN {q}::bigint END",
            f"CASE WHEN NOT {i} AND {f} THEN {q}::float8 END",
            f"CASE WHEN {i} THEN NULL WHEN {f} THEN CASE WHEN {q}::float8::numeric = {q} "
            f"THEN NULL ELSE {q}::text END ELSE {q}::text END",
        ], None
    if logical == "any":
        j = f"{q}::jsonb"
        obj = f"(jsonb_typeof({j}) IN ('object', 'array'))"
        b64 = f"(jsonb_typeof({j}) = 'object' AND {j} ? '$b64')"
        return [
            f"CASE WHEN {b64} THEN decode({j} ->> '$b64', 'base64') END",
            f"CASE WHEN NOT {obj} THEN {j} END",
            f"CASE WHEN {obj} AND NOT {b64} THEN 1 END",
        ], None
    if logical == "json":
        return [f"{q}::text"], "json"
    return [q if col.plain else f"{q}::text"], None


def canonical_expr(col: ColumnInfo, dialect: str) -> str:
    """How a column is read to be compared value by value (then :func:`canonical` of it)."""
    q = qi(col.name)
    if dialect == "sqlite" or col.logical in ("any", "decimal", "uuid") or col.plain:
        return q
    return f"{q}::text"


CONVERTERS = {"json": canonical_json}


# -- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One side's checksum query: ``SELECT {select} FROM {table} WHERE {where}`` per range."""

    endpoint: Endpoint
    table: str
    select: str
    #: (position in the row, converter name) for columns converted in Python.
    converters: tuple[tuple[int, str], ...] = ()

    def sql(self, where: str) -> str:
        return f"SELECT {self.select} FROM {qi(self.table)}" + (f" WHERE {where}" if where else "")


def _lenient(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def rows_of(
    conn: Any,
    dialect: str,
    sql: str,
    params: Sequence[Any] = (),
    *,
    stream: bool = True,
    lenient: bool = False,
    size: int = FETCH_ROWS,
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows. PostgreSQL: with ``stream``, through a server-side cursor (a big range);
    without, in one result (a range of a few thousand rows). SQLite: ``lenient`` reads text that is
    not UTF-8 as it is (see :func:`read`)."""
    if dialect == "sqlite":
        if lenient:
            conn.text_factory = _lenient
        try:
            cur = conn.execute(sql, tuple(params))
            while batch := cur.fetchmany(size):
                yield batch
        finally:
            conn.text_factory = str
        return
    if not stream:
        with conn.cursor(binary=True) as cur:
            cur.execute(sql, tuple(params))
            while batch := cur.fetchmany(size):
                yield batch
        return
    with (
        conn.transaction(),
        conn.cursor(name=f"by_verify_{threading.get_ident()}", binary=True) as cur,
    ):
        cur.itersize = size
        cur.execute(sql, tuple(params))
        while batch := cur.fetchmany(size):
            yield batch


def not_utf8(exc: BaseException) -> bool:
    """SQLite text that is not UTF-8 (read again with ``lenient``)."""
    return isinstance(exc, sqlite3.OperationalError) and "decode" in str(exc)


def _convert(
    rows: list[tuple[Any, ...]], converters: tuple[tuple[int, str], ...]
) -> list[tuple[Any, ...]]:
    funcs = [(i, CONVERTERS[name]) for i, name in converters]
    out = []
    for row in rows:
        values = list(row)
        for i, f in funcs:
            if values[i] is not None:
                values[i] = f(values[i])
        out.append(tuple(values))
    return out


def checksum_rows(rows: list[tuple[Any, ...]]) -> int:
    """The order-independent checksum of rows: the sum of each row's 64-bit hash (SipHash of its
    exact binary form: type, bits of floats, NULL apart from '')."""
    return sum(map(hash, map(marshal.dumps, rows, repeat(2))))


def checksum(
    conn: Any, query: Query, where: str, params: Sequence[Any], stream: bool = True
) -> tuple[int, int]:
    """``(rows, checksum)`` of the rows of one range."""
    try:
        return _checksum(conn, query, where, params, stream, False)
    except sqlite3.OperationalError as exc:
        if not not_utf8(exc):
            raise
        return _checksum(conn, query, where, params, stream, True)


def _checksum(
    conn: Any, query: Query, where: str, params: Sequence[Any], stream: bool, lenient: bool
) -> tuple[int, int]:
    count = total = 0
    sql = query.sql(where)
    for rows in rows_of(conn, query.endpoint.dialect, sql, params, stream=stream, lenient=lenient):
        if query.converters:
            rows = _convert(rows, query.converters)
        count += len(rows)
        total += checksum_rows(rows)
    return count, total & MASK64


# -- the worker side --------------------------------------------------------------------------------

_local = threading.local()


@contextmanager
def _cached(endpoint: Endpoint) -> Iterator[Any]:
    """A connection kept for the life of this thread (a worker process reuses it for every task)."""
    cache: dict[Endpoint, Any] = getattr(_local, "connections", None) or {}
    _local.connections = cache
    conn = cache.get(endpoint)
    if conn is None or (endpoint.dialect == "postgresql" and conn.closed):
        conn = cache[endpoint] = endpoint.connect()
    try:
        yield conn
    except BaseException:
        cache.pop(endpoint, None)
        try:
            conn.close()
        finally:
            raise


Range = tuple[str, tuple[Any, ...], bool]


def checksum_ranges(
    query: Query, ranges: Sequence[Range], keep: bool = True
) -> list[tuple[int, int]]:
    """``(rows, checksum)`` of each ``(where, params, stream)`` range: what verify's workers run.

    ``keep``: keep the connection for the next task (in a worker process); else close it.
    """
    if not keep:
        conn = query.endpoint.connect()
        try:
            return [checksum(conn, query, *r) for r in ranges]
        finally:
            conn.close()
    try:
        with _cached(query.endpoint) as conn:
            return [checksum(conn, query, *r) for r in ranges]
    except Exception as exc:
        if not _stale(exc):
            raise
    # A kept connection the server has since closed (restarted, or the database dropped and made
    # again): once more on a new one.
    with _cached(query.endpoint) as conn:
        return [checksum(conn, query, *r) for r in ranges]


def _stale(exc: BaseException) -> bool:
    try:
        import psycopg
    except ModuleNotFoundError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.OperationalError)


def close_cached() -> None:
    for conn in (getattr(_local, "connections", None) or {}).values():
        conn.close()
    _local.connections = {}
