"""Binary COPY data made a batch at a time: SQLite rows read into Arrow by ADBC, encoded by numpy.

Reading rows into Python objects and writing them one by one is most of what a SQLite →
PostgreSQL copy costs in Python. Here the rows are read in C into Arrow arrays and each column is
turned into its binary COPY fields (length word and big-endian value) by array operations, so no
Python object is made per value. The values are those of :mod:`batchyard.move.wire`, in the same
binary form.

ADBC gives each column the type of its first non-null value: a first row of typed placeholders
(dropped again) fixes the types, so a column that starts with NULLs reads right. Dates and
timestamps are read as their text (asking SQLite to check and convert each one costs more than the
whole read) and converted here, only from the canonical forms SQLite's ``date()`` and
``datetime()`` give back unchanged. A value of another type, or a date or timestamp in any other
form, raises :class:`NotBinary`: the caller copies that batch again row by row, in a new
transaction.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"

#: Arrow rows per batch read from SQLite (about 1 MB of COPY data for a wide table): workers share
#: one process, and each holds a few batches at a time.
ARROW_ROWS = 5_000

# The placeholder that fixes each column's Arrow type, by logical type.
_PLACEHOLDER = {
    "integer": "0",
    "float": "0.5",
    "boolean": "0",
    "text": "'x'",
    "blob": "X'00'",
    "date": "'x'",
    "datetime": "'x'",
    "decimal": "0.5",
}
# Fixed-width fields: bytes, and the big-endian numpy type, by logical type.
_FIXED = {
    "integer": (8, ">i8"),
    "float": (8, ">f8"),
    "boolean": (1, "u1"),
    "date": (4, ">i4"),
    "datetime": (8, ">i8"),
    # numeric: ndigits, weight, sign, dscale, then five base-10000 digits (see _numeric).
    "decimal": (18, ">i2"),
}


class NotBinary(Exception):
    """A batch holds a value this path cannot encode exactly."""


def available() -> bool:
    try:
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency
        return False
    return True


def select(exprs: Sequence[str], logicals: Sequence[str], source: str, where: str) -> str:
    """The query: a row of typed placeholders, then the rows."""
    first = ", ".join(_PLACEHOLDER[t] for t in logicals)
    return f"SELECT {first} UNION ALL SELECT {', '.join(exprs)} FROM {source}{where}"


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

    The stream is read through the Arrow C data interface with ctypes, which lets go of the GIL
    while ADBC reads SQLite (so workers read at once) and hands over the buffers as they are;
    pyarrow would cost each process 40 MB of memory for nothing it does here."""
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


#: A batch with a longer text or blob than this goes row by row (each column takes, per row, as
#: many bytes as its longest value while the batch is laid out).
MAX_VALUE_BYTES = 512


def encode(
    batch: Any, logicals: Sequence[str], decimals: Sequence[tuple[int, int, int]] = ()
) -> Any:
    """The binary COPY rows of ``batch`` (no signature, no trailer), as one buffer.

    Each row is laid out in a matrix with a slot per column as wide as the column's widest field
    (fixed-width values written through strided big-endian views, no copy per column); where a
    field is a NULL or a text shorter than its slot, a mask of the bytes each field really takes
    then packs the rows together in one operation.
    """
    import numpy as np

    n = batch.num_rows
    numeric = {i: (p, s) for i, p, s in decimals}
    rows = _Rows(n, len(logicals))
    for i, (arr, logical) in enumerate(zip(batch.columns, logicals, strict=True)):
        buffers = arr.buffers()
        valid = None
        if arr.null_count:
            bits = np.frombuffer(buffers[0], dtype=np.uint8)
            valid = np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + n].view(bool)
        kind = str(arr.type)
        if logical in ("date", "datetime"):
            if kind != "string":
                raise NotBinary(f"a {logical} column read as {kind}")
            offsets, data = _cells(arr, n)
            if logical == "date":
                rows.fixed(4, ">i4", _dates(offsets, data, valid), valid)
            else:
                rows.fixed(8, ">i8", _timestamps(offsets, data, valid), valid)
        elif logical in _FIXED:
            source = {"int64": "<i8", "double": "<f8"}.get(kind)
            if source is None or (logical in ("float", "decimal")) != (kind == "double"):
                raise NotBinary(f"a {logical} column read as {kind}")
            values = np.frombuffer(buffers[1], dtype=source, count=n, offset=arr.offset * 8)
            size, dtype = _FIXED[logical]
            if logical == "decimal":
                rows.fixed(size, "bytes", _numeric(values, valid, *numeric[i]), valid)
                continue
            if logical == "boolean":
                odd = (values != 0) & (values != 1)
                if (odd if valid is None else odd & valid).any():
                    raise NotBinary("a boolean other than 0 or 1")
                values = values != 0
            rows.fixed(size, dtype, values, valid)
        else:
            if kind not in ("string", "binary"):
                raise NotBinary(f"a {logical} column read as {kind}")
            offsets, data = _cells(arr, n)
            lengths = np.diff(offsets)
            if valid is not None and lengths[~valid].any():
                raise NotBinary("a NULL with bytes")
            longest = int(lengths.max()) if n else 0
            if longest > MAX_VALUE_BYTES:
                raise NotBinary("a value too long to lay out")
            words = lengths if valid is None else np.where(valid, lengths, -1)
            rows.variable(words, lengths, longest, data[offsets[0] : offsets[-1]])
    return memoryview(rows.bytes())


