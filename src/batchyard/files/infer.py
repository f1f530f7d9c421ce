"""What an import infers about a new table's columns, and why a column fell back to text.

A column takes the narrowest type every value fits (a CSV typed by DuckDB from every row, JSON
read whole here). Where most of a column's values fit a type but some do not, it falls back to
text: the import says so, naming the type most values fit and the first values that do not, with
their lines. With ``--strict-types`` the column keeps that type and those rows are bad rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchyard.db import quote_literal, reason
from batchyard.db.types import ColumnType
from batchyard.errors import UsageError
from batchyard.files import readers
from batchyard.files.dialect import dialect_of
from batchyard.files.patterns import BOOLEAN, STRICT
from batchyard.files.quarantine import BadRow

#: Values named of a column that fell back to text.
SHOWN = 3
#: Rows of a CSV whose text columns are looked at for a type most of their values fit; only such
#: columns are then read whole.
SAMPLE_ROWS = 2048
#: Types a column may fall back to text from, narrowest first; the DuckDB type each is read as.
CANDIDATES = {
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
}
_PATTERNS = {kind: BOOLEAN if kind == "boolean" else STRICT[kind][0] for kind in CANDIDATES}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in _PATTERNS.items()}


@dataclass(frozen=True)
class Fallback:
    """Why a column is text: ``fits`` of its ``values`` are of type ``likely``, ``first`` are
    (line, value) of the first that are not."""

    likely: str
    fits: int
    values: int
    first: tuple[tuple[int | None, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "likely": self.likely,
            "fits": self.fits,
            "values": self.values,
            "first": [{"line": line, "value": value} for line, value in self.first],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fallback:
        first = tuple((f.get("line"), str(f["value"])) for f in data["first"])
        return cls(str(data["likely"]), int(data["fits"]), int(data["values"]), first)


@dataclass(frozen=True)
class Inferred:
    """A column of a table made from a file: its type, and why it is text where it fell back."""

    name: str
    logical: str
    fallback: Fallback | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.logical}
        if self.fallback is not None:
            out["fallback"] = self.fallback.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inferred:
        fallback = data.get("fallback")
        return cls(
            str(data["name"]),
            str(data["type"]),
            Fallback.from_dict(fallback) if fallback else None,
        )


def strict_type(fallback: Fallback) -> ColumnType:
    """The type ``--strict-types`` keeps for a column that would fall back to text."""
    return ColumnType(fallback.likely, CANDIDATES.get(fallback.likely, fallback.likely.upper()))


def summary(table: str, file: str, columns: list[Inferred], strict: bool) -> list[str]:
    """What was inferred, as the import prints it: every column's type, then each fallback."""
    lines = [
        f"{table}: types inferred from every value of {file}: "
        + ", ".join(f"{c.name} {c.logical}" for c in columns)
    ]
    for c in columns:
        fb = c.fallback
        if fb is None:
            continue
        shown = ", ".join(f"{v!r} (line {line})" if line else repr(v) for line, v in fb.first)
        more = fb.values - fb.fits - len(fb.first)
        shown += f" and {more:,} more" if more > 0 else ""
        if strict:
            lines.append(
                f"  {c.name} kept {fb.likely} (--strict-types): {fb.values - fb.fits:,} of "
                f"{fb.values:,} values do not fit, their rows are bad rows: {shown}"
            )
        else:
            lines.append(
                f"  {c.name} fell back to text: {fb.fits:,} of {fb.values:,} values are "
                f"{fb.likely}, not {shown}; --strict-types keeps {fb.likely} and quarantines "
                "such rows"
            )
    return lines


def _likely(values: list[str]) -> str | None:
    """The candidate type most of ``values`` fit (at least half), narrowest on a tie."""
    best: tuple[int, str] | None = None
    for kind, pattern in _COMPILED.items():
        fits = sum(1 for v in values if pattern.fullmatch(v))
        if fits and (best is None or fits > best[0]):
            best = (fits, kind)
    return best[1] if best is not None and best[0] * 2 >= len(values) else None


# -- CSV -------------------------------------------------------------------------------------------


