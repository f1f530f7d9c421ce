"""Data files: formats, the Arrow form of each logical type, checksums, manifests and quarantine.

Every format keeps a value's type through the table's logical types (see :mod:`batchyard.move.types`):
Parquet and SQLite files carry them natively; CSV and JSON carry them in ``manifest.json`` (written
next to the files of a many-table export), or take them from the table an import goes into. In text
formats blobs are base64 and an untyped SQLite column's values are typed JSON scalars.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchyard.errors import UsageError
from batchyard.move.reflect import Column, Table
from batchyard.move.types import ColumnType, from_postgres, known_override, unknown_type

if TYPE_CHECKING:
    import pyarrow as pa

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
MANIFEST = "manifest.json"
#: The manifest of a one-table export, beside its file: ``FILE`` + this.
SIDECAR = ".manifest.json"
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


class JsonNumber(float):
    """A JSON number with a fraction or an exponent, which keeps the text it was written as.

    It behaves as the float it reads as; where a column keeps more digits than a float (a decimal,
    or an integer beyond 2**53) the text is what counts, so no digit is lost on the way.
    """

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


def arrow_type(logical: str, fmt: str) -> pa.DataType:
    """The Arrow type a column of ``logical`` type is written as in ``fmt``."""
    import pyarrow as pa  # (only when a file is written: it costs every process 45 MB)

    if logical == "integer":
        return pa.int64()
    if logical == "float":
        return pa.float64()
    if logical == "boolean":
        return pa.bool_()
    if logical == "blob" and fmt not in TEXT_FORMATS:
        return pa.binary()
    return pa.string()


def logical_of_arrow(t: pa.DataType) -> str:
    """The logical type of an Arrow column read from a file."""
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "blob"
    return "text"


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def typed_json(value: Any) -> str | None:
    """A value of an untyped column as a JSON scalar that says its type (blobs as ``$b64``)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return json.dumps({"$b64": b64(value)})
    if isinstance(value, float):
        return (
            repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
        )
    return json.dumps(value, ensure_ascii=False)


def from_typed_json(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# -- manifests -----------------------------------------------------------------------------------


def table_entry(table: Table, file: str, rows: int, digest: str) -> dict[str, Any]:
    return {
        "table": table.name,
        "file": file,
        "rows": rows,
        "sha256": digest,
        "columns": [
            {
                "name": c.name,
                "type": c.type.logical,
                "declared": c.type.declared,
                "nullable": c.nullable,
            }
            for c in table.columns
        ],
        "primary_key": list(table.primary_key),
    }


def table_from_entry(entry: dict[str, Any]) -> Table:
    columns = tuple(
        Column(str(c["name"]), _entry_type(c), nullable=bool(c.get("nullable", True)))
        for c in entry["columns"]
    )
    return Table(str(entry["table"]), columns, tuple(entry.get("primary_key") or ()))


def _entry_type(column: dict[str, Any]) -> ColumnType:
    """The column's logical type, with the precision and scale its declared type gives."""
    logical, declared = str(column["type"]), str(column.get("declared") or "")
    parsed = from_postgres(declared) if declared else None
    if parsed is not None and parsed.logical == logical:
        return parsed
    return ColumnType(logical, declared)


def write_manifest(folder: Path, data: dict[str, Any], name: str = MANIFEST) -> Path:
    path = folder / name
    tmp = path.with_name(name + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable manifest ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        raise UsageError(f'{path}: not a batchyard manifest (no "tables" list)')
    return data


def manifest_entry_for(file: Path) -> dict[str, Any] | None:
    """The entry of ``file`` in its own manifest (``FILE.manifest.json``, a one-table export's)
    or in the manifest.json beside it, if there is one."""
    for path in (sidecar_of(file), file.parent / MANIFEST):
        if not path.is_file():
            continue
        for entry in read_manifest(path)["tables"]:
            if entry.get("file") == file.name:
                return dict(entry)
    return None


def sidecar_of(file: Path) -> Path:
    """Where a one-table export writes the manifest of ``file``."""
    return file.with_name(file.name + SIDECAR)


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


# -- quarantine ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    """A row that was not loaded: where it is and why."""

    file: str
    line: int | None
    reason: str
    text: str | None = None
    record: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "record": self.record,
            "reason": self.reason,
            "row": self.text,
        }

    def where(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file} record {self.record}"


def write_quarantine(path: Path, rows: Iterable[BadRow]) -> int:
    """Write the quarantine file (JSON lines) whole; return how many rows it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for bad in rows:
            f.write(json.dumps(bad.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n
