"""Import: a data file into a table of any connection, all or nothing, or in checkpointed batches.

What the file holds and the table it goes into are resolved first (:mod:`batchyard.files.resolve`).
Rows that do not parse, do not fit their column or repeat a key are quarantined with the file, line
and reason.
Atomic imports commit once; others commit each batch with its checkpoint in the target's
``_batchyard_migrate`` table in the same transaction, so an interrupted import resumes exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from batchyard.check.sources import regexp
from batchyard.db import Database, Dialect, ledger, reason
from batchyard.db import connect as opener
from batchyard.db import quote_identifier as qi
from batchyard.errors import Interrupted, ItemError, UsageError
from batchyard.files import ingest, readers, rowrules
from batchyard.files.convert import Converter, converter
from batchyard.files.quarantine import BadRow, Outcome
from batchyard.files.resolve import Spec, new_sqlite_file
from batchyard.files.streams import one_library_at_a_time
from batchyard.move.reflect import create_table_sql

#: Files smaller than this import all or nothing unless told otherwise.
ATOMIC_BYTES = 64 * 1024 * 1024
_END = 2**62


# -- reading and converting ----------------------------------------------------------------------


def batches(spec: Spec, start: int, dialect: str) -> Iterator[readers.Batch]:
    """The file's records from good record ``start`` on, as the ``dialect`` target takes them."""
    cols = spec.file_columns
    if spec.fmt == "csv":
        logical = {c: spec.column(c).type.logical for c in cols}
        nul_free = dialect == "postgresql"
        return readers.csv_batches(spec.path, cols, logical, start, nul_free)
    if spec.fmt == "parquet":
        return readers.parquet_batches(spec.path, cols, start)
    if spec.fmt == "sqlite":
        assert spec.from_table is not None
        return readers.sqlite_batches(spec.path, spec.from_table, cols, start)
    records = (
        readers.jsonl_records(spec.path) if spec.fmt == "jsonl" else readers.json_records(spec.path)
    )
    return readers.record_batches(records, cols, start, spec.path)


def converters(spec: Spec, dialect: str) -> list[Converter | None]:
    typed_file = spec.fmt != "sqlite"
    types = [spec.column(c).type for c in spec.file_columns]
    return [
        converter(t.logical, dialect, typed_file, spec.parsed, t.precision, t.scale) for t in types
    ]


def clean(
    spec: Spec,
    batch: readers.Batch,
    convs: list[Converter | None],
    out: Outcome,
    kept: list[tuple[int | None, int]] | None = None,
) -> list[tuple[Any, ...]]:
    """The batch's rows converted; rows that do not fit or repeat a key go to ``out.bad``.
    ``kept`` gets the (line, record) of each row returned."""
    rows = batch.rows
    active = [(i, f) for i, f in enumerate(convs) if f is not None]
    key_at = [spec.file_columns.index(k) for k in spec.key]
    if not active and not key_at:
        if kept is not None:
            kept.extend(zip(batch.lines, batch.records, strict=True))
        return rows
    good = []
    for row, line, record in zip(rows, batch.lines, batch.records, strict=True):
        if active:
            values = list(row)
            try:
                for i, f in active:
                    if values[i] is not None:
                        values[i] = f(values[i])
            except ValueError as exc:
                out.bad.append(
                    BadRow(
                        str(spec.path),
                        line,
                        f"column {spec.file_columns[i]!r}: {exc}",
                        _text(row),
                        record,
                    )
                )
                continue
            row = tuple(values)
        if key_at:
            k = tuple(row[i] for i in key_at)
            first = out.seen.get(k)
            if first is not None:
                out.bad.append(
                    BadRow(
                        str(spec.path),
                        line,
                        f"duplicate key {_key(spec, k)} (first at {_at(first, spec)})",
                        _text(row),
                        record,
                    )
                )
                continue
            out.seen[k] = line if line is not None else -record
        good.append(row)
        if kept is not None:
            kept.append((line, record))
    return good


