"""Manifests of an export: each table's file, rows, sha256, columns and key, in ``manifest.json``
beside the files of a many-table export or ``FILE.manifest.json`` beside a one-table export's file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from batchyard.db.types import ColumnType, from_postgres
from batchyard.errors import UsageError
from batchyard.move.reflect import Column, Table

MANIFEST = "manifest.json"
#: The manifest of a one-table export, beside its file: ``FILE`` + this.
SIDECAR = ".manifest.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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


#: What each entry of a folder's manifest says of the export that wrote it, so the entries of
#: several exports into one folder each keep their own.
PROVENANCE = ("format", "source", "created", "job_id")


def merged_manifest(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a new export's manifest) with the entries of the manifest already in ``folder``
    that it does not replace: an export into a folder adds its tables to those the folder lists.
    An entry is replaced by the new one for the same file, and dropped when its file is gone.
    Each entry carries its export's format, source, time and job id; the top level is the last
    export's."""
    new = [{**{k: data[k] for k in PROVENANCE if k in data}, **e} for e in data["tables"]]
    path = folder / MANIFEST
    if not path.is_file():
        return {**data, "tables": new}
    old = read_manifest(path)
    by_file = {str(e["file"]): e for e in new}
    tables: list[dict[str, Any]] = []
    for entry in old["tables"]:
        name = str(entry.get("file"))
        if name in by_file:
            tables.append(by_file.pop(name))
        elif (folder / name).is_file():
            tables.append({**{k: old[k] for k in PROVENANCE if k in old}, **entry})
    tables.extend(e for e in new if str(e["file"]) in by_file)
    return {**data, "tables": tables}


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
