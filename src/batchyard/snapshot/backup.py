"""Backups: named, compressed, consistent snapshots of a database, in a folder with a manifest.

| source     | how                                                                      | files                    |
|------------|--------------------------------------------------------------------------|--------------------------|
| SQLite     | the online backup API (a consistent copy while others write), gzip       | ``database.sqlite.gz``   |
| PostgreSQL | ``pg_dump -Fc`` when the tools are installed (compressed by pg_dump)     | ``database.dump``        |
| PostgreSQL | otherwise ``COPY`` of every table in one repeatable-read snapshot, gzip  | ``tables/*.copy.gz``     |

Each backup is a folder ``NAME-TIMESTAMP`` whose ``manifest.json`` holds the sha256 of every file
and a checksum of itself. It is written as ``.NAME-TIMESTAMP.part`` and renamed once complete, so a
listing never shows a half-taken backup.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchyard.db import Database, parse_url
from batchyard.db import connect as opener
from batchyard.db import quote_identifier as qi
from batchyard.db.types import ColumnType
from batchyard.errors import Interrupted, UsageError
from batchyard.move.migrate import connect
from batchyard.move.reflect import Column, ForeignKey, Index, Table, reflect
from batchyard.secrets import mask_url

FORMAT_VERSION = 1
#: gzip level 1: about three times faster than the default for a slightly larger file.
GZIP_LEVEL = 1
METHODS = ("auto", "pg_dump", "copy")
SQLITE_FILE = "database.sqlite.gz"
DUMP_FILE = "database.dump"
MANIFEST = "manifest.json"
_BLOCK = 1 << 20

Progress = Callable[[int], None]
Stop = Callable[[], bool]


def backend(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``: the database ``url`` names."""
    return Database.of(url).dialect.value


def default_name(source: str, url: str) -> str:
    """A backup's name when none is given: the connection name, else the database's name."""
    if "://" not in source and backend(url) != "sqlite":
        return safe_name(source)
    database = parse_url(url).database or "database"
    return safe_name(Path(database).stem if backend(url) == "sqlite" else database)


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "backup"
    return cleaned[:80]


# -- PostgreSQL tools ------------------------------------------------------------------------------


def pg_tool(name: str) -> Path | None:
    """The newest ``name`` (pg_dump, pg_restore, psql) on this machine, or None."""

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"postgresql/(\d+)", path)
        return (int(found.group(1)),) if found else (0,)

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if Path(folder, name).is_file():
            return Path(folder, name)
    found = shutil.which(name)
    return Path(found) if found else None


def pg_env(url: str, database: str | None = None) -> dict[str, str]:
    """libpq environment for ``url``: the password travels here, never on a command line.

    What the URL leaves out (a port, a password) comes from the ``PG*`` variables already set,
    as it does when batchyard itself connects with the same URL, so the tools reach the same
    server as the rest of the job."""
    parsed = parse_url(url)
    env = dict(os.environ)
    pairs = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": database or parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
    }
    env.update({k: str(v) for k, v in pairs.items() if v})
    return env


def run_tool(args: list[str], url: str, what: str, **kwargs: Any) -> None:
    """Run a PostgreSQL tool; its error (password masked) becomes a clear UsageError."""
    proc = subprocess.run(args, env=pg_env(url), capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout or "").splitlines() if line.strip()]
        detail = mask_url(" ".join(lines[-3:]))[:500]
        raise UsageError(f"{what} failed for {mask_url(url)}: {detail}")


def method_for(url: str, method: str) -> str:
    if method not in METHODS:
        raise UsageError(f"method {method!r}: use one of {', '.join(METHODS)}")
    if backend(url) == "sqlite":
        if method != "auto":
            raise UsageError(f"method {method!r} is for PostgreSQL; a SQLite database uses auto")
        return "sqlite"
    if method == "auto":
        return "pg_dump" if pg_tool("pg_dump") else "copy"
    if method == "pg_dump" and pg_tool("pg_dump") is None:
        raise UsageError("pg_dump is not installed here; use method copy (or install postgresql)")
    return method


