"""verify: prove two databases hold the same rows, and find the rows where they do not.

For each table, both databases are read in ranges of its key (about 4,096 rows each, cut on the
first key column when it is an integer, see :mod:`batchyard.move.spans`); each range gets a row count and an order-independent checksum
(the sum of 64-bit row hashes) computed from the same value forms on both sides (see
:func:`batchyard.move.forms.fast_exprs`). Ranges whose counts or checksums differ are bisected down
to a few hundred rows, which are then compared value by value in canonical form
(:mod:`batchyard.move.canonical`), by key: rows missing from the target, extra in the target, and
changed rows with the columns that changed. A table without a primary key is compared as a multiset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from batchyard.db import Database, Dialect
from batchyard.db import quote_identifier as qi
from batchyard.db.reflect import ColumnInfo, TableInfo, describe, list_tables
from batchyard.errors import UsageError
from batchyard.move import names as identifiers
from batchyard.move import workers
from batchyard.move.checksum import MASK64, Query, open_reading
from batchyard.move.diff import RowDiff, compare_span
from batchyard.move.forms import fast_exprs
from batchyard.move.keys import missing_columns, unknown_tables
from batchyard.move.spans import Span, plan, split

#: Ranges per worker task: big enough to pay for the hand-over, small enough to share the work.
SEGMENT = 24
#: A range with at most this many rows a side is compared row by row rather than bisected.
LEAF_ROWS = 512


class Status(StrEnum):
    """What verify says of a table."""

    IDENTICAL = "identical"
    DIFFERENT = "different"
    ONLY_SOURCE = "only in source"
    ONLY_TARGET = "only in target"


IDENTICAL, DIFFERENT = Status.IDENTICAL, Status.DIFFERENT
ONLY_SOURCE, ONLY_TARGET = Status.ONLY_SOURCE, Status.ONLY_TARGET


@dataclass
class Pair:
    """One table as compared: its columns on each side (those both have), key and range column."""

    name: str
    source: TableInfo
    target: TableInfo
    columns: list[tuple[ColumnInfo, ColumnInfo]]
    key: list[int]
    range_column: int | None
    dialects: tuple[str, str]
    only_source: list[str] = field(default_factory=list)
    only_target: list[str] = field(default_factory=list)

    def fast_query(self, db: Database, side: int) -> Query:
        """The query that reads one side's rows in the form its checksum is taken of."""
        exprs: list[str] = []
        converters: list[tuple[int, str]] = []
        for pair in self.columns:
            got, converter = fast_exprs(
                pair[side], db.dialect, pair[1 - side], self.dialects[1 - side]
            )
            if converter:
                converters.append((len(exprs), converter))
            exprs.extend(got)
        return Query(db, self.table(side), ", ".join(exprs), tuple(converters))

    def table(self, side: int) -> str:
        return self.source.name if side == 0 else self.target.name

    def range_name(self, side: int) -> str | None:
        return None if self.range_column is None else self.columns[self.range_column][side].name


@dataclass
class TableResult:
    """What verify found for one table; ``to_dict`` is the item's stored result."""

    table: str
    status: Status
    source_rows: int | None = None
    target_rows: int | None = None
    source_checksum: str | None = None
    target_checksum: str | None = None
    key: list[str] = field(default_factory=list)
    only_source_columns: list[str] = field(default_factory=list)
    only_target_columns: list[str] = field(default_factory=list)
    ranges: int = 0
    ranges_different: int = 0
    diff: list[RowDiff] | None = None
    truncated: bool = False
    note: str = ""
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return self.status == IDENTICAL

    def counts(self) -> dict[str, int]:
        out = {"missing": 0, "extra": 0, "changed": 0}
        for d in self.diff or []:
            out[d.kind] += d.count
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "table": self.table,
            "status": self.status.value,
            "rows": {"source": self.source_rows, "target": self.target_rows},
            "checksum": {"source": self.source_checksum, "target": self.target_checksum},
            "key": self.key,
            "ranges": {"total": self.ranges, "different": self.ranges_different},
            "seconds": round(self.seconds, 3),
        }
        if self.only_source_columns or self.only_target_columns:
            data["columns"] = {
                "only_source": self.only_source_columns,
                "only_target": self.only_target_columns,
            }
        if self.diff is not None:
            data["diff"] = {
                **self.counts(),
                "truncated": self.truncated,
                "rows": [d.to_dict() for d in self.diff],
            }
        if self.note:
            data["note"] = self.note
        return data


