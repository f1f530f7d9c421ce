"""Copying one chunk of a table, exactly once, on the fastest path each pair of databases allows.

A chunk is a key range ``(lo, hi]`` of a table's chunk key (its integer primary key or SQLite's
rowid), or the whole table. It is copied in batches; each batch and its checkpoint row in the target's
``_batchyard_migrate`` table commit in one target transaction, so after a crash at any instant the
target holds each row once and the chunk resumes after the last committed batch.

| source → target       | path                                                                    |
|-----------------------|-------------------------------------------------------------------------|
| SQLite → SQLite       | ``ATTACH`` the source, ``INSERT ... SELECT`` per batch, inside SQLite      |
| SQLite → PostgreSQL   | a reader thread fetches batches while the writer streams ``COPY``        |
|                       | (:mod:`batchyard.move.loader`)                                          |
| PostgreSQL → PostgreSQL | ``COPY (SELECT ...) TO STDOUT`` streamed into ``COPY ... FROM STDIN``  |
| PostgreSQL → SQLite   | a server-side cursor, values converted, ``executemany`` per batch         |
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from batchyard.db import connect as opener
from batchyard.db import ledger
from batchyard.db.types import sqlite_converter
from batchyard.db.url import Dialect
from batchyard.move import fits
from batchyard.move.canonical import any_real_json
from batchyard.move.profile import fits_condition
from batchyard.move.reflect import Table, qi

#: Rows the reader hands the writer at a time (a batch is several pieces, one transaction).
PIECE_ROWS = 5_000


@dataclass(frozen=True)
class Chunk:
    """A key range ``(lo, hi]`` of ``table`` (both None: the whole table)."""

    id: str
    table: str
    lo: int | None = None
    hi: int | None = None

    @property
    def ranged(self) -> bool:
        return self.lo is not None and self.hi is not None

    def ends_at(self, hi: int | None) -> bool:
        """True when a batch reaching ``hi`` is the chunk's last."""
        return hi is None or (self.hi is not None and hi >= self.hi)


@dataclass(frozen=True)
class Plan:
    """How one chunk is read: the source and target tables and the rules for odd values."""

    source: Table
    #: The columns copied (by their names in the source).
    target_columns: tuple[str, ...]
    skip_bad: tuple[str, ...] = ()
    #: Rows per committed batch; None: 250,000 inside SQLite, 200,000 into PostgreSQL, 20,000
    #: from PostgreSQL to SQLite.
    batch_rows: int | None = None
    #: Some column's type was overridden (``--type``): its values are cast by text COPY.
    overridden: bool = False
    #: Check stored values against their types as they are read (SQLite sources; when the
    #: migration was not profiled up front): :class:`~batchyard.errors.Misfits` if not.
    check_fits: bool = False
    #: The names of ``target_columns`` in the target, where they differ (PostgreSQL's 63 bytes).
    renamed: tuple[tuple[str, str], ...] = ()

    def target_name(self, column: str) -> str:
        return dict(self.renamed).get(column, column)

    def rows_per_batch(self, pair: tuple[str, str]) -> int:
        if self.batch_rows:
            return self.batch_rows
        if pair == ("sqlite", "sqlite"):
            return 250_000
        # Into PostgreSQL rows stream in pieces: big batches cost no memory, and fewer COPY
        # statements and commits cost both sides less.
        return 200_000 if pair[1] == "postgresql" else 20_000


def sqlite_path(url: str) -> str:
    return sa.make_url(url).database or ""


def pg_dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres(url: str) -> Any:
    """A connection for copying (psycopg's transactions; used as a context manager it commits on
    exit). Values travel between the two servers as text in the servers' own forms."""
    return opener.postgres(pg_dsn(url), autocommit=False, settings=False)


def _skip_where(plan: Plan) -> str:
    """SQL that leaves out rows whose values the user chose to skip (``--skip-bad``)."""
    conds = []
    for col in plan.source.columns:
        if f"{plan.source.name}.{col.name}" in plan.skip_bad:
            cond = fits_condition(col, qi(col.name))
            if cond:
                conds.append(cond)
    return " AND ".join(conds)


def _range_where(key: str | None, chunk: Chunk, lo: int | None, hi: int | None) -> str:
    if not chunk.ranged or key is None:
        return ""
    column = "rowid" if key == "rowid" else qi(key)
    return f"{column} > {int(lo if lo is not None else 0)} AND {column} <= {int(hi or 0)}"


def _batches(
    plan: Plan, chunk: Chunk, start: int | None, batch_rows: int = 20_000
) -> Iterator[tuple[int | None, int | None]]:
    """Key sub-ranges of about ``batch_rows`` rows each, from ``start`` to the end of the chunk."""
    if not chunk.ranged:
        yield None, None
        return
    assert chunk.lo is not None and chunk.hi is not None
    lo = chunk.lo if start is None else start
    span_keys = max(chunk.hi - chunk.lo, 1)
    rows = max(plan.source.rows, 1)
    density = min(rows / max(plan.source.extra.get("key_span", span_keys), 1), 1.0) or 1.0
    step = max(int(batch_rows / density), 1)
    while lo < chunk.hi:
        hi = min(lo + step, chunk.hi)
        yield lo, hi
        lo = hi


