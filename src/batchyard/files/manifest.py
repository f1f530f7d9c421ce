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
