"""The landing zone: raw responses as JSON lines, one file per item, one line per page.

A resumed item first cuts its file back to the pages its checkpoint counts, so a page written just
before a crash is never there twice.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def path_for(folder: str | Path, item_key: str) -> Path:
    name = _UNSAFE.sub("_", item_key).strip("._") or "item"
    return Path(folder).expanduser() / f"{name}.jsonl"


def keep_lines(path: Path, count: int) -> None:
    """Cut ``path`` back to its first ``count`` lines (none: remove it)."""
    if count <= 0:
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    kept = path.read_bytes().split(b"\n")[:count]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_bytes(b"\n".join(kept) + b"\n")
    os.replace(tmp, path)


def append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
