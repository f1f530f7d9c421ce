"""SQLite rows read into Arrow batches by ADBC's SQLite driver, in C.

The stream is read through the Arrow C data interface with ctypes: ctypes lets go of the GIL while
ADBC reads SQLite, so the workers of a migration read at the same time, and the batches' buffers
are handed over as they are, no copy and no Python object per value. (pyarrow would do the same at
the cost of 40 MB of memory per process; nanoarrow holds the GIL while it reads.)

ADBC gives each column the type of its first non-null value: a first row of typed placeholders
(see :func:`batchyard.move.binary.select`) fixes the types, and is dropped again here.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from batchyard.errors import NotBinary

#: Arrow rows per batch read from SQLite (about 1 MB of COPY data for a wide table): workers share
#: one process, and each holds a few batches at a time.
ARROW_ROWS = 5_000


def available() -> bool:
    try:
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency
        return False
    return True


@contextlib.contextmanager
def connect(path: str) -> Iterator[Any]:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    with (
        adbc_driver_sqlite.connect(f"file:{quote(path)}?mode=ro") as db,
        adbc.AdbcConnection(db) as con,
    ):
        yield con


# The Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html).
class _Schema(ctypes.Structure):
    pass


class _Array(ctypes.Structure):
    pass


class _ArrayStream(ctypes.Structure):
    pass


_Schema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_Schema))),
    ("dictionary", ctypes.POINTER(_Schema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Schema))),
    ("private_data", ctypes.c_void_p),
]
_Array._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_Array))),
    ("dictionary", ctypes.POINTER(_Array)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Array))),
    ("private_data", ctypes.c_void_p),
]
_ArrayStream._fields_ = [
    (
        "get_schema",
        ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_ArrayStream), ctypes.POINTER(_Schema)),
    ),
    (
        "get_next",
        ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_ArrayStream), ctypes.POINTER(_Array)),
    ),
    ("get_last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.POINTER(_ArrayStream))),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_ArrayStream))),
    ("private_data", ctypes.c_void_p),
]


# A memory view of bytes at an address (no ctypes array type made for each buffer).
_memory = ctypes.pythonapi.PyMemoryView_FromMemory
_memory.restype = ctypes.py_object
_memory.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)


def _check(stream: _ArrayStream, code: int) -> None:
    if code:
        message = stream.get_last_error(ctypes.byref(stream)) or b""
        raise NotBinary(message.decode(errors="replace") or f"reading failed (error {code})")


def _release(struct: Any) -> None:
    if struct.release:
        struct.release(ctypes.byref(struct))


def _column(child: _Array, kind: str, skip: int, parent: _Array) -> Column:
    """A column of the rows of ``parent`` from row ``skip`` on: its buffers as memory views (no
    copy), from their start to the last row's value."""
    start = parent.offset + child.offset + skip
    end = parent.offset + child.offset + parent.length
    pointers = [child.buffers[i] for i in range(child.n_buffers)]
    views: list[Any] = []
    for i, pointer in enumerate(pointers):
        if not pointer:
            views.append(None)
            continue
        if i == 0:
            size = (end + 7) // 8  # the validity bitmap
        elif kind in ("string", "binary") and i == 1:
            size = 4 * (end + 1)
        elif kind in ("string", "binary"):
            offsets = (ctypes.c_int32 * (end + 1)).from_address(pointers[1])
            size = offsets[end]
        else:
            size = 8 * end
        views.append(_memory(pointer, size, 0x100))  # PyBUF_READ
    null_count = child.null_count if views and views[0] is not None else 0
    return Column(kind, start, null_count, tuple(views))


class Column:
    """One column of a batch: what :func:`encode` reads of it, as pyarrow names it (a pyarrow array
    serves as well)."""

    __slots__ = ("_buffers", "null_count", "offset", "type")

    def __init__(self, type: str, offset: int, null_count: int, buffers: tuple[Any, ...]) -> None:
        self.type, self.offset, self.null_count, self._buffers = type, offset, null_count, buffers

    def buffers(self) -> tuple[Any, ...]:
        return self._buffers


class Batch:
    """Rows of an Arrow stream: ``num_rows`` and ``columns``, as on a pyarrow record batch. Its
    columns point into the Arrow array it owns, released when the batch goes."""

    __slots__ = ("_array", "columns", "num_rows")

    def __init__(self, num_rows: int, columns: list[Column], array: Any) -> None:
        self.num_rows, self.columns, self._array = num_rows, columns, array

    def __del__(self) -> None:
        _release(self._array)


# Arrow's format strings of the types ADBC's SQLite driver makes, by pyarrow's names.
_TYPES = {"l": "int64", "g": "double", "u": "string", "z": "binary"}


def batches(con: Any, sql: str) -> Iterator[Batch]:
    """The Arrow batches of ``sql`` (its placeholder row dropped); :class:`NotBinary` on a value of
    another type than its column's.

    Each batch's buffers stay valid while the batch is referenced."""
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(con) as stmt:
        try:
            stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(ARROW_ROWS)})
            stmt.set_sql_query(sql)
            handle, _ = stmt.execute_query()
        except adbc.Error as exc:
            raise NotBinary(str(exc)) from exc
        stream = _ArrayStream.from_address(handle.address)
        try:
            schema = _Schema()
            _check(stream, stream.get_schema(ctypes.byref(stream), ctypes.byref(schema)))
            try:
                kinds = [
                    _TYPES.get((schema.children[i].contents.format or b"").decode(), "other")
                    for i in range(schema.n_children)
                ]
            finally:
                _release(schema)
            skip = 1  # the placeholder row
            while True:
                array = _Array()
                _check(stream, stream.get_next(ctypes.byref(stream), ctypes.byref(array)))
                if not array.release:
                    return  # the end of the stream
                n = array.length - skip
                columns = [
                    _column(array.children[i].contents, kind, skip, array)
                    for i, kind in enumerate(kinds)
                ]
                batch = Batch(n, columns, array)
                if n > 0:
                    yield batch
                skip = 0
        finally:
            _release(stream)
