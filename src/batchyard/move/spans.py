"""Key ranges of a table: how verify cuts both sides of a table alike, and splits a range in parts.

A :class:`Span` is a range ``[lo, hi)`` of one integer column (the first column of the table's key),
open at either end, or the rows where that column is NULL, or the whole table. The spans of a table
cover every row of both databases exactly once, whatever keys either holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from batchyard.db import Database, Dialect
from batchyard.db import quote_identifier as qi
from batchyard.move.reflect import ends_sql

if TYPE_CHECKING:
    from batchyard.move.verify import Pair

#: Rows a span holds, about: the grain of the checksums, and of the ranges --diff re-reads.
CHUNK_ROWS = 4_096
#: Below this many rows per key value, spans are cut from a count of the keys, not evenly.
SPARSE = 0.25
#: Buckets counted per span when cutting from counts.
FINE = 8


@dataclass(frozen=True)
class Span:
    """Rows whose range column is in ``[lo, hi)`` (None: unbounded), or NULL, or the whole table."""

    lo: int | None = None
    hi: int | None = None
    null: bool = False
    whole: bool = False

    def where(self, column: str | None, param: str) -> tuple[str, tuple[Any, ...]]:
        """The WHERE condition (without the keyword; "" for the whole table) and its params."""
        if self.whole or column is None:
            return "", ()
        q = qi(column)
        if self.null:
            return f"{q} IS NULL", ()
        conds, params = [], []
        if self.lo is not None:
            conds.append(f"{q} >= {param}")
            params.append(self.lo)
        if self.hi is not None:
            conds.append(f"{q} < {param}")
            params.append(self.hi)
        return " AND ".join(conds) or f"{q} IS NOT NULL", tuple(params)

    @property
    def open(self) -> bool:
        """Unbounded on a side: it may hold any number of rows (read through a cursor)."""
        return self.whole or self.lo is None or self.hi is None


def plan(pair: Pair, ends: tuple[Database, Database], conns: tuple[Any, Any]) -> list[Span]:
    """Spans of about ``CHUNK_ROWS`` rows covering every row of both sides (one, whole, for a table
    without an integer key column to cut on)."""
    if pair.range_column is None:
        return [Span(whole=True)]
    lows, highs, counts = [], [], []
    for side in (0, 1):
        q, t = qi(pair.range_name(side) or ""), qi(pair.table(side))
        lo, hi = conns[side].execute(ends_sql(q, t)).fetchone()
        if lo is None:
            continue
        if not isinstance(lo, int) or not isinstance(hi, int):
            return [Span(whole=True)]
        lows.append(lo)
        highs.append(hi)
        counts.append((_row_estimate(conns[side], ends[side].dialect, t), side))
    if not lows:
        return [Span(whole=True)]
    lo, hi = min(lows), max(highs)
    rows, side = max(counts)
    pieces = max(1, min(math.ceil(rows / CHUNK_ROWS), 100_000))
    if pieces > 1 and rows / (hi - lo + 1) < SPARSE:
        bounds = _from_counts(pair, ends, conns, side, lo, hi, rows)
    else:
        width = max(1, math.ceil((hi - lo + 1) / pieces))
        bounds = list(range(lo + width, hi + 1, width))
    edges: list[int | None] = [None, *bounds, None]
    return [*(Span(a, b) for a, b in pairwise(edges)), Span(null=True)]


def _row_estimate(conn: Any, dialect: str, table: str) -> int:
    if dialect == Dialect.POSTGRESQL:
        estimate = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass("
            "quote_ident(current_schema()) || '.' || %s)",
            (table,),
        ).fetchone()
        if estimate and estimate[0] is not None and estimate[0] >= 0:
            return int(estimate[0])
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _from_counts(
    pair: Pair,
    ends: tuple[Database, Database],
    conns: tuple[Any, Any],
    side: int,
    lo: int,
    hi: int,
    rows: int,
    depth: int = 0,
) -> list[int]:
    """Bounds in ``(lo, hi]`` cut where the keys are (sparse or clustered keys, far-off outliers):
    the rows of fine buckets are counted on one side and buckets joined until they hold
    ``CHUNK_ROWS``; a bucket holding many more is cut the same way in turn."""
    buckets = min(math.ceil(rows / CHUNK_ROWS) * FINE, 10_000)
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    q, t = qi(pair.range_name(side) or ""), qi(pair.table(side))
    conn, p = conns[side], ends[side].dialect.param
    if ends[side].dialect == Dialect.SQLITE:
        # One count per bucket walks the index over its rows only: cheaper than a GROUP BY here.
        sql = f"SELECT count(*) FROM {t} WHERE {q} >= {p} AND {q} < {p}"
        counts = [
            (b, conn.execute(sql, (lo + b * width, lo + (b + 1) * width)).fetchone()[0])
            for b in range(math.ceil((hi - lo + 1) / width))
        ]
    else:
        counts = conn.execute(
            f"SELECT ({q} - %s) / %s AS b, count(*) FROM {t} WHERE {q} >= %s AND {q} <= %s "
            "GROUP BY 1 ORDER BY 1",
            (lo, width, lo, hi),
        ).fetchall()
    bounds, held = [], 0
    for bucket, n in counts:
        start, stop = lo + int(bucket) * width, lo + (int(bucket) + 1) * width
        if n > 2 * CHUNK_ROWS and width > 1 and depth < 4:
            # Cut inside the bucket, over the keys it holds (two lookups of the index).
            first, last = conn.execute(
                ends_sql(q, t, f"{q} >= {p} AND {q} < {p}"), (start, stop) * 2
            ).fetchone()
            inner = _from_counts(pair, ends, conns, side, first, last, n, depth + 1)
            bounds.extend([start, *inner, stop])
            held = 0
            continue
        held += n
        if held >= CHUNK_ROWS:
            bounds.append(stop)
            held = 0
    return sorted({b for b in bounds if lo < b <= hi})


def split(
    pair: Pair,
    ends: tuple[Database, Database],
    conns: tuple[Any, Any],
    span: Span,
    rows: int,
    leaf: int,
) -> list[Span] | None:
    """``span`` in parts of about ``leaf`` rows (at most 16 parts, at least 2), cut evenly over the
    keys either side holds in it; None if it cannot be cut (one key value, NULL, no integer key)."""
    if span.null or span.whole or pair.range_column is None:
        return None
    lows, highs = [], []
    for side, conn in enumerate(conns):
        q = qi(pair.range_name(side) or "")
        where, params = span.where(pair.range_name(side), ends[side].dialect.param)
        lo, hi = conn.execute(ends_sql(q, qi(pair.table(side)), where), params * 2).fetchone()
        if isinstance(lo, int) and isinstance(hi, int):
            lows.append(lo)
            highs.append(hi)
        elif lo is not None:
            return None
    if not lows or max(highs) <= min(lows):
        return None
    lo, hi = min(lows), max(highs) + 1
    parts = min(16, max(2, math.ceil(rows / leaf)), hi - lo)
    width = math.ceil((hi - lo) / parts)
    edges = [*range(lo, hi, width), hi]
    return [Span(a, b) for a, b in pairwise(edges)]
