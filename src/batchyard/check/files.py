"""CSV, JSON/JSONL and Parquet files, folders of them and globs, read through DuckDB views."""

from __future__ import annotations

import glob as globlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from batchyard.check.sources import Source, TableInfo, qi
from batchyard.errors import UsageError

FILE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
}


def is_file_target(target: str) -> bool:
    if "://" in target:
        return False
    if any(ch in target for ch in "*?["):
        return True
    p = Path(target)
    return p.is_dir() or p.suffix.lower() in FILE_SUFFIXES or p.suffix.lower() == ".gz"


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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBSource(Source):
    dialect = "duckdb"
    sparse = True

    def __init__(self, target: str, *, threads: int | None = None) -> None:
        super().__init__()
        import duckdb

        self.label = target
        self._duckdb = duckdb
        self.conn = duckdb.connect(":memory:")
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[Any] = []
        self.kinds: dict[str, str] = {}
        try:
            for name, (kind, path) in file_tables(target).items():
                self.kinds[name] = kind
                self._view(name, kind, path)
        except BaseException:
            self.conn.close()  # bad input: the source is never returned, so never closed
            raise

    def _view(self, name: str, kind: str, path: str) -> None:
        readers = {"csv": "read_csv_auto", "json": "read_json_auto", "parquet": "read_parquet"}
        try:
            self.conn.execute(
                f"CREATE VIEW {qi(name)} AS SELECT * FROM {readers[kind]}({_literal(path)})"
            )
            self.conn.execute(f"SELECT * FROM {qi(name)} LIMIT 0")
        except self._duckdb.Error as exc:
            raise UsageError(f"{path}: cannot read it as {kind}: {exc}") from exc

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._local.cursor = self.conn.cursor()
                self._cursors.append(cur)
        try:
            result = cur.execute(sql)
            rows = result.fetchall()
        except self._duckdb.Error as exc:
            raise UsageError(f"{self.label}: {exc}: {sql}") from exc
        return [d[0] for d in result.description or ()], rows

    def _reflect(self) -> dict[str, TableInfo]:
        out = {}
        for (name,) in self.conn.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
        ).fetchall():
            cols = self.conn.execute(f"DESCRIBE {qi(name)}").fetchall()
            info = TableInfo(name, {c[0]: str(c[1]) for c in cols})
            info.statistics = self.kinds.get(name) == "parquet"
            out[name] = info
        return out

    def close(self) -> None:
        for cur in self._cursors:
            cur.close()
        self.conn.close()