# -- opening ---------------------------------------------------------------------------------------


def databases(source_url: str, target_url: str) -> tuple[Database, Database]:
    """The two databases of a comparison: SQLite files or PostgreSQL databases."""
    return _comparable(Database.of(source_url)), _comparable(Database.of(target_url))


def _comparable(db: Database) -> Database:
    if db.dialect not in (Dialect.SQLITE, Dialect.POSTGRESQL):
        raise UsageError(
            f"{db.shown}: verify compares sqlite:///PATH and postgresql://... databases"
        )
    return db


def table_names(source: Database, target: Database, tables: Sequence[str] = ()) -> list[str]:
    """The tables to compare: those named (each must be in the source), else those of either side.

    Opens both databases, so an unreachable one or bad credentials stop here with a UsageError.
    """
    src_conn, dst_conn = open_reading(source), open_reading(target)
    try:
        in_source, in_target = (
            list_tables(src_conn, source.dialect),
            list_tables(dst_conn, target.dialect),
        )
    finally:
        src_conn.close()
        dst_conn.close()
    if tables:
        missing = [t for t in tables if _match(t, in_source) is None]
        if missing:
            raise UsageError(
                f"table {missing[0]!r} does not exist in the source {source.shown} "
                f"(it has: {', '.join(in_source) or 'no tables'})"
            )
        return [_match(t, in_source) or t for t in dict.fromkeys(tables)]
    # A source table past PostgreSQL's 63 bytes is there under its first 63.
    clipped = (
        [identifiers.clip(t) for t in in_source] if target.dialect == "postgresql" else in_source
    )
    extra = [t for t in in_target if _match(t, in_source) is None and _match(t, clipped) is None]
    return in_source + extra


def need_workers(source: Database, target: Database, tables: Sequence[str]) -> bool:
    """Whether any of ``tables`` is big enough for verify's worker processes on either side."""
    for end in (source, target):
        conn = open_reading(end)
        try:
            names = list_tables(conn, end.dialect)
            for table in tables:
                name = _match(table, names)
                if name is not None and _over(conn, name, workers.LOCAL_ROWS):
                    return True
        finally:
            conn.close()
    return False


def _over(conn: Any, table: str, rows: int) -> bool:
    """Whether ``table`` holds more than ``rows`` rows (read no further than one past them)."""
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {qi(table)} LIMIT {int(rows) + 1}) AS t"
    return int(conn.execute(sql).fetchone()[0]) > rows


def check_keys(source: Database, keys: Mapping[str, Sequence[str]], tables: Sequence[str]) -> None:
    """Each named key belongs to a table being verified and names columns the source has."""
    unknown_tables({t: tuple(k) for t, k in keys.items()}, list(tables))
    if not keys:
        return
    conn = open_reading(source)
    try:
        for table, key in keys.items():
            info = describe(conn, source.dialect, _match(table, list(tables)) or table)
            missing_columns(table, key, [c.name for c in info.columns])
    finally:
        conn.close()