class _Rows:
    """Binary COPY rows being laid out in a matrix, a row per row and a slot per field."""

    def __init__(self, n: int, count: int) -> None:
        self.n = n
        #: (position, width, how, values) per slot. ``how``: None writes ``values`` (bytes) into
        #: every row; a big-endian dtype writes an array of values; "bytes" an (n, width) matrix.
        self.slots: list[tuple[int, int, str | None, Any]] = []
        #: (position, width, mask) of each slot whose bytes only some rows keep: a (n,) or
        #: (n, width) boolean mask.
        self.masks: list[tuple[int, int, Any]] = []
        self.width = 0
        self._put(2, None, count.to_bytes(2))

    def _put(self, width: int, how: str | None, values: Any) -> None:
        self.slots.append((self.width, width, how, values))
        self.width += width

    def fixed(self, size: int, dtype: str, values: Any, valid: Any) -> None:
        """A fixed-width field of ``size`` bytes: ``values`` as ``dtype`` (or, with dtype
        ``bytes``, already an (n, size) matrix of bytes); ``valid`` None when none is NULL."""
        import numpy as np

        if valid is None:
            self._put(4, None, size.to_bytes(4))
        else:
            self._put(4, ">i4", np.where(valid, size, -1))
            self.masks.append((self.width, size, valid))
        self._put(size, dtype, values)

    def variable(self, words: Any, lengths: Any, longest: int, data: Any) -> None:
        """A text or blob field: its length words (-1 for NULL), and its values' bytes."""
        import numpy as np

        self._put(4, ">i4", words)
        if not longest:
            return
        if (lengths == longest).all():  # every value as long as the longest: no mask
            self._put(longest, "bytes", data.reshape(self.n, longest))
            return
        # Row i's slot takes the ``longest`` bytes from its value's start (the bytes past its
        # end are masked out): rows of one sliding window over the bytes, and over a run of
        # ``longest`` ones then zeros for the mask.
        padded = np.concatenate((data, np.zeros(longest, dtype=np.uint8)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, longest)
        self._put(longest, "bytes", windows[np.cumsum(lengths) - lengths])
        edge = np.repeat(np.array([True, False]), longest)
        used = np.lib.stride_tricks.sliding_window_view(edge, longest)[longest - lengths]
        self.masks.append((self.width - longest, longest, used))

    def bytes(self) -> Any:
        """All rows, one after another."""
        import numpy as np

        template = np.zeros(self.width, dtype=np.uint8)
        for at, size, how, values in self.slots:
            if how is None:
                template[at : at + size] = np.frombuffer(values, dtype=np.uint8)
        shape = (self.n, self.width)
        # Packed rows are a new array; the matrix and mask are used again batch after batch
        # (a new array of megabytes costs its pages' faults each time).
        rows = _scratch("rows", shape, np.uint8) if self.masks else np.empty(shape, np.uint8)
        rows[:] = template
        for at, size, how, values in self.slots:
            if how == "bytes":
                rows[:, at : at + size] = values
            elif how is not None:
                rows[:, at : at + size].view(how)[:, 0] = values
        if not self.masks:
            return rows.reshape(-1)
        keep = _scratch("keep", shape, np.bool_)
        keep.fill(True)
        for at, size, mask in self.masks:
            if mask.ndim == 2:
                keep[:, at : at + size] = mask
                continue
            # A row's flag spread over a field's bytes a word at a time (not byte by byte).
            for step, dtype in ((8, np.uint64), (4, np.uint32), (2, np.uint16), (1, np.uint8)):
                while size >= step:
                    spread = mask.astype(dtype) * dtype(0x0101010101010101 & (256**step - 1))
                    keep[:, at : at + step].view(dtype)[:, 0] = spread
                    at, size = at + step, size - step
        return rows[keep]


_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple[int, int], dtype: Any) -> Any:
    """An uninitialised array of ``shape``, kept for this thread's next batch."""
    import numpy as np

    size = shape[0] * shape[1]
    have = getattr(_SCRATCH, name, None)
    if have is None or len(have) < size:
        have = np.empty(size, dtype=dtype)
        setattr(_SCRATCH, name, have)
    return have[:size].reshape(shape)


