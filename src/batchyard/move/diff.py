"""Row by row: the rows of one key range of both sides, in canonical form, matched by key.

Rows only in the source are ``missing`` (from the target), rows only in the target are ``extra``, and
rows of the same key whose values differ are ``changed``, naming the columns. A table without a key is
a multiset: a row the source holds twice and the target once is one ``missing`` row.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeVar

from batchyard.db import Database
from batchyard.db import quote_identifier as qi
from batchyard.move.canonical import canonical, display, fingerprint, same
from batchyard.move.checksum import not_utf8, rows_of
from batchyard.move.forms import canonical_expr, convert

if TYPE_CHECKING:
    from batchyard.move.spans import Span
    from batchyard.move.verify import Pair


class Kind(StrEnum):
    """How a row differs."""

    MISSING = "missing"  # in the source, not in the target
    EXTRA = "extra"  # in the target, not in the source
    CHANGED = "changed"  # in both, with other values


MISSING, EXTRA, CHANGED = Kind.MISSING, Kind.EXTRA, Kind.CHANGED
T = TypeVar("T")
#: Buckets a span is cut into by row hash, when it cannot be cut by key.
BUCKETS = 4_096
#: Rows (both sides) held at once while comparing the buckets that differ.
BUDGET = 200_000


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


def _select(
    pair: Pair, end: Database, side: int, span: Span, fast: bool = False, only: Any = None
) -> tuple[str, Any]:
    """SQL reading ``span`` of one side in canonical form: every column, or the ``only`` ones (by
    position); with ``fast``, after the checksum form of the row."""
    cols = [c[side] for c in pair.columns]
    picked = range(len(cols)) if only is None else only
    select = ", ".join(canonical_expr(cols[i], end.dialect) for i in picked)
    if fast:
        select = ", ".join(x for x in (pair.fast_query(end, side).select, select) if x)
    where, params = span.where(pair.range_name(side), end.dialect.param)
    return f"SELECT {select} FROM {qi(pair.table(side))}" + (
        f" WHERE {where}" if where else ""
    ), params


def _lenient_on_error(read: Callable[[bool], T]) -> T:
    """``read(False)``; if SQLite text is not UTF-8, all of it again with ``read(True)``."""
    try:
        return read(False)
    except sqlite3.OperationalError as exc:
        if not not_utf8(exc):
            raise
    return read(True)


def read_canonical(
    pair: Pair, end: Database, conn: Any, side: int, span: Span
) -> list[tuple[Any, ...]]:
    """The rows of ``span`` on one side, every value in canonical form."""
    logicals = [c[side].logical for c in pair.columns]
    sql, params = _select(pair, end, side, span, fast=False)

    def read(lenient: bool) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for rows in rows_of(conn, end.dialect, sql, params, lenient=lenient):
            out.extend(
                tuple(canonical(v, t) for v, t in zip(row, logicals, strict=True)) for row in rows
            )
        return out

    return _lenient_on_error(read)


def compare_rows(
    pair: Pair, ends: tuple[Database, Database], conns: tuple[Any, Any], span: Span, limit: int
) -> list[RowDiff]:
    """Up to ``limit`` differences between the two sides' rows of ``span``."""
    source = read_canonical(pair, ends[0], conns[0], 0, span)
    target = read_canonical(pair, ends[1], conns[1], 1, span)
    return compare(pair, source, target, limit)


def compare_span(
    pair: Pair,
    ends: tuple[Database, Database],
    conns: tuple[Any, Any],
    span: Span,
    limit: int,
    rows: int,
) -> list[RowDiff]:
    """Up to ``limit`` differences in ``span`` (``rows``: both sides'), held in memory if it is
    small enough, else bucket by bucket."""
    if rows > BUDGET:
        return compare_by_hash(pair, ends, conns, span, limit)
    return compare_rows(pair, ends, conns, span, limit)


