"""CSV, JSON/JSONL and Parquet files, folders of them and globs, as the tables of one database.

A file is a table named by its stem, a folder holds one table per file, and a glob is one table
named by what its files' names share. They are read through DuckDB views (``duckdb`` is imported
only when files are opened); :func:`open_duckdb` is the in-memory DuckDB connection every file is
read (or JSON written) through.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from pathlib import Path
from typing import Any

from batchyard.config import SQLITE_SUFFIXES
from batchyard.db.quote import quote_identifier, quote_literal
from batchyard.errors import UsageError

FILE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
}
#: DuckDB's reader of each kind of file.
READERS = {"csv": "read_csv_auto", "json": "read_json_auto", "parquet": "read_parquet"}


def is_file_target(target: str) -> bool:
    """Whether ``target`` names data files (a file of a known suffix, a folder or a glob)."""
    if "://" in target:
        return False
    p = Path(target).expanduser()
    if p.is_dir():
        return True
    suffix = p.suffix.lower()
    if suffix in FILE_SUFFIXES or suffix == ".gz":
        return True
    # A SQLite file, or any file, whose name holds ``?`` or ``[`` is that file, not a glob.
    glob = any(ch in target for ch in "*?[")
    return glob and suffix not in SQLITE_SUFFIXES and not p.is_file()


def _kind(path: str) -> str | None:
    name = path.lower().removesuffix(".gz")
    return FILE_SUFFIXES.get(Path(name).suffix)


def _stem(path: str) -> str:
    name = Path(path).name
    for _ in range(2):
        name = name.rsplit(".", 1)[0] if "." in name else name
        if Path(name).suffix.lower() not in FILE_SUFFIXES:
            break
    return name


def file_tables(target: str) -> dict[str, tuple[str, str]]:
    """``{table: (kind, path or glob)}``: a file is a table named by its stem, a folder holds one
    table per file, and a glob is one table named by what its files' names share
    (``statcast-2024-*.parquet`` is ``statcast``), else by its folder."""
    if any(ch in target for ch in "*?["):
        matches = sorted(globlib.glob(target, recursive=True))
        if not matches:
            raise UsageError(f"{target}: no file matches")
        kinds = {_kind(m) for m in matches}
        if len(kinds) != 1 or None in kinds:
            raise UsageError(f"{target}: the files must all be CSV, JSON or Parquet, of one kind")
        # Names share a prefix by characters, not by path parts.
        common = os.path.commonprefix([_stem(m) for m in matches])  # noqa: RUF071
        stem = re.sub(r"[-_.\d]+$", "", common) or Path(target).parent.name
        return {stem: (str(kinds.pop()), target)}
    p = Path(target)
    if p.is_dir():
        out = {}
        for f in sorted(p.iterdir()):
            kind = _kind(str(f))
            if kind and f.is_file():
                out[_stem(str(f))] = (kind, str(f))
        if not out:
            raise UsageError(f"{target}: the folder holds no CSV, JSON or Parquet file")
        return out
    if not p.is_file():
        raise UsageError(f"{target}: no such file")
    kind = _kind(target)
    if kind is None:
        raise UsageError(f"{target}: not a CSV, JSON/JSONL or Parquet file")
    return {_stem(target): (kind, target)}


def open_files(tables: dict[str, tuple[str, str]], *, threads: int | None = None) -> Any:
    """An in-memory DuckDB connection with one view per table of ``tables`` (see
    :func:`file_tables`), each read once to check it can be; a :class:`UsageError` naming the
    file if one cannot."""
    import duckdb

    conn = open_duckdb(threads=threads)
    try:
        for name, (kind, path) in tables.items():
            view = quote_identifier(name)
            try:
                conn.execute(
                    f"CREATE VIEW {view} AS SELECT * FROM {READERS[kind]}({quote_literal(path)})"
                )
                conn.execute(f"SELECT * FROM {view} LIMIT 0")
            except duckdb.Error as exc:
                raise UsageError(f"{path}: cannot read it as {kind}: {exc}") from exc
    except BaseException:
        conn.close()  # bad input: the connection is never returned, so never closed
        raise
    return conn


def open_duckdb(*, threads: int | None = None, memory_limit: str | None = None) -> Any:
    """A new in-memory DuckDB connection: files are read (and JSON written) through it.
    ``threads`` and ``memory_limit`` (``'32MB'``) cap what it may use; DuckDB's own defaults
    (every core, most of the memory) otherwise."""
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        if threads:
            conn.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            conn.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    except BaseException:
        conn.close()
        raise
    return conn
