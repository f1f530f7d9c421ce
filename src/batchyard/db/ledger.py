"""The target-side checkpoint table, ``_batchyard_migrate``: how far each chunk of each table got,
kept in the target itself (guarantee 2, exactly-once data movement).

A batch of rows and its checkpoint commit in one transaction of the target (:func:`batch`): after a
crash at any instant the target holds each row once, and the chunk resumes after its last committed
batch. migrate, import and generate all write through here. Rows whose ``chunk`` starts with ``@``
are markers: a step done once per job (``@schema:JOB``), or a table a job made (``@made:JOB:T``).

The table keeps the name and columns of every earlier release, so targets written by them resume.
Every function takes a DB-API connection (sqlite3 or psycopg) and its dialect; none commits except
:func:`batch` and :func:`open_chunk`, so markers can share the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from batchyard.db.url import Dialect

TABLE = "_batchyard_migrate"
#: ``CREATE TABLE`` per dialect: ``chunk`` is the key; ``done_upto`` the last key committed (None:
#: nothing yet, or a chunk that is the whole table); ``rows`` those committed; ``finished``.
DDL = {
    Dialect.SQLITE: f"CREATE TABLE IF NOT EXISTS {TABLE} (chunk TEXT PRIMARY KEY, "
    "table_name TEXT NOT NULL, done_upto INTEGER, rows INTEGER NOT NULL DEFAULT 0, "
    "finished INTEGER NOT NULL DEFAULT 0)",
    Dialect.POSTGRESQL: f"CREATE TABLE IF NOT EXISTS {TABLE} (chunk TEXT PRIMARY KEY, "
    "table_name TEXT NOT NULL, done_upto BIGINT, rows BIGINT NOT NULL DEFAULT 0, "
    "finished BOOLEAN NOT NULL DEFAULT false)",
}


@dataclass(frozen=True)
class Checkpoint:
    """Where a chunk stands: the last key committed (None: nothing yet), and whether it is done."""

    done_upto: int | None = None
    finished: bool = False

    @classmethod
    def from_row(cls, row: Any) -> Checkpoint:
        return cls() if row is None else cls(row[0], bool(row[1]))


@dataclass
class Batch:
    """What one batch committed: the copier sets ``rows`` inside the batch's transaction."""

    rows: int = 0


class ChunkMoved(RuntimeError):
    """The chunk's checkpoint moved under this writer: another one is copying it. Stop."""


def _sql(dialect: str, text: str) -> str:
    """``text`` with its ``?`` placeholders in the driver's style."""
    return text.replace("?", Dialect(dialect).param)


def create(conn: Any, dialect: str) -> None:
    """Make the table if the target has none (in the caller's transaction)."""
    conn.execute(DDL[Dialect(dialect)])


def exists(conn: Any, dialect: str) -> bool:
    if Dialect(dialect) is Dialect.SQLITE:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s"
    return conn.execute(sql, (TABLE,)).fetchone() is not None


def read(conn: Any, dialect: str, chunk: str) -> Checkpoint:
    """The checkpoint of ``chunk`` (nothing committed yet if it has none)."""
    sql = _sql(dialect, f"SELECT done_upto, finished FROM {TABLE} WHERE chunk = ?")
    return Checkpoint.from_row(conn.execute(sql, (chunk,)).fetchone())


def open_chunk(conn: Any, dialect: str, chunk: str, table: str) -> Checkpoint:
    """The checkpoint of ``chunk``, its row made (and committed) if missing, so each batch can
    lock it (PostgreSQL ``FOR UPDATE``)."""
    false = "false" if Dialect(dialect) is Dialect.POSTGRESQL else "0"
    conn.execute(
        _sql(
            dialect,
            f"INSERT INTO {TABLE} (chunk, table_name, done_upto, rows, finished) "
            f"VALUES (?, ?, NULL, 0, {false}) ON CONFLICT (chunk) DO NOTHING",
        ),
        (chunk, table),
    )
    found = read(conn, dialect, chunk)
    if Dialect(dialect) is Dialect.POSTGRESQL and not conn.autocommit:
        conn.commit()
    return found


