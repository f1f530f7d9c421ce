"""Migrate: check everything before a row moves, create the schema, copy chunks, build constraints.

The job's items are table chunks (see :mod:`batchyard.move.copy`). Its setup creates the target
tables (in dependency order, with primary keys in SQLite and without them in PostgreSQL, where they
build faster after the load); its finish builds keys, indexes and foreign keys, resets sequences,
runs ``verify`` when asked, and drops the job's checkpoints (see :mod:`.checkpoints`).

A schema the target cannot take as written is translated where the meaning is clear (defaults, see
:mod:`.defaults`; names past PostgreSQL's 63 bytes, see :mod:`.names`), with a note for the job's
log (:func:`schema_notes`); what is left is tried before a row moves, and refused naming the table.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from batchyard.db import Database, reason
from batchyard.db import connect as opener
from batchyard.db.ledger import rows_by_table
from batchyard.db.types import known_override, override, unknown_type
from batchyard.db.url import Dialect
from batchyard.errors import SchemaError, UsageError
from batchyard.move import checkpoints as ledger
from batchyard.move import constraints, names, rules
from batchyard.move import keys as named_keys
from batchyard.move import profile as profiler
from batchyard.move.checkpoints import Run
from batchyard.move.copy import Chunk, Plan, chunks_for
from batchyard.move.fits import CASTS
from batchyard.move.reflect import (
    ANY_COMMENT,
    STATE_TABLE,
    Table,
    after_load_sql,
    column_default,
    create_table_sql,
    ends_sql,
    qi,
    reflect,
    sequence_sql,
    target_names,
)
from batchyard.secrets import mask_url

IF_EXISTS = ("fail", "replace", "append", "resume")

_cache: dict[tuple[Any, ...], list[Table]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Options:
    source: str
    target: str
    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    if_exists: str = "fail"
    types: dict[str, str] | None = None
    skip_bad: tuple[str, ...] = ()
    chunk_rows: int = 0
    batch_rows: int | None = None
    #: Keys named for tables without a primary key (``--key table=col1,col2``).
    keys: dict[str, tuple[str, ...]] | None = None
    #: Keep the checkpoint table's rows after success (``--keep-checkpoints``).
    keep_checkpoints: bool = False

    def dialects(self) -> tuple[str, str]:
        return (
            sa.make_url(self.source).get_backend_name(),
            sa.make_url(self.target).get_backend_name(),
        )


def connect(url: str, role: str) -> Engine:
    """An engine for the source or target, checked by connecting: a clear error if it cannot."""
    try:
        if role == "source" and url.startswith("sqlite"):
            database = sa.make_url(url).database or ""
            if not os.path.exists(database):
                raise UsageError(f"source {mask_url(url)}: no such SQLite file {database!r}")
        # A SQLite source is opened read-only: left exactly as it is, and scanned by many threads.
        engine = Database.of(url).engine(create=role == "target", readonly=role == "source")
        with engine.connect():
            pass
        return engine
    except UsageError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise UsageError(f"cannot connect to the {role} {mask_url(url)}: {reason(exc)}") from exc
    except ModuleNotFoundError as exc:
        raise UsageError(f"the {role} needs a driver that is not installed: {exc}") from exc


def _same_database(source: str, target: str) -> bool:
    """True when both URLs name one database: the same SQLite file (however reached) or the same
    PostgreSQL database on the same server."""
    try:
        a, b = sa.make_url(source), sa.make_url(target)
    except sa.exc.ArgumentError:
        return False
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        paths = [u.database or "" for u in (a, b)]
        if any(p in ("", ":memory:") for p in paths):
            return False
        return os.path.realpath(paths[0]) == os.path.realpath(paths[1])
    return (a.host or "localhost", a.port or 5432, a.database) == (
        b.host or "localhost",
        b.port or 5432,
        b.database,
    )


def source_tables(
    url: str,
    tables: Sequence[str],
    exclude: Sequence[str],
    types: dict[str, str] | None = None,
    keys: dict[str, tuple[str, ...]] | None = None,
    job_id: str | None = None,
) -> list[Table]:
    """The source tables to move, with named keys and type overrides.

    Read afresh when planning; a job's items, often many in one process, share one reading per
    job (``job_id``): the source may have changed since another job read it."""
    key = (job_id, url, tuple(tables), tuple(exclude), tuple(sorted((keys or {}).items())))
    with _lock:
        found = _cache.get(key) if job_id is not None else None
    if found is None:
        engine = connect(url, "source")
        try:
            found = reflect(engine, tables=tables, exclude=exclude)
            named_keys.unknown_tables(keys or {}, [t.name for t in found])
            found = [_apply_key(t, (keys or {}).get(t.name)) for t in found]
            bounds = []
            for t in found:
                if t.chunk_key:
                    col = "rowid" if t.chunk_key == "rowid" else qi(t.chunk_key)
                    with engine.connect() as conn:
                        lo, hi = conn.exec_driver_sql(ends_sql(col, qi(t.name))).one()
                    extra = {
                        **t.extra,
                        "key_min": lo,
                        "key_max": hi,
                        "key_span": (hi - lo + 1) if lo is not None else 0,
                    }
                    bounds.append(replace(t, extra=extra))
                else:
                    bounds.append(t)
            found = bounds
        finally:
            engine.dispose()
        if job_id is not None:
            with _lock:
                while len(_cache) >= 32:  # a long-lived server: the oldest jobs' readings go
                    del _cache[next(iter(_cache))]
                _cache[key] = found
    names_ = [t.name for t in found]
    return [_apply_types(t, rules.for_table(types or {}, t.name, names_)) for t in found]


def _apply_key(table: Table, key: tuple[str, ...] | None) -> Table:
    """``table`` with the key the user named: its primary key in the target, and its chunk key
    where ranges of it are cheap to read (SQLite's rowid stays the cheaper one where there is one).
    """
    if not key:
        return table
    shown = f"--key {table.name}={','.join(key)}"
    if table.primary_key:
        raise UsageError(
            f"{shown}: the table has a primary key ({', '.join(table.primary_key)}); "
            "--key is for tables without one"
        )
    named_keys.missing_columns(table.name, key, table.column_names)
    chunk_key = table.chunk_key
    first = table.column(key[0])
    leads_index = any(i.columns[:1] == (key[0],) for i in table.indexes)
    if chunk_key is None and first.type.logical == "integer" and leads_index:
        chunk_key = key[0]
    return replace(table, primary_key=key, chunk_key=chunk_key, named_key=True)


def _apply_types(table: Table, wanted: dict[str, str]) -> Table:
    """``table`` with the types the user chose (``--type``; :func:`preflight` checked the names).
    To text, blob or any the values are converted; to other types they are checked."""
    if not wanted:
        return table
    cols = tuple(
        replace(c, type=override(wanted[c.name]), cast=override(wanted[c.name]).logical in CASTS)
        if c.name in wanted
        else c
        for c in table.columns
    )
    return replace(table, columns=cols)


def preflight(opts: Options) -> list[Table]:
    """Everything that can be checked before a row moves; raises :class:`UsageError`."""
    if opts.if_exists not in IF_EXISTS:
        raise UsageError(f"--if-exists {opts.if_exists!r}: use one of {', '.join(IF_EXISTS)}")
    if _same_database(opts.source, opts.target):
        raise UsageError(
            f"the source and the target are the same database ({mask_url(opts.source)}); "
            "give another target"
        )
    tables = source_tables(opts.source, opts.tables, opts.exclude, opts.types, opts.keys)
    if not tables:
        raise UsageError(f"the source {mask_url(opts.source)} has no tables to move")
    rules.check("--type", list(opts.types or {}), tables)
    rules.check("--skip-bad", opts.skip_bad, tables)
    target = connect(opts.target, "target")
    dialect = target.dialect.name
    try:
        if dialect == "postgresql":
            names.check_tables([t.name for t in tables])
        # PostgreSQL lists a long name as it keeps it: cut to 63 bytes.
        shown = {(names.clip(t.name) if dialect == "postgresql" else t.name): t for t in tables}
        existing = {shown[n].name for n in sa.inspect(target).get_table_names() if n in shown}
        clash = [t.name for t in tables if t.name in existing]
        if clash and opts.if_exists == "fail":
            raise UsageError(
                f"the target already has table {clash[0]!r}"
                f"{f' (and {len(clash) - 1} more)' if len(clash) > 1 else ''}; "
                "choose --if-exists replace, append or resume"
            )
        if opts.if_exists in ("append", "resume"):
            for t in tables:
                if t.name not in existing:
                    continue
                have = [c["name"] for c in sa.inspect(target).get_columns(t.name)]
                wanted = list(target_names(t, dialect).values())
                if sorted(have) != sorted(wanted):
                    missing = sorted(set(wanted) - set(have))
                    extra = sorted(set(have) - set(wanted))
                    raise UsageError(
                        f"target table {t.name!r} has other columns than the source "
                        f"(missing: {', '.join(missing) or '-'}; extra: {', '.join(extra) or '-'})"
                    )
        if dialect == "postgresql":  # (SQLite commits DDL at once: it would keep the trial)
            _try_schema(target, [t for t in tables if t.name not in existing], opts)
    finally:
        target.dispose()
    source_engine = connect(opts.source, "source")
    try:
        with source_engine.connect() as conn:
            for t in tables:
                if t.named_key:
                    named_keys.check_unique(conn, t.name, t.primary_key, qi)
        # Between two SQLite files values copy as stored; elsewhere they must fit their types.
        if profiles_up_front(opts) and source_engine.dialect.name == "sqlite":
            profiler.check(source_engine, tables, skip=opts.skip_bad)
    finally:
        source_engine.dispose()
    return tables


def _try_schema(target: Engine, tables: Sequence[Table], opts: Options) -> None:
    """Create the tables in a PostgreSQL transaction that is rolled back: whatever the target
    refuses is refused now, naming the table, before a job is made."""
    dialect = target.dialect.name
    with target.connect() as conn:
        trial = conn.begin()
        try:
            for t in tables:
                with schema_errors(t.name, "cannot create"):
                    _execute(conn, _create_sql(t, dialect, opts))
        finally:
            trial.rollback()


def _create_sql(table: Table, dialect: str, opts: Options) -> str:
    source = opts.dialects()[0]
    # Between two SQLite files declared types stay as they are, letter for letter.
    same = dialect == "sqlite" and source == "sqlite"
    return create_table_sql(table, dialect, with_key=False, keep_declared=same, source=source)


def _execute(conn: Any, stmt: str) -> None:
    """One DDL statement. On PostgreSQL psycopg runs it itself: given no params it reads no
    placeholders, so a ``%`` in a name stays one (SQLAlchemy would pass empty params)."""
    if conn.dialect.name == "postgresql":
        conn.connection.driver_connection.execute(stmt)
    else:
        conn.exec_driver_sql(stmt)


@contextlib.contextmanager
def schema_errors(table: str, doing: str) -> Iterator[None]:
    """A database's refusal of DDL for ``table`` as a :class:`SchemaError` naming the table."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise SchemaError(f"{doing} table {table!r} in the target: {reason(exc)}") from exc
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in ("psycopg", "sqlite3"):
            raise
        raise SchemaError(f"{doing} table {table!r} in the target: {reason(exc)}") from exc


def schema_notes(opts: Options, tables: Sequence[Table]) -> list[str]:
    """What the target gets otherwise than the source has it: defaults dropped, names cut."""
    source, target = opts.dialects()
    notes = []
    for t in tables:
        for src, dst in names.renamed(t.column_names).items() if target == "postgresql" else []:
            notes.append(
                f"{t.name}.{src}: named {dst!r} in PostgreSQL, which keeps {names.LIMIT} bytes "
                "of a name"
            )
        for c in t.columns:
            _, dropped = column_default(c, target, source)
            if dropped:
                notes.append(f"{t.name}.{c.name}: DEFAULT {c.default} left out: {dropped}")
    return notes


def checks_fits(opts: Options) -> bool:
    """Whether stored values must fit their types: from SQLite into PostgreSQL (between two
    SQLite files values copy as stored)."""
    return opts.source.startswith("sqlite") and not opts.target.startswith("sqlite")


def profiles_up_front(opts: Options) -> bool:
    """Whether every value is checked before a row moves, rather than as the copy reads it.

    Into tables the job creates (``--if-exists fail``), the copy checks each batch as it reads it
    and bad data drops what the job made (:func:`undo_schema`): one pass over the source instead of
    two. Into tables that exist, nothing can be undone: the source is profiled first."""
    return checks_fits(opts) and opts.if_exists != "fail"


def default_chunk_rows(opts: Options) -> int:
    """Rows per chunk: inside SQLite whole tables up to 5M rows (one transfer each), else 500K."""
    if opts.chunk_rows:
        return opts.chunk_rows
    both_sqlite = opts.source.startswith("sqlite") and opts.target.startswith("sqlite")
    return 5_000_000 if both_sqlite else 500_000


def plan_chunks(tables: Sequence[Table], chunk_rows: int) -> list[Chunk]:
    out: list[Chunk] = []
    for t in tables:
        out.extend(chunks_for(t, chunk_rows, (t.extra.get("key_min"), t.extra.get("key_max"))))
    return out


def load_order(tables: Sequence[Table]) -> list[Table]:
    """Tables in the order their chunks are queued: each after the tables it refers to (so foreign
    keys can be built while the rest loads), and within that the biggest first (so the last
    workers to finish share small tables, not wait on one big one)."""
    by_name = {t.name: t for t in tables}
    depth: dict[str, int] = {}

    def level(t: Table, seen: frozenset[str]) -> int:
        if t.name not in depth:
            refs = [
                by_name[fk.ref_table]
                for fk in t.foreign_keys
                if fk.ref_table in by_name and fk.ref_table not in seen | {t.name}
            ]
            depth[t.name] = 1 + max((level(r, seen | {t.name}) for r in refs), default=-1)
        return depth[t.name]

    return sorted(tables, key=lambda t: (level(t, frozenset()), -t.rows))


def _run(opts: Options, key: str, run: Run | None) -> Run:
    return run or Run.of(key, resume=opts.if_exists == "resume")


def build_loaded_keys(
    opts: Options, tables: Sequence[Table], table: str, key: str, run: Run | None = None
) -> list[str]:
    """After a chunk of ``table``: its keys, if it was the table's last chunk to commit (PostgreSQL
    targets; anything that fails here is left for the job's finish, which reports it)."""
    if sa.make_url(opts.target).get_backend_name() != "postgresql":
        return []
    import psycopg

    run = _run(opts, key, run)
    found = next(t for t in tables if t.name == table)
    ids = [f"{run.scope}{c.id}" for c in plan_chunks([found], default_chunk_rows(opts))]
    try:
        with opener.postgres(Database.of(opts.target).dsn, settings=False) as pg:
            # One process per build: the other workers keep the CPUs busy while rows still come
            # in, and helper processes would only add the cost of sharing out the sort.
            pg.execute("SET max_parallel_maintenance_workers = 0")
            return constraints.build_when_loaded(pg, run.key, found, tables, ids)
    except psycopg.Error:
        return []


def copy_plan(table: Table, opts: Options) -> Plan:
    names_ = target_names(table, opts.dialects()[1])
    return Plan(
        source=table,
        target_columns=tuple(table.column_names),
        skip_bad=opts.skip_bad,
        batch_rows=opts.batch_rows,
        overridden=bool(rules.for_table(opts.types or {}, table.name, [table.name])),
        check_fits=checks_fits(opts) and not profiles_up_front(opts),
        renamed=tuple((s, d) for s, d in names_.items() if s != d),
    )


def resume_run(opts: Options, tables: Sequence[Table], job_id: str) -> Run:
    """The run a ``--if-exists resume`` job continues (see :func:`.checkpoints.adopt`)."""
    target = connect(opts.target, "target")
    try:
        with target.begin() as conn:
            return ledger.adopt(conn, target.dialect.name, [t.name for t in tables], job_id)
    finally:
        target.dispose()


def recorded_run(opts: Options, job_id: str) -> Run:
    target = connect(opts.target, "target")
    try:
        with target.connect() as conn:
            return ledger.recorded(conn, job_id)
    finally:
        target.dispose()


def create_schema(opts: Options, tables: Sequence[Table], key: str, run: Run | None = None) -> bool:
    """Create the target tables once per run (idempotent on resume), honouring ``if_exists``;
    whether this call did (not an earlier one)."""
    run = _run(opts, key, run)
    target = connect(opts.target, "target")
    dialect = target.dialect.name
    marker = ledger.schema_marker(run.key)
    try:
        with target.begin() as conn:
            ledger.create(conn, dialect)
            if ledger.has(conn, marker):
                return False
            listed = set(sa.inspect(conn).get_table_names())
            existing = {
                t.name
                for t in tables
                if (names.clip(t.name) if dialect == "postgresql" else t.name) in listed
            }
            if opts.if_exists == "replace":
                for t in reversed(list(tables)):
                    if t.name in existing:
                        with schema_errors(t.name, "cannot drop"):
                            _execute(
                                conn,
                                f"DROP TABLE {qi(t.name)}"
                                + (" CASCADE" if dialect == "postgresql" else ""),
                            )
                        existing.discard(t.name)
                marks = ", ".join(f":t{n}" for n in range(len(tables)))
                conn.execute(
                    sa.text(f"DELETE FROM {STATE_TABLE} WHERE table_name IN ({marks})"),
                    {f"t{n}": t.name for n, t in enumerate(tables)},
                )
            clash = [t.name for t in tables if t.name in existing]
            if clash and opts.if_exists == "fail":
                # Made since the job was planned: the job only ever drops tables it made.
                raise UsageError(
                    f"the target already has table {clash[0]!r}; choose --if-exists replace, "
                    "append or resume"
                )
            for t in tables:
                if t.name in existing:
                    continue
                with schema_errors(t.name, "cannot create"):
                    _create(conn, t, dialect, opts, run)
            ledger.mark(conn, marker)
    finally:
        target.dispose()
    return True


def _create(conn: Any, t: Table, dialect: str, opts: Options, run: Run) -> None:
    _execute(conn, _create_sql(t, dialect, opts))
    if dialect != "postgresql":
        return
    for stmt in sequence_sql(t, reset=False):
        _execute(conn, stmt)
    # No autovacuum while the rows come in: it would compete for the CPU, and make each key built
    # after the load wait for it to give way (a second or more). The run's finish turns it back on.
    _execute(conn, f"ALTER TABLE {qi(t.name)} SET (autovacuum_enabled = false)")
    ledger.mark(conn, ledger.made_marker(run.key, t.name), t.name)
    named = target_names(t, dialect)
    for c in t.columns:
        if c.type.logical == "any":
            _execute(conn, f"COMMENT ON COLUMN {qi(t.name)}.{qi(named[c.name])} IS '{ANY_COMMENT}'")


def undo_schema(
    opts: Options, tables: Sequence[Table], key: str, run: Run | None = None
) -> list[str]:
    """Drop what the run made in the target: its tables (made by it, ``--if-exists fail``) and its
    checkpoints, and the checkpoint table if nothing else is left in it. For a copy that stopped
    on bad data: the target is left as it was before the job."""
    if opts.if_exists != "fail":
        return []
    run = _run(opts, key, run)
    target = connect(opts.target, "target")
    dropped: list[str] = []
    try:
        with target.begin() as conn:
            if not ledger.exists(conn) or not ledger.has(conn, ledger.schema_marker(run.key)):
                return dropped
            cascade = " CASCADE" if target.dialect.name == "postgresql" else ""
            for t in reversed(list(tables)):
                _execute(conn, f"DROP TABLE IF EXISTS {qi(t.name)}{cascade}")
                dropped.append(t.name)
            ledger.forget(conn, run, [t.name for t in tables])
    finally:
        target.dispose()
    return dropped


def finish_schema(
    opts: Options, tables: Sequence[Table], key: str, run: Run | None = None
) -> list[str]:
    """Keys, indexes, foreign keys and sequences after the load (once per run); then the run's
    checkpoints are dropped, in the same transaction (unless ``keep_checkpoints``)."""
    run = _run(opts, key, run)
    target = connect(opts.target, "target")
    dialect = target.dialect.name
    marker = ledger.constraints_marker(run.key)
    done: list[str] = []
    try:
        with target.begin() as conn:
            if not ledger.exists(conn):
                ledger.create(conn, dialect)
            if ledger.has(conn, marker):
                return done
            known = {t.name for t in tables}
            by_name = {t.name: t for t in tables}
            if dialect == "postgresql":
                # Keys built as each table's rows came in are there already: the rest now, once
                # builds still under way are done (each holds one of these locks, until this
                # transaction ends: none starts again on checkpoints this one drops).
                pg = conn.connection.driver_connection
                constraints.lock_all(pg, run.key, [t.name for t in tables])
                for kinds in (("key",), ("foreign", "other")):
                    for t in tables:
                        with schema_errors(t.name, "cannot build the keys of"):
                            for stmt in constraints.pending(pg, t, known, kinds, by_name):
                                _execute(conn, stmt)
                                done.append(stmt)
                made = {
                    str(r[0])
                    for r in conn.execute(
                        sa.text(
                            f"SELECT chunk FROM {STATE_TABLE} WHERE chunk LIKE :made ESCAPE '!'"
                        ),
                        {"made": ledger.like_prefix(ledger.made_marker(run.key, ""))},
                    )
                }
                for t in tables:
                    if ledger.made_marker(run.key, t.name) in made:
                        _execute(conn, f"ALTER TABLE {qi(t.name)} RESET (autovacuum_enabled)")
            else:
                done = _finish_sqlite(conn, tables, known)
            if opts.keep_checkpoints:
                ledger.mark(conn, marker)
            else:
                ledger.forget(conn, run, [t.name for t in tables])
    finally:
        target.dispose()
    return done


def _finish_sqlite(conn: Any, tables: Sequence[Table], known: set[str]) -> list[str]:
    done: list[str] = []
    # SQLite sorts for CREATE INDEX on helper threads when allowed (off by default).
    conn.exec_driver_sql(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
    existing_idx = {i["name"] for t in tables for i in sa.inspect(conn).get_indexes(t.name)}
    has_pk = {
        t.name: bool(sa.inspect(conn).get_pk_constraint(t.name).get("constrained_columns"))
        for t in tables
    }
    for t in tables:
        with schema_errors(t.name, "cannot build the keys of"):
            for stmt in after_load_sql(t, "sqlite", with_key=has_pk[t.name], known=known):
                if " INDEX " in stmt and any(
                    f'"{n}"' in stmt.split(" ON ")[0] for n in existing_idx
                ):
                    continue
                conn.exec_driver_sql(stmt)
                done.append(stmt)
    return done


class Tally:
    """Rows committed so far per table of one job, read from the target's checkpoint table.

    ``scope`` is the prefix of the job's chunk ids (empty for ``--if-exists resume``). The reading
    is what the target holds, so it counts rows copied before a crash or a pause as well.
    """

    def __init__(self, target: str, scope: str, tables: Sequence[str]) -> None:
        self.target = target
        self.scope = scope
        self.tables = set(tables)
        self.final: dict[str, int] | None = None

    def freeze(self) -> None:
        """Read the figures a last time: the job's finish is about to drop its checkpoints."""
        self.final = self.rows()

    def rows(self) -> dict[str, int] | None:
        if self.final is not None:
            return self.final
        # A connection per reading (once a second): none is left open when the job ends.
        try:
            with contextlib.closing(self._connect()) as conn:
                return rows_by_table(conn, self.scope, self.tables)
        except Exception:  # figures only: a locked or unreachable target is read next time
            return None

    def _connect(self) -> Any:
        """A connection that gives up soon: the figures are read again a second later."""
        db = Database.of(self.target)
        if db.dialect is Dialect.SQLITE:
            return opener.sqlite(db.path or "", readonly=True, timeout=0.2)
        return opener.postgres(db.dsn, connect_timeout=5, settings=False)


def parse_types(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for part in raw:
        name, sep, value = str(part).partition("=")
        if not sep:
            raise UsageError(f"--type {part!r}: write it as table.column=TYPE")
        if known_override(value.strip()) is None:
            raise UsageError(unknown_type("--type", str(part), value.strip()))
        out[name.strip()] = value.strip()
    return out