def _where(*parts: str) -> str:
    conds = [p for p in parts if p]
    return f" WHERE {' AND '.join(conds)}" if conds else ""


# -- checkpoints (the target's ``_batchyard_migrate``, see :mod:`batchyard.db.ledger`) -----------


def chunk_batch(
    conn: Any, dialect: str, chunk: Chunk, lo: int | None, hi: int | None
) -> AbstractContextManager[ledger.Batch]:
    """One batch of ``chunk`` (keys ``(lo, hi]``) in one target transaction with its checkpoint:
    the checkpoint is checked to be where this writer left it, the caller copies and counts, and
    the new checkpoint commits with the rows."""
    return ledger.batch(
        conn,
        dialect,
        chunk.id,
        chunk.table,
        expected=None if lo == chunk.lo else lo,
        upto=hi,
        last=chunk.ends_at(hi),
    )


# -- SQLite → SQLite ---------------------------------------------------------------------------


def _sqlite_target(url: str) -> sqlite3.Connection:
    """A connection for loading: rollback journal (a bulk load appends pages, so it journals next
    to nothing, where WAL would write every page twice), foreign keys off until the load is done."""
    con = opener.sqlite(sqlite_path(url), timeout=120)
    # If another connection has the file open in WAL mode, the load runs in WAL.
    with contextlib.suppress(sqlite3.OperationalError):
        con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("PRAGMA cache_size=-32000")
    return con


def sqlite_to_sqlite(
    src_url: str, dst_url: str, plan: Plan, chunk: Chunk, progress: Callable[[int], None]
) -> int:
    con = _sqlite_target(dst_url)
    try:
        fits.prepare(con)  # for --skip-bad of a text column
        con.execute("ATTACH DATABASE ? AS src", (sqlite_path(src_url),))
        state = ledger.read(con, Dialect.SQLITE, chunk.id)
        if state.finished:
            return 0
        done_upto = state.done_upto
        source = plan.source
        cols = ", ".join(qi(c) for c in plan.target_columns)
        select = ", ".join(qi(c) for c in plan.target_columns)
        total = 0
        skip = _skip_where(plan)
        target_cols = [r[1] for r in con.execute(f"PRAGMA main.table_info({qi(source.name)})")]
        kmin, kmax = source.extra.get("key_min"), source.extra.get("key_max")
        covers = not chunk.ranged or (
            done_upto is None
            and kmin is not None
            and kmax is not None
            and (chunk.lo or 0) < kmin
            and (chunk.hi or 0) >= kmax
        )
        if covers and not skip and target_cols == list(plan.target_columns):
            # A whole table into a table of the same shape: plain "INSERT ... SELECT *" lets SQLite
            # move whole records between the files without decoding them (its transfer
            # optimisation), about twice as fast as any filtered copy.
            cols, select = "", "*"
            chunk = Chunk(chunk.id, chunk.table)  # one batch, no key range
        for lo, hi in _batches(plan, chunk, done_upto, plan.rows_per_batch(("sqlite", "sqlite"))):
            where = _where(_range_where(source.chunk_key, chunk, lo, hi), skip)
            into = f"({cols}) " if cols else ""
            with chunk_batch(con, Dialect.SQLITE, chunk, lo, hi) as batch:
                batch.rows = con.execute(
                    f"INSERT INTO main.{qi(source.name)} {into}SELECT {select} "
                    f"FROM src.{qi(source.name)}{where}"
                ).rowcount
            total += batch.rows
            progress(batch.rows)
        return total
    finally:
        con.close()


# -- SQLite → PostgreSQL -----------------------------------------------------------------------


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _sqlite_select(
    plan: Plan, target_dialect: str
) -> tuple[str, Callable[[sqlite3.Connection], None]]:
    """The select list that reads each column in the form the target loads without loss."""
    exprs = []
    for name in plan.target_columns:
        col = plan.source.column(name)
        q = qi(name)
        logical = col.type.logical
        if target_dialect == "postgresql" and logical == "any":
            # Any storage class, as a typed JSON scalar (blobs as base64), so it comes back as it was.
            exprs.append(
                f"CASE typeof({q}) WHEN 'null' THEN NULL "
                f"WHEN 'blob' THEN json_object('$b64', by_b64({q})) "
                # Whole reals below 1e15 print exactly in SQL; the rest in Python (SQLite's printf
                # is not exact to 17 digits, and -0.0 and the infinities are no JSON number).
                f"WHEN 'real' THEN CASE WHEN {q} = CAST({q} AS INTEGER) AND abs({q}) < 1e15 "
                f"AND {q} <> 0 THEN printf('%.1f', {q}) ELSE by_real({q}) END "
                f"ELSE json_quote({q}) END"
            )
        elif target_dialect == "postgresql" and logical == "text":
            exprs.append(f"CASE typeof({q}) WHEN 'blob' THEN CAST({q} AS TEXT) ELSE {q} END")
        elif target_dialect == "postgresql" and logical == "blob":
            # A column made a blob (--type t.c=blob) takes each value's bytes: text as it is
            # stored, whether UTF-8 or not.
            exprs.append(f"CASE typeof({q}) WHEN 'blob' THEN {q} ELSE CAST({q} AS BLOB) END")
        else:
            exprs.append(q)

    def prepare(con: sqlite3.Connection) -> None:
        con.create_function("by_b64", 1, _b64, deterministic=True)
        con.create_function("by_real", 1, any_real_json, deterministic=True)

    return ", ".join(exprs), prepare


