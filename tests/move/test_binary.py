"""Arrow batches encoded as binary COPY rows: dates and timestamps taken exactly where SQLite's own
``date()`` and ``datetime()`` take them, and every batch encoded byte for byte as the masked-matrix
encoder (kept below as the reference) encodes it."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchyard.db.types import from_sqlite
from batchyard.errors import NotBinary
from batchyard.move import arrow, binary
from batchyard.move.reflect import Column, Table
from batchyard.move.wire import wire_for

# How every released version computed a date's and a timestamp's binary value, in SQLite: the
# smallest int64 where the text has none.
_OLD_SENTINEL = -(2**63)
_OLD_DATE = (
    "CASE WHEN date({q}) = {q} THEN CAST(julianday({q}) - 2451544.5 AS INTEGER) "
    "WHEN {q} IS NULL THEN NULL ELSE (-9223372036854775807 - 1) END"
)
_OLD_SECONDS = "(CAST(strftime('%s', {v}) AS INTEGER) - 946684800) * 1000000"
_OLD_DATETIME = (
    "CASE WHEN datetime({q}) = {q} THEN {whole} "
    "WHEN length({q}) BETWEEN 21 AND 26 AND substr({q}, 20, 1) = '.' "
    "AND datetime(substr({q}, 1, 19)) = substr({q}, 1, 19) "
    "AND NOT substr({q}, 21) GLOB '*[^0-9]*' "
    "THEN {part} + CAST(substr(substr({q}, 21) || '00000', 1, 6) AS INTEGER) "
    "WHEN {q} IS NULL THEN NULL ELSE (-9223372036854775807 - 1) END"
)


def old_expr(logical: str, q: str) -> str:
    if logical == "date":
        return _OLD_DATE.format(q=q)
    whole = _OLD_SECONDS.format(v=q)
    part = _OLD_SECONDS.format(v=f"substr({q}, 1, 19)")
    return _OLD_DATETIME.format(q=q, whole=whole, part=part)


# ---- the reference encoder: every batch must come out byte for byte as it does here ----------

_REF_FIXED = {
    "integer": (8, ">i8"),
    "float": (8, ">f8"),
    "boolean": (1, "u1"),
    "date": (4, ">i4"),
    "datetime": (8, ">i8"),
    "decimal": (18, ">i2"),
}


def reference_encode(
    batch: Any, logicals: Sequence[str], decimals: Sequence[tuple[int, int, int]] = ()
) -> bytes:
    """The masked-matrix encoder, with dates and timestamps given as int64 days / microseconds."""
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
        fixed = _REF_FIXED.get(logical)
        kind = str(arr.type)
        if fixed is not None:
            source = {"int64": "<i8", "double": "<f8"}[kind]
            values = np.frombuffer(buffers[1], dtype=source, count=n, offset=arr.offset * 8)
            if logical == "decimal":
                values = _reference_numeric(values, valid, *numeric[i])
            slots.append((fixed, values, valid, logical))
            width += 4 + fixed[0]
        else:
            offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
            lengths = np.diff(offsets)
            longest = int(lengths.max()) if n else 0
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
    return bytes(rows[keep])


def _reference_numeric(values: Any, valid: Any, precision: int, scale: int) -> Any:
    unit = 10.0**scale
    k = np.rint(values * unit)
    exact = (k / unit == values) & (np.abs(values) < 10.0 ** (precision - scale))
    whole = np.abs(np.where(exact, k, 0)).astype(np.int64)
    integer, fraction = whole // 10**scale, (whole % 10**scale) * 10 ** (4 - scale)
    n = len(values)
    parts = np.empty((n, 9), dtype=">i2")
    parts[:, 0] = 5
    parts[:, 1] = 3
    parts[:, 2] = np.where(k < 0, 0x4000, 0)
    parts[:, 3] = scale
    parts[:, 4] = integer // 10**12
    parts[:, 5] = integer // 10**8 % 10**4
    parts[:, 6] = integer // 10**4 % 10**4
    parts[:, 7] = integer % 10**4
    parts[:, 8] = fraction
    return parts.view(np.uint8).reshape(n, 18)


# ---- dates and timestamps against SQLite --------------------------------------------------------


@pytest.fixture(scope="module")
def temporal_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("temporal") / "t.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP)")
    con.close()
    return path


TABLE = Table(
    "t",
    (
        Column("id", from_sqlite("INTEGER")),
        Column("d", from_sqlite("DATE")),
        Column("ts", from_sqlite("TIMESTAMP")),
    ),
)


def arrow_batches(con: Any, sql: str) -> list[pa.RecordBatch]:
    """``sql``'s rows as pyarrow reads ADBC's stream (the placeholder row dropped)."""
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(con) as stmt:
        stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(arrow.ARROW_ROWS)})
        stmt.set_sql_query(sql)
        handle, _ = stmt.execute_query()
        with pa.RecordBatchReader._import_from_c(handle.address) as reader:
            found = list(reader)
    found[0] = found[0].slice(1)
    return [b for b in found if b.num_rows]


def test_batches_read_by_nanoarrow_encode_as_pyarrow_reads_them(tmp_path: Path) -> None:
    # Every type, NULLs here and there, several batches (the first with the placeholder row).
    path = tmp_path / "all.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE a (i INTEGER, f REAL, b BOOLEAN, t TEXT, bl BLOB, d DATE, ts TIMESTAMP, "
        "n NUMERIC(10,2))"
    )
    rng = np.random.default_rng(7)
    rows = []
    for k in range(12_345):
        row = [
            k * 3,
            k / 7,
            k % 2,
            f"été {k}" * (k % 4),
            bytes(rng.integers(0, 256, k % 9, dtype=np.uint8)),
            f"2024-{k % 12 + 1:02d}-{k % 28 + 1:02d}",
            f"2023-05-{k % 28 + 1:02d} {k % 24:02d}:{k % 60:02d}:{k % 60:02d}.{k:06d}"[:26],
            k % 1000 / 4,
        ]
        rows.append([None if (k + j) % 11 == 0 else v for j, v in enumerate(row)])
    con.executemany("INSERT INTO a VALUES (?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    table = Table(
        "a",
        tuple(
            Column(name, from_sqlite(declared))
            for name, declared in zip(
                ("i", "f", "b", "t", "bl", "d", "ts", "n"),
                (
                    "INTEGER",
                    "REAL",
                    "BOOLEAN",
                    "TEXT",
                    "BLOB",
                    "DATE",
                    "TIMESTAMP",
                    "NUMERIC(10,2)",
                ),
                strict=True,
            )
        ),
    )
    wire = wire_for(table, table.column_names, False)
    assert wire is not None
    sql = binary.select(wire.arrow_exprs, wire.logicals, "a", "")
    with arrow.connect(str(path)) as adbc:
        ours = list(arrow.batches(adbc, sql))
        theirs = arrow_batches(adbc, sql)
        assert [b.num_rows for b in ours] == [b.num_rows for b in theirs]
        assert sum(b.num_rows for b in ours) == 12_345 and len(ours) > 2
        for mine, reference in zip(ours, theirs, strict=True):
            assert bytes(binary.encode(mine, wire.logicals, wire.decimals)) == bytes(
                binary.encode(reference, wire.logicals, wire.decimals)
            )


def sqlite_and_encoded(path: Path, values: Sequence[Any], column: str) -> Iterator[Any]:
    """For each value stored in ``column``: what SQLite computes for it (int, None for NULL, or
    the sentinel), and what ``encode`` gives for it alone (bytes, or NotBinary)."""
    con = sqlite3.connect(path)
    con.execute("DELETE FROM t")
    con.executemany(
        f"INSERT INTO t (id, {column}) VALUES (?, ?)", [(i, v) for i, v in enumerate(values)]
    )
    con.commit()
    con.close()
    logical = "date" if column == "d" else "datetime"
    wire = wire_for(TABLE, (column,), False)
    assert wire is not None
    size = arrow.ARROW_ROWS
    arrow.ARROW_ROWS = max(size, len(values) + 1)  # all of them in one batch
    try:
        with arrow.connect(str(path)) as adbc:
            # Both read the table in rowid order: the values' order.
            old = binary.select([old_expr(logical, column)], ["integer"], "t", "")
            expected = [v for b in arrow_batches(adbc, old) for v in b.column(0).to_pylist()]
            new = binary.select(wire.arrow_exprs, wire.logicals, "t", "")
            (batch,) = arrow_batches(adbc, new)
    finally:
        arrow.ARROW_ROWS = size
    assert len(expected) == batch.num_rows == len(values)
    for i, want in enumerate(expected):
        try:
            got: Any = bytes(binary.encode(batch.slice(i, 1), wire.logicals))
        except NotBinary:
            got = NotBinary
        yield values[i], want, got
    # The whole batch: NotBinary if any value is, else the values one after another.
    try:
        whole: Any = bytes(binary.encode(batch, wire.logicals))
    except NotBinary:
        whole = NotBinary
    if any(w == _OLD_SENTINEL for w in expected) or any(stricter(v, logical) for v in values):
        assert whole is NotBinary
    else:
        assert whole == b"".join(_field(w, logical) for w in expected)


def _field(value: int | None, logical: str) -> bytes:
    if value is None:
        return (1).to_bytes(2) + (-1).to_bytes(4, signed=True)
    size = 4 if logical == "date" else 8
    return (1).to_bytes(2) + size.to_bytes(4) + value.to_bytes(size, signed=True)


def stricter(value: Any, logical: str) -> bool:
    """Text SQLite takes as a date or timestamp that is never taken here (the rows go another
    way, where PostgreSQL reads the text itself)."""
    if not isinstance(value, str):
        return False
    # SQLite reads text up to a zero byte only.
    if "\x00" in value:
        return True
    # A year before 0001 ('-0001-01-01', '0000-01-01'): PostgreSQL has no year 0 and writes the
    # years before it with BC.
    if value.startswith("-") or value.startswith("0000"):
        return True
    # SQLite keeps hour 24 (any minutes) as written, its value the next day's; PostgreSQL takes
    # only 24:00:00.
    return logical == "datetime" and value[11:13] == "24"


def check_column(path: Path, values: Sequence[Any], column: str) -> None:
    logical = "date" if column == "d" else "datetime"
    for value, want, got in sqlite_and_encoded(path, values, column):
        if want == _OLD_SENTINEL or stricter(value, logical):
            assert got is NotBinary, value
        else:
            assert got == _field(want, logical), (value, want)


DIGITS = st.integers(0, 9).map(str)


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda v: f"{v:02d}")


YEARS = st.one_of(
    st.integers(0, 9999), st.sampled_from([0, 1, 100, 1900, 2000, 2100, 2400, 9999])
).map(lambda v: f"{v:04d}")
DAY_TEXT = st.builds(lambda y, m, d: f"{y}-{m}-{d}", YEARS, _two(0, 13), _two(0, 32))
TIME_TEXT = st.builds(lambda h, m, s: f"{h}:{m}:{s}", _two(0, 25), _two(0, 61), _two(0, 61))
FRACTION = st.one_of(st.just(""), st.text("0123456789", max_size=8).map(lambda f: "." + f))
STAMP_TEXT = st.builds(
    lambda d, sep, t, f: f"{d}{sep}{t}{f}",
    DAY_TEXT,
    st.sampled_from([" ", " ", "T", "  "]),
    TIME_TEXT,
    FRACTION,
)
REAL_STAMP = st.builds(
    lambda d, f: d.isoformat(" ") + f,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    FRACTION,
)
ODD_CHARS = st.sampled_from(
    ["", " ", "\x00", "\n", "T", "Z", "-", ":", ".", "\u0663", "\uff10", "+", "1"]
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 1))
        text = text[:at] + draw(ODD_CHARS) + text[at + cut :]
    return text


def temporal_values(*texts: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    others = st.one_of(
        st.none(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.binary(max_size=30),
        st.text(max_size=30),
        DAY_TEXT.map(str.encode),  # a blob of a date's bytes is no date
    )
    return st.lists(
        st.one_of(*texts, *(mutated(t) for t in texts), others), min_size=1, max_size=25
    )


DATES = st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
EDGE_DATES = [
    "0000-01-01", "0000-02-29", "0000-03-01", "0001-01-01", "1900-02-29", "2000-02-29",
    "2100-02-29", "2024-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "2024-13-01",
    "2024-00-10", "2024-01-00", "9999-12-31", "1999-12-31", "2000-01-01", "2024-1-5",
    " 2024-01-05", "2024-01-05 ", "2024-01-05T", "2024/01/05", "+2024-01-05", "-001-01-01",
    "-0001-01-01", "-0001-01-01 00:00:00",
    "2024-01-05\x00", "20240105", "", "now", "2024-01-05 00:00:00",
]  # fmt: skip
EDGE_STAMPS = [
    "2024-02-29 23:59:59.999999", "2024-02-29 23:59:59", "2024-02-29 24:00:00",
    "2024-02-29 23:60:00", "2024-01-01 24:00:00", "2024-01-01 24:30:00", "2024-02-30 00:00:00", "2024-02-29 23:59:60", "2024-02-29T23:59:59", "2024-02-29 23:59:59.",
    "2024-02-29 23:59:59.1234567", "2024-02-29 23:59:59.1", "2024-02-29 23:59:59.000000",
    "2024-02-29 23:59:59 ", " 2024-02-29 23:59:59", "2024-02-29 23:59:59Z", "2024-02-29 23:59",
    "0000-01-01 00:00:00", "0000-02-29 12:00:00.5", "9999-12-31 23:59:59.999999",
    "1900-02-29 00:00:00", "1969-12-31 23:59:59.999999", "2000-01-01 00:00:00",
    "2024-01-05", "2024-02-29 23:59:59.12\x00", "2024-02-29 23:59:59.+1", "2024-02-29 23:59:59.-1",
    "2024-02-29 23:59:59.1 ", "2024-02-29 23:59:59.12a",
]  # fmt: skip


def test_edge_dates_and_timestamps_match_sqlite(temporal_db: Path) -> None:
    check_column(temporal_db, EDGE_DATES + EDGE_STAMPS + [None, 20240105, 1.5], "d")
    check_column(temporal_db, EDGE_STAMPS + EDGE_DATES + [None, b"2024-01-05 00:00:00"], "ts")


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=temporal_values(DATES, DAY_TEXT))
def test_dates_are_taken_exactly_where_sqlite_takes_them(
    temporal_db: Path, values: list[Any]
) -> None:
    check_column(temporal_db, values, "d")


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=temporal_values(REAL_STAMP, STAMP_TEXT))
def test_timestamps_are_taken_exactly_where_sqlite_takes_them(
    temporal_db: Path, values: list[Any]
) -> None:
    check_column(temporal_db, values, "ts")


def test_a_batch_with_one_odd_date_is_not_binary(temporal_db: Path) -> None:
    values = [f"2024-01-{d:02d}" for d in range(1, 29)] * 300 + ["2024-02-30"]
    results = list(sqlite_and_encoded(temporal_db, values, "d"))
    assert results[-1][2] is NotBinary
    assert all(got != NotBinary for _, _, got in results[:-1])


# ---- whole batches, byte for byte ----------------------------------------------------------------

LOGICALS = ["integer", "float", "boolean", "text", "blob", "date", "datetime", "decimal"]
DAY0 = date(2000, 1, 1)


def random_batch(
    rng: np.random.Generator, logicals: Sequence[str], n: int, null_rate: float
) -> tuple[Any, Any, list[tuple[int, int, int]]]:
    """The same rows twice: as ``arrow.batches`` reads them (dates as text), and with dates as
    int64 days and microseconds (the reference encoder's input)."""
    new, old, decimals = [], [], []
    for i, logical in enumerate(logicals):
        nulls = rng.random(n) < null_rate
        mask = nulls if nulls.any() else None
        if logical == "integer":
            v = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True)
            v[: min(n, 3)] = [0, -1, 2**63 - 1][: min(n, 3)]
            pair = (pa.array(v, pa.int64(), mask=mask),) * 2
        elif logical == "float":
            v = rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n)
            v[rng.random(n) < 0.05] = -0.0
            v[rng.random(n) < 0.02] = math.inf
            v[rng.random(n) < 0.02] = math.nan
            pair = (pa.array(v, pa.float64(), mask=mask),) * 2
        elif logical == "boolean":
            pair = (pa.array(rng.integers(0, 2, n), pa.int64(), mask=mask),) * 2
        elif logical in ("text", "blob"):
            values: list[Any] = []
            for j in range(n):
                if nulls[j]:
                    values.append(None)
                    continue
                size = int(rng.choice([0, 1, 5, 40, 170, 512]))
                if logical == "blob":
                    values.append(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
                else:
                    chars = rng.choice(list("aZ0 \t\n\\'\"é漢🚀\x00"), size)
                    values.append("".join(chars).encode()[:size].decode("utf-8", "ignore"))
            pair = (pa.array(values, pa.string() if logical == "text" else pa.binary()),) * 2
        elif logical == "date":
            days = rng.integers(-730119, 2913004, n)  # 0001-01-01 .. 9999-12-31
            text = [(DAY0 + timedelta(days=int(d))).isoformat() for d in days]
            pair = (pa.array(text, pa.string(), mask=mask), pa.array(days, pa.int64(), mask=mask))
        elif logical == "datetime":
            micros = rng.integers(-63082281600, 251683545600, n) * 1_000_000
            micros += np.where(rng.random(n) < 0.5, rng.integers(0, 1_000_000, n), 0)
            stamps = [datetime(2000, 1, 1) + timedelta(microseconds=int(m)) for m in micros]
            text = [s.isoformat(" ") for s in stamps]
            pair = (pa.array(text, pa.string(), mask=mask), pa.array(micros, pa.int64(), mask=mask))
        else:
            scale = int(rng.integers(0, 5))
            precision = int(rng.integers(max(scale, 1), 16))
            whole = rng.integers(-(10**precision) + 1, 10**precision, n)
            pair = (pa.array(whole / 10.0**scale, pa.float64(), mask=mask),) * 2
            decimals.append((i, precision, scale))
        new.append(pair[0])
        old.append(pair[1])
    names = [f"c{i}" for i in range(len(logicals))]
    return (
        pa.RecordBatch.from_arrays(new, names),
        pa.RecordBatch.from_arrays(old, names),
        decimals,
    )


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    logicals=st.lists(st.sampled_from(LOGICALS), min_size=1, max_size=12),
    n=st.integers(1, 300),
    null_rate=st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]),
    skip=st.integers(0, 2),
)
def test_batches_encode_byte_for_byte_as_the_reference(
    seed: int, logicals: list[str], n: int, null_rate: float, skip: int
) -> None:
    rng = np.random.default_rng(seed)
    new, old, decimals = random_batch(rng, logicals, n + skip, null_rate)
    # Batches come sliced (the placeholder row dropped): buffers start past their first value.
    new, old = new.slice(skip), old.slice(skip)
    got = bytes(binary.encode(new, logicals, decimals))
    assert got == reference_encode(old, logicals, decimals)


