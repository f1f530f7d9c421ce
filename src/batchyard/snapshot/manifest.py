"""A backup's manifest, read as the input it is: found by name, checked before a restore reads any
file it names (its own checksum, every entry inside the backup folder once links are followed,
every file's size and sha256), and its row counts compared with what a restore put back.

Anyone can edit a manifest and compute its checksum again, so its checksum proves only that the
files are those it names: where they are, and what the tables hold, are checked apart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from batchyard.errors import ChecksumError, ManifestError, UsageError
from batchyard.snapshot.backup import (
    DUMP_FILE,
    MANIFEST,
    SQLITE_FILE,
    list_backups,
    manifest_checksum,
)

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
    """The manifest, after checking its own checksum, that every entry lies inside ``folder``, and
    every file's size and sha256. A manifest is input like any other: it may have been edited and
    its checksum computed again, so no entry is read before its place is known to be in the backup.
    """
    path = inside(folder, MANIFEST)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ChecksumError(f"checksum error: {path} is not readable ({exc})") from exc
    if not isinstance(data, dict) or "batchyard_backup" not in data:
        raise UsageError(f"{path}: not a batchyard backup manifest")
    if data.get("checksum") != manifest_checksum(data):
        raise ChecksumError(f"checksum error: {path} was changed since the backup was taken")
    entries = _entries(path, data)
    files = {str(e["file"]): inside(folder, str(e["file"])) for e in entries}
    for name in _needed(data):
        if name not in files:
            raise ManifestError(f"{path}: the file {name!r} is not among its checksummed files")
    for entry in entries:
        file = files[str(entry["file"])]
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


def inside(folder: Path, entry: str) -> Path:
    """``folder / entry``, refused unless it lies inside ``folder`` once every link is followed."""
    root = folder.resolve()
    path = (folder / entry).resolve()
    if Path(entry).is_absolute() or not path.is_relative_to(root):
        raise ManifestError(
            f"{folder / MANIFEST}: the entry {entry!r} points outside the backup folder "
            f"({path}); nothing was read from it. The backup was changed: restore another one"
        )
    return folder / entry


def _has(entry: object, **types: type) -> bool:
    """``entry`` is a mapping whose each named key holds a value of its type."""
    return isinstance(entry, dict) and all(isinstance(entry.get(k), t) for k, t in types.items())


def _entries(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's file entries, each with a name, a size and a sha256, and its table entries
    each with a name and a row count."""
    files, tables = data.get("files"), data.get("tables")
    if data.get("method") not in ("sqlite", "pg_dump", "copy"):
        raise ManifestError(f"{path}: unknown backup method {data.get('method')!r}")
    if not isinstance(files, list) or not isinstance(tables, list):
        raise ManifestError(f"{path}: 'files' and 'tables' must be lists")
    for n, e in enumerate(files):
        if not _has(e, file=str, bytes=int, sha256=str):
            raise ManifestError(f"{path}: files[{n}] needs a file, its bytes and its sha256")
    for n, t in enumerate(tables):
        if not (_has(t, table=str, rows=int) and t["rows"] >= 0):
            raise ManifestError(f"{path}: tables[{n}] needs a table name and its rows (0 or more)")
    if (data["method"] == "sqlite") != (data.get("backend") == "sqlite"):
        raise ManifestError(
            f"{path}: a {data.get('backend')} backup cannot be of method {data['method']!r}"
        )
    if data["method"] == "copy" and not isinstance(data.get("schema"), list):
        raise ManifestError(f"{path}: a copy backup needs its tables' schema")
    return files


def _needed(data: dict[str, Any]) -> list[str]:
    """The files a restore of this backup reads."""
    if data["method"] == "sqlite":
        return [SQLITE_FILE]
    if data["method"] == "pg_dump":
        return [DUMP_FILE]
    return [str(t.get("file")) for t in data["tables"]]


def expected_rows(data: dict[str, Any]) -> dict[str, int]:
    """Rows per table, as the manifest says."""
    return {str(t["table"]): int(t["rows"]) for t in data["tables"]}


def check_rows(data: dict[str, Any], found: dict[str, int | None]) -> None:
    """Refuse a restore whose tables do not hold the rows the manifest says (None: no such table),
    or that holds a table the manifest does not list."""
    said = expected_rows(data)
    wrong: list[tuple[str, int | None, int | None]] = [
        (t, n, found.get(t)) for t, n in said.items() if found.get(t) != n
    ]
    wrong += [(t, None, n) for t, n in found.items() if t not in said and n is not None]
    if not wrong:
        return
    table, count, got = wrong[0]
    if got is None:
        what = f"the backup has no table {table!r} where its manifest says {count:,} rows"
    elif count is None:
        what = f"the backup holds a table {table!r} ({got:,} rows) that its manifest does not list"
    else:
        what = f"table {table!r} of the backup holds {got:,} rows where its manifest says {count:,}"
    more = f" ({len(wrong) - 1} more table(s) differ too)" if len(wrong) > 1 else ""
    raise ManifestError(
        f"restore refused, nothing was changed: {what}{more}; the backup is damaged or was "
        "changed: restore another one"
    )
