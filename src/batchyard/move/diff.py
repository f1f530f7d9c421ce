"""Row by row: the rows of one key range of both sides, in canonical form, matched by key.

Rows only in the source are ``missing`` (from the target), rows only in the target are ``extra``, and
rows of the same key whose values differ are ``changed``, naming the columns. A table without a key is
a multiset: a row the source holds twice and the target once is one ``missing`` row.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from batchyard.move.canonical import canonical, display, fingerprint, same
from batchyard.move.endpoint import Endpoint, canonical_expr, not_utf8, qi, rows_of

if TYPE_CHECKING:
    from batchyard.move.spans import Span
    from batchyard.move.verify import Pair


class Kind(StrEnum):
    """How a row differs."""

    MISSING = "missing"  # in the source, not in the target
    EXTRA = "extra"  # in the target, not in the source
    CHANGED = "changed"  # in both, with other values


MISSING, EXTRA, CHANGED = Kind.MISSING, Kind.EXTRA, Kind.CHANGED


@dataclass(frozen=True)
class RowDiff:
    """One row that differs: by key (a keyless table: the row itself, and how many copies)."""

    kind: Kind
    key: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    source: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "key": self.key}
        if self.columns:
            data["columns"] = self.columns
        if self.source is not None:
            data["source"] = self.source
        if self.target is not None:
            data["target"] = self.target
        if self.count != 1:
            data["count"] = self.count
        return data


def read_canonical(
    pair: Pair, end: Endpoint, conn: Any, side: int, span: Span
) -> list[tuple[Any, ...]]:
    """The rows of ``span`` on one side, every value in canonical form."""
    cols = [c[side] for c in pair.columns]
    select = ", ".join(canonical_expr(c, end.dialect) for c in cols)
    table = pair.table(side)
    where, params = span.where(pair.range_name(side), end.param)
    sql = f"SELECT {select} FROM {qi(table)}" + (f" WHERE {where}" if where else "")
    logicals = [c.logical for c in cols]
    for lenient in (False, True):
        out: list[tuple[Any, ...]] = []
        try:
            for rows in rows_of(conn, end.dialect, sql, params, lenient=lenient):
                out.extend(
                    tuple(canonical(v, t) for v, t in zip(row, logicals, strict=True))
                    for row in rows
                )
            break
        except sqlite3.OperationalError as exc:
            if lenient or not not_utf8(exc):
                raise
    return out


def compare_rows(
    pair: Pair, ends: tuple[Endpoint, Endpoint], conns: tuple[Any, Any], span: Span, limit: int
) -> list[RowDiff]:
    """Up to ``limit`` differences between the two sides' rows of ``span``."""
    source = read_canonical(pair, ends[0], conns[0], 0, span)
    target = read_canonical(pair, ends[1], conns[1], 1, span)
    names = [c[0].name for c in pair.columns]
    if not pair.key:
        return _multiset(names, source, target, limit)
    key_of = pair.key

    def index(rows: list[tuple[Any, ...]]) -> dict[Any, list[tuple[Any, ...]]]:
        out: dict[Any, list[tuple[Any, ...]]] = {}
        for row in rows:
            out.setdefault(tuple(fingerprint(row[i]) for i in key_of), []).append(row)
        return out

    by_source, by_target = index(source), index(target)
    found: list[RowDiff] = []
    for k, rows in by_source.items():
        others = by_target.get(k, [])
        for n, row in enumerate(rows):
            other = others[n] if n < len(others) else None
            key = {names[i]: display(row[i]) for i in key_of}
            if other is None:
                found.append(RowDiff(MISSING, key, source=_show(names, row)))
                continue
            changed = [i for i, (a, b) in enumerate(zip(row, other, strict=True)) if not same(a, b)]
            if changed:
                found.append(
                    RowDiff(
                        CHANGED,
                        key,
                        [names[i] for i in changed],
                        source={names[i]: display(row[i]) for i in changed},
                        target={names[i]: display(other[i]) for i in changed},
                    )
                )
        for row in others[len(rows) :]:
            found.append(
                RowDiff(
                    EXTRA, {names[i]: display(row[i]) for i in key_of}, target=_show(names, row)
                )
            )
        if len(found) >= limit:
            return found[:limit]
    for k, others in by_target.items():
        if k in by_source:
            continue
        for row in others:
            found.append(
                RowDiff(
                    EXTRA, {names[i]: display(row[i]) for i in key_of}, target=_show(names, row)
                )
            )
        if len(found) >= limit:
            break
    return found[:limit]


def _multiset(
    names: list[str], source: list[tuple[Any, ...]], target: list[tuple[Any, ...]], limit: int
) -> list[RowDiff]:
    def fp(row: tuple[Any, ...]) -> Any:
        return tuple(fingerprint(v) for v in row)

    counts_s, counts_t = Counter(map(fp, source)), Counter(map(fp, target))
    sample = {fp(r): r for r in (*source, *target)}
    found = []
    for k in sorted(set(counts_s) | set(counts_t), key=repr):
        diff = counts_s[k] - counts_t[k]
        if diff:
            row = _show(names, sample[k])
            found.append(
                RowDiff(MISSING, row, source=None, count=diff)
                if diff > 0
                else RowDiff(EXTRA, row, count=-diff)
            )
            if len(found) >= limit:
                break
    return found


def _show(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    return {n: display(v) for n, v in zip(names, row, strict=True)}