@contextmanager
def batch(
    conn: Any,
    dialect: str,
    chunk: str,
    table: str,
    *,
    expected: int | None,
    upto: int | None,
    last: bool,
) -> Iterator[Batch]:
    """One batch's transaction: the checkpoint is checked to be at ``expected`` (else
    :class:`ChunkMoved`: another writer has this chunk), the caller copies its rows and sets
    ``rows``, and the checkpoint moves to ``upto`` (``last``: the chunk is done) in the same
    commit. On an error nothing of the batch is kept. ``conn`` is in autocommit (SQLite: isolation
    level None)."""
    counted = Batch()
    if Dialect(dialect) is Dialect.POSTGRESQL:
        with conn.transaction():
            _check(conn, dialect, chunk, expected, lock=" FOR UPDATE")
            yield counted
            _advance(conn, dialect, chunk, table, upto, counted.rows, last)
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check(conn, dialect, chunk, expected)
        yield counted
        _advance(conn, dialect, chunk, table, upto, counted.rows, last)
        conn.execute("COMMIT")
    except BaseException:
        # SQLite has rolled back already after some errors (a full disk): the error to show is
        # the one that ended the transaction, not "cannot rollback - no transaction is active".
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _check(conn: Any, dialect: str, chunk: str, expected: int | None, lock: str = "") -> None:
    sql = _sql(dialect, f"SELECT done_upto, finished FROM {TABLE} WHERE chunk = ?{lock}")
    found = Checkpoint.from_row(conn.execute(sql, (chunk,)).fetchone())
    if found.finished or found.done_upto != expected:
        raise ChunkMoved(
            f"chunk {chunk} was copied further by another writer (at {found.done_upto}, "
            f"expected {expected}); stopping so no row is written twice"
        )


def _advance(
    conn: Any, dialect: str, chunk: str, table: str, upto: int | None, rows: int, last: bool
) -> None:
    finished: Any = last if Dialect(dialect) is Dialect.POSTGRESQL else int(last)
    conn.execute(
        _sql(
            dialect,
            f"INSERT INTO {TABLE} (chunk, table_name, done_upto, rows, finished) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chunk) DO UPDATE SET done_upto = "
            f"excluded.done_upto, rows = {TABLE}.rows + excluded.rows, "
            "finished = excluded.finished",
        ),
        (chunk, table, upto, rows, finished),
    )


# -- markers: steps done once per job ---------------------------------------------------------------


def mark(conn: Any, dialect: str, marker: str, table: str = "") -> None:
    """Record ``marker`` (a step done; kept if already there), in the caller's transaction."""
    conn.execute(
        _sql(
            dialect,
            f"INSERT INTO {TABLE} (chunk, table_name, rows) VALUES (?, ?, 0) "
            "ON CONFLICT (chunk) DO NOTHING",
        ),
        (marker, table),
    )


def marked(conn: Any, dialect: str, marker: str) -> bool:
    sql = _sql(dialect, f"SELECT 1 FROM {TABLE} WHERE chunk = ?")
    return conn.execute(sql, (marker,)).fetchone() is not None


def like_prefix(text: str) -> str:
    """A LIKE pattern (``ESCAPE '!'``) for values starting with ``text``."""
    return "".join(f"!{c}" if c in "!%_" else c for c in text) + "%"


def forget(
    conn: Any,
    dialect: str,
    *,
    prefixes: Iterable[str] = (),
    chunks: Iterable[str] = (),
    tables: Iterable[str] = (),
) -> int:
    """Delete the checkpoints whose chunk starts with one of ``prefixes``, is one of ``chunks``,
    or belongs to one of ``tables``; how many were deleted."""
    conds: list[str] = []
    params: list[Any] = []
    for prefix in prefixes:
        conds.append("chunk LIKE ? ESCAPE '!'")
        params.append(like_prefix(prefix))
    for column, values in (("chunk", list(chunks)), ("table_name", list(tables))):
        if values:
            conds.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if not conds:
        return 0
    cur = conn.execute(_sql(dialect, f"DELETE FROM {TABLE} WHERE {' OR '.join(conds)}"), params)
    return int(cur.rowcount or 0)


def drop_if_empty(conn: Any, dialect: str) -> bool:
    """Drop the table when no checkpoint is left in it (the target as it was before any job)."""
    if not exists(conn, dialect) or conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchone():
        return False
    conn.execute(f"DROP TABLE {TABLE}")
    return True


def rows_by_table(conn: Any, scope: str, tables: Iterable[str]) -> dict[str, int]:
    """Rows committed per table by the chunks of one job (ids ``{scope}{table}#...``; ``scope``
    is empty for chunks shared by every job of the target), read from what the target holds."""
    out = dict.fromkeys(tables, 0)
    for chunk, table, rows in conn.execute(
        f"SELECT chunk, table_name, rows FROM {TABLE}"
    ).fetchall():
        if table in out and chunk.startswith(f"{scope}{table}#"):
            out[table] += int(rows or 0)
    return out
