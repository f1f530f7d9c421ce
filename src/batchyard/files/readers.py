"""Reading data files for import: the columns and types a file holds, and its records in batches.

CSV goes through DuckDB (parsed and typed in C++, with every rejected line recorded with its number
and reason); JSON lines, JSON arrays, Parquet and SQLite files are read here record by record, each
carrying its line (or record) number so a bad one can be quarantined by where it is.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchyard.db import quote_identifier as qi
from batchyard.db import quote_literal, reason
from batchyard.db.connect import sqlite
from batchyard.db.files import open_duckdb
from batchyard.db.types import ColumnType, from_sqlite
from batchyard.errors import UsageError
from batchyard.files.convert import misfit
from batchyard.files.dialect import Dialect, dialect_of
from batchyard.files.patterns import BOOLEAN, STRICT
from batchyard.files.quarantine import BadRow
from batchyard.files.values import JsonNumber, logical_of_arrow

BATCH = 50_000
#: DuckDB's CSV read buffer (its default is 32 MB a thread); lines up to 2 MB still fit.
_BUFFER = 2 * 1024 * 1024
_DUCK_LOGICAL = {
    "BIGINT": "integer",
    "INTEGER": "integer",
    "SMALLINT": "integer",
    "TINYINT": "integer",
    "UBIGINT": "decimal",
    "UINTEGER": "integer",
    "USMALLINT": "integer",
    "UTINYINT": "integer",
    "HUGEINT": "decimal",
    "DOUBLE": "float",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "TIME": "time",
}


@dataclass
class Batch:
    """Records read: values in the file's column order, where each came from, and rejects."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    records: list[int] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


# -- CSV ---------------------------------------------------------------------------------------------


def duck_connection() -> Any:
    """A DuckDB connection for reading one file: two threads and 256 MB at most."""
    con = open_duckdb(threads=2, memory_limit="256MB")
    con.execute("SET preserve_insertion_order = true")
    return con


def csv_columns(path: Path, infer: bool) -> list[tuple[str, ColumnType]]:
    """The header's columns; with ``infer``, types read from every row (not a sample)."""
    dialect = dialect_of(path)
    if not infer:
        return [(name, ColumnType("text", "VARCHAR")) for name in dialect.columns]
    kinds = _duck_types(path, dialect) or _pattern_types(path, dialect)
    return [
        (name, ColumnType(_DUCK_LOGICAL.get(kind.split("(")[0], "text"), kind))
        for name, kind in zip(dialect.columns, kinds, strict=True)
    ]


def _duck_types(path: Path, dialect: Dialect) -> list[str] | None:
    """DuckDB's types for the columns, from every row it can read; None where its sniffer
    cannot read the file with the header's dialect (an unterminated quote in its sample)."""
    import duckdb

    con = duck_connection()
    try:
        # Typing every row holds what it reads in DuckDB's buffers: bound them.
        con.execute("SET memory_limit = '48MB'")
        con.execute("SET threads = 1")
        names = ", ".join(quote_literal(c) for c in dialect.columns)
        rows = con.execute(
            f"DESCRIBE SELECT * FROM read_csv({quote_literal(str(path))}, {dialect.options()}, "
            f"names=[{names}], sample_size=-1, ignore_errors=true, allow_quoted_nulls=false, "
            f"buffer_size={_BUFFER})"
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if [str(r[0]) for r in rows] != list(dialect.columns):
        return None
    return [str(r[1]) for r in rows]


def _pattern_types(path: Path, dialect: Dialect) -> list[str]:
    """Each column's type where DuckDB cannot type the file: the first of :data:`STRICT`'s
    (booleans first) that every value of the rows read matches, else VARCHAR."""
    import duckdb

    columns = list(dialect.columns)
    order = [("BOOLEAN", BOOLEAN), *((duck, pattern) for pattern, duck in STRICT.values())]
    counts = []
    for i in range(len(columns)):
        counts.append(f"count(r{i})")
        counts += [f"count_if(regexp_full_match(r{i}, {quote_literal(p)}))" for _, p in order]
    con = duck_connection()
    try:
        con.execute("SET memory_limit = '48MB'")
        con.execute("SET threads = 1")
        found = con.execute(f"SELECT {', '.join(counts)} FROM ({text_rows(path, dialect)})")
        got = found.fetchone() or ()
    except duckdb.Error as exc:
        raise UsageError(f"{path}: cannot read it as CSV ({reason(exc)})") from exc
    finally:
        con.close()
    kinds = []
    step = len(order) + 1
    for i in range(len(columns)):
        values, *fits = got[i * step : (i + 1) * step]
        kinds.append(
            next(
                (duck for (duck, _), n in zip(order, fits, strict=True) if values and n == values),
                "VARCHAR",
            )
        )
    return kinds


def text_rows(path: Path, dialect: Dialect) -> str:
    """The file's values as text, columns ``r0``, ``r1``...; rejected lines recorded."""
    columns = list(dialect.columns)
    types = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in columns)
    raw = ", ".join(f"{qi(c)} AS r{i}" for i, c in enumerate(columns))
    return f"SELECT {raw} FROM {_source(path, dialect, types)}"