def test_a_wide_batch_of_every_type_encodes_as_the_reference() -> None:
    rng = np.random.default_rng(7)
    logicals = LOGICALS * 3
    for null_rate in (0.0, 0.05, 0.5):
        new, old, decimals = random_batch(rng, logicals, arrow.ARROW_ROWS, null_rate)
        got = bytes(binary.encode(new, logicals, decimals))
        assert got == reference_encode(old, logicals, decimals)


@pytest.mark.parametrize(
    ("logical", "array", "reason"),
    [
        ("boolean", pa.array([0, 1, 2], pa.int64()), "boolean other than 0 or 1"),
        ("text", pa.array(["x" * (binary.MAX_VALUE_BYTES + 1)]), "too long"),
        ("integer", pa.array([0.5]), "read as double"),
        ("text", pa.array([1], pa.int64()), "read as int64"),
        ("date", pa.array([1], pa.int64()), "read as int64"),
        ("datetime", pa.array([b"2024-01-01 00:00:00"], pa.binary()), "read as binary"),
        ("decimal", pa.array([0.125]), "more places"),
    ],
)
def test_values_with_no_exact_binary_form_raise(logical: str, array: Any, reason: str) -> None:
    batch = pa.RecordBatch.from_arrays([array], ["c"])
    decimals = [(0, 10, 2)] if logical == "decimal" else []
    with pytest.raises(NotBinary, match=reason):
        binary.encode(batch, [logical], decimals)