# -- the folder --------------------------------------------------------------------------------


def stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def folder_for(root: Path, name: str, now: datetime) -> Path:
    """``root/NAME-TIMESTAMP``, with a counter when a backup of that name exists this second."""
    base = f"{name}-{stamp(now)}"
    path, n = root / base, 2
    while path.exists() or (root / f".{path.name}.part").exists():
        path, n = root / f"{base}-{n}", n + 1
    return path


def part_folder(final: Path) -> Path:
    return final.parent / f".{final.name}.part"


def manifest_checksum(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as a manifest holds it."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def seal(folder: Path, data: dict[str, Any]) -> Path:
    """Write the manifest (with the files' checksums and its own) and move the folder in place."""
    data = dict(data)
    data["files"] = [
        {"file": str(p.relative_to(folder)), "bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]
    data["checksum"] = manifest_checksum(data)
    path = folder / MANIFEST
    tmp = path.with_name(MANIFEST + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    final = folder.parent / folder.name.removeprefix(".").removesuffix(".part")
    os.replace(folder, final)
    return final


# -- taking a snapshot -------------------------------------------------------------------------


def gzip_file(src: Path, dest: Path, should_stop: Stop) -> None:
    with src.open("rb") as fin, gzip.open(dest, "wb", compresslevel=GZIP_LEVEL) as fout:
        while block := fin.read(_BLOCK):
            if should_stop():
                raise Interrupted("backup stopped; it is taken again on resume")
            fout.write(block)


def backup_sqlite(
    url: str, folder: Path, progress: Progress, should_stop: Stop
) -> list[dict[str, Any]]:
    """Copy a SQLite file with the online backup API, then gzip it; return its tables' rows."""
    path = Database.of(url).path
    if path is None or not path.is_file():
        raise UsageError(f"source {mask_url(url)}: no such SQLite file {str(path or '')!r}")
    raw = folder / "database.sqlite"
    src = opener.sqlite(path)
    dst = opener.sqlite(raw)
    try:

        def step(_status: int, remaining: int, total: int) -> None:
            if should_stop():
                raise Interrupted("backup stopped; it is taken again on resume")

        src.backup(dst, pages=4096, progress=step)
        # The copy stands alone: no -wal file beside it is needed to read it.
        dst.execute("PRAGMA journal_mode=DELETE")
        tables = _sqlite_counts(dst)
    finally:
        dst.close()
        src.close()
    gzip_file(raw, folder / SQLITE_FILE, should_stop)
    raw.unlink()
    progress(sum(t["rows"] for t in tables))
    return tables


def _sqlite_counts(con: sqlite3.Connection) -> list[dict[str, Any]]:
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return [
        {"table": n, "rows": int(con.execute(f"SELECT count(*) FROM {qi(n)}").fetchone()[0])}
        for n in names
    ]


def pg_counts(pg: Any) -> list[dict[str, Any]]:
    """Rows of every table, as the transaction of ``pg`` sees them."""
    names = [
        (r[0], r[1])
        for r in pg.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE "
            "table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
            "'information_schema') ORDER BY 1, 2"
        )
    ]
    out = []
    for schema, name in names:
        count = pg.execute(f"SELECT count(*) FROM {qi(schema)}.{qi(name)}").fetchone()
        shown = name if schema == "public" else f"{schema}.{name}"
        out.append({"table": shown, "schema": schema, "rows": int(count[0]) if count else 0})
    return out


def backup_pg_dump(url: str, folder: Path, progress: Progress) -> list[dict[str, Any]]:
    """``pg_dump`` of the snapshot the rows are counted in, so the manifest's counts are the
    dump's even while others write."""
    import psycopg

    tool = pg_tool("pg_dump")
    assert tool is not None  # method_for chose pg_dump only when it is there
    with opener.postgres(Database.of(url).dsn, autocommit=False) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        row = pg.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        tables = pg_counts(pg)
        run_tool(
            [
                str(tool),
                "--format=custom",
                "--compress=1",
                "--no-sync",
                f"--snapshot={row[0]}",
                "-f",
                str(folder / DUMP_FILE),
            ],
            url,
            "pg_dump",
        )
        pg.rollback()
    progress(sum(t["rows"] for t in tables))
    return tables


def backup_copy(
    url: str, folder: Path, progress: Progress, should_stop: Stop
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every table by ``COPY`` inside one repeatable-read transaction: one consistent snapshot."""

    engine = connect(url, "source")
    try:
        found = reflect(engine)
    finally:
        engine.dispose()
    (folder / "tables").mkdir()
    tables = []
    with opener.postgres(Database.of(url).dsn, autocommit=False) as pg:
        pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for n, table in enumerate(found):
            if should_stop():
                raise Interrupted("backup stopped; it is taken again on resume")
            file = f"tables/{n:04d}-{safe_name(table.name)}.copy.gz"
            cols = ", ".join(qi(c) for c in table.column_names)
            rows = 0
            with (
                gzip.open(folder / file, "wb", compresslevel=GZIP_LEVEL) as out,
                pg.cursor().copy(f"COPY {qi(table.name)} ({cols}) TO STDOUT") as copy,
            ):
                for data in copy:
                    out.write(data)
                    rows += bytes(data).count(b"\n")
            progress(rows)
            tables.append({"table": table.name, "rows": rows, "file": file})
        pg.rollback()
    return tables, [table_to_dict(t) for t in found]


# -- the schema of a COPY backup ---------------------------------------------------------------


def table_to_dict(table: Table) -> dict[str, Any]:
    data = asdict(table)
    data.pop("extra", None)
    return data


def table_from_dict(data: dict[str, Any]) -> Table:
    return Table(
        name=data["name"],
        columns=tuple(
            Column(c["name"], ColumnType(**c["type"]), c["nullable"], c["default"])
            for c in data["columns"]
        ),
        primary_key=tuple(data["primary_key"]),
        uniques=tuple(tuple(u) for u in data["uniques"]),
        indexes=tuple(Index(i["name"], tuple(i["columns"]), i["unique"]) for i in data["indexes"]),
        foreign_keys=tuple(
            ForeignKey(tuple(f["columns"]), f["ref_table"], tuple(f["ref_columns"]))
            for f in data["foreign_keys"]
        ),
        rows=int(data.get("rows") or 0),
    )


# -- listing and retention ---------------------------------------------------------------------


def list_backups(root: Path, name: str | None = None) -> list[dict[str, Any]]:
    """The complete backups under ``root`` (of ``name``), oldest first, from their manifests."""
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    for path in root.iterdir():
        manifest = path / MANIFEST
        if path.name.startswith(".") or not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("batchyard_backup") is None:
            continue
        if name is not None and data.get("name") != name:
            continue
        out.append(
            {
                "backup": path.name,
                "name": data.get("name"),
                "created": data.get("created"),
                "backend": data.get("backend"),
                "method": data.get("method"),
                "source": data.get("source"),
                "tables": len(data.get("tables") or []),
                "rows": sum(int(t.get("rows") or 0) for t in data.get("tables") or []),
                "bytes": sum(int(f.get("bytes") or 0) for f in data.get("files") or []),
                "path": str(path),
            }
        )
    return sorted(out, key=lambda b: (str(b["created"]), b["backup"]))


def prune(root: Path, name: str, keep: int) -> list[str]:
    """Delete the oldest backups of ``name`` beyond the newest ``keep``; return the deleted ones."""
    if keep < 1:
        raise UsageError(f"--keep {keep}: keep at least 1 backup")
    found = list_backups(root, name)
    doomed = found[: max(len(found) - keep, 0)]
    for b in doomed:
        shutil.rmtree(b["path"])
    return [str(b["backup"]) for b in doomed]


def now_utc() -> datetime:
    return datetime.now(UTC)