def _source(path: Path, dialect: Dialect, types: str) -> str:
    """``read_csv`` of the file with the header's dialect and these column types: nothing
    sniffed, so a row of another field count or a broken quote is a rejected line."""
    return (
        f"read_csv({quote_literal(str(path))}, auto_detect=false, {dialect.options()}, columns={{{types}}}, "
        f"allow_quoted_nulls=false, store_rejects=true, ignore_errors=true, buffer_size={_BUFFER})"
    )


def csv_batches(
    path: Path, columns: list[str], logical: dict[str, str], start: int, nul_free: bool = False
) -> Iterator[Batch]:
    """Typed rows of a CSV file from good record ``start`` on; bad rows and lines in the last batch."""
    for first, records, got in csv_arrow(path, columns, logical, start, BATCH, nul_free):
        if first < 0:
            yield Batch(bad=got)
            continue
        good = _good_rows(got)
        rows = zip(*(got.column(i).to_pylist() for i in range(len(columns))), strict=True)
        kept = [
            (row, n)
            for row, n, ok in zip(rows, range(first + 1, first + 1 + records), good, strict=True)
            if ok
        ]
        yield Batch(
            rows=[r for r, _ in kept], lines=[None] * len(kept), records=[n for _, n in kept]
        )


FLAG = "batchyard_bad"


def _csv_select(
    path: Path, dialect: Dialect, columns: list[str], logical: dict[str, str], nul_free: bool
) -> str:
    """The CSV's columns as the table takes them, then a flag: NULL for a good row, else
    ``'i:text'`` for the first column ``i`` whose text does not fit its type exactly (with
    ``nul_free``, a text holding a NUL character, which PostgreSQL cannot store)."""
    types = ", ".join(
        f"{quote_literal(c)}: {quote_literal('BOOLEAN' if logical.get(c) == 'boolean' else 'VARCHAR')}"
        for c in columns
    )
    raw = ", ".join(f"{qi(c)} AS r{i}" for i, c in enumerate(columns))
    inner, outer, checks, kept = [], [], [], []
    for i, c in enumerate(columns):
        kind = logical.get(c, "text")
        outer.append(f"v{i} AS {qi(c)}")
        if kind not in STRICT:
            inner.append(f"r{i} AS v{i}")
            if nul_free and kind == "text":
                checks.append(f"WHEN contains(r{i}, chr(0)) THEN '{i}:' || r{i}")
                kept.append(f"r{i}")
            continue
        pattern, duck = STRICT[kind]
        fits = f"regexp_full_match(r{i}, {quote_literal(pattern)})"
        if kind == "integer":
            inner.append(f"TRY_CAST(CASE WHEN {fits} THEN r{i} END AS BIGINT) AS v{i}")
            wrong = f"v{i} IS NULL"
        elif kind == "float":
            inner.append(f"TRY_CAST(CASE WHEN {fits} THEN r{i} END AS DOUBLE) AS v{i}")
            # A finite number too big for a double would become infinity.
            wrong = f"v{i} IS NULL OR (isinf(v{i}) AND NOT contains(lower(r{i}), 'inf'))"
        else:
            inner.append(f"r{i} AS v{i}")
            wrong = f"NOT {fits} OR TRY_CAST(r{i} AS {duck}) IS NULL"
        checks.append(f"WHEN r{i} IS NOT NULL AND ({wrong}) THEN '{i}:' || r{i}")
        kept.append(f"r{i}")
    flag = f"CASE {' '.join(checks)} END" if checks else "NULL::VARCHAR"
    source = _source(path, dialect, types)
    keep = ", ".join(kept)
    return (
        f"SELECT {', '.join(outer)}, {flag} AS {FLAG} FROM (SELECT {', '.join(inner)}"
        f"{', ' + keep if keep else ''} FROM (SELECT {raw} FROM {source}))"
    )


