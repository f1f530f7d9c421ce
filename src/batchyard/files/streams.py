"""Arrow record batches read from SQLite in C (ADBC), for the export's fast path.

ADBC types each column from the first batch of a query, widens a batch that mixes stored types to
text and fails on a later batch of another type. So every batch is checked against the Arrow types
the table's declared columns call for; anything else raises :class:`~batchyard.errors.Mismatch` and the export runs
again on the exact (Python) path. Only tables whose every column maps one to one are taken here.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from batchyard.db import quote_identifier as qi
from batchyard.db.connect import readonly_uri, sqlite
from batchyard.errors import Mismatch
from batchyard.files.values import b64
from batchyard.move.reflect import Table, ends_sql

#: Logical types whose SQLite values ADBC reads exactly into the Arrow type they are written as.
FAST_TYPES = (
    "integer",
    "float",
    "boolean",
    "text",
    "date",
    "datetime",
    "time",
    "uuid",
    "json",
    "blob",
)
#: Two readers keep both cores busy; more only add contention on a shared machine.
PARTS = 2
#: Rowids per batch (and per statement): small batches keep memory low.
BATCH_ROWS = 16_384
#: Below this many rowids a table is read as one statement.
SPLIT_ROWS = 200_000


_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def one_library_at_a_time(path: str) -> Iterator[None]:
    """Hold while this process opens a SQLite file through ADBC or through Python's sqlite3.

    ADBC links its own copy of SQLite; two copies in one process do not see each other's file
    locks (and closing a file in one drops the other's), so a write through one could be lost
    under the other. Within the process, the two take turns per file; other processes are safe.
    """
    key = str(Path(path).resolve())
    with _FILE_LOCKS_GUARD:
        lock = _FILE_LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield


def eligible(table: Table) -> bool:
    return bool(table.columns) and all(c.type.logical in FAST_TYPES for c in table.columns)


def ranges(path: str, table: Table) -> list[tuple[int, int] | None]:
    """Rowid ranges ``(lo, hi]`` of ``BATCH_ROWS`` rowids each, so that each range is one ADBC
    batch typed on its own (a run of NULLs in one batch cannot mistype the next); ``[None]``
    reads the table whole (a query, a table without rowid, a small table)."""
    if not table.has_rowid or table.extra.get("query"):
        return [None]
    con = sqlite(path, readonly=True)
    try:
        lo, hi = con.execute(ends_sql("_rowid_", qi(table.name))).fetchone()
    except sqlite3.Error:
        return [None]
    finally:
        con.close()
    if lo is None or hi - lo < SPLIT_ROWS:
        return [None]
    edges = [*range(int(lo) - 1, int(hi), BATCH_ROWS), int(hi)]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def span_sql(select: str, where: str | None, span: tuple[int, int] | None) -> str:
    """``select`` with the user's condition and the part's rowid range."""
    conditions = [f"({where})"] if where else []
    if span is not None:
        conditions.append(f"_rowid_ > {int(span[0])} AND _rowid_ <= {int(span[1])}")
    return select + (" WHERE " + " AND ".join(conditions) if conditions else "")


#: Follows the batches of each statement in :func:`stream`.
END = object()


def stream(
    path: str, table: Table, schema: pa.Schema, sqls: Sequence[str], text_blobs: bool
) -> Iterator[Any]:
    """Batches of each of ``sqls`` in ``schema``'s types, each statement's followed by ``END``,
    on one connection; :class:`~batchyard.errors.Mismatch` where a batch does not fit."""
    # The low-level API: the DB-API module would import pandas, tens of MB for nothing here.
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    with contextlib.ExitStack() as stack:
        try:
            db = stack.enter_context(adbc_driver_sqlite.connect(readonly_uri(path)))
            con = stack.enter_context(adbc.AdbcConnection(db))
        except adbc.Error as exc:
            raise Mismatch(str(exc)) from exc
        for sql in sqls:
            with adbc.AdbcStatement(con) as stmt:
                try:
                    stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
                    stmt.set_sql_query(sql)
                    handle, _ = stmt.execute_query()
                    reader = pa.RecordBatchReader._import_from_c(handle.address)
                except adbc.Error as exc:
                    raise Mismatch(str(exc)) from exc
                try:
                    while True:
                        try:
                            batch = reader.read_next_batch()
                        except StopIteration:
                            break
                        except (OSError, pa.ArrowException, adbc.Error) as exc:
                            raise Mismatch(str(exc)) from exc
                        yield _fit(batch, table, schema, text_blobs)
                finally:
                    reader.close()
            yield END


def _fit(
    batch: pa.RecordBatch, table: Table, schema: pa.Schema, text_blobs: bool
) -> pa.RecordBatch:
    arrays = []
    for i, column in enumerate(table.columns):
        got, want = batch.column(i), schema.field(i).type
        logical = column.type.logical
        if got.null_count == len(got):
            arrays.append(pa.nulls(len(got), want))
        elif logical == "boolean" and pa.types.is_int64(got.type):
            arrays.append(booleans(got))
        elif logical == "blob" and text_blobs and pa.types.is_binary(got.type):
            arrays.append(pa.array([None if v is None else b64(v) for v in got.to_pylist()], want))
        elif got.type == want:
            arrays.append(got)
        else:
            raise Mismatch(f"{table.name}.{column.name}: {got.type} values, {want} expected")
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def booleans(ints: pa.Array) -> pa.Array:
    """0/1 integers as booleans (any other integer is true), without pyarrow.compute: its first
    call costs ~50 MB of memory."""
    import numpy as np

    if ints.offset:
        return pa.array([None if v is None else v != 0 for v in ints.to_pylist()], pa.bool_())
    values = np.frombuffer(ints.buffers()[1], dtype=np.int64, count=len(ints)) != 0
    bits = pa.py_buffer(np.packbits(values, bitorder="little"))
    return pa.Array.from_buffers(
        pa.bool_(), len(ints), [ints.buffers()[0], bits], null_count=ints.null_count
    )


def ahead(source: Iterator[Any]) -> Iterator[Any]:
    """``source`` read a couple of steps ahead in its own thread."""
    return (item for item in in_turn([_ended(source)], 1) if item is not END)


def _ended(source: Iterator[Any]) -> Iterator[Any]:
    yield from source
    yield END


def in_turn(workers: Sequence[Iterator[Any]], sections: int) -> Iterator[Any]:
    """The items of ``sections`` sections, in order, where worker ``w`` yields sections ``w``,
    ``w + len(workers)``, ... each followed by ``END``. Each worker runs in its own thread a couple
    of items ahead, so all stay busy while memory holds a few items a worker."""
    stop = threading.Event()
    count = len(workers)
    # Two ranges (a batch and its END each) ahead a worker absorb a stall of either side.
    queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=4) for _ in range(count)]

    def put(q: queue.Queue[Any], item: Any) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                q.put(item, timeout=0.1)
                return True
        return False

    def fill(w: int) -> None:
        source = workers[w]
        try:
            for item in source:
                if not put(queues[w], item):
                    return
        except BaseException as exc:
            put(queues[w], _Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    threads = [
        threading.Thread(target=fill, args=(w,), name="batchyard-reader", daemon=True)
        for w in range(count)
    ]
    for t in threads:
        t.start()
    try:
        for i in range(sections):
            q = queues[i % count]
            while True:
                got = q.get()
                if got is END:
                    break
                if isinstance(got, _Failed):
                    raise got.error
                yield got
    finally:
        stop.set()
        for q in queues:
            with contextlib.suppress(queue.Empty):
                while True:
                    q.get_nowait()
        for t in threads:
            t.join(timeout=5)


@dataclass(frozen=True)
class _Failed:
    error: BaseException