def _text(row: tuple[Any, ...]) -> str:
    return ",".join("" if v is None else str(v) for v in row)[:500]


def _key(spec: Spec, k: tuple[Any, ...]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(spec.key, k, strict=True))


def _at(first: int, spec: Spec) -> str:
    return f"line {first}" if first >= 0 else f"record {-first}"


def check(spec: Spec, dialect: str) -> Outcome:
    """Read and convert the whole file without writing: the rows it would load and the bad ones."""
    out = Outcome()
    convs = converters(spec, dialect)
    for batch in batches(spec, 0, dialect):
        out.bad.extend(batch.bad)
        out.rows += len(clean(spec, batch, convs, out))
    out.bad = sorted(located(spec, out.bad), key=lambda b: (b.line or 0, b.record or 0))
    return out


# -- writing ---------------------------------------------------------------------------------------


def _insert_sql(spec: Spec, dialect: str) -> str:
    cols = ", ".join(qi(c) for c in spec.file_columns)
    mark = "?" if dialect == "sqlite" else "%s"
    sql = f"INSERT INTO {qi(spec.table.name)} ({cols}) VALUES ({', '.join(mark for _ in spec.file_columns)})"
    if spec.mode == "upsert":
        rest = [c for c in spec.file_columns if c not in spec.key]
        keys = ", ".join(qi(k) for k in spec.key)
        if rest:
            sets = ", ".join(f"{qi(c)} = excluded.{qi(c)}" for c in rest)
            sql += f" ON CONFLICT ({keys}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({keys}) DO NOTHING"
    return sql


def _ddl(spec: Spec, dialect: str, fresh: bool) -> list[str]:
    """Statements that make the table ready: replaced on a fresh replace, else made if missing."""
    create = create_table_sql(spec.table, dialect, with_key=True)
    if spec.mode == "replace" and fresh:
        return [f"DROP TABLE IF EXISTS {qi(spec.table.name)}", create]
    return [create.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)]


