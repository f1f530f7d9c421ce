"""Restore: the manifest checked before anything is read or written (see
:mod:`batchyard.snapshot.manifest`), then the snapshot put back whole.

A SQLite backup is unpacked beside the target and renamed over it. A ``pg_dump`` backup is turned
into SQL by ``pg_restore`` and run by ``psql`` in one transaction; a ``COPY`` backup is loaded in one
transaction too. Each table's rows are counted before that commit and must be the manifest's. So a
restore that fails, or is stopped, leaves the target as it was (a database it made is dropped).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from batchyard.db import Database, parse_url, quote_literal, reason
from batchyard.db import connect as opener
from batchyard.db import quote_identifier as qi
from batchyard.db.url import psycopg_dsn
from batchyard.errors import ChecksumError, Interrupted, ManifestError, UsageError
from batchyard.move.reflect import after_load_sql, create_table_sql
from batchyard.secrets import mask_url
from batchyard.snapshot.backup import (
    DUMP_FILE,
    MANIFEST,
    SQLITE_FILE,
    Stop,
    backend,
    pg_env,
    pg_tool,
    table_from_dict,
)
from batchyard.snapshot.manifest import check_rows, expected_rows

_BLOCK = 1 << 20


def check_fits(data: dict[str, Any], url: str) -> None:
    wanted = "sqlite" if data.get("backend") == "sqlite" else "postgresql"
    if backend(url) != wanted:
        raise UsageError(
            f"this backup is of a {data.get('backend')} database and restores into {wanted} "
            f"only, not {mask_url(url)}; to move between them restore it, then `batchyard migrate`"
        )


def existing_tables(url: str) -> list[str]:
    """The user tables the target holds now (none when it does not exist yet)."""
    db = Database.of(url)
    if backend(url) == "sqlite":
        if db.path is None or not db.path.is_file():
            return []
        try:
            with contextlib.closing(opener.sqlite(db.path, readonly=True)) as con:
                return [
                    r[0]
                    for r in con.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' "
                        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                    )
                ]
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"target {mask_url(url)} is not a SQLite database ({exc})") from exc
    import psycopg

    try:
        with opener.postgres(db.dsn, autocommit=False) as pg:
            return [
                f"{r[0]}.{r[1]}" if r[0] != "public" else str(r[1])
                for r in pg.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                    "table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
                )
            ]
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            return []
        raise UsageError(f"cannot connect to the target {mask_url(url)}: {exc}") from exc


def check_target(url: str, replace: bool) -> None:
    found = existing_tables(url)
    if found and not replace:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise UsageError(
            f"the target {mask_url(url)} is not empty (it has: {shown}); restore into a new "
            "database, or pass --replace to replace what it holds"
        )


# -- SQLite --------------------------------------------------------------------------------------


def restore_sqlite(
    folder: Path, data: dict[str, Any], url: str, should_stop: Stop
) -> dict[str, int]:
    """Unpack the backup beside the target, check it and its row counts, rename it over the target;
    return the rows of each table restored."""
    target = Path(parse_url(url).database or "").absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore.part")
    expected = next(f["sha256"] for f in data["files"] if f["file"] == SQLITE_FILE)
    digest = hashlib.sha256()
    try:
        with (folder / SQLITE_FILE).open("rb") as raw:
            reader = _Hashing(raw, digest)
            with gzip.GzipFile(fileobj=cast(Any, reader), mode="rb") as fin, tmp.open("wb") as fout:
                while block := fin.read(_BLOCK):
                    if should_stop():
                        raise Interrupted("restore stopped; it starts again on resume")
                    fout.write(block)
                fout.flush()
                os.fsync(fout.fileno())
        # The file was checked before; this catches a change made while it was being read.
        if digest.hexdigest() != expected:
            raise ChecksumError(f"checksum error: {folder / SQLITE_FILE} changed while restoring")
        rows = _sqlite_rows(tmp, folder / SQLITE_FILE)
        check_rows(data, dict(rows))
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{target}{suffix}").unlink()
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return rows


def _sqlite_rows(path: Path, source: Path) -> dict[str, int]:
    """The rows of each table of an unpacked backup, once SQLite finds the file whole."""
    con = opener.sqlite(path)
    try:
        ok = con.execute("PRAGMA quick_check").fetchone()
        if not ok or ok[0] != "ok":
            raise UsageError(f"{source}: the restored database is damaged ({ok})")
        names = [
            str(r[0])
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: int(con.execute(f"SELECT count(*) FROM {qi(n)}").fetchone()[0]) for n in names}
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{source}: the restored database is damaged ({exc})") from exc
    finally:
        con.close()


class _Hashing:
    """A file object that hashes what is read through it."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self._raw = raw
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        block: bytes = self._raw.read(size)  # gzip asks for sizes; the digest sees every byte
        self._digest.update(block)
        return block

    def close(self) -> None:
        pass