def _good_rows(batch: Any) -> list[bool]:
    flags = batch.column(FLAG)
    if flags.null_count == batch.num_rows:
        return [True] * batch.num_rows
    return [f is None for f in flags.to_pylist()]


def good_part(batch: Any) -> Any:
    """The batch's good rows, without the flag column."""
    import pyarrow as pa

    if batch.column(FLAG).null_count != batch.num_rows:
        batch = batch.filter(pa.array(_good_rows(batch)))
    return batch.drop_columns([FLAG])


def csv_arrow(
    path: Path,
    columns: list[str],
    logical: dict[str, str],
    start: int,
    batch_rows: int = BATCH,
    nul_free: bool = False,
) -> Iterator[tuple[int, int, Any]]:
    """``(records before it, records in it, Arrow batch)`` for the CSV's good records from
    ``start`` on, parsed and checked in C by DuckDB; then ``(-1, 0, bad rows)``: lines DuckDB
    rejected and values that do not fit their column exactly, each with its line.

    A batch ends with the flag column: :func:`good_part` is what goes into the table."""
    import duckdb

    dialect = dialect_of(path)
    con = duck_connection()
    misfits: list[tuple[int, int, str]] = []
    try:
        con.execute("SET memory_limit = '32MB'")
        con.execute("SET threads = 1")
        select = _csv_select(path, dialect, columns, logical, nul_free)
        reader = con.sql(select).to_arrow_reader(batch_rows)
        n = 0
        for batch in reader:
            size = batch.num_rows
            flags = batch.column(len(columns))
            if flags.null_count != size:
                for i, flag in enumerate(flags.to_pylist()):
                    if flag is not None:
                        at, _, text = flag.partition(":")
                        misfits.append((n + i + 1, int(at), text))
            if n + size > start and size:
                skip = max(start - n, 0)
                yield n + skip, size - skip, batch.slice(skip) if skip else batch
            n += size
        rejected = _rejects(con, path, logical, len(columns))
    except duckdb.Error as exc:
        raise UsageError(f"{path}: cannot read it as CSV ({reason(exc)})") from exc
    finally:
        con.close()
    yield -1, 0, rejected + _misfit_rows(path, columns, logical, misfits, rejected)


def _misfit_rows(
    path: Path,
    columns: list[str],
    logical: dict[str, str],
    misfits: list[tuple[int, int, str]],
    rejected: list[BadRow],
) -> list[BadRow]:
    """Each value that does not fit its column as a bad row with its line: the file is read
    again (only when there are such values) to count records to lines."""
    if not misfits:
        return []
    where = record_lines(path, {r for r, _, _ in misfits}, {b.line for b in rejected})
    out = []
    for record, at, text in misfits:
        line, row = where.get(record, (None, None))
        reason = f"column {columns[at]!r}: {misfit(logical.get(columns[at], 'text'), text)}"
        out.append(BadRow(str(path), line, reason, row, None if line else record))
    return out