def _match(name: str, names: Sequence[str]) -> str | None:
    """``name`` among ``names``: exactly, or else the one name equal but for case."""
    if name in names:
        return name
    folded = [n for n in names if n.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def pair_table(
    name: str,
    source: TableInfo,
    target: TableInfo,
    dialects: tuple[str, str],
    named_key: Sequence[str] = (),
) -> Pair:
    """The columns both sides share, matched by name, and the key rows are matched by: ``key`` if
    given (``named_key``, from ``--key``), else the source's primary key, else the target's."""
    columns: list[tuple[ColumnInfo, ColumnInfo]] = []
    target_names = [c.name for c in target.columns]
    matched: set[str] = set()
    only_source = []
    # Names migrate gave columns in PostgreSQL, which keeps 63 bytes of a name (see names.py).
    renamed = (
        identifiers.renamed([c.name for c in source.columns]) if dialects[1] == "postgresql" else {}
    )
    for col in source.columns:
        other = _match(col.name, target_names)
        if other is None and col.name in renamed:
            other = _match(renamed[col.name], target_names)
        if other is None or other in matched:
            only_source.append(col.name)
            continue
        matched.add(other)
        peer = target.column(other)
        # A jsonb column made from an untyped SQLite column that lost its comment is still one.
        if col.logical == "any" and peer.logical == "json":
            peer = ColumnInfo(peer.name, col.type, peer.plain)
        elif peer.logical == "any" and col.logical == "json":
            col = ColumnInfo(col.name, peer.type, col.plain)
        elif (
            dialects[0] == "sqlite"
            and peer.logical in ("text", "blob")
            and col.logical != peer.logical
        ):
            # A SQLite column migrate converted (--type t.c=text or blob): compared converted.
            col = ColumnInfo(col.name, replace(col.type, logical=f"to_{peer.logical}"), col.plain)
        columns.append((col, peer))
    only_target = [n for n in target_names if n not in matched]
    names = [c[0].name for c in columns]
    key_names = source.primary_key if all(k in names for k in source.primary_key) else ()
    if named_key:
        missing_columns(name, named_key, names)
        key_names = tuple(named_key)
    elif not key_names:
        t_names = [c[1].name for c in columns]
        if target.primary_key and all(k in t_names for k in target.primary_key):
            key_names = tuple(columns[t_names.index(k)][0].name for k in target.primary_key)
    key = [names.index(k) for k in key_names]
    range_column = None
    if key:
        first_s, first_t = columns[key[0]]
        if (
            first_s.logical == first_t.logical == "integer"
            and first_s.name in source.indexed
            and first_t.name in target.indexed
        ):
            range_column = key[0]
    return Pair(
        name, source, target, columns, key, range_column, dialects, only_source, only_target
    )


# -- comparing ------------------------------------------------------------------------------------


def verify_table(
    source_url: str,
    target_url: str,
    table: str,
    *,
    diff: bool = False,
    max_diff: int = 100,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] = lambda rows: None,
    key: Sequence[str] = (),
) -> TableResult:
    """Compare one table (named as in the source, or only in the target) of two databases.

    ``progress(rows)`` is called as rows are read (both sides'); ``should_stop()`` is asked while
    they are, and stops the comparison (:class:`~batchyard.errors.Interrupted`) when it says so.
    """
    started = time.perf_counter()
    source, target = databases(source_url, target_url)
    conns = (open_reading(source), open_reading(target))
    try:
        found = _tables(source, target, conns, table, key)
        if isinstance(found, TableResult):
            return found
        result = Comparison(found, (source, target), conns, should_stop, progress).run(
            diff, max_diff
        )
    finally:
        for conn in conns:
            conn.close()
    result.seconds = time.perf_counter() - started
    return result


def _tables(
    source: Database, target: Database, conns: tuple[Any, Any], table: str, key: Sequence[str] = ()
) -> Pair | TableResult:
    src_name = _match(table, list_tables(conns[0], source.dialect))
    in_target = list_tables(conns[1], target.dialect)
    dst_name = _match(table, in_target)
    if dst_name is None and target.dialect == "postgresql":
        dst_name = _match(identifiers.clip(table), in_target)
    if src_name is None and dst_name is None:
        raise UsageError(f"table {table!r} is in neither {source.shown} nor {target.shown}")
    if dst_name is None or src_name is None:
        status = ONLY_SOURCE if dst_name is None else ONLY_TARGET
        return TableResult(table, status, note=f"the table is {status}")
    pair = pair_table(
        table,
        describe(conns[0], source.dialect, src_name),
        describe(conns[1], target.dialect, dst_name),
        (source.dialect, target.dialect),
        key,
    )
    if not pair.columns:
        raise UsageError(f"table {table!r}: the source and the target have no column in common")
    return pair


Sums = tuple[tuple[int, int], tuple[int, int]]