def compare_by_hash(
    pair: Pair, ends: tuple[Database, Database], conns: tuple[Any, Any], span: Span, limit: int
) -> list[RowDiff]:
    """Up to ``limit`` differences in a span too big to hold that cannot be cut by key (a table
    without an integer key column, or without a key). Rows go into ``BUCKETS`` by the hash of their
    key (of the whole row, without a key), each bucket gets a checksum on both sides, and the rows of
    the buckets that differ are compared, ``BUDGET`` rows at a time: memory stays bounded, and each
    round reads the span again. (Hashes here are this process's own, taken of both sides alike.)"""
    sums = [_bucket_sums(pair, ends[side], conns[side], side, span) for side in (0, 1)]
    todo = [b for b in range(BUCKETS) if sums[0][b] != sums[1][b]]
    found: list[RowDiff] = []
    while todo and len(found) < limit:
        wanted: set[int] = set()
        held = 0
        for b in todo:
            rows = sums[0][b][0] + sums[1][b][0]
            if wanted and held + rows > BUDGET:
                break
            wanted.add(b)
            held += rows
        todo = [b for b in todo if b not in wanted]
        source, target = (
            _collect(pair, ends[side], conns[side], side, span, wanted) for side in (0, 1)
        )
        found.extend(compare(pair, source, target, limit - len(found)))
    return found[:limit]


def _hashed(
    pair: Pair, end: Database, conn: Any, side: int, span: Span, whole: bool, lenient: bool
) -> Iterator[tuple[int, int, tuple[Any, ...]]]:
    """(bucket, row hash, canonical values) of each row of one side. The row hash is of its
    checksum form; the bucket is the hash of its canonical key (of the whole canonical row, without
    a key), so both sides' versions of a row share a bucket however each writes its values. The
    values are the key's, or with ``whole`` (or without a key) the row's."""
    query = pair.fast_query(end, side)
    only = None if whole or not pair.key else pair.key
    picked = list(range(len(pair.columns))) if only is None else list(only)
    logicals = [pair.columns[i][side].logical for i in picked]
    sql, params = _select(pair, end, side, span, fast=True, only=only)
    for rows in rows_of(conn, end.dialect, sql, params, lenient=lenient):
        cut = len(rows[0]) - len(picked)
        fast = [row[:cut] for row in rows]
        if query.converters:
            fast = convert(fast, query.converters)
        for row, h in zip(rows, map(hash, map(marshal.dumps, fast, repeat(2))), strict=True):
            values = tuple(canonical(v, t) for v, t in zip(row[cut:], logicals, strict=True))
            keyed = tuple(values[i] for i in pair.key) if whole and pair.key else values
            yield hash(tuple(fingerprint(v) for v in keyed)) % BUCKETS, h, values


def _bucket_sums(
    pair: Pair, end: Database, conn: Any, side: int, span: Span
) -> list[tuple[int, int]]:
    def read(lenient: bool) -> list[tuple[int, int]]:
        counts, sums = [0] * BUCKETS, [0] * BUCKETS
        for bucket, h, _ in _hashed(pair, end, conn, side, span, False, lenient):
            counts[bucket] += 1
            sums[bucket] += h
        return list(zip(counts, sums, strict=True))

    return _lenient_on_error(read)


def _collect(
    pair: Pair, end: Database, conn: Any, side: int, span: Span, wanted: set[int]
) -> list[tuple[Any, ...]]:
    """The rows (in canonical form) of the ``wanted`` buckets."""

    def read(lenient: bool) -> list[tuple[Any, ...]]:
        return [
            values
            for bucket, _, values in _hashed(pair, end, conn, side, span, True, lenient)
            if bucket in wanted
        ]

    return _lenient_on_error(read)


def compare(
    pair: Pair, source: list[tuple[Any, ...]], target: list[tuple[Any, ...]], limit: int
) -> list[RowDiff]:
    """Up to ``limit`` differences between two sides' rows, matched by key (or as multisets)."""
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