def csv_located(path: Path, bad: list[BadRow]) -> list[BadRow]:
    """``bad`` with the line of each row known only by its record number."""
    wanted = {b.record for b in bad if b.line is None and b.record is not None}
    if not wanted:
        return bad
    where = record_lines(path, wanted, {b.line for b in bad if b.line is not None})
    return [
        BadRow(b.file, where[b.record][0], b.reason, b.text, None)
        if b.line is None and b.record in where
        else b
        for b in bad
    ]


def record_lines(
    path: Path, wanted: set[int], rejected: set[int | None]
) -> dict[int, tuple[int, str]]:
    """(line, text) of the good records numbered ``wanted``, counting as DuckDB does: records
    after the header, without blank lines and rejected ones."""
    dialect = dialect_of(path)
    several = len(dialect.columns) > 1
    out: dict[int, tuple[int, str]] = {}
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = dialect.rows(f)
        record, line = 0, 1
        header = True
        for fields in reader:
            begins, line = line, reader.line_num + 1
            # DuckDB skips a blank line, but reads one as a NULL where there is one column.
            if (several and not fields) or begins in rejected:
                continue
            if header:
                header = False
                continue
            record += 1
            if record in wanted:
                out[record] = (begins, dialect.delimiter.join(fields)[:500])
                if len(out) == len(wanted):
                    break
    return out


_CAST = re.compile(r'Could not convert string "(.*)" to ', re.S)
_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _rejects(con: Any, path: Path, logical: dict[str, str], width: int) -> list[BadRow]:
    """Lines DuckDB rejected, each with a reason said as the import says it."""
    found: dict[int, tuple[list[str], str]] = {}
    for line, kind, column, message, text in con.execute(
        "SELECT line, error_type, column_name, error_message, csv_line FROM reject_errors "
        "ORDER BY line"
    ).fetchall():
        reason = _reject_reason(str(kind), column, str(message), logical, width)
        found.setdefault(int(line), ([], text))[0].append(reason)
    return [
        BadRow(str(path), line, "; ".join(reasons), text)
        for line, (reasons, text) in sorted(found.items())
    ]


def _reject_reason(
    kind: str, column: str | None, message: str, logical: dict[str, str], width: int
) -> str:
    value = _CAST.search(message) if kind == "CAST" and column else None
    if value is not None:
        return f"column {column!r}: {misfit(logical.get(str(column), 'text'), value.group(1))}"
    count = _COUNT.search(message)
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS") and count is not None:
        fields = int(count.group(2))
        return f"{fields} field{'s' if fields != 1 else ''} where the header has {width} columns"
    if "unterminated quote" in message.lower():
        return (
            "a quoted value is never closed (an unterminated quote takes in every line after it "
            "to the end of the file)"
        )
    return (f"{column}: " if column else "") + " ".join(message.split())


# -- JSON, JSON lines --------------------------------------------------------------------------------


def jsonl_records(path: Path) -> Iterator[tuple[int, Any, BadRow | None]]:
    """(line, object, None) for each record, or (line, None, why it is bad)."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            value, why, text = _json_line(raw)
            if why is None:
                yield number, value, None
            else:
                yield number, None, BadRow(str(path), number, why, text.rstrip("\n"))


def _json_line(raw: bytes) -> tuple[Any, str | None, str]:
    """A JSON line's object, or None and why the line is not one; and the line's text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        return None, why, raw.decode("utf-8", "replace")
    try:
        value = json.loads(text, parse_float=JsonNumber)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at column {exc.colno}", text
    if not isinstance(value, dict):
        return None, "not a JSON object", text
    return value, None, text