def _cells(arr: Any, n: int) -> tuple[Any, Any]:
    """The offsets of a string or binary array's values, and its bytes from the first value on."""
    import numpy as np

    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    if buffers[2] is None:
        return offsets, np.empty(0, dtype=np.uint8)
    return offsets, np.frombuffer(buffers[2], dtype=np.uint8)


# 'YYYY-MM-DD HH:MM:SS' position by position: the lowest byte allowed, and how far above it a byte
# may be (a digit 0-9 above '0'; the separators exactly).
_LOW = b"0000-00-00 00:00:00"
_SPAN = b"\x09\x09\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09"
# Where each two-digit group starts: century, year, month, day, hour, minute, second.
_PAIRS = (0, 2, 5, 8, 11, 14, 17)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _dates(offsets: Any, data: Any, valid: Any) -> Any:
    """Days since 2000-01-01 of each date ('YYYY-MM-DD' naming a real day; 0 for NULL)."""
    import numpy as np

    lengths = np.diff(offsets)
    if not np.array_equal(lengths, np.full_like(lengths, 10) if valid is None else valid * 10):
        raise NotBinary("a date in a form with no binary value")
    groups = _groups(data[offsets[0] : offsets[-1]], 10)
    days = _days(groups).astype(np.int32)
    return days if valid is None else _spread(days, valid, np.int32)


def _timestamps(offsets: Any, data: Any, valid: Any) -> Any:
    """Microseconds since 2000-01-01 00:00 of each timestamp ('YYYY-MM-DD HH:MM:SS' naming a real
    day and time, then optionally '.' and 1 to 6 digits; 0 for NULL)."""
    import numpy as np

    lengths = np.diff(offsets)
    if np.array_equal(lengths, np.full_like(lengths, 19) if valid is None else valid * 19):
        text, fraction = data[offsets[0] : offsets[-1]], 0
    else:
        if valid is not None and lengths[~valid].any():
            raise NotBinary("a NULL with bytes")
        starts = offsets[:-1] if valid is None else offsets[:-1][valid]
        kept = lengths if valid is None else lengths[valid]
        if not ((kept == 19) | ((kept >= 21) & (kept <= 26))).all():
            raise NotBinary("a timestamp in a form with no binary value")
        text = data[starts[:, None] + np.arange(19)].reshape(-1)
        fraction = _fractions(data, starts, kept)
    groups = _groups(text, 19)
    hour, minute, second = groups[:, 4], groups[:, 5], groups[:, 6]
    if not ((hour <= 23) & (minute <= 59) & (second <= 59)).all():
        raise NotBinary("a timestamp that names no real time")
    seconds = _days(groups) * 86_400 + hour * 3_600 + minute * 60 + second
    micros = seconds * 1_000_000 + fraction
    return micros if valid is None else _spread(micros, valid, np.int64)


def _fractions(data: Any, starts: Any, lengths: Any) -> Any:
    """Microseconds of the '.ffffff' after each 19-byte timestamp that has one."""
    import numpy as np

    fraction = np.zeros(len(starts), dtype=np.int64)
    longer = lengths > 19
    if not longer.any():
        return fraction
    starts, places = starts[longer], lengths[longer] - 20
    cells = np.minimum(starts[:, None] + 20 + np.arange(6), len(data) - 1)
    digits = data[cells].astype(np.int64) - 48
    inside = np.arange(6) < places[:, None]
    if not (data[starts + 19] == 46).all() or ((digits < 0) | (digits > 9))[inside].any():
        raise NotBinary("a timestamp in a form with no binary value")
    digits[~inside] = 0
    fraction[longer] = digits @ np.array([100_000, 10_000, 1_000, 100, 10, 1], dtype=np.int64)
    return fraction


def _spread(values: Any, valid: Any, dtype: Any) -> Any:
    import numpy as np

    out = np.zeros(len(valid), dtype=dtype)
    out[valid] = values
    return out


def _groups(text: Any, width: int) -> Any:
    """The two-digit groups (int64) of each ``width``-byte 'YYYY-MM-DD[ HH:MM:SS]' in ``text``
    (their bytes one after another); NotBinary where a byte is not a digit or the separator."""
    import numpy as np

    rows = len(text) // width
    low, span, first = _pattern(width, rows)
    digits = text - low  # a byte below its lowest wraps round, far above any span
    if (digits > span).any():
        raise NotBinary("a date or timestamp in a form with no binary value")
    return digits[first].astype(np.int64) * 10 + digits[first + 1]


