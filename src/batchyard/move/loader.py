"""SQLite → PostgreSQL: a reader thread reads a chunk's batches while the writer streams them with
``COPY``, each batch in one transaction with its checkpoint (see :mod:`batchyard.move.copy`).

Rows go the fastest way that keeps every value exact:

1. binary ``COPY`` data made a batch at a time from Arrow (:mod:`batchyard.move.binary`);
2. binary ``COPY`` row by row (:mod:`batchyard.move.wire`), for a batch the first way cannot
   encode (it is copied again, in a new transaction), with text ``COPY`` for pieces holding dates
   or timestamps in a form that has no binary value;
3. text ``COPY`` for tables with types that have no binary form.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

from batchyard.db import connect as opener
from batchyard.db import ledger
from batchyard.db.url import Dialect
from batchyard.errors import CopyAgain, Misfits, NotBinary
from batchyard.move import arrow as arrow_reader
from batchyard.move import binary, fits, profile
from batchyard.move.copy import (
    PIECE_ROWS,
    Chunk,
    Plan,
    _batches,
    _postgres,
    _range_where,
    _skip_where,
    _sqlite_select,
    _where,
    chunk_batch,
    sqlite_path,
)
from batchyard.move.reflect import qi
from batchyard.move.wire import Wire, target_matches, wire_for

#: ``BATCHYARD_MIGRATE_ARROW=0`` reads rows one by one instead of through Arrow (to compare).
_ARROW = os.environ.get("BATCHYARD_MIGRATE_ARROW", "1").strip().lower() not in ("0", "no", "off")


class _Copies:
    """The COPY statement open in a batch's transaction. Several can follow one another in one
    transaction: binary data, binary rows, or text rows for values with no exact binary form."""

    def __init__(self, pg: Any, table: str, cols: str, wire: Wire | None) -> None:
        self.pg, self.table, self.cols, self.wire = pg, table, cols, wire
        self.mode = ""
        self.stack = contextlib.ExitStack()
        self.copy: Any = None

    def _open(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.close()
        options = " (FORMAT BINARY)" if mode in ("binary", "raw") else ""
        self.copy = self.stack.enter_context(
            self.pg.cursor().copy(f"COPY {qi(self.table)} ({self.cols}) FROM STDIN{options}")
        )
        if mode == "binary":
            assert self.wire is not None
            self.copy.set_types(list(self.wire.types))
        elif mode == "raw":
            self.copy.write(binary.SIGNATURE)
        self.mode = mode

    def write(self, rows: Sequence[tuple[Any, ...]], mode: str) -> None:
        self._open(mode)
        write_row = self.copy.write_row
        for r in rows:
            write_row(r)

    def write_raw(self, data: Any) -> None:
        self._open("raw")
        self.copy.write(data)

    def close(self) -> None:
        if self.mode == "raw":
            self.copy.write(binary.TRAILER)
        self.mode = ""
        self.stack.close()


def load(
    src_url: str, dst_url: str, plan: Plan, chunk: Chunk, progress: Callable[[int], None]
) -> int:
    import psycopg

    source = plan.source
    skip = _skip_where(plan)
    cols = ", ".join(qi(plan.target_name(c)) for c in plan.target_columns)
    with _postgres(dst_url) as pg:
        state = ledger.open_chunk(pg, Dialect.POSTGRESQL, chunk.id, chunk.table)
        if state.finished:
            return 0
        done_upto = state.done_upto
        wire = wire_for(source, plan.target_columns, plan.overridden)
        if wire is not None and not target_matches(pg, plan):
            wire = None
        pg.commit()
        select = wire.select if wire is not None else _sqlite_select(plan, "postgresql")[0]
        # Batches travel in pieces: memory holds a few thousand rows, whatever the batch size.
        pieces: queue.Queue[Any] = queue.Queue(maxsize=4)
        stop = threading.Event()

        def read() -> None:
            try:
                with contextlib.ExitStack() as stack:
                    con = opener.sqlite(sqlite_path(src_url), readonly=True)
                    stack.callback(con.close)
                    fits.prepare(con)
                    if wire is None:
                        _sqlite_select(plan, "postgresql")[1](con)
                    else:
                        con.text_factory = bytes
                    arrow = None
                    # ADBC's connection cannot be given the UTF-8 check a skipped text column needs.
                    if (
                        wire is not None
                        and _ARROW
                        and not fits.needs_function(skip)
                        and arrow_reader.available()
                    ):
                        arrow = stack.enter_context(arrow_reader.connect(sqlite_path(src_url)))
                    for lo, hi in _batches(
                        plan, chunk, done_upto, plan.rows_per_batch(("sqlite", "postgresql"))
                    ):
                        if stop.is_set():
                            return
                        conds = " AND ".join(
                            c for c in (_range_where(source.chunk_key, chunk, lo, hi), skip) if c
                        )
                        where = _where(conds)
                        if arrow is not None and wire is not None:
                            # Encoded from Arrow, every value had its column's storage class.
                            if read_arrow(arrow, wire, where, lo, hi):
                                continue
                            arrow = None  # this batch, and the rest, row by row
                            check_fits(con, conds)
                            pieces.put(("retry",))
                        else:
                            check_fits(con, conds)
                        if not read_rows(con, wire, select, where, lo, hi):
                            return
                pieces.put(None)
            except BaseException as exc:
                pieces.put(exc)

        def check_fits(con: sqlite3.Connection, conds: str) -> None:
            """Before a batch goes another way than Arrow: its values fit their types."""
            if plan.check_fits and profile.misfit_rows(con, source, plan.skip_bad, conds):
                raise Misfits(source.name)

        def read_arrow(arrow: Any, wire: Wire, where: str, lo: Any, hi: Any) -> bool:
            sql = binary.select(wire.arrow_exprs, wire.logicals, qi(source.name), where)
            pieces.put(("begin", lo, hi))
            try:
                for batch in arrow_reader.batches(arrow, sql):
                    if stop.is_set():
                        return True
                    data = binary.encode(batch, wire.logicals, wire.decimals)
                    pieces.put(("raw", data, batch.num_rows))
            except NotBinary:
                return False
            pieces.put(("end",))
            return True

        def read_rows(
            con: sqlite3.Connection, wire: Wire | None, select: str, where: str, lo: Any, hi: Any
        ) -> bool:
            cur = con.execute(f"SELECT {select} FROM {qi(source.name)}{where}")
            pieces.put(("begin", lo, hi))
            while rows := cur.fetchmany(PIECE_ROWS):
                if stop.is_set():
                    return False
                if wire is None:
                    pieces.put(("rows", rows, "text"))
                elif wire.rows_binary and wire.canonical(rows):
                    pieces.put(("rows", rows, "binary"))
                else:
                    pieces.put(("rows", wire.as_text(rows), "text"))
            pieces.put(("end",))
            return True

        def take() -> Any:
            got = pieces.get()
            if isinstance(got, BaseException):
                raise got
            return got

        reader = threading.Thread(target=read, name="batchyard-migrate-reader", daemon=True)
        reader.start()
        total = 0
        try:
            while (got := take()) is not None:
                _, lo, hi = got
                copies = _Copies(pg, source.name, cols, wire)
                try:
                    with chunk_batch(pg, Dialect.POSTGRESQL, chunk, lo, hi) as batch:
                        try:
                            while (piece := take())[0] in ("rows", "raw"):
                                if piece[0] == "raw":
                                    copies.write_raw(piece[1])
                                    batch.rows += piece[2]
                                else:
                                    copies.write(piece[1], piece[2])
                                    batch.rows += len(piece[1])
                        finally:
                            copies.close()
                        if piece[0] == "retry":
                            raise CopyAgain
                except CopyAgain:
                    continue
                except (
                    psycopg.errors.CharacterNotInRepertoire,
                    psycopg.errors.UntranslatableCharacter,
                ):
                    # Text PostgreSQL cannot hold (not UTF-8, a NUL) read as it is stored: the
                    # caller reports it with the other values that do not fit.
                    raise Misfits(source.name) from None
                total += batch.rows
                progress(batch.rows)
        finally:
            stop.set()
            while reader.is_alive():
                with contextlib.suppress(queue.Empty):
                    pieces.get(timeout=0.1)
        return total
