"""Where rules run: SQLite and PostgreSQL databases, and CSV, JSON/JSONL and Parquet files through DuckDB.

A :class:`Source` lists its tables (with what their schema already guarantees) and runs read-only
queries on a :class:`~batchyard.db.Database`. Nothing here writes: SQLite opens read-only,
PostgreSQL in read-only sessions, and files are read as DuckDB views.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from batchyard.check.suite import did_you_mean
from batchyard.config import Settings
from batchyard.db import Database, Dialect
from batchyard.db import quote_identifier as qi
from batchyard.db.files import is_file_target
from batchyard.errors import RulesError
from batchyard.move.reflect import ends_sql

#: A table this large is scanned in rowid ranges, one per thread.
SPLIT_ROWS = 200_000

#: Aggregates of the one scan: ``(FAIL, condition)`` counts failing rows, ``(COUNT, condition)``
#: counts rows (all, with condition None), ``(MAX, column)`` finds the largest value.
FAIL, COUNT, MAX = "fail", "count", "max"
Agg = tuple[str, str | None]


def render_agg(agg: Agg) -> str:
    kind, arg = agg
    if kind == MAX:
        return f"max({arg})"
    return f"count(*) FILTER (WHERE {arg})" if arg else "count(*)"


@dataclass
class TableInfo:
    name: str
    columns: dict[str, str]
    primary_key: tuple[str, ...] = ()
    #: Column sets the schema keeps unique (primary key, unique constraints and indexes).
    uniques: set[frozenset[str]] = field(default_factory=set)
    #: Columns the schema declares NOT NULL.
    not_null: set[str] = field(default_factory=set)
    rowid: bool = False
    #: Stored min/max and null counts let the engine skip data a filter cannot match (Parquet).
    statistics: bool = False

    def column(self, name: str, what: str) -> str:
        if name in self.columns:
            return name
        raise RulesError(
            f"{what}: table {self.name!r} has no column {name!r}"
            f"{did_you_mean(name, self.columns)} (columns: {', '.join(self.columns)})"
        )


class Source:
    """A database or set of files to validate."""

    #: The SQL dialect rules are compiled to (SQLGlot's name for it).
    dialect = ""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.label = db.shown
        self._tables: dict[str, TableInfo] | None = None

    def tables(self) -> dict[str, TableInfo]:
        if self._tables is None:
            self._tables = self._reflect()
        return self._tables

    def table(self, name: str, what: str = "rules") -> TableInfo:
        found = self.tables()
        if name in found:
            return found[name]
        raise RulesError(
            f"{what}: {self.label} has no table {name!r}{did_you_mean(name, found)} "
            f"(tables: {', '.join(sorted(found)) or 'none'})"
        )

    def _reflect(self) -> dict[str, TableInfo]:
        raise NotImplementedError

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a read-only query."""
        raise NotImplementedError

    #: Count failing rows in a scan of its own that keeps only rows failing some rule: most
    #: rows pass, and the engine then skips every aggregate for them. Worth it where counting
    #: all rows is cheap (SQLite reads an index, DuckDB file metadata).
    sparse = False
    #: Queries of one scan run at once (SQLite reads rowid ranges on several connections).
    threads = 1

    def aggregate(self, table: TableInfo, aggs: Sequence[Agg], where: str) -> list[Any]:
        """One value per aggregate over the rows of ``table`` matching ``where``."""
        name = qi(table.name)
        if not self.sparse:
            sql = f"SELECT {', '.join(render_agg(a) for a in aggs)} FROM {name}"
            return list(self.fetch(sql + (f" WHERE {where}" if where else ""))[1][0])
        fails = [i for i, a in enumerate(aggs) if a[0] == FAIL]
        others = [i for i, a in enumerate(aggs) if a[0] != FAIL]
        tasks: list[tuple[list[int], str]] = []
        if table.statistics:
            # A filtered count per rule: the engine reads only the parts of the file whose
            # statistics do not already prove the rule, and clean data is never read at all.
            for i in fails:
                cond = f"({where}) AND ({aggs[i][1]})" if where else f"({aggs[i][1]})"
                tasks.append(([i], f"SELECT count(*) FROM {name} WHERE {cond}"))
            fails = []
        if others:
            dense = ", ".join(render_agg(aggs[i]) for i in others)
            tasks.append(
                (others, f"SELECT {dense} FROM {name}{' WHERE ' + where if where else ''}")
            )
        if fails:
            counts = ", ".join(render_agg(aggs[i]) for i in fails)
            any_fail = " OR ".join(f"({aggs[i][1]})" for i in fails)
            cond = f"({where}) AND ({any_fail})" if where else f"({any_fail})"
            for r in self._ranges(table):
                bound = f"rowid BETWEEN {r[0]} AND {r[1]} AND " if r else ""
                tasks.append((fails, f"SELECT {counts} FROM {name} WHERE {bound}{cond}"))
        out: list[Any] = [None] * len(aggs)
        with ThreadPoolExecutor(self.threads, thread_name_prefix="batchyard-check") as pool:
            results = list(pool.map(lambda t: self.fetch(t[1])[1][0], tasks))
        for (slots, _), row in zip(tasks, results, strict=True):
            for i, value in zip(slots, row, strict=True):
                out[i] = merge(aggs[i][0], out[i], value)
        return out

    def _ranges(self, table: TableInfo) -> list[tuple[int, int] | None]:
        return [None]

    def close(self) -> None:
        pass