def json_records(path: Path) -> Iterator[tuple[int, Any, BadRow | None]]:
    """The objects of a JSON array, each with the line it starts on; a broken array is refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{path}:{line}: not UTF-8 ({exc.reason}); save the file as UTF-8"
        ) from exc
    decoder = json.JSONDecoder(parse_float=JsonNumber)
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise UsageError(f"{path}:{_line(text, pos)}: a JSON file must hold an array of objects")
    pos = _skip(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        line = _line(text, pos)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); the file "
                "may be truncated"
            ) from exc
        if isinstance(value, dict):
            yield line, value, None
        else:
            yield line, None, BadRow(str(path), line, "not a JSON object", json.dumps(value)[:200])
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            if _skip(text, pos + 1) < len(text):
                raise UsageError(f"{path}:{_line(text, pos)}: text after the end of the array")
            return
        raise UsageError(
            f"{path}:{_line(text, pos)}: the JSON array is not closed (expected ',' or ']'); "
            "the file may be truncated"
        )


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def record_batches(
    records: Iterator[tuple[int, Any, BadRow | None]], columns: list[str], start: int, path: Path
) -> Iterator[Batch]:
    """Batches of records as tuples in ``columns`` order; unknown keys make a record bad."""
    known = set(columns)
    batch = Batch()
    for n, (line, value, bad) in enumerate(records, 1):
        if n <= start:
            if bad is not None:
                batch.bad.append(bad)
            continue
        if bad is not None:
            batch.bad.append(bad)
        else:
            extra = [k for k in value if k not in known]
            if extra:
                batch.bad.append(BadRow(str(path), line, f"unknown column {extra[0]!r}", None, n))
            else:
                batch.rows.append(tuple(value.get(c) for c in columns))
                batch.lines.append(line)
                batch.records.append(n)
        if len(batch.rows) >= BATCH:
            yield batch
            batch = Batch()
    yield batch


# -- Parquet, SQLite ---------------------------------------------------------------------------------


def parquet_columns(path: Path) -> list[tuple[str, ColumnType]]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise UsageError(f"{path}: not a readable Parquet file ({reason(exc)})") from exc
    return [(f.name, ColumnType(logical_of_arrow(f.type), str(f.type))) for f in schema]


def parquet_batches(path: Path, columns: list[str], start: int) -> Iterator[Batch]:
    import pyarrow.parquet as pq

    n = 0
    for rb in pq.ParquetFile(path).iter_batches(batch_size=BATCH, columns=columns):
        size = rb.num_rows
        if n + size <= start:
            n += size
            continue
        cols = [rb.column(c).to_pylist() for c in columns]
        rows = list(zip(*cols, strict=True))
        skip = max(start - n, 0)
        yield Batch(
            rows=rows[skip:],
            lines=[None] * (size - skip),
            records=list(range(n + skip + 1, n + size + 1)),
        )
        n += size


def sqlite_table(path: Path, table: str | None) -> str:
    try:
        with contextlib.closing(sqlite(path, readonly=True)) as con:
            names = [
                r[0]
                for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_batchyard%'"
                )
            ]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: not a SQLite database ({exc})") from exc
    if table is None:
        if len(names) != 1:
            raise UsageError(
                f"{path} holds {len(names)} tables ({', '.join(names)}); name one with --from-table"
            )
        return str(names[0])
    if table not in names:
        raise UsageError(f"{path} has no table {table!r} (it has: {', '.join(names)})")
    return table


def sqlite_columns(path: Path, table: str) -> list[tuple[str, ColumnType]]:
    con = sqlite(path, readonly=True)
    try:
        return [(r[1], from_sqlite(r[2])) for r in con.execute(f"PRAGMA table_info({qi(table)})")]
    finally:
        con.close()


def sqlite_batches(path: Path, table: str, columns: list[str], start: int) -> Iterator[Batch]:
    con = sqlite(path, readonly=True)
    try:
        cur = con.execute(
            f"SELECT {', '.join(qi(c) for c in columns)} FROM {qi(table)} LIMIT -1 OFFSET {int(start)}"
        )
        n = start
        while rows := cur.fetchmany(BATCH):
            yield Batch(
                rows=rows, lines=[None] * len(rows), records=list(range(n + 1, n + 1 + len(rows)))
            )
            n += len(rows)
    finally:
        con.close()
