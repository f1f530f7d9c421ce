"""Reading row ranges of one database and checksumming them: the tasks verify's workers run.

The worker processes import this module (preloaded in their forkserver); psycopg is imported only
where a PostgreSQL database is read.
"""

from __future__ import annotations

import hashlib
import marshal
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from batchyard.db import Database, Dialect
from batchyard.db import quote_identifier as qi
from batchyard.move.forms import convert

FETCH_ROWS = 5_000
MASK64 = (1 << 64) - 1
#: How much of a SQLite file verify maps into memory.
MMAP_BYTES = 1 << 30


def open_reading(db: Database) -> Any:
    """A read-only connection to read rows from. SQLite pages are read straight from the file's
    mapping, with no copy through SQLite's cache (mapped pages count in the process's RSS)."""
    conn = db.connect(readonly=True)
    if db.dialect == Dialect.SQLITE:
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return conn


@dataclass(frozen=True)
class Query:
    """One side's checksum query: ``SELECT {select} FROM {table} WHERE {where}`` per range."""

    db: Database
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
    if dialect == Dialect.SQLITE:
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


def checksum_rows(rows: list[tuple[Any, ...]], stable: bool = False) -> int:
    """The order-independent checksum of rows: the sum of each row's 64-bit hash of its exact
    binary form (type, bits of floats, NULL apart from ''). The hash is Python's SipHash, seeded
    per process (the workers' seed is fixed); ``stable``: BLAKE2b, the same in any process."""
    if stable:
        return sum(
            int.from_bytes(_blake(data, digest_size=8).digest(), "little")
            for data in map(marshal.dumps, rows, repeat(2))
        )
    return sum(map(hash, map(marshal.dumps, rows, repeat(2))))


_blake = hashlib.blake2b


def checksum(
    conn: Any,
    query: Query,
    where: str,
    params: Sequence[Any],
    stream: bool = True,
    stable: bool = False,
) -> tuple[int, int]:
    """``(rows, checksum)`` of the rows of one range."""
    try:
        return _checksum(conn, query, where, params, stream, False, stable)
    except sqlite3.OperationalError as exc:
        if not not_utf8(exc):
            raise
        return _checksum(conn, query, where, params, stream, True, stable)


def _checksum(
    conn: Any,
    query: Query,
    where: str,
    params: Sequence[Any],
    stream: bool,
    lenient: bool,
    stable: bool,
) -> tuple[int, int]:
    count = total = 0
    sql = query.sql(where)
    for rows in rows_of(conn, query.db.dialect, sql, params, stream=stream, lenient=lenient):
        if query.converters:
            rows = convert(rows, query.converters)
        count += len(rows)
        total += checksum_rows(rows, stable)
    return count, total & MASK64


# -- the worker side --------------------------------------------------------------------------------

_local = threading.local()


@contextmanager
def _cached(db: Database) -> Iterator[Any]:
    """A connection kept for the life of this thread (a worker process reuses it for every task)."""
    cache: dict[Database, Any] = getattr(_local, "connections", None) or {}
    _local.connections = cache
    conn = cache.get(db)
    if conn is None or (db.dialect == Dialect.POSTGRESQL and conn.closed):
        conn = cache[db] = open_reading(db)
    try:
        yield conn
    except BaseException:
        cache.pop(db, None)
        try:
            conn.close()
        finally:
            raise


Range = tuple[str, tuple[Any, ...], bool]


def checksum_ranges(
    query: Query, ranges: Sequence[Range], local: bool = False
) -> list[tuple[int, int]]:
    """``(rows, checksum)`` of each ``(where, params, stream)`` range: what verify's worker
    processes run, keeping their connection for the next task.

    ``local``: read in the runner's own process, whose ``hash()`` is seeded at random: with the
    ``stable`` hash, on a connection of its own that is closed after.
    """
    if local:
        conn = open_reading(query.db)
        try:
            return [checksum(conn, query, *r, stable=True) for r in ranges]
        finally:
            conn.close()
    try:
        with _cached(query.db) as conn:
            return [checksum(conn, query, *r) for r in ranges]
    except Exception as exc:
        if not _stale(exc):
            raise
    # A kept connection the server has since closed (restarted, or the database dropped and made
    # again): once more on a new one.
    with _cached(query.db) as conn:
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