def csv_fallbacks(path: Path, columns: list[tuple[str, ColumnType]]) -> dict[str, Fallback]:
    """The text columns of a CSV that most values would have typed, each with why it is text.

    A sample of the rows names the candidates (a column of names has none); only those are read
    whole, in one DuckDB scan that counts the values that fit and keeps the first that do not."""
    import duckdb

    text = [i for i, (_, t) in enumerate(columns) if t.logical == "text"]
    if not text:
        return {}
    dialect = dialect_of(path)
    rows = readers.text_rows(path, dialect)
    con = readers.duck_connection()
    try:
        con.execute("SET memory_limit = '48MB'")
        con.execute("SET threads = 1")
        sample = con.execute(f"{rows} LIMIT {SAMPLE_ROWS}").fetchall()
        likely = {
            i: kind
            for i in text
            if (kind := _likely([r[i] for r in sample if r[i] is not None])) is not None
        }
        if not likely:
            return {}
        parts = []
        for i, kind in likely.items():
            fits = f"regexp_full_match(r{i}, {quote_literal(_PATTERNS[kind])})"
            parts += [
                f"count(r{i})",
                f"count_if({fits})",
                f"min_by(struct_pack(n := rn, v := r{i}), rn, {SHOWN}) "
                f"FILTER (WHERE r{i} IS NOT NULL AND NOT {fits})",
            ]
        got = con.execute(
            f"SELECT {', '.join(parts)} FROM (SELECT row_number() OVER () AS rn, * FROM ({rows}))"
        ).fetchone()
        rejected: set[int | None] = {
            int(r[0]) for r in con.execute("SELECT line FROM reject_errors").fetchall()
        }
    except duckdb.Error as exc:
        raise UsageError(f"{path}: cannot read it as CSV ({reason(exc)})") from exc
    finally:
        con.close()
    assert got is not None
    out: dict[int, tuple[str, int, int, list[tuple[int, str]]]] = {}
    for n, (i, kind) in enumerate(likely.items()):
        values, fits, first = got[3 * n : 3 * n + 3]
        if fits < values and fits * 2 >= values:
            ordered = sorted((int(f["n"]), str(f["v"])) for f in first or [])
            out[i] = (kind, int(fits), int(values), ordered)
    wanted = {record for *_, first in out.values() for record, _ in first}
    lines = readers.record_lines(path, wanted, rejected) if wanted else {}
    return {
        columns[i][0]: Fallback(
            kind,
            fits,
            values,
            tuple((lines.get(record, (None, ""))[0], value) for record, value in first),
        )
        for i, (kind, fits, values, first) in out.items()
    }


# -- JSON, JSON lines ------------------------------------------------------------------------------


@dataclass
class _Key:
    """What a key's values were: how many of each kind, and the first few of each with lines."""

    counts: dict[str, int]
    first: dict[str, list[tuple[int, str]]]

    def add(self, kind: str, line: int, value: Any) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        seen = self.first.setdefault(kind, [])
        if len(seen) < SHOWN:
            seen.append((line, value if isinstance(value, str) else repr(value)))


#: The JSON kinds a value of each fallback type may be (an integer is a float too).
_FITS = {
    "boolean": {"boolean"},
    "integer": {"integer"},
    "float": {"integer", "float"},
    "decimal": {"integer", "float", "decimal"},
}


def json_columns(
    records: Iterator[tuple[int, Any, BadRow | None]], path: Path
) -> tuple[list[tuple[str, ColumnType]], dict[str, Fallback]]:
    """The keys of every object, in first-seen order, each typed from all its values; and the
    keys that fell back to text though most of their values were of one type."""
    seen: dict[str, _Key] = {}
    first_bad: BadRow | None = None
    for line, value, bad in records:
        if value is None:
            first_bad = first_bad or bad
            continue
        for key, v in value.items():
            kinds = seen.get(key)
            if kinds is None:
                if "\x00" in key:
                    raise UsageError(
                        f"{path}:{line}: key {key!r} holds a NUL character, which no database "
                        "takes in a column name; rename the key"
                    )
                kinds = seen[key] = _Key({}, {})
            if v is not None:
                kinds.add(_json_kind(v), line, v)
    if not seen:
        why = f" (the first bad one: {first_bad.where()}: {first_bad.reason})" if first_bad else ""
        raise UsageError(f"{path}: the file holds no records with keys to import{why}")
    columns = [(k, ColumnType(_merge(set(key.counts)))) for k, key in seen.items()]
    fallbacks = {
        name: fb
        for name, t in columns
        if t.logical == "text" and (fb := _json_fallback(seen[name])) is not None
    }
    return columns, fallbacks


def _json_fallback(key: _Key) -> Fallback | None:
    values = sum(key.counts.values())
    best: tuple[int, str] | None = None
    for kind, kinds in _FITS.items():
        fits = sum(n for k, n in key.counts.items() if k in kinds)
        if fits and (best is None or fits > best[0]):
            best = (fits, kind)
    if best is None or best[0] * 2 < values or best[0] == values:
        return None
    fits, likely = best
    misfits = sorted(
        (line, value)
        for kind, first in key.first.items()
        if kind not in _FITS[likely]
        for line, value in first
    )[:SHOWN]
    return Fallback(likely, fits, values, tuple((line, v) for line, v in misfits))


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer" if -(2**63) <= v < 2**63 else "decimal"
    if isinstance(v, float):
        return "float"
    if isinstance(v, dict | list):
        return "json"
    return "text"


def _merge(kinds: set[str]) -> str:
    if not kinds:
        return "text"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {"integer", "float"}:
        return "float"
    if kinds <= {"integer", "decimal", "float"}:
        return "decimal"
    return "text"
