"""Data file formats: which one a path holds, the column types a command line names, and whether
an output file can be made where it is asked for.

Every format keeps a value's type through the table's logical types (see :mod:`batchyard.db.types`):
Parquet and SQLite files carry them natively; CSV and JSON carry them in ``manifest.json`` (written
next to the files of a many-table export, see :mod:`batchyard.files.manifest`), or take them from the
table an import goes into.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from batchyard.db.types import ColumnType, known_override, unknown_type
from batchyard.errors import UsageError

FORMATS = ("csv", "jsonl", "json", "parquet", "sqlite")
SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "json": ".json", "parquet": ".parquet", "sqlite": ".db"}
_BY_SUFFIX = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
}
TEXT_FORMATS = ("csv", "jsonl", "json")


def format_of(path: Path, given: str | None = None) -> str:
    """The format named, else the one the file's suffix says."""
    if given:
        fmt = given.lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format {given!r}: use one of {', '.join(FORMATS)}")
        return fmt
    found = _BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise UsageError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; give --format "
            f"({', '.join(FORMATS)})"
        )
    return found


#: Words that make a declared type text (SQLite's affinity rule): any other unknown name is refused.
def parse_types(values: Iterable[str]) -> dict[str, ColumnType]:
    """``column=TYPE`` pairs from the command line: a logical type or a SQL type."""
    out = {}
    for raw in values:
        name, sep, kind = raw.partition("=")
        if not sep or not name.strip() or not kind.strip():
            raise UsageError(f"--type {raw!r}: write it as COLUMN=TYPE (integer, float, text, ...)")
        found = known_override(kind.strip())
        if found is None:
            raise UsageError(unknown_type("--type", raw, kind.strip()))
        out[name.strip()] = found
    return out


def check_writable(path: Path, what: str, fix: str = "choose a folder you can write to") -> None:
    """Refuse ``path`` before anything is written where a file cannot be made there: the
    nearest folder that exists is tried with a file of its own, made and removed."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{what} {path}: {folder} is not a folder; {fix}")
    probe = folder / f".batchyard-probe-{os.getpid()}-{id(path)}"
    try:
        probe.open("x").close()
    except OSError as exc:
        raise UsageError(
            f"{what} {path}: cannot write a file in {folder} ({exc.strerror or exc}); {fix}"
        ) from exc
    probe.unlink(missing_ok=True)
