"""Binary COPY data made a batch at a time: Arrow batches (:mod:`batchyard.move.arrow`) encoded by
numpy.

Reading rows into Python objects and writing them one by one is most of what a SQLite →
PostgreSQL copy costs in Python. Here the rows are read in C into Arrow arrays and each column is
turned into its binary COPY fields (length word and big-endian value) by array operations, so no
Python object is made per value. The values are those of :mod:`batchyard.move.wire`, in the same
binary form.

ADBC gives each column the type of its first non-null value: :func:`select` puts a first row of
typed placeholders before the rows, so a column that starts with NULLs reads right. Dates and
timestamps are read as their text and converted by :mod:`batchyard.move.temporal`. A value of
another type, or a date or timestamp in any other form, raises :class:`NotBinary`: the caller
copies that batch again row by row, in a new transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from batchyard.errors import NotBinary
from batchyard.move.temporal import dates, timestamps

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"

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


def select(exprs: Sequence[str], logicals: Sequence[str], source: str, where: str) -> str:
    """The query: a row of typed placeholders, then the rows."""
    first = ", ".join(_PLACEHOLDER[t] for t in logicals)
    return f"SELECT {first} UNION ALL SELECT {', '.join(exprs)} FROM {source}{where}"


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
                rows.fixed(4, ">i4", dates(offsets, data, valid), valid)
            else:
                rows.fixed(8, ">i8", timestamps(offsets, data, valid), valid)
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


__all__ = ["MAX_VALUE_BYTES", "SIGNATURE", "TRAILER", "NotBinary", "encode", "select"]