def _pattern(width: int, rows: int) -> tuple[Any, Any, Any]:
    """The lowest byte and span of each position of ``rows`` values one after another, and where
    each value's two-digit groups start."""
    import numpy as np

    low, span, first = _PATTERNS.get(width, (None, None, None))
    if low is None or len(low) < rows * width:
        size = max(rows, ARROW_ROWS)
        low = np.tile(np.frombuffer(_LOW[:width], dtype=np.uint8), size)
        span = np.tile(np.frombuffer(_SPAN[:width], dtype=np.uint8), size)
        pairs = np.array([p for p in _PAIRS if p < width], dtype=np.int64)
        first = np.arange(size, dtype=np.int64)[:, None] * width + pairs
        _PATTERNS[width] = (low, span, first)
    return low[: rows * width], span[: rows * width], first[:rows]


_PATTERNS: dict[int, tuple[Any, Any, Any]] = {}


def _days(groups: Any) -> Any:
    """Days since 2000-01-01 (int64) of each row's year, month and day groups; NotBinary unless
    each names a real day (SQLite's ``date(v) = v``)."""
    month_days, before, new_year, leap = _calendar()
    year = groups[:, 0] * 100 + groups[:, 1]
    key = leap[year] * 100 + groups[:, 2]  # months 0 and 13-99 have no days
    day = groups[:, 3]
    # (PostgreSQL has no year 0: 0000-01-01 in binary would be 1 BC.)
    if not ((year >= 1) & (day >= 1) & (day <= month_days[key])).all():
        raise NotBinary("a date that names no real day")
    result: Any = new_year[year] + before[key] + day - 1
    return result


@functools.cache
def _calendar() -> tuple[Any, Any, Any, Any]:
    """Tables by (leap year) * 100 + month: days in the month, days before it in its year; by year
    0000-9999: the days from 2000-01-01 to its first day, and whether it is a leap year.

    (Made once; threads that ask at the same time may each make it, and get the same tables.)"""
    import numpy as np

    years = np.arange(10_000, dtype=np.int64)
    leap = ((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))).astype(np.int64)
    # Days before each year's first day, from 0000-01-01, then moved to count from 2000.
    lengths = 365 + leap
    new_year = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    new_year -= new_year[2000]
    month_days = np.zeros(200, dtype=np.int64)
    before = np.zeros(200, dtype=np.int64)
    for is_leap in (0, 1):
        days = np.array(_MONTH_DAYS, dtype=np.int64)
        days[1] += is_leap
        month_days[is_leap * 100 + 1 : is_leap * 100 + 13] = days
        before[is_leap * 100 + 1 : is_leap * 100 + 13] = np.cumsum(days) - days
    return month_days, before, new_year, leap


def _numeric(values: Any, valid: Any, precision: int, scale: int) -> Any:
    """numeric(precision, scale) fields of reals, as the bytes after each length word.

    Text COPY would send a real's shortest repr, which PostgreSQL reads and rounds to ``scale``
    places. Where that repr has at most ``scale`` places, ``k = round(x * 10**scale)`` is exactly
    its digits (``k / 10**scale`` gives the real back), and with ``precision <= 15`` every value
    that fits the column is below 2**52 / 10**scale, where no two such decimals round to one real.
    Every other real (more places, too big) raises :class:`NotBinary`: text COPY takes the batch.
    """
    import numpy as np

    unit = 10.0**scale
    k = np.rint(values * unit)
    exact = (k / unit == values) & (np.abs(values) < 10.0 ** (precision - scale))
    if not (exact if valid is None else exact | ~valid).all():
        raise NotBinary("a decimal with more places than its column keeps, or too big")
    whole = np.abs(np.where(exact, k, 0)).astype(np.int64)
    integer, fraction = whole // 10**scale, (whole % 10**scale) * 10 ** (4 - scale)
    n = len(values)
    parts = np.empty((n, 9), dtype=">i2")
    parts[:, 0] = 5  # digits
    parts[:, 1] = 3  # weight of the first digit: 10000**3
    parts[:, 2] = np.where(k < 0, 0x4000, 0)
    parts[:, 3] = scale
    parts[:, 4] = integer // 10**12
    parts[:, 5] = integer // 10**8 % 10**4
    parts[:, 6] = integer // 10**4 % 10**4
    parts[:, 7] = integer % 10**4
    parts[:, 8] = fraction
    return parts.view(np.uint8).reshape(n, 18)
