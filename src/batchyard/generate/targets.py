"""Where ``generate`` writes: a SQLite file, a PostgreSQL database, or a folder of CSV or JSONL files.

Every target writes a chunk idempotently, so a chunk run again after a crash (its rows committed, its
item not yet recorded done) leaves the same rows, never twice as many: a database deletes the chunk's
key range and inserts it again in one transaction; a folder writes the chunk to a part file of its
own, renamed into place when complete, and joins the parts into one file per table at the end.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from batchyard.config import Settings
from batchyard.db import ENGINES, reason
from batchyard.db import connect as opener
from batchyard.errors import ItemError, ParamError, UsageError
from batchyard.generate.datasets.base import Table
from batchyard.generate.datasets.sql import POSTGRESQL, SQLITE, ident, quote
from batchyard.generate.spec import FORMATS, Spec
from batchyard.secrets import mask_url

# The journal mode is left as the file has it: a new file gets SQLite's rollback journal, which
# loads faster than WAL (pages are written once, not to the log and then to the file).
SQLITE_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
    "PRAGMA foreign_keys=OFF",  # keys resolve by construction; defects may break them on purpose
)


class Target(Protocol):
    name: str  # what to show (no password)

    def existing(self, tables: Sequence[str]) -> list[str]: ...
    def create(self, spec: Spec, *, replace: bool, fresh: bool) -> None: ...
    def write(self, spec: Spec, table: Table, start: int, stop: int) -> int: ...
    def finish(self, spec: Spec) -> list[str]: ...
    def default_manifest(self) -> Path | None: ...


def open_target(to: str | None, fmt: str | None, schema: str, settings: Settings) -> Target:
    """The target ``to`` names: a connection, a URL or a SQLite file; with ``fmt`` csv or jsonl, a folder."""
    if fmt is not None and fmt not in FORMATS:
        raise ParamError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt in ("csv", "jsonl"):
        return FileTarget(_path(to or schema), fmt)
    if fmt == "sqlite" and (to is None or "://" not in to):
        return SQLiteTarget(_path(to or f"{schema}.db"))
    url = settings.resolve(to or f"{schema}.db")
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ParamError(f"{mask_url(url)}: generate into a SQLite file, not memory")
        return SQLiteTarget(Path(parsed.database or ""))
    if fmt == "sqlite":
        raise ParamError(f"--format sqlite, but {mask_url(url)} is a {backend} database")
    if backend == "postgresql":
        return PostgresTarget(url)
    raise ParamError(f"{mask_url(url)}: generate writes to SQLite, PostgreSQL or files")


def _path(text: str) -> Path:
    return Path(text).expanduser().absolute()


# -- SQLite ----------------------------------------------------------------------------------------


_local = threading.local()


class SQLiteTarget:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def default_manifest(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.manifest.json")

    def connect(self, numbers: int = 0) -> sqlite3.Connection:
        """This thread's connection to the file, kept open across chunks with its numbers table.

        It is opened again when the file is not the one it was opened on (deleted, replaced).
        """
        cache: dict[Path, tuple[sqlite3.Connection, int]] = _local.__dict__.setdefault("sqlite", {})
        con, inode = cache.get(self.path, (None, -1))
        if con is None or _inode(self.path) != inode:
            if con is not None:
                con.close()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = opener.sqlite(self.path)
                for pragma in SQLITE_PRAGMAS:
                    con.execute(pragma)
            except (OSError, sqlite3.Error) as exc:
                raise UsageError(f"cannot open {self.path}: {exc}") from exc
            cache[self.path] = (con, _inode(self.path))
        if numbers:
            _fill_numbers(con, numbers)
        return con

    @staticmethod
    def close_all() -> None:
        """Close this thread's connections (the job is over)."""
        for con, _ in _local.__dict__.pop("sqlite", {}).values():
            con.close()

    def existing(self, tables: Sequence[str]) -> list[str]:
        if not self.path.exists():
            return []
        try:
            con = opener.sqlite(self.path, readonly=True)
            try:
                found = {
                    r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise UsageError(f"cannot read {self.path}: {exc}") from exc
        return [t for t in tables if t in found]

    def create(self, spec: Spec, *, replace: bool, fresh: bool = True) -> None:
        statements = []
        if replace:
            statements += [
                f"DROP TABLE IF EXISTS {ident(t.name)}" for t in reversed(spec.dataset.tables)
            ]
        statements += [spec.create_sql(t, SQLITE) for t in spec.dataset.tables]
        _transaction(self.connect(), statements, "creating tables")

    def write(self, spec: Spec, table: Table, start: int, stop: int) -> int:
        statements = [
            spec.delete_sql(table, start, stop),
            spec.insert_sql(table, SQLITE, start, stop),
            *spec.defect_sql(table, SQLITE, start, stop),
        ]
        _transaction(
            self.connect(numbers=spec.largest_chunk),
            statements,
            f"{table.name} rows {start}-{stop}",
        )
        return stop - start + 1

    def finish(self, spec: Spec) -> list[str]:
        statements = [sql for t in spec.dataset.tables for sql in spec.index_sql(t)]
        _transaction(self.connect(), statements, "building indexes")
        self.close_all()
        return statements


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except OSError:
        return -1


def _fill_numbers(con: sqlite3.Connection, count: int) -> None:
    """A temporary table of 0..count-1: scanning it is several times faster than a recursive CTE."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS by_numbers (i INTEGER PRIMARY KEY)")
    have = con.execute("SELECT count(*) FROM temp.by_numbers").fetchone()[0]
    if have < count:
        con.execute(
            f"INSERT INTO temp.by_numbers WITH RECURSIVE s(i) AS (SELECT {have} UNION ALL "
            f"SELECT i + 1 FROM s WHERE i < {count - 1}) SELECT i FROM s"
        )


def _transaction(con: sqlite3.Connection, statements: Sequence[str], what: str) -> None:
    try:
        con.execute("BEGIN IMMEDIATE")
        for sql in statements:
            con.execute(sql)
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise ItemError(f"{what}: {exc}") from exc


# -- PostgreSQL ------------------------------------------------------------------------------------


class PostgresTarget:
    def __init__(self, url: str) -> None:
        self.url = url
        self.name = mask_url(url)

    def default_manifest(self) -> None:
        return None

    def _run(self, statements: Sequence[str], what: str) -> list[Any]:
        """Run ``statements`` in one transaction; return the rows of the last one."""
        try:
            raw = ENGINES.get(self.url).raw_connection()
        except UsageError:
            raise
        except Exception as exc:  # the driver's own errors are not wrapped here
            raise UsageError(f"cannot connect to {self.name}: {reason(exc)}") from exc
        try:
            cur = raw.cursor()
            rows: list[Any] = []
            for sql in statements:
                cur.execute(sql)
                rows = list(cur.fetchall()) if cur.description else []
            raw.commit()
            return rows
        except Exception as exc:
            raw.rollback()
            raise ItemError(f"{what}: {reason(exc)}") from exc
        finally:
            raw.close()

    def existing(self, tables: Sequence[str]) -> list[str]:
        listed = ", ".join(quote(t) for t in tables)
        try:
            rows = self._run(
                [
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    f"current_schema() AND table_name IN ({listed})"
                ],
                "listing tables",
            )
        except ItemError as exc:
            raise UsageError(f"{self.name}: {exc}") from exc
        found = {r[0] for r in rows}
        return [t for t in tables if t in found]

    def create(self, spec: Spec, *, replace: bool, fresh: bool = True) -> None:
        statements = []
        if replace:
            statements += [
                f"DROP TABLE IF EXISTS {ident(t.name)} CASCADE"
                for t in reversed(spec.dataset.tables)
            ]
        statements += [
            spec.create_sql(t, POSTGRESQL, foreign_keys=False) for t in spec.dataset.tables
        ]
        self._run(statements, "creating tables")

    def write(self, spec: Spec, table: Table, start: int, stop: int) -> int:
        self._run(
            [
                spec.delete_sql(table, start, stop),
                spec.insert_sql(table, POSTGRESQL, start, stop),
                *spec.defect_sql(table, POSTGRESQL, start, stop),
            ],
            f"{table.name} rows {start}-{stop}",
        )
        return stop - start + 1

    def finish(self, spec: Spec) -> list[str]:
        statements = [sql for t in spec.dataset.tables for sql in spec.index_sql(t)]
        keys = [fk for t in spec.dataset.tables for fk in spec.foreign_keys(t)]
        if keys:
            names = ", ".join(quote(name) for name, _ in keys)
            have = {
                r[0]
                for r in self._run(
                    [f"SELECT conname FROM pg_constraint WHERE conname IN ({names})"],
                    "reading keys",
                )
            }
            statements += [sql for name, sql in keys if name not in have]
        statements += [f"ANALYZE {ident(t.name)}" for t in spec.dataset.tables]
        self._run(statements, "building indexes and foreign keys")
        return statements


# -- files -----------------------------------------------------------------------------------------


class FileTarget:
    """One file per table in a folder: CSV (with a header) or JSON Lines."""

    def __init__(self, folder: Path, fmt: str) -> None:
        self.folder = folder
        self.format = fmt
        self.name = str(folder)

    def default_manifest(self) -> Path:
        return self.folder / "manifest.json"

    def file(self, table: str) -> Path:
        return self.folder / f"{table}.{self.format}"

    def _parts(self, table: str) -> list[Path]:
        return sorted(self.folder.glob(f".{table}.*.part"))

    def existing(self, tables: Sequence[str]) -> list[str]:
        return [t for t in tables if self.file(t).exists()]

    def create(self, spec: Spec, *, replace: bool, fresh: bool = True) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot make folder {self.folder}: {exc}") from exc
        for table in spec.dataset.tables:
            # Parts left by another job are stale; this job's own (a resume) are its progress.
            pattern = f".{table.name}.*.part*" if fresh else f".{table.name}.*.part.tmp"
            stale = [*self.folder.glob(pattern)]
            if replace:
                stale.append(self.file(table.name))
            for path in stale:
                path.unlink(missing_ok=True)

    def write(self, spec: Spec, table: Table, start: int, stop: int) -> int:
        part = self.folder / f".{table.name}.{start:012d}.part"
        tmp = part.with_name(part.name + ".tmp")
        con = _scratch(spec.largest_chunk)
        try:
            for sql in [
                f"DROP TABLE IF EXISTS {ident(table.name)}",
                spec.create_sql(table, SQLITE, foreign_keys=False),
                spec.insert_sql(table, SQLITE, start, stop),
                *spec.defect_sql(table, SQLITE, start, stop),
            ]:
                con.execute(sql)
            cursor = con.execute(_lines_sql(table, self.format))
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                while rows := cursor.fetchmany(10_000):
                    fh.write("\n".join(r[0] for r in rows))
                    fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
        except sqlite3.Error as exc:
            raise ItemError(f"{table.name} rows {start}-{stop}: {exc}") from exc
        finally:
            con.execute(f"DROP TABLE IF EXISTS {ident(table.name)}")
        os.replace(tmp, part)
        return stop - start + 1

    def finish(self, spec: Spec) -> list[str]:
        written = []
        for table in spec.dataset.tables:
            final, parts = self.file(table.name), self._parts(table.name)
            if final.exists() and not parts:
                continue  # joined by an earlier run of this step
            tmp = final.with_name(f".{final.name}.tmp")
            with open(tmp, "wb") as out:
                if self.format == "csv":
                    out.write((",".join(c.name for c in table.columns) + "\n").encode())
                for part in parts:
                    with open(part, "rb") as fh:
                        while block := fh.read(1 << 20):
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
            for part in parts:
                part.unlink()
            written.append(str(final))
        return written


def _scratch(numbers: int) -> sqlite3.Connection:
    """This thread's in-memory database, where a chunk is made before it is written to a file."""
    con: sqlite3.Connection | None = _local.__dict__.get("scratch")
    if con is None:
        con = _local.scratch = opener.scratch()
    _fill_numbers(con, numbers)
    return con


def _lines_sql(table: Table, fmt: str) -> str:
    """Each row as one line of CSV or JSON, made by SQLite (much faster than Python per value).

    CSV: NULL is an empty field, booleans are true/false, decimals keep their scale, and text is
    quoted when it holds a comma, a quote or a line break. JSON: booleans are true/false, decimals
    are numbers written with their scale.
    """
    parts = []
    for col in table.columns:
        name = ident(col.name)
        scale = col.scale or 0
        if col.type == "boolean":
            value = f"CASE WHEN {name} THEN 'true' WHEN NOT {name} THEN 'false' END"
            parts.append(value if fmt == "csv" else f"{quote(col.name)}, json({value})")
        elif col.type == "decimal":
            value = f"CASE WHEN typeof({name}) IN ('integer', 'real') THEN printf('%.{scale}f', {name}) END"
            parts.append(value if fmt == "csv" else f"{quote(col.name)}, json({value})")
        elif fmt == "jsonl":
            parts.append(f"{quote(col.name)}, {name}")
        elif col.type in ("integer", "float"):
            parts.append(name)
        else:
            needs_quotes = " OR ".join(
                f"instr({name}, {c})" for c in ("','", "'\"'", "char(10)", "char(13)")
            )
            parts.append(
                f"CASE WHEN {needs_quotes} THEN '\"' || replace({name}, '\"', '\"\"') || '\"' "
                f"ELSE {name} END"
            )
    if fmt == "csv":
        # printf's %s writes NULL as nothing: an empty field.
        line = f"printf('{','.join(['%s'] * len(parts))}', {', '.join(parts)})"
    else:
        line = f"json_object({', '.join(parts)})"
    order = ", ".join(ident(c) for c in table.primary_key)
    return f"SELECT {line} FROM {ident(table.name)} ORDER BY {order}"