# -- SQLite ----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: str | None, value: Any) -> int | None:
    """SQLite's ``x REGEXP pattern``, which SQLite leaves to the application."""
    if pattern is None or value is None:
        return None
    return 1 if _compiled(pattern).search(value if isinstance(value, str) else str(value)) else 0


class SQLiteSource(Source):
    """A SQLite file, read on one read-only connection per thread (each with ``REGEXP``)."""

    dialect = "sqlite"
    sparse = True
    split_rows = SPLIT_ROWS

    def __init__(self, db: Database | str, *, threads: int | None = None) -> None:
        super().__init__(db if isinstance(db, Database) else Database.of(db))
        self.threads = threads or min(os.cpu_count() or 1, 2)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn()  # a missing file, or one that is not a database, is refused here

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.db.connect(readonly=True)
            conn.create_function("regexp", 2, regexp, deterministic=True)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.db.wrap_errors(sql):
            cur = self._conn().execute(sql)
            rows = cur.fetchall()
        return [d[0] for d in cur.description or ()], rows

    def _reflect(self) -> dict[str, TableInfo]:
        with self.db.wrap_errors():
            return self._read_schema(self._conn())

    def _read_schema(self, conn: sqlite3.Connection) -> dict[str, TableInfo]:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out = {}
        for name in names:
            cols = conn.execute(f"PRAGMA table_info({qi(name)})").fetchall()
            pk = tuple(c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5]))
            info = TableInfo(
                name,
                {c[1]: str(c[2] or "") for c in cols},
                primary_key=pk,
                not_null={c[1] for c in cols if c[3]},
            )
            if pk:
                info.uniques.add(frozenset(pk))
                # An INTEGER PRIMARY KEY is the rowid: never NULL.
                if len(pk) == 1 and info.columns[pk[0]].upper() == "INTEGER":
                    info.not_null.add(pk[0])
            for idx in conn.execute(f"PRAGMA index_list({qi(name)})").fetchall():
                if idx[2] and not idx[4]:  # unique, not partial
                    cols_of = conn.execute(f"PRAGMA index_info({qi(idx[1])})").fetchall()
                    info.uniques.add(frozenset(c[2] for c in cols_of))
            sql = conn.execute(
                "SELECT type, sql FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()
            info.rowid = sql[0] == "table" and "WITHOUT ROWID" not in (sql[1] or "").upper()
            out[name] = info
        return out

    def _ranges(self, table: TableInfo) -> list[tuple[int, int] | None]:
        if not table.rowid or self.threads < 2:
            return [None]
        lo, hi = self.fetch(ends_sql("rowid", qi(table.name)))[1][0]
        if lo is None or hi - lo < self.split_rows:
            return [None]
        step = (hi - lo) // self.threads + 1
        return [(lo + i * step, min(lo + (i + 1) * step - 1, hi)) for i in range(self.threads)]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def merge(kind: str, old: Any, new: Any) -> Any:
    if old is None or new is None:
        return new if old is None else old
    return max(old, new) if kind == MAX else old + new


# -- PostgreSQL ------------------------------------------------------------------------------------


class PostgresSource(Source):
    """A PostgreSQL database, read on one read-only session (reflected through SQLAlchemy)."""

    dialect = "postgres"

    def __init__(self, db: Database | str) -> None:
        super().__init__(db if isinstance(db, Database) else Database.of(db))
        self._conn: Any = self.db.connect(readonly=True)
        self._lock = threading.Lock()

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock, self.db.wrap_errors(sql):
            cur = self._conn.execute(sql)
            rows = cur.fetchall()
            return [d.name for d in cur.description or ()], rows

    def _reflect(self) -> dict[str, TableInfo]:
        engine = self.db.engine(readonly=True, pool_size=1)
        try:
            with self.db.wrap_errors():
                return self._read_schema(sa.inspect(engine))
        finally:
            engine.dispose()

    def _read_schema(self, insp: Any) -> dict[str, TableInfo]:
        out = {}
        names = [*insp.get_table_names(), *insp.get_view_names()]
        for name in names:
            if name.startswith("by_") or name == "alembic_version":
                continue
            cols = insp.get_columns(name)
            pk = tuple(insp.get_pk_constraint(name).get("constrained_columns") or ())
            info = TableInfo(
                name,
                {c["name"]: str(c["type"]) for c in cols},
                primary_key=pk,
                not_null={c["name"] for c in cols if not c.get("nullable", True)},
            )
            if pk:
                info.uniques.add(frozenset(pk))
            for u in insp.get_unique_constraints(name):
                info.uniques.add(frozenset(u["column_names"]))
            for ix in insp.get_indexes(name):
                if ix.get("unique") and not (ix.get("dialect_options") or {}).get(
                    "postgresql_where"
                ):
                    info.uniques.add(frozenset(c for c in ix["column_names"] if c))
            out[name] = info
        return out

    def close(self) -> None:
        self._conn.close()


# -- files -----------------------------------------------------------------------------------------


class DuckDBSource(Source):
    """CSV, JSON/JSONL and Parquet files, folders of them and globs, as DuckDB views."""

    dialect = "duckdb"
    sparse = True

    def __init__(self, db: Database | str, *, threads: int | None = None) -> None:
        super().__init__(db if isinstance(db, Database) else Database.of(db))
        self.conn = self.db.connect(threads=threads)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[Any] = []

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._local.cursor = self.conn.cursor()
                self._cursors.append(cur)
        with self.db.wrap_errors(sql):
            result = cur.execute(sql)
            rows = result.fetchall()
        return [d[0] for d in result.description or ()], rows

    def _reflect(self) -> dict[str, TableInfo]:
        out = {}
        for name, sql in self.conn.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
        ).fetchall():
            cols = self.conn.execute(f"DESCRIBE {qi(name)}").fetchall()
            info = TableInfo(name, {c[0]: str(c[1]) for c in cols})
            # Parquet files keep min/max and null counts that let DuckDB skip what cannot match.
            info.statistics = "read_parquet(" in sql
            out[name] = info
        return out

    def close(self) -> None:
        for cur in self._cursors:
            cur.close()
        self.conn.close()


_SOURCES: dict[Dialect, type[Source]] = {
    Dialect.SQLITE: SQLiteSource,
    Dialect.POSTGRESQL: PostgresSource,
    Dialect.FILES: DuckDBSource,
}


def open_source(target: str, settings: Settings | None = None) -> Source:
    """The source for what a user typed: files, a glob or folder, a connection, a URL or a path."""
    if settings is not None and not is_file_target(target):
        target = settings.resolve(target)
    db = Database.of(target)
    return _SOURCES[db.dialect](db)