# -- PostgreSQL ----------------------------------------------------------------------------------


def ensure_database(url: str) -> bool:
    """Create the target database when it does not exist (restore into a new database); say
    whether it was made here."""
    import psycopg

    try:
        opener.postgres(Database.of(url).dsn).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise UsageError(f"cannot connect to the target {mask_url(url)}: {exc}") from exc
    name = parse_url(url).database or ""
    try:
        with opener.postgres(_admin_dsn(url)) as pg:  # autocommit: CREATE DATABASE needs it
            pg.execute(f"CREATE DATABASE {qi(name)}")
    except psycopg.Error as exc:
        raise UsageError(f"cannot create the database {name!r}: {exc}") from exc
    return True


def _admin_dsn(url: str) -> str:
    """The DSN of the server's ``postgres`` database, to create or drop the target from."""
    return psycopg_dsn(parse_url(url).set(database="postgres"))


@contextlib.contextmanager
def new_database(url: str) -> Iterator[None]:
    """The target database, made when it does not exist and dropped again if the restore fails,
    so a failed restore into a new database leaves nothing behind."""
    import psycopg

    made = ensure_database(url)
    try:
        yield
    except BaseException:
        if made:
            with (
                contextlib.suppress(psycopg.Error),
                opener.postgres(_admin_dsn(url)) as pg,  # autocommit: DROP DATABASE needs it
            ):
                pg.execute(f"DROP DATABASE IF EXISTS {qi(parse_url(url).database or '')}")
        raise


def _drop_sql(url: str) -> str:
    """SQL that empties the target: every user schema dropped, ``public`` made anew."""
    with opener.postgres(Database.of(url).dsn, autocommit=False) as pg:
        schemas = [
            str(r[0])
            for r in pg.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema'"
            )
        ]
    drops = [f"DROP SCHEMA {qi(s)} CASCADE;" for s in schemas]
    return " ".join([*drops, "CREATE SCHEMA public;"])


#: What the row-count check of a pg_dump restore raises with, to be told from other errors.
_ROWS_MARK = "batchyard_rows_differ"


def _rows_check_sql(data: dict[str, Any]) -> str:
    """A ``DO`` block, run last in the restore's transaction, that fails it at the first table
    whose rows are not what the manifest says (or that is not there)."""
    tag = f"$by{uuid.uuid4().hex}$"
    checks = []
    for t in data["tables"]:
        name, rows, schema = str(t["table"]), int(t["rows"]), t.get("schema")
        if not isinstance(schema, str):  # an older manifest: "schema.table" unless in public
            schema = name.partition(".")[0] if "." in name else "public"
        if schema != "public":
            name = name.removeprefix(f"{schema}.")
        where = quote_literal(f"{qi(schema)}.{qi(name)}")
        shown = quote_literal(str(t["table"]))
        checks.append(
            f"IF to_regclass({where}) IS NULL THEN n := -1; "
            f"ELSE EXECUTE 'SELECT count(*) FROM ' || {where} INTO n; END IF; "
            f"IF n <> {rows} THEN RAISE EXCEPTION '{_ROWS_MARK} %', "
            f"json_build_array({shown}, {rows}, n)::text; END IF;"
        )
    return f"DO {tag} DECLARE n bigint; BEGIN {' '.join(checks)} END {tag};"


