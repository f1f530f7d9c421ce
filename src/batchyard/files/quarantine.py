"""Quarantine: the rows an import did not load, each with where it is and why, written as JSON lines."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


@dataclass
class Outcome:
    """What an import has done so far: rows loaded, rows set aside, and each key seen (with its
    line, or minus its record number) so that a repeat is set aside too."""

    rows: int = 0
    bad: list[BadRow] = field(default_factory=list)
    seen: dict[tuple[Any, ...], int] = field(default_factory=dict)


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
