"""CSV into SQLite in C: DuckDB parses the file into Arrow batches and ADBC binds them to SQLite's
prepared insert, each batch committed with its checkpoint in the same transaction (as the row by
row path does), or the whole file in one transaction when atomic.

Taken only where that is exact: a SQLite target, a CSV whose every column DuckDB parses to the
column's type already (numbers, booleans, text, dates as ISO text), no ``--key`` checks, no upsert
and identifiers ADBC can quote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from batchyard.db import Database, Dialect, ledger, quote_literal
from batchyard.errors import ChunkMoved, UsageError
from batchyard.files import readers
from batchyard.files.quarantine import BadRow, Outcome
from batchyard.files.resolve import Spec
from batchyard.files.streams import ahead

#: Rows per Arrow batch read from the file.
BATCH_ROWS = 16_384
#: Rows per commit: each commit syncs the file, so fewer, larger ones; Arrow batches stay small.
COMMIT_ROWS = 200_000
_PARSED = ("integer", "float", "boolean", "text", "date", "datetime", "time")


def eligible(spec: Spec, validating: bool = False) -> bool:
    names = [spec.table.name, *spec.file_columns]
    return (
        spec.fmt == "csv"
        and spec.parsed
        and not spec.key
        and spec.mode != "upsert"
        and not validating
        and all(spec.column(c).type.logical in _PARSED for c in spec.file_columns)
        and not any('"' in n for n in names)
    )


class _Sqlite:
    """An ADBC connection to the target with autocommit off: every statement is in a transaction
    that :meth:`commit` ends."""

    def __init__(self, url: str) -> None:
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite

        self.adbc = adbc
        self.stack = contextlib.ExitStack()
        self.db = self.stack.enter_context(
            adbc_driver_sqlite.connect(f"file:{quote(str(Database.of(url).path))}")
        )
        self.con = self.stack.enter_context(adbc.AdbcConnection(self.db))
        self.run("PRAGMA busy_timeout = 120000")
        self.run("PRAGMA synchronous = NORMAL")
        self.con.set_autocommit(False)

    def run(self, sql: str) -> None:
        with self.adbc.AdbcStatement(self.con) as st:
            st.set_sql_query(sql)
            st.execute_update()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        with self.adbc.AdbcStatement(self.con) as st:
            st.set_sql_query(sql)
            handle, _ = st.execute_query()
            reader = pa.RecordBatchReader._import_from_c(handle.address)
            return list(reader.read_all().to_pylist())

    def append(self, table: str, batch: pa.RecordBatch) -> None:
        with self.adbc.AdbcStatement(self.con) as st:
            st.set_options(
                **{
                    "adbc.ingest.target_table": table,
                    "adbc.ingest.mode": "adbc.ingest.mode.append",
                }
            )
            st.bind(batch)
            st.execute_update()

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.con.rollback()

    def close(self) -> None:
        self.stack.close()


def load(
    spec: Spec,
    url: str,
    chunk_id: str,
    atomic: bool,
    out: Outcome,
    ddl: Callable[[bool], list[str]],
    refusal: Callable[[list[BadRow]], str],
    progress: Callable[[int], None],
    should_stop: Callable[[], bool],
    stopped: Callable[[], Exception],
) -> Outcome:
    """Load ``spec``'s CSV into SQLite; ``ddl(fresh)`` makes the table ready."""
    cols = spec.file_columns
    logical = {c: spec.column(c).type.logical for c in cols}
    db = _Sqlite(url)
    try:
        if atomic:
            try:
                for sql in ddl(True):
                    db.run(sql)
                for _, _, got in _batches(spec, cols, logical, 0):
                    if isinstance(got, list):
                        out.bad.extend(got)
                        continue
                    db.append(spec.table.name, got)
                    out.rows += got.num_rows
                    progress(got.num_rows)
                if out.bad:
                    raise UsageError(refusal(out.bad))
                db.commit()
            except BaseException:
                db.rollback()
                raise
            return out
        db.run(ledger.DDL[Dialect.SQLITE])
        db.commit()
        found = db.rows(
            f"SELECT done_upto, finished FROM {ledger.TABLE} WHERE chunk = {quote_literal(chunk_id)}"
        )
        done, finished = (
            (found[0]["done_upto"], bool(found[0]["finished"])) if found else (None, False)
        )
        for sql in ddl(done is None):
            db.run(sql)
        db.commit()
        start = int(done or 0)
        # Records read and rows written since the last commit: a record with a value that does
        # not fit is read (so the checkpoint passes it) but not written.
        pending = written = 0
        for first, records, got in _batches(spec, cols, logical, start):
            if isinstance(got, list):
                out.bad.extend(got)
                continue
            if finished:
                continue
            if should_stop():
                if pending:
                    _advance(db, chunk_id, spec.table.name, start + pending, written, False)
                    db.commit()
                raise stopped()
            try:
                if pending == 0:
                    _check(db, chunk_id, start)
                db.append(spec.table.name, got)
                pending += records
                written += got.num_rows
                if pending >= COMMIT_ROWS:
                    _advance(db, chunk_id, spec.table.name, first + records, written, False)
                    db.commit()
                    start, pending, written = first + records, 0, 0
            except BaseException:
                db.rollback()
                raise
            out.rows += got.num_rows
            progress(got.num_rows)
        if pending:
            start += pending
            _advance(db, chunk_id, spec.table.name, start, written, False)
            db.commit()
        if not finished:
            _check(db, chunk_id, start)
            _advance(db, chunk_id, spec.table.name, start, 0, True)
            db.commit()
        return out
    except db.adbc.Error as exc:
        raise UsageError(f"{spec.path} into {spec.table.name}: {exc}") from exc
    finally:
        db.close()


def _batches(
    spec: Spec, cols: list[str], logical: dict[str, str], start: int
) -> Iterator[tuple[int, int, Any]]:
    """``(records before, records, batch)`` as :func:`readers.csv_arrow`, without its flag column."""
    for first, records, got in ahead(
        readers.csv_arrow(spec.path, cols, logical, start, BATCH_ROWS)
    ):
        yield first, records, got if first < 0 else readers.good_part(got)


def _check(db: _Sqlite, chunk_id: str, lo: int) -> None:
    """The checkpoint is still where this writer left it (no other writer took the import)."""
    found = db.rows(f"SELECT done_upto FROM {ledger.TABLE} WHERE chunk = {quote_literal(chunk_id)}")
    at = int(found[0]["done_upto"] or 0) if found else 0
    if at != lo:
        raise ChunkMoved(f"import checkpoint {chunk_id} moved from {lo} to {at}")


def _advance(db: _Sqlite, chunk_id: str, table: str, hi: int, rows: int, finished: bool) -> None:
    db.run(
        f"INSERT INTO {ledger.TABLE} (chunk, table_name, done_upto, rows, finished) VALUES "
        f"({quote_literal(chunk_id)}, {quote_literal(table)}, {int(hi)}, {int(rows)}, {int(finished)}) "
        "ON CONFLICT (chunk) DO UPDATE SET done_upto = excluded.done_upto, "
        "rows = rows + excluded.rows, finished = excluded.finished"
    )
