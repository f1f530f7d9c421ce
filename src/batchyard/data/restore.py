"""Restore: every checksum checked before anything is written, then the snapshot put back whole.

A SQLite backup is unpacked beside the target and renamed over it. A ``pg_dump`` backup is turned
into SQL by ``pg_restore`` and run by ``psql`` in one transaction; a ``COPY`` backup is loaded in one
transaction too. So a restore that fails, or is stopped, leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from batchyard.config import mask_url
from batchyard.data.backup import (
    DUMP_FILE,
    SQLITE_FILE,
    Progress,
    Stop,
    backend,
    list_backups,
    manifest_checksum,
    pg_env,
    pg_tool,
    table_from_dict,
)
from batchyard.data.files import MANIFEST
from batchyard.errors import ChecksumError, Interrupted, UsageError
from batchyard.move.reflect import after_load_sql, create_table_sql, qi

_BLOCK = 1 << 20


def find_backup(given: str, root: Path) -> Path:
    """A backup folder from a path, a folder name under ``root`` or a name (its newest backup)."""
    path = Path(given).expanduser()
    if path.is_dir() and (path / MANIFEST).is_file():
        return path.absolute()
    if (root / given / MANIFEST).is_file():
        return root / given
    newest = list_backups(root, given)
    if newest:
        return Path(newest[-1]["path"])
    known = sorted({str(b["name"]) for b in list_backups(root)})
    listed = ", ".join(known) if known else "none"
    raise UsageError(
        f"no backup named {given!r} in {root} (backups there: {listed}); "
        "see them with `batchyard data backups`"
    )


def read_checked(folder: Path) -> dict[str, Any]:
    """The manifest, after checking its own checksum and every file's size and sha256."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ChecksumError(f"checksum error: {path} is not readable ({exc})") from exc
    if not isinstance(data, dict) or "batchyard_backup" not in data:
        raise UsageError(f"{path}: not a batchyard backup manifest")
    if data.get("checksum") != manifest_checksum(data):
        raise ChecksumError(f"checksum error: {path} was changed since the backup was taken")
    for entry in data.get("files") or []:
        file = folder / str(entry["file"])
        if not file.is_file():
            raise ChecksumError(f"checksum error: {file} is missing from the backup")
        digest = hashlib.sha256()
        with file.open("rb") as f:
            while block := f.read(_BLOCK):
                digest.update(block)
        if digest.hexdigest() != entry["sha256"] or file.stat().st_size != entry["bytes"]:
            raise ChecksumError(
                f"checksum error: {file} does not match the sha256 in its manifest "
                f"({entry['sha256'][:12]}...); the backup is damaged"
            )
    return data


def check_fits(data: dict[str, Any], url: str) -> None:
    wanted = "sqlite" if data.get("backend") == "sqlite" else "postgresql"
    if backend(url) != wanted:
        raise UsageError(
            f"this backup is of a {data.get('backend')} database and restores into {wanted} "
            f"only, not {mask_url(url)}; to move between them restore it, then `batchyard migrate`"
        )


def existing_tables(url: str) -> list[str]:
    """The user tables the target holds now (none when it does not exist yet)."""
    if backend(url) == "sqlite":
        path = Path(sa.make_url(url).database or "")
        if not path.is_file():
            return []
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [
                r[0]
                for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"target {mask_url(url)} is not a SQLite database ({exc})") from exc
        finally:
            con.close()
    import psycopg

    from batchyard.move.copy import pg_dsn

    try:
        with psycopg.connect(pg_dsn(url)) as pg:
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
    folder: Path, data: dict[str, Any], url: str, progress: Progress, should_stop: Stop
) -> None:
    target = Path(sa.make_url(url).database or "").absolute()
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
        con = sqlite3.connect(tmp)
        try:
            ok = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
        if not ok or ok[0] != "ok":
            raise UsageError(f"{folder / SQLITE_FILE}: the restored database is damaged ({ok})")
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{target}{suffix}").unlink()
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    progress(sum(int(t.get("rows") or 0) for t in data.get("tables") or []))


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


def ensure_database(url: str) -> None:
    """Create the target database when it does not exist (restore into a new database)."""
    import psycopg

    from batchyard.move.copy import pg_dsn

    try:
        psycopg.connect(pg_dsn(url)).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise UsageError(f"cannot connect to the target {mask_url(url)}: {exc}") from exc
    name = sa.make_url(url).database or ""
    admin = pg_dsn(sa.make_url(url).set(database="postgres").render_as_string(False))
    try:
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f"CREATE DATABASE {qi(name)}")
    except psycopg.Error as exc:
        raise UsageError(f"cannot create the database {name!r}: {exc}") from exc


def _drop_sql(url: str) -> str:
    """SQL that empties the target: every user schema dropped, ``public`` made anew."""
    import psycopg

    from batchyard.move.copy import pg_dsn

    with psycopg.connect(pg_dsn(url)) as pg:
        schemas = [
            str(r[0])
            for r in pg.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema'"
            )
        ]
    drops = [f"DROP SCHEMA {qi(s)} CASCADE;" for s in schemas]
    return " ".join([*drops, "CREATE SCHEMA public;"])


def restore_pg_dump(
    folder: Path, data: dict[str, Any], url: str, replace: bool, progress: Progress
) -> None:
    restore, psql = pg_tool("pg_restore"), pg_tool("psql")
    if restore is None or psql is None:
        raise UsageError("restoring a pg_dump backup needs pg_restore and psql (postgresql)")
    ensure_database(url)
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
    args += ["-f", "-"]
    loaded = subprocess.run(
        args, stdin=script.stdout, capture_output=True, text=True, env=pg_env(url)
    )
    assert script.stdout is not None
    script.stdout.close()
    _, dump_err = script.communicate()
    if script.returncode != 0 or loaded.returncode != 0:
        detail = (dump_err.decode(errors="replace") if script.returncode else "") or loaded.stderr
        lines = [line for line in detail.splitlines() if line.strip()]
        raise UsageError(
            f"restore into {mask_url(url)} failed, nothing was changed: "
            f"{mask_url(' '.join(lines[-3:]))[:500]}"
        )
    progress(sum(int(t.get("rows") or 0) for t in data.get("tables") or []))


def restore_copy(
    folder: Path,
    data: dict[str, Any],
    url: str,
    replace: bool,
    progress: Progress,
    should_stop: Stop,
) -> None:
    import psycopg

    from batchyard.move.copy import pg_dsn

    ensure_database(url)
    prefix = _drop_sql(url) if replace else ""
    tables = [table_from_dict(t) for t in data["schema"]]
    files = {t["table"]: t["file"] for t in data["tables"]}
    known = {t.name for t in tables}
    with psycopg.connect(pg_dsn(url)) as pg:
        if prefix:
            pg.execute(prefix)
        for table in tables:
            pg.execute(create_table_sql(table, "postgresql", with_key=True, keep_declared=True))
        for table in tables:
            if should_stop():
                raise Interrupted("restore stopped; it starts again on resume")
            cols = ", ".join(qi(c) for c in table.column_names)
            rows = 0
            with (
                gzip.open(folder / files[table.name], "rb") as fin,
                pg.cursor().copy(f"COPY {qi(table.name)} ({cols}) FROM STDIN") as copy,
            ):
                while block := fin.read(_BLOCK):
                    copy.write(block)
                    rows += block.count(b"\n")
            progress(rows)
        for table in tables:
            for sql in after_load_sql(table, "postgresql", with_key=True, known=known):
                pg.execute(sql)