def _existing_keys(
    run: Callable[[str, list[Any]], list[tuple[Any, ...]]],
    spec: Spec,
    rows: list[tuple[Any, ...]],
    mark: str,
) -> set[tuple[Any, ...]]:
    """Keys of ``rows`` the table holds already (append mode with --key)."""
    key_at = [spec.file_columns.index(k) for k in spec.key]
    found: set[tuple[Any, ...]] = set()
    step = max(1, 900 // len(key_at))
    cols = ", ".join(qi(k) for k in spec.key)
    for i in range(0, len(rows), step):
        part = [tuple(r[j] for j in key_at) for r in rows[i : i + step]]
        one = "(" + ", ".join(mark for _ in key_at) + ")"
        sql = f"SELECT {cols} FROM {qi(spec.table.name)} WHERE ({cols}) IN (VALUES {', '.join(one for _ in part)})"
        found.update(tuple(r) for r in run(sql, [v for k in part for v in k]))
    return found


def _drop_existing(
    spec: Spec,
    rows: list[tuple[Any, ...]],
    known: set[tuple[Any, ...]],
    out: Outcome,
    batch: readers.Batch,
) -> list[tuple[Any, ...]]:
    if not known:
        return rows
    key_at = [spec.file_columns.index(k) for k in spec.key]
    kept = []
    for row in rows:
        k = tuple(row[j] for j in key_at)
        if k in known:
            line = out.seen.get(k)
            out.bad.append(
                BadRow(
                    str(spec.path),
                    line if line and line > 0 else None,
                    f"duplicate key {_key(spec, k)}: the table has it already",
                    _text(row),
                    -line if line and line < 0 else None,
                )
            )
        else:
            kept.append(row)
    return kept


def load(
    spec: Spec,
    url: str,
    chunk_id: str,
    *,
    atomic: bool,
    progress: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
    rules: rowrules.RowRules | None = None,
) -> Outcome:
    """Load the file; return the rows written by this call and every bad row of the file.
    With ``rules``, rows failing one are quarantined instead of loaded."""
    db = Database.of(url)
    if db.dialect is Dialect.SQLITE:
        fresh = new_sqlite_file(url)
        with one_library_at_a_time(str(db.path)):
            try:
                out = _load_sqlite(spec, url, chunk_id, atomic, progress, should_stop, rules)
            except BaseException as exc:
                if fresh is not None and atomic:
                    _remove_if_empty(fresh)
                if _FULL in str(exc):
                    raise _disk_full(spec, url, atomic) from exc
                raise
    else:
        out = _load_pg(spec, url, chunk_id, atomic, progress, should_stop, rules)
    out.bad = located(spec, out.bad)
    return out


#: SQLite's message for SQLITE_FULL, through sqlite3 and ADBC alike.
_FULL = "database or disk is full"


def _disk_full(spec: Spec, url: str, atomic: bool) -> ItemError:
    kept = (
        "nothing was imported (atomic); free space and run the import again"
        if atomic
        else "the batches committed before it are kept; free space and retry the job "
        "(`batchyard jobs retry JOB --failed-only`) to load the rest, each row once"
    )
    return ItemError(
        f"{spec.path.name} into {spec.table.name} in {Database.of(url).path}: {_FULL}: {kept}"
    )


def _remove_if_empty(path: Path) -> None:
    """Remove a SQLite file this import made when a refused atomic load left it without tables
    (other writers of the file in this process wait for :func:`one_library_at_a_time`)."""
    try:
        con = opener.sqlite(path, readonly=True)
        try:
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return
    if tables == 0:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _stopped(spec: Spec) -> Exception:
    return Interrupted(f"import of {spec.path.name} stopped at its last committed batch")


def _load_sqlite(
    spec: Spec,
    url: str,
    chunk_id: str,
    atomic: bool,
    progress: Callable[[int], None],
    should_stop: Callable[[], bool],
    rules: rowrules.RowRules | None = None,
) -> Outcome:
    if ingest.eligible(spec, validating=rules is not None):
        return ingest.load(
            spec,
            url,
            chunk_id,
            atomic,
            Outcome(),
            lambda fresh: _ddl(spec, "sqlite", fresh),
            lambda bad: refusal(spec, bad),
            progress,
            should_stop,
            lambda: _stopped(spec),
        )
    out = Outcome()
    con = opener.sqlite(str(Database.of(url).path))
    insert = _insert_sql(spec, "sqlite")
    convs = converters(spec, "sqlite")

    def run(sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        return con.execute(sql, args).fetchall()

    def staging() -> rowrules.Stage | None:
        if rules is None:
            return None
        con.create_function("regexp", 2, regexp, deterministic=True)
        return rowrules.Stage(
            rules, spec.file_columns, "sqlite", run, lambda sql, rows: con.executemany(sql, rows)
        )

    try:
        con.execute("PRAGMA busy_timeout=120000")
        con.execute("PRAGMA synchronous=NORMAL")
        if atomic:
            con.execute("BEGIN IMMEDIATE")
            try:
                for sql in _ddl(spec, "sqlite", fresh=True):
                    con.execute(sql)
                stage = staging()
                _load_whole(
                    spec,
                    "sqlite",
                    lambda b: _prepare(spec, b, convs, out, run, "?", stage),
                    lambda rows: con.executemany(insert, rows),
                    out,
                    progress,
                )
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:  # (a full disk ends it already)
                    con.execute("ROLLBACK")
                raise
            return out
        ledger.create(con, Dialect.SQLITE)
        at = ledger.read(con, Dialect.SQLITE, chunk_id)
        done, finished = at.done_upto, at.finished
        spec = _resumed(spec, done)
        con.execute("BEGIN IMMEDIATE")
        for sql in _ddl(spec, "sqlite", fresh=done is None):
            con.execute(sql)
        con.execute("COMMIT")
        stage = staging()
        _load_in_batches(
            spec,
            "sqlite",
            int(done or 0),
            finished,
            _batch(con, Dialect.SQLITE, chunk_id, spec.table.name),
            lambda b: _prepare(spec, b, convs, out, run, "?", stage),
            lambda rows: con.executemany(insert, rows),
            out,
            progress,
            should_stop,
        )
        return out
    finally:
        con.close()


def _batch(
    conn: Any, dialect: Dialect, chunk_id: str, table: str
) -> Callable[[int, int], AbstractContextManager[ledger.Batch]]:
    """The transaction of the batch of records ``(lo, hi]``: committed with its checkpoint in
    the target's ``_batchyard_migrate`` (see :func:`batchyard.db.ledger.batch`)."""

    def transaction(lo: int, hi: int) -> AbstractContextManager[ledger.Batch]:
        expected = None if lo == 0 else lo
        return ledger.batch(
            conn, dialect, chunk_id, table, expected=expected, upto=hi, last=hi >= _END
        )

    return transaction


def _resumed(spec: Spec, done: int | None) -> Spec:
    """``spec`` for a load that resumes at a checkpoint: the table holds rows of this file
    already, so with ``--key`` a key repeated in the file may have its first row there."""
    return replace(spec, exists=True) if done is not None and spec.key else spec


def _load_whole(
    spec: Spec,
    dialect: str,
    prepare: Callable[[readers.Batch], list[tuple[Any, ...]]],
    write: Callable[[list[tuple[Any, ...]]], Any],
    out: Outcome,
    progress: Callable[[int], None],
) -> None:
    """Every batch into the one open transaction (atomic mode); a bad row refuses the file."""
    for batch in batches(spec, 0, dialect):
        out.bad.extend(batch.bad)
        rows = prepare(batch)
        write(rows)
        out.rows += len(rows)
        progress(len(rows))
    if out.bad:
        raise UsageError(refusal(spec, out.bad))


def _load_in_batches(
    spec: Spec,
    dialect: str,
    start: int,
    finished: bool,
    transaction: Callable[[int, int], AbstractContextManager[Any]],
    prepare: Callable[[readers.Batch], list[tuple[Any, ...]]],
    write: Callable[[list[tuple[Any, ...]]], Any],
    out: Outcome,
    progress: Callable[[int], None],
    should_stop: Callable[[], bool],
) -> None:
    """Each batch committed with its checkpoint in one target transaction, from ``start`` on;
    a last checkpoint marks the file finished."""
    for batch in batches(spec, start, dialect):
        out.bad.extend(batch.bad)
        if finished or not batch.rows:
            continue
        if should_stop():
            raise _stopped(spec)
        hi = batch.records[-1]
        with transaction(start, hi) as committed:
            rows = prepare(batch)
            write(rows)
            committed.rows = len(rows)
        start = hi
        out.rows += len(rows)
        progress(len(rows))
    if not finished:
        with transaction(start, _END):
            pass


def _prepare(
    spec: Spec,
    batch: readers.Batch,
    convs: list[Converter | None],
    out: Outcome,
    run: Callable[[str, list[Any]], list[tuple[Any, ...]]],
    mark: str,
    stage: rowrules.Stage | None = None,
) -> list[tuple[Any, ...]]:
    kept: list[tuple[int | None, int]] = []
    rows = clean(spec, batch, convs, out, kept)
    if stage is not None:
        rows = _screen(spec, stage, rows, kept, out)
    if spec.key and spec.mode == "append" and spec.exists and rows:
        rows = _drop_existing(spec, rows, _existing_keys(run, spec, rows, mark), out, batch)
    return rows


def _screen(
    spec: Spec,
    stage: rowrules.Stage,
    rows: list[tuple[Any, ...]],
    kept: list[tuple[int | None, int]],
    out: Outcome,
) -> list[tuple[Any, ...]]:
    """The rows that pass the rules; the others quarantined with the rules they fail."""
    failed = stage.failures(rows)
    if not failed:
        return rows
    good = []
    for i, (row, (line, record)) in enumerate(zip(rows, kept, strict=True)):
        if i in failed:
            reason = f"fails rule {failed[i]} of {Path(stage.rules.file).name}"
            out.bad.append(BadRow(str(spec.path), line, reason, _text(row), record))
        else:
            good.append(row)
    return good


def _load_pg(
    spec: Spec,
    url: str,
    chunk_id: str,
    atomic: bool,
    progress: Callable[[int], None],
    should_stop: Callable[[], bool],
    rules: rowrules.RowRules | None = None,
) -> Outcome:
    import psycopg

    out = Outcome()
    convs = converters(spec, "postgresql")
    cols = ", ".join(qi(c) for c in spec.file_columns)
    insert = _insert_sql(spec, "postgresql")
    with opener.postgres(Database.of(url).dsn, autocommit=False) as pg:

        def run(sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
            cur = pg.execute(sql, args)
            return cur.fetchall() if cur.description else []

        def many(sql: str, rows: list[tuple[Any, ...]]) -> None:
            with pg.cursor() as cur:
                cur.executemany(sql, rows)

        def staging() -> rowrules.Stage | None:
            if rules is None:
                return None
            return rowrules.Stage(rules, spec.file_columns, "postgresql", run, many)

        def write(rows: list[tuple[Any, ...]]) -> None:
            if spec.mode == "upsert":
                with pg.cursor() as cur:
                    cur.executemany(insert, rows)
                return
            with pg.cursor().copy(f"COPY {qi(spec.table.name)} ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)

        try:
            if atomic:
                with pg.transaction():
                    for sql in _ddl(spec, "postgresql", fresh=True):
                        pg.execute(sql)
                    stage = staging()
                    _load_whole(
                        spec,
                        "postgresql",
                        lambda b: _prepare(spec, b, convs, out, run, "%s", stage),
                        write,
                        out,
                        progress,
                    )
                return out
            ledger.create(pg, Dialect.POSTGRESQL)
            pg.commit()
            fresh = not ledger.marked(pg, Dialect.POSTGRESQL, chunk_id)  # no checkpoint yet
            pg.commit()
            with pg.transaction():
                for sql in _ddl(spec, "postgresql", fresh=fresh):
                    pg.execute(sql)
                stage = staging()
            at = ledger.open_chunk(pg, Dialect.POSTGRESQL, chunk_id, spec.table.name)
            done, finished = at.done_upto, at.finished
            spec = _resumed(spec, done)
            _load_in_batches(
                spec,
                "postgresql",
                int(done or 0),
                finished,
                _batch(pg, Dialect.POSTGRESQL, chunk_id, spec.table.name),
                lambda b: _prepare(spec, b, convs, out, run, "%s", stage),
                write,
                out,
                progress,
                should_stop,
            )
            return out
        except psycopg.Error as exc:
            raise UsageError(f"{spec.path} into {spec.table.name}: {reason(exc)}") from exc


def located(spec: Spec, bad: list[BadRow]) -> list[BadRow]:
    """A CSV's bad rows each with its line (rows pass the converters by record number)."""
    return readers.csv_located(spec.path, bad) if spec.fmt == "csv" else bad


def refusal(spec: Spec, bad: list[BadRow]) -> str:
    first = sorted(located(spec, bad), key=lambda b: (b.line or 0, b.record or 0))[0]
    more = f" (and {len(bad) - 1} more bad row(s))" if len(bad) > 1 else ""
    return (
        f"{first.where()}: {first.reason}{more}; nothing was imported into {spec.table.name} "
        "(atomic). Fix the file, or import with --no-atomic to load the good rows and quarantine "
        "the bad ones"
    )
