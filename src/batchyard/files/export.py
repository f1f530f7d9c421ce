"""Export: one table (or its rows ``--where``, its ``--columns``) into a file, streaming.

Rows are read in batches (a reader thread fetches the next batch while the current one is written),
turned into Arrow columns of the logical types, and written by pyarrow (CSV, Parquet) or DuckDB (JSON,
JSON lines) from a stream of batches, so memory holds a couple of batches whatever the table's size.
A SQLite file is filled inside SQLite (``ATTACH``) from a SQLite source. The file is written under a
temporary name and renamed when complete: an interrupted export never leaves a partial file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from batchyard.db import Database, Dialect, quote_literal, reason
from batchyard.db import connect as opener
from batchyard.db import quote_identifier as qi
from batchyard.db.files import open_duckdb
from batchyard.db.types import ColumnType, from_postgres, from_sqlite, sqlite_converter
from batchyard.errors import Interrupted, Mismatch, UsageError
from batchyard.files import streams
from batchyard.files.formats import TEXT_FORMATS
from batchyard.files.manifest import sha256
from batchyard.files.values import arrow_type, b64, typed_json
from batchyard.move.reflect import Column, Table, create_table_sql

#: Rows per batch on the exact path: Python values cost ~50 bytes each, so small batches
#: keep memory bounded.
BATCH_ROWS = 8_192


def _is_sqlite(url: str) -> bool:
    return Database.of(url).dialect is Dialect.SQLITE


def _sqlite_file(url: str) -> str:
    """The SQLite file of ``url``, as the readers open it."""
    return str(Database.of(url).path)


def _read_sqlite(url: str) -> sqlite3.Connection:
    return opener.sqlite(_sqlite_file(url), readonly=True)


def _read_pg(url: str) -> Any:
    """A read-only PostgreSQL session whose statements run in a transaction (a named cursor
    needs one), ended when its ``with`` block is left."""
    return opener.postgres(Database.of(url).dsn, readonly=True, autocommit=False)


def select_table(table: Table, columns: Sequence[str]) -> Table:
    """``table`` with only ``columns`` (in that order), checked against the table."""
    if not columns:
        return table
    names = table.column_names
    for c in columns:
        if c not in names:
            raise UsageError(
                f"--columns: table {table.name!r} has no column {c!r} (it has: {', '.join(names)})"
            )
    cols = tuple(table.column(c) for c in columns)
    key = tuple(k for k in table.primary_key if k in columns)
    return replace(
        table, columns=cols, primary_key=key if len(key) == len(table.primary_key) else ()
    )


def query_table(url: str, sql: str, name: str = "query") -> Table:
    """The columns and types of ``--query SQL``'s result, as a table named ``name``.

    SQLite gives a column's declared type where it is a plain column; any other column is typed
    from the stored types of its values (one pass over the result). PostgreSQL says each type.
    """
    sql = sql.strip().rstrip(";").strip()
    if not sql:
        raise UsageError("--query: give a SELECT statement")
    if _is_sqlite(url):
        columns = _sqlite_query_columns(_sqlite_file(url), sql)
    else:
        columns = _pg_query_columns(url, sql)
    if len({c.name for c in columns}) != len(columns):
        raise UsageError("--query: name every column of the result once (use AS)")
    return Table(name, tuple(columns), extra={"query": sql})


def _sqlite_query_columns(path: str, sql: str) -> list[Column]:
    try:
        with contextlib.closing(opener.sqlite(path, readonly=True)) as con:
            con.execute(f"CREATE TEMP VIEW batchyard_query AS {sql}")
            info = [(r[1], r[2]) for r in con.execute("PRAGMA temp.table_info(batchyard_query)")]
            untyped = [n for n, declared in info if not declared]
            stored: dict[str, set[str]] = {}
            if untyped:
                probes = ", ".join(f"group_concat(DISTINCT typeof({qi(n)}))" for n in untyped)
                found = con.execute(f"SELECT {probes} FROM batchyard_query").fetchone()
                stored = {
                    n: set((v or "").split(",")) - {"null", ""}
                    for n, v in zip(untyped, found, strict=True)
                }
    except sqlite3.Error as exc:
        raise UsageError(f"--query: {exc}") from exc
    return [
        Column(n, from_sqlite(declared) if declared else _of_stored(stored.get(n, set())))
        for n, declared in info
    ]


def _of_stored(kinds: set[str]) -> ColumnType:
    if not kinds or kinds == {"text"}:
        return ColumnType("text", "TEXT")
    if kinds == {"integer"}:
        return ColumnType("integer", "INTEGER")
    if kinds <= {"integer", "real"}:
        return ColumnType("float", "REAL")
    if kinds == {"blob"}:
        return ColumnType("blob", "BLOB")
    return ColumnType("any", "")


def _pg_query_columns(url: str, sql: str) -> list[Column]:
    import psycopg

    with _read_pg(url) as pg:
        try:
            cur = pg.execute(f"SELECT * FROM ({sql}) AS batchyard_query LIMIT 0")
            described = list(cur.description or [])
            out = []
            for d in described:
                row = pg.execute("SELECT format_type(%s, NULL)", (d.type_code,)).fetchone()
                out.append(Column(d.name, from_postgres(str(row[0]) if row else "text")))
            return out
        except psycopg.Error as exc:
            raise UsageError(f"--query: {reason(exc)}") from exc


def _where(where: str | None) -> str:
    return f" WHERE {where}" if where else ""


def check_where(url: str, table: Table, where: str | None) -> None:
    """The database itself accepts ``where`` (an SQL condition already checked by SQLGlot and in
    the source's dialect): names, functions and types, before any job; exit 2 if not."""
    if not where:
        return
    sql = f"SELECT 1 FROM {source_sql(table)}{_where(where)} LIMIT 0"
    if _is_sqlite(url):
        try:
            with contextlib.closing(_read_sqlite(url)) as con:
                con.execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise UsageError(f"--where on table {table.name!r}: {exc}") from exc
        return
    import psycopg

    with _read_pg(url) as pg:
        try:
            pg.execute(sql).fetchall()
        except psycopg.Error as exc:
            raise UsageError(f"--where on table {table.name!r}: {reason(exc)}") from exc


def source_sql(table: Table) -> str:
    """What the rows are selected from: the table, or the ``--query`` as a subquery."""
    query = table.extra.get("query")
    return f"({query}) AS batchyard_query" if query else qi(table.name)


def _pg_expr(logical: str, name: str) -> str:
    q = qi(name)
    if logical in _PG_TEXT:
        return f"{q}::text"
    return q


def read_rows(
    url: str, table: Table, where: str | None, batch_rows: int = BATCH_ROWS
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of row tuples: SQLite values as stored, PostgreSQL ones with text for temporal types."""
    if _is_sqlite(url):
        con = _read_sqlite(url)
        try:
            cols = ", ".join(qi(c.name) for c in table.columns)
            try:
                cur = con.execute(f"SELECT {cols} FROM {source_sql(table)}{_where(where)}")
            except sqlite3.Error as exc:
                raise UsageError(f"table {table.name!r}: {exc} (check --where)") from exc
            while rows := cur.fetchmany(batch_rows):
                yield rows
        finally:
            con.close()
        return
    import psycopg

    cols = ", ".join(_pg_expr(c.type.logical, c.name) for c in table.columns)
    with _read_pg(url) as pg:
        try:
            with pg.cursor(name="batchyard_export") as named:
                named.itersize = batch_rows
                named.execute(f"SELECT {cols} FROM {source_sql(table)}{_where(where)}")
                while rows := named.fetchmany(batch_rows):
                    yield rows
        except psycopg.Error as exc:
            raise UsageError(f"table {table.name!r}: {exc} (check --where)") from exc


def schema_of(table: Table, fmt: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.type.logical, fmt)) for c in table.columns])


def to_batch(
    rows: list[tuple[Any, ...]], table: Table, schema: pa.Schema, fmt: str
) -> pa.RecordBatch:
    """Row tuples as an Arrow batch of ``schema``; a value that does not fit names its column."""
    arrays = []
    for i, (col, values) in enumerate(zip(table.columns, zip(*rows, strict=True), strict=True)):
        logical = col.type.logical
        try:
            arrays.append(_array(values, logical, schema.field(i).type, fmt))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            raise UsageError(
                f"{table.name}.{col.name}: a value does not fit its type {logical} ({exc}); "
                "export it as text with --columns left out, or fix the row"
            ) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _array(values: tuple[Any, ...], logical: str, kind: pa.DataType, fmt: str) -> pa.Array:
    if logical == "boolean":
        if any(isinstance(v, int) and not isinstance(v, bool) for v in values):
            # Not Array.cast: pyarrow.compute's first call costs ~50 MB of memory.
            return streams.booleans(pa.array(values, pa.int64()))
        return pa.array(values, pa.bool_())
    if logical == "blob":
        if fmt in TEXT_FORMATS:
            return pa.array([None if v is None else b64(bytes(v)) for v in values], pa.string())
        return pa.array([None if v is None else bytes(v) for v in values], pa.binary())
    if logical == "any":
        return pa.array([typed_json(v) for v in values], pa.string())
    if logical == "decimal":
        return pa.array(
            [None if v is None else repr(v) if isinstance(v, float) else str(v) for v in values],
            pa.string(),
        )
    return pa.array(values, kind)


def _prefetch(source: Iterator[Any]) -> Iterator[Any]:
    """Run ``source`` in a thread one step ahead, so reading overlaps writing."""
    q: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def run() -> None:
        try:
            for got in source:
                if stop.is_set():
                    return
                q.put(got)
            q.put(done)
        except BaseException as exc:
            q.put(exc)

    thread = threading.Thread(target=run, name="batchyard-export-reader", daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if got is done:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)


def export_table(
    url: str,
    table: Table,
    path: Path,
    fmt: str,
    *,
    where: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Write ``table`` (its rows ``where``) to ``path``; return its rows and sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        if fmt == "sqlite":
            rows = _to_sqlite(url, table, tmp, where, progress, should_stop)
        else:
            rows = _to_arrow_file(_Part(url, table, tmp, fmt, where, should_stop), progress)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return {"table": table.name, "file": path.name, "rows": rows, "sha256": sha256(path)}


class _Tally:
    """Rows written, counted from several threads; progress is told only of rows not told before
    (an export that falls back to the exact path recounts from zero)."""

    def __init__(self, progress: Callable[[int], None], told: int = 0) -> None:
        self.progress, self.told, self.total = progress, told, 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.total += n
            new = self.total - self.told
            if new > 0:
                self.told = self.total
                self.progress(new)


@dataclass(frozen=True)
class _Part:
    """A table on its way into a temporary file of format ``fmt``, as each path takes it."""

    url: str
    table: Table
    tmp: Path
    fmt: str
    where: str | None
    should_stop: Callable[[], bool]

    def check_stop(self) -> None:
        if self.should_stop():
            raise _interrupted(self.table)


def _interrupted(table: Table) -> Interrupted:
    return Interrupted(f"export of {table.name} stopped; it starts again on resume")


def _to_arrow_file(part: _Part, progress: Callable[[int], None]) -> int:
    if _is_sqlite(part.url):
        with streams.one_library_at_a_time(_sqlite_file(part.url)):
            rows = _from_sqlite(part, progress)
    else:
        rows = _python(part, _Tally(progress))
    if part.fmt == "json" and rows == 0:
        part.tmp.write_text("[\n]\n", encoding="utf-8")
    return rows


def _from_sqlite(part: _Part, progress: Callable[[int], None]) -> int:
    told = 0
    if streams.eligible(part.table):
        tally = _Tally(progress)
        try:
            return _fast_sqlite(part, tally)
        except Mismatch:
            told = tally.told
            with contextlib.suppress(FileNotFoundError):
                part.tmp.unlink()
    return _python(part, _Tally(progress, told))


def _python(part: _Part, tally: _Tally) -> int:
    """Rows as Python values turned into Arrow columns: exact for every type and source."""
    schema = schema_of(part.table, part.fmt)

    def batches() -> Iterator[pa.RecordBatch]:
        for rows in _prefetch(read_rows(part.url, part.table, part.where)):
            part.check_stop()
            yield to_batch(rows, part.table, schema, part.fmt)
            tally.add(len(rows))

    _write(part.fmt, schema, batches(), part.tmp)
    return tally.total


def _fast_sqlite(part: _Part, tally: _Tally) -> int:
    """SQLite read in C by ADBC in rowid ranges by two threads taking ranges in turn, while one
    writer takes their batches in rowid order (two writers on halves joined after were slower:
    the join costs more than the writer, and the writer keeps up with both readers)."""
    path, table = _sqlite_file(part.url), part.table
    schema = schema_of(table, part.fmt)
    cols = ", ".join(qi(c.name) for c in table.columns)
    select = f"SELECT {cols} FROM {source_sql(table)}"
    sqls = [streams.span_sql(select, part.where, s) for s in streams.ranges(path, table)]
    workers = min(streams.PARTS, len(sqls))

    def source(span: list[str]) -> Iterator[Any]:
        for item in streams.stream(path, table, schema, span, part.fmt in TEXT_FORMATS):
            if item is not streams.END:
                part.check_stop()
                tally.add(item.num_rows)
            yield item

    readers = [source(sqls[w::workers]) for w in range(workers)]
    _write(part.fmt, schema, streams.in_turn(readers, len(sqls)), part.tmp)
    return tally.total


def _write(
    fmt: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: Path, header: bool = True
) -> None:
    """Write ``batches`` to ``path``: pyarrow for Parquet and CSV, DuckDB for JSON."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, schema, compression="snappy") as writer:
            for batch in batches:
                writer.write_batch(batch)
        return
    if fmt == "csv":
        import pyarrow.csv as pcsv

        options = pcsv.WriteOptions(include_header=header)
        with pcsv.CSVWriter(path, schema, write_options=options) as writer:
            for batch in batches:
                writer.write_batch(batch)
        return
    import duckdb

    failed: list[BaseException] = []

    def guarded() -> Iterator[pa.RecordBatch]:
        # DuckDB reports an exception of the stream as its own error; keep the real one.
        try:
            yield from batches
        except BaseException as exc:
            failed.append(exc)
            raise

    con = open_duckdb(threads=1, memory_limit="32MB")
    try:
        con.register("export_rows", pa.RecordBatchReader.from_batches(schema, guarded()))
        array = "true" if fmt == "json" else "false"
        target = quote_literal(str(path))
        con.execute(f"COPY (SELECT * FROM export_rows) TO {target} (FORMAT json, ARRAY {array})")
    except duckdb.Error:
        if failed:
            raise failed[0] from None
        raise
    finally:
        con.close()


def _to_sqlite(
    url: str,
    table: Table,
    tmp: Path,
    where: str | None,
    progress: Callable[[int], None],
    should_stop: Callable[[], bool],
) -> int:
    con = opener.sqlite(tmp)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute(create_table_sql(table, "sqlite", with_key=True, keep_declared=True))
        cols = ", ".join(qi(c.name) for c in table.columns)
        if _is_sqlite(url) and not table.extra.get("query"):
            con.execute("ATTACH DATABASE ? AS src", (opener.readonly_uri(_sqlite_file(url)),))
            con.execute("BEGIN")
            try:
                n = con.execute(
                    f"INSERT INTO main.{qi(table.name)} ({cols}) SELECT {cols} "
                    f"FROM {_attached(table)}{_where(where)}"
                ).rowcount
            except sqlite3.Error as exc:
                raise UsageError(f"table {table.name!r}: {exc} (check --where)") from exc
            con.execute("COMMIT")
            progress(n)
            return int(n)
        from_pg = not _is_sqlite(url)
        converters = [sqlite_converter(c.type.logical) if from_pg else None for c in table.columns]
        marks = ", ".join("?" for _ in table.columns)
        insert = f"INSERT INTO {qi(table.name)} ({cols}) VALUES ({marks})"
        total = 0
        con.execute("BEGIN")
        for rows in read_rows(url, table, where):
            if should_stop():
                raise _interrupted(table)
            con.executemany(
                insert,
                [
                    tuple(
                        f(v) if f and v is not None and c.type.logical not in _PG_TEXT else v
                        for f, v, c in zip(converters, r, table.columns, strict=True)
                    )
                    for r in rows
                ],
            )
            total += len(rows)
            progress(len(rows))
        con.execute("COMMIT")
        return total
    finally:
        con.close()


def _attached(table: Table) -> str:
    query = table.extra.get("query")
    return f"({query}) AS batchyard_query" if query else f"src.{qi(table.name)}"


#: Columns PostgreSQL is asked to send as text already (see ``_pg_expr``).
_PG_TEXT = ("date", "datetime", "time", "decimal", "uuid", "json")