@dataclass
class Comparison:
    """One table of two open databases, being compared."""

    pair: Pair
    ends: tuple[Database, Database]
    conns: tuple[Any, Any]
    should_stop: Callable[[], bool]
    progress: Callable[[int], None]

    def __post_init__(self) -> None:
        self.queries = (
            self.pair.fast_query(self.ends[0], 0),
            self.pair.fast_query(self.ends[1], 1),
        )
        # Decided once per table, on its exact rows: its checksums are then taken the same way in
        # every run (see batchyard.move.workers).
        self.local = all(
            not _over(self.conns[side], self.pair.table(side), workers.LOCAL_ROWS)
            for side in (0, 1)
        )

    def run(self, diff: bool, max_diff: int) -> TableResult:
        pair = self.pair
        spans = plan(pair, self.ends, self.conns)
        sums = self.checksums(spans, self.progress)
        result = TableResult(
            pair.name,
            IDENTICAL,
            source_rows=sum(s[0][0] for s in sums),
            target_rows=sum(s[1][0] for s in sums),
            source_checksum=f"{sum(s[0][1] for s in sums) & MASK64:016x}",
            target_checksum=f"{sum(s[1][1] for s in sums) & MASK64:016x}",
            key=[pair.columns[i][0].name for i in pair.key],
            only_source_columns=pair.only_source,
            only_target_columns=pair.only_target,
            ranges=len(spans),
        )
        mismatched = [(span, s) for span, s in zip(spans, sums, strict=True) if s[0] != s[1]]
        result.ranges_different = len(mismatched)
        if pair.only_source or pair.only_target:
            result.status = DIFFERENT
            result.note = "the tables have different columns; the checksums cover those both have"
        if mismatched:
            # Checksums can differ where values only look different (a timestamp with an offset):
            # compare those ranges value by value. Without --diff, one real difference settles it.
            found, truncated = self.bisect(mismatched, max_diff if diff else 1, enough=not diff)
            if found:
                result.status = DIFFERENT
            elif result.status == IDENTICAL:
                result.note = (
                    "the checksums differ only in how some values are written; "
                    "compared value by value, the rows are the same"
                )
            if diff:
                result.diff, result.truncated = found, truncated
        elif diff:
            result.diff = []
        return result

    def checksums(
        self, spans: Sequence[Span], progress: Callable[[int], None] = lambda rows: None
    ) -> list[Sums]:
        """``((rows, checksum) source, (rows, checksum) target)`` of each span, read in parallel."""
        tasks: list[workers.Task] = []
        for start in range(0, len(spans), SEGMENT):
            segment = spans[start : start + SEGMENT]
            for side in (0, 1):
                column, param = self.pair.range_name(side), self.ends[side].dialect.param
                tasks.append(
                    (self.queries[side], [(*s.where(column, param), s.open) for s in segment])
                )
        results = workers.run(tasks, self.should_stop, progress, local=self.local)
        out: list[Sums] = []
        for i in range(0, len(results), 2):
            out.extend(zip(results[i], results[i + 1], strict=True))
        return out

    def bisect(
        self, mismatched: list[tuple[Span, Sums]], limit: int, enough: bool = False
    ) -> tuple[list[RowDiff], bool]:
        """Narrow mismatched spans down to rows: up to ``limit`` row differences, and whether the
        search stopped at the limit (``enough``: stop as soon as ``limit`` are found)."""
        found: list[RowDiff] = []
        queue = mismatched
        while queue:
            parts: list[Span] = []
            for span, ((src_rows, _), (dst_rows, _)) in queue:
                rows = max(src_rows, dst_rows)
                cut = (
                    split(self.pair, self.ends, self.conns, span, rows, LEAF_ROWS)
                    if rows > LEAF_ROWS
                    else None
                )
                if cut is not None:
                    parts.extend(cut)
                    continue
                # One more than wanted: finding it says the search stopped at the limit.
                found.extend(
                    compare_span(
                        self.pair,
                        self.ends,
                        self.conns,
                        span,
                        limit + 1 - len(found),
                        src_rows + dst_rows,
                    )
                )
                if len(found) > limit or (enough and len(found) >= limit):
                    return found[:limit], True
            sums = self.checksums(parts) if parts else []
            queue = [(s, c) for s, c in zip(parts, sums, strict=True) if c[0] != c[1]]
        return found, False


# -- for migrate --verify --------------------------------------------------------------------------


def verify_tables(
    source_url: str,
    target_url: str,
    tables: Sequence[str],
    should_stop: Callable[[], bool] = lambda: False,
    keys: Mapping[str, Sequence[str]] | None = None,
) -> list[TableResult]:
    """Verify ``tables`` a few at once (migrate's finish step); their results in that order."""

    def one(table: str) -> TableResult:
        return verify_table(
            source_url,
            target_url,
            table,
            should_stop=should_stop,
            key=(keys or {}).get(table, ()),
        )

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="batchyard-verify") as pool:
        return list(pool.map(one, tables))
