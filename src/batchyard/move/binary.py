"""Binary COPY data made a batch at a time: SQLite rows read into Arrow by ADBC, encoded by pyarrow.

Reading rows into Python objects and writing them one by one is most of what a SQLite →
PostgreSQL copy costs in Python. Here the rows are read in C into Arrow arrays and each column is
turned into its binary COPY fields (length word and big-endian value) by array operations, so no
Python object is made per value. The values are those of :mod:`batchyard.move.wire`, in the same
binary form.

ADBC gives each column the type of its first non-null value: a first row of typed placeholders
(dropped again) fixes the types, so a column that starts with NULLs reads right. A value of another
type, or a date or timestamp in a form that has no binary value (read as :data:`SENTINEL`), raises
:class:`NotBinary`: the caller copies that batch again row by row, in a new transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

#: The value of a date or timestamp whose text has no binary form: the smallest int64, never a
#: real date's or time's value.
SENTINEL = -(2**63)
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"

#: Arrow rows per batch read from SQLite (about 2 MB of COPY data for a wide table).
ARROW_ROWS = 10_000

# The placeholder that fixes each column's Arrow type, by logical type.
_PLACEHOLDER = {
    "integer": "0",
    "float": "0.5",
    "boolean": "0",
    "text": "'x'",
    "blob": "X'00'",
    "date": "0",
    "datetime": "0",
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
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - both are dependencies
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


def batches(con: Any, sql: str) -> Iterator[Any]:
    """The Arrow batches of ``sql`` (its placeholder row dropped); :class:`NotBinary` on a value of
    another type than its column's."""
    import adbc_driver_manager as adbc
    import pyarrow as pa

    with adbc.AdbcStatement(con) as stmt:
        try:
            stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(ARROW_ROWS)})
            stmt.set_sql_query(sql)
            handle, _ = stmt.execute_query()
            reader = pa.RecordBatchReader._import_from_c(handle.address)
        except adbc.Error as exc:
            raise NotBinary(str(exc)) from exc
        first = True
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (OSError, pa.ArrowException, adbc.Error) as exc:
                    raise NotBinary(str(exc)) from exc
                if first:
                    batch, first = batch.slice(1), False
                if batch.num_rows:
                    yield batch
        finally:
            reader.close()


#: A batch with a longer text or blob than this goes row by row (each column takes, per row, as
#: many bytes as its longest value while the batch is laid out).
MAX_VALUE_BYTES = 512


def encode(
    batch: Any, logicals: Sequence[str], decimals: Sequence[tuple[int, int, int]] = ()
) -> Any:
    """The binary COPY rows of ``batch`` (no signature, no trailer), as one buffer.

    Each row is laid out in a matrix with a slot per column as wide as the column's widest field;
    a mask of the bytes each field really takes then packs the rows together in one operation.
    """
    import numpy as np

    n = batch.num_rows
    numeric = {i: (p, s) for i, p, s in decimals}
    slots: list[tuple[Any, ...]] = []
    width = 2
    for i, (arr, logical) in enumerate(zip(batch.columns, logicals, strict=True)):
        buffers = arr.buffers()
        valid = None
        if arr.null_count:
            bits = np.frombuffer(buffers[0], dtype=np.uint8)
            valid = np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + n].view(bool)
        fixed = _FIXED.get(logical)
        kind = str(arr.type)
        if fixed is not None:
            source = {"int64": "<i8", "double": "<f8"}.get(kind)
            if source is None or (logical in ("float", "decimal")) != (kind == "double"):
                raise NotBinary(f"a {logical} column read as {kind}")
            values = np.frombuffer(buffers[1], dtype=source, count=n, offset=arr.offset * 8)
            if logical in ("date", "datetime"):
                odd = values == SENTINEL
                if (odd if valid is None else odd & valid).any():
                    raise NotBinary(f"a {logical} in a form with no binary value")
            if logical == "decimal":
                values = _numeric(values, valid, *numeric[i])
            slots.append((fixed, values, valid, logical))
            width += 4 + fixed[0]
        else:
            if kind not in ("string", "binary"):
                raise NotBinary(f"a {logical} column read as {kind}")
            offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
            lengths = np.diff(offsets)
            if valid is not None and lengths[~valid].any():
                raise NotBinary("a NULL with bytes")
            longest = int(lengths.max()) if n else 0
            if longest > MAX_VALUE_BYTES:
                raise NotBinary("a value too long to lay out")
            data = (
                np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
                if buffers[2] is not None
                else np.empty(0, dtype=np.uint8)
            )
            slots.append((None, (lengths, data, longest), valid, logical))
            width += 4 + longest
    rows = np.empty((n, width), dtype=np.uint8)
    keep = np.ones((n, width), dtype=bool)
    rows[:, :2] = np.frombuffer(len(logicals).to_bytes(2, "big"), dtype=np.uint8)
    at = 2
    for fixed, values, valid, logical in slots:
        if fixed is not None:
            size, dtype = fixed
            words = np.full(n, size, dtype=">i4") if valid is None else np.where(valid, size, -1)
            rows[:, at : at + 4] = words.astype(">i4").view(np.uint8).reshape(n, 4)
            body = (values != 0) if logical == "boolean" else values
            if logical != "decimal":
                body = body.astype(dtype).view(np.uint8).reshape(n, size)
            rows[:, at + 4 : at + 4 + size] = body
            if valid is not None:
                keep[:, at + 4 : at + 4 + size] = valid[:, None]
            at += 4 + size
        else:
            lengths, data, longest = values
            words = lengths if valid is None else np.where(valid, lengths, -1)
            rows[:, at : at + 4] = words.astype(">i4").view(np.uint8).reshape(n, 4)
            if longest:
                used = np.arange(longest) < lengths[:, None]
                rows[:, at + 4 : at + 4 + longest][used] = data
                keep[:, at + 4 : at + 4 + longest] = used
            at += 4 + longest
    return memoryview(rows[keep].data)


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