# -- PostgreSQL → PostgreSQL -------------------------------------------------------------------


def postgres_to_postgres(
    src_url: str, dst_url: str, plan: Plan, chunk: Chunk, progress: Callable[[int], None]
) -> int:
    source = plan.source
    cols = ", ".join(qi(c) for c in plan.target_columns)
    into_cols = ", ".join(qi(plan.target_name(c)) for c in plan.target_columns)
    with _postgres(src_url) as src, _postgres(dst_url) as dst:
        state = ledger.open_chunk(dst, Dialect.POSTGRESQL, chunk.id, chunk.table)
        if state.finished:
            return 0
        done_upto = state.done_upto
        total = 0
        for lo, hi in _batches(
            plan, chunk, done_upto, plan.rows_per_batch(("postgresql", "postgresql"))
        ):
            where = _where(_range_where(source.chunk_key, chunk, lo, hi))
            with (
                chunk_batch(dst, Dialect.POSTGRESQL, chunk, lo, hi) as batch,
                src.cursor().copy(
                    f"COPY (SELECT {cols} FROM {qi(source.name)}{where}) TO STDOUT"
                ) as out,
                dst.cursor().copy(f"COPY {qi(source.name)} ({into_cols}) FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)
                    batch.rows += bytes(block).count(b"\n")
            src.commit()
            total += batch.rows
            progress(batch.rows)
        return total


# -- PostgreSQL → SQLite -----------------------------------------------------------------------


def _as_text(v: Any) -> Any:
    """A PostgreSQL value as the text PostgreSQL itself would print for it (bytes stay bytes)."""
    if isinstance(v, str | bytes):
        return v
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, memoryview):
        return bytes(v)
    return str(v)


def postgres_to_sqlite(
    src_url: str, dst_url: str, plan: Plan, chunk: Chunk, progress: Callable[[int], None]
) -> int:
    source = plan.source
    con = _sqlite_target(dst_url)
    try:
        state = ledger.read(con, Dialect.SQLITE, chunk.id)
        if state.finished:
            return 0
        done_upto = state.done_upto
        names = list(plan.target_columns)
        converters = [
            sqlite_converter(source.column(c).type.logical)
            # A column overridden to text may come from any PostgreSQL type: its text form goes in.
            or (_as_text if plan.overridden and source.column(c).type.logical == "text" else None)
            for c in names
        ]
        cols = ", ".join(qi(c) for c in names)
        marks = ", ".join("?" for _ in names)
        insert = f"INSERT INTO {qi(source.name)} ({cols}) VALUES ({marks})"
        total = 0
        with _postgres(src_url) as pg:
            for lo, hi in _batches(
                plan, chunk, done_upto, plan.rows_per_batch(("postgresql", "sqlite"))
            ):
                where = _where(_range_where(source.chunk_key, chunk, lo, hi))
                with chunk_batch(con, Dialect.SQLITE, chunk, lo, hi) as batch:
                    # A server-side cursor: a table copied whole (no key to range on) streams
                    # through in pieces, inside the one target transaction that makes it whole.
                    with pg.cursor(name="batchyard_migrate") as cur:
                        cur.itersize = 20_000
                        cur.execute(f"SELECT {cols} FROM {qi(source.name)}{where}")
                        while rows := cur.fetchmany(20_000):
                            if any(converters):
                                rows = [
                                    tuple(
                                        f(v) if f and v is not None else v
                                        for f, v in zip(converters, r, strict=True)
                                    )
                                    for r in rows
                                ]
                            con.executemany(insert, rows)
                            batch.rows += len(rows)
                    pg.commit()
                total += batch.rows
                progress(batch.rows)
        return total
    finally:
        con.close()


def chunks_for(table: Table, chunk_rows: int, key_range: Sequence[int | None]) -> list[Chunk]:
    """Split ``table`` into key ranges of about ``chunk_rows`` rows (or one chunk, whole)."""
    lo, hi = key_range
    if table.chunk_key is None or lo is None or hi is None:
        return [Chunk(f"{table.name}#whole", table.name)]
    span = hi - lo + 1
    pieces = max(
        1,
        min(table.rows // max(chunk_rows, 1) + (1 if table.rows % max(chunk_rows, 1) else 0), 1000),
    )
    step = -(-span // pieces)
    out = []
    start = lo - 1
    n = 0
    while start < hi:
        end = min(start + step, hi)
        out.append(Chunk(f"{table.name}#{n:04d}", table.name, start, end))
        start = end
        n += 1
    return out