def restore_pg_dump(folder: Path, data: dict[str, Any], url: str, replace: bool) -> dict[str, int]:
    restore, psql = pg_tool("pg_restore"), pg_tool("psql")
    if restore is None or psql is None:
        raise UsageError("restoring a pg_dump backup needs pg_restore and psql (postgresql)")
    with new_database(url):
        prefix = _drop_sql(url) if replace else ""
        script = subprocess.Popen(
            [str(restore), "--no-owner", "--no-privileges", "-f", "-", str(folder / DUMP_FILE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=pg_env(url),
        )
        args = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
        if prefix:
            args += ["-c", prefix]
        # The rows are counted after the load, in its transaction: a mismatch commits nothing.
        args += ["-f", "-", "-c", _rows_check_sql(data)]
        loaded = subprocess.run(
            args, stdin=script.stdout, capture_output=True, text=True, env=pg_env(url)
        )
        assert script.stdout is not None
        script.stdout.close()
        _, dump_err = script.communicate()
        if script.returncode != 0 or loaded.returncode != 0:
            differ = re.search(rf"{_ROWS_MARK} (\[.*\])", loaded.stderr)
            if differ:
                table, said, got = json.loads(differ.group(1))
                found = {table: None if got < 0 else got}
                check_rows({"tables": [{"table": table, "rows": said}]}, found)
            detail = (
                dump_err.decode(errors="replace") if script.returncode else ""
            ) or loaded.stderr
            lines = [line for line in detail.splitlines() if line.strip()]
            raise UsageError(
                f"restore into {mask_url(url)} failed, nothing was changed: "
                f"{mask_url(' '.join(lines[-3:]))[:500]}"
            )
    return expected_rows(data)


def restore_copy(
    folder: Path, data: dict[str, Any], url: str, replace: bool, should_stop: Stop
) -> dict[str, int]:
    files = {t["table"]: t["file"] for t in data["tables"]}
    try:
        tables = [table_from_dict(t) for t in data["schema"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{folder / MANIFEST}: its schema is not readable ({exc!r})") from exc
    unlisted = [t.name for t in tables if t.name not in files]
    if unlisted:
        raise ManifestError(f"{folder / MANIFEST}: no file holds the rows of {unlisted[0]!r}")
    known = {t.name for t in tables}
    rows: dict[str, int | None] = {}
    with new_database(url):
        prefix = _drop_sql(url) if replace else ""
        # One transaction: the schema, every table's rows and the count check commit together.
        with opener.postgres(Database.of(url).dsn, autocommit=False) as pg:
            if prefix:
                pg.execute(prefix)
            for table in tables:
                pg.execute(create_table_sql(table, "postgresql", with_key=True, keep_declared=True))
            for table in tables:
                if should_stop():
                    raise Interrupted("restore stopped; it starts again on resume")
                rows[table.name] = _copy_in(pg, folder / files[table.name], table)
            check_rows(data, rows)
            for table in tables:
                for sql in after_load_sql(table, "postgresql", with_key=True, known=known):
                    pg.execute(sql)
    return {t: int(n or 0) for t, n in rows.items()}


def _copy_in(pg: Any, file: Path, table: Any) -> int:
    """Load one table's COPY file; the rows the table holds then, as the server counts them."""
    import psycopg

    cols = ", ".join(qi(c) for c in table.column_names)
    try:
        with (
            gzip.open(file, "rb") as fin,
            pg.cursor() as cur,
            cur.copy(f"COPY {qi(table.name)} ({cols}) FROM STDIN") as copy,
        ):
            while block := fin.read(_BLOCK):
                copy.write(block)
        counted = pg.execute(f"SELECT count(*) FROM {qi(table.name)}").fetchone()
        return int(counted[0])
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        first = reason(exc)
        raise ManifestError(
            f"restore refused, nothing was changed: {file} does not load into table "
            f"{table.name!r} ({first}); the backup is damaged or was changed: restore another one"
        ) from exc
    except (OSError, EOFError) as exc:
        raise ManifestError(f"{file}: not a readable COPY file ({exc})") from exc
