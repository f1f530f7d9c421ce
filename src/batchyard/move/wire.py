"""The binary COPY form of a SQLite table's rows, for loading into PostgreSQL.

PostgreSQL reads binary COPY fields without parsing text (no number or date parsing on the server),
and psycopg writes them in C, so where every column has an exact binary form the rows go that way:

| logical  | read from SQLite as                              | binary field          |
|----------|--------------------------------------------------|-----------------------|
| integer  | the integer                                      | int8                  |
| float    | the integer or real                              | float8 (-0.0 kept)    |
| boolean  | the integer 0 or 1                               | bool                  |
| text     | the text's UTF-8 bytes (a blob cast to text)     | text                  |
| blob     | the bytes                                        | bytea                 |
| date     | days since 2000-01-01 (from Arrow: parsed by numpy) | date (its int32)   |
| datetime | microseconds since 2000-01-01 (likewise)         | timestamp (its int64) |
| decimal  | the real (``numeric(p, s)``, p <= 15, s <= 4)    | numeric               |

Dates and timestamps are computed only from text in canonical form (``YYYY-MM-DD``,
``YYYY-MM-DD HH:MM:SS[.ffffff]``) that names a real day of the years 0001-9999: read row by row, in
SQLite; in Arrow batches, from the text by numpy (:mod:`batchyard.move.temporal`). Any other text
comes through as it is, and
the rows around it go by text COPY, where PostgreSQL reads the text just as it would have anyway.
Decimals are encoded only a batch at a time from Arrow (:mod:`batchyard.move.binary`); read row by
row, a table with decimals goes by text COPY (turning each real into a ``Decimal`` in Python costs
more than PostgreSQL spends reading its text). A table with any other type (decimals without a
precision, json, uuid, time, untyped columns), a type override, or a target column of another type
than migrate creates, goes by text COPY whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from batchyard.move.reflect import Table, qi

if TYPE_CHECKING:
    from batchyard.move.copy import Plan

#: The psycopg binary type of each logical type, and the PostgreSQL type it loads into.
BINARY = {
    "integer": ("int8", "bigint"),
    "float": ("float8", "double precision"),
    "boolean": ("bool", "boolean"),
    # Text is read as its UTF-8 bytes and sent as they are (no decoding and encoding again).
    "text": ("bytea", "text"),
    "blob": ("bytea", "bytea"),
    "date": ("int4", "date"),
    "datetime": ("int8", "timestamp without time zone"),
    # Only in Arrow batches, and only for numeric(p, s) with p <= 15 and s <= 4 (see binary.py).
    "decimal": ("numeric", "numeric"),
}

_DAY0 = date(2000, 1, 1)
_TIME0 = datetime(2000, 1, 1)
# Julian day and Unix time of 2000-01-01 00:00, where PostgreSQL's binary dates and times count from.
_JD2000 = 2451544.5
_UNIX2000 = 946684800

_ARROW_TEMPORAL = "CASE typeof({q}) WHEN 'text' THEN {q} WHEN 'null' THEN NULL ELSE '' END"
# Canonical text naming a real day of the years 0001-9999 (PostgreSQL has no year 0; SQLite before
# 3.42 gives date('2024-02-30') back as it is: through julianday it becomes 2024-03-01). The year
# is compared as substr(), which has no affinity: a DATE column's NUMERIC affinity would turn
# '0001' into the integer 1, and any text is greater than a number.
_DATE = (
    "CASE WHEN date(julianday({q})) = {q} AND substr({q}, 1, 4) >= '0001' "
    "THEN CAST(julianday({q}) - {jd} AS INTEGER) ELSE {q} END"
)
_SECONDS = "(CAST(strftime('%s', {v}) AS INTEGER) - {unix}) * 1000000"
_DATETIME = (
    "CASE WHEN datetime(julianday({q})) = {q} AND substr({q}, 1, 4) >= '0001' THEN {whole} "
    "WHEN length({q}) BETWEEN 21 AND 26 AND substr({q}, 20, 1) = '.' "
    "AND datetime(julianday(substr({q}, 1, 19))) = substr({q}, 1, 19) "
    "AND substr({q}, 1, 4) >= '0001' "
    "AND NOT substr({q}, 21) GLOB '*[^0-9]*' "
    "THEN {part} + CAST(substr(substr({q}, 21) || '00000', 1, 6) AS INTEGER) "
    "ELSE {q} END"
)

# A value of another storage class than its column's must not pass into Arrow converted (ADBC
# turns a number in a text column into its text, a real in an integer column into... a real
# column): each either reads as another Arrow type than its column's, which fails the batch, or
# stops the read with an error (abs of the smallest int64 overflows). The loader then checks the
# batch's rows against their types exactly (see profile.py).
_FAIL = "abs(-9223372036854775807 - 1 + 0 * length({q}))"
_ARROW_EXPR = {
    "text": f"CASE typeof({{q}}) WHEN 'text' THEN {{q}} WHEN 'null' THEN NULL ELSE {_FAIL} END",
    "blob": f"CASE typeof({{q}}) WHEN 'blob' THEN {{q}} WHEN 'null' THEN NULL ELSE {_FAIL} END",
    # A decimal reads as a real (an integer too: exact below 2**53, p <= 15 digits); text or a
    # blob stays what it is, and fails the batch.
    "decimal": "CASE typeof({q}) WHEN 'integer' THEN CAST({q} AS REAL) ELSE {q} END",
}


@dataclass(frozen=True)
class Wire:
    """How one table's rows are read for binary COPY."""

    select: str
    #: psycopg type names for ``Copy.set_types``, one per column.
    types: tuple[str, ...]
    #: Positions of the date and timestamp columns (read as integers when canonical).
    temporal: tuple[tuple[int, str], ...]
    #: Positions of the text columns (read as UTF-8 bytes: ``text_factory`` is ``bytes``).
    texts: tuple[int, ...] = ()
    #: The logical type of each column, and the select list for reading into Arrow (dates and
    #: timestamps as text, converted by ``temporal``).
    logicals: tuple[str, ...] = ()
    arrow_exprs: tuple[str, ...] = ()
    #: (position, precision, scale) of each decimal column: binary only from Arrow batches.
    decimals: tuple[tuple[int, int, int], ...] = ()

    @property
    def rows_binary(self) -> bool:
        """Whether rows read one by one go by binary COPY too (not with decimals: text then)."""
        return not self.decimals

    def canonical(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """True when every date and timestamp in ``rows`` came as an integer (NULLs aside)."""
        for i, _ in self.temporal:
            for r in rows:
                if type(r[i]) is bytes:
                    return False
        return True

    def as_text(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """``rows`` with the dates and timestamps read as integers turned back into their text."""
        out = []
        for r in rows:
            values = list(r)
            for i in self.texts:
                if values[i] is not None:
                    values[i] = values[i].decode()
            for i, logical in self.temporal:
                v = values[i]
                if type(v) is bytes:
                    values[i] = v.decode()
                elif type(v) is int:
                    values[i] = (
                        (_DAY0 + timedelta(days=v)).isoformat()
                        if logical == "date"
                        else (_TIME0 + timedelta(microseconds=v)).isoformat(" ")
                    )
            out.append(tuple(values))
        return out


def wire_for(table: Table, columns: Sequence[str], overridden: bool) -> Wire | None:
    """The binary form of ``columns`` of ``table``, or None where text COPY must carry them."""
    if overridden:
        return None
    exprs, types, temporal, texts, logicals = [], [], [], [], []
    decimals: list[tuple[int, int, int]] = []
    for n, name in enumerate(columns):
        logical = table.column(name).type.logical
        if logical not in BINARY:
            return None
        ctype = table.column(name).type
        if logical == "decimal":
            if ctype.precision is None or not 0 <= (ctype.scale or 0) <= min(4, ctype.precision):
                return None
            if ctype.precision > 15:
                return None
            decimals.append((n, ctype.precision, ctype.scale or 0))
        q = qi(name)
        if logical == "date":
            exprs.append(_DATE.format(q=q, jd=_JD2000))
            temporal.append((n, logical))
        elif logical == "datetime":
            whole = _SECONDS.format(v=q, unix=_UNIX2000)
            part = _SECONDS.format(v=f"substr({q}, 1, 19)", unix=_UNIX2000)
            exprs.append(_DATETIME.format(q=q, whole=whole, part=part))
            temporal.append((n, logical))
        elif logical == "text":
            exprs.append(f"CASE typeof({q}) WHEN 'blob' THEN CAST({q} AS TEXT) ELSE {q} END")
            texts.append(n)
        else:
            exprs.append(q)
        types.append(BINARY[logical][0])
        logicals.append(logical)
    # Into Arrow dates and timestamps come as their text, checked and converted there (see
    # temporal.py); a value stored as a number or a blob reads as '', which is no date.
    arrow = [
        _ARROW_TEMPORAL.format(q=qi(c)) if t in ("date", "datetime") else e
        for e, t, c in zip(exprs, logicals, columns, strict=True)
    ]
    arrow = [
        _ARROW_EXPR[t].format(q=qi(c)) if t in _ARROW_EXPR else e
        for e, t, c in zip(arrow, logicals, columns, strict=True)
    ]
    return Wire(
        ", ".join(exprs),
        tuple(types),
        tuple(temporal),
        tuple(texts),
        tuple(logicals),
        tuple(arrow),
        tuple(decimals),
    )


def target_matches(pg: Any, plan: Plan) -> bool:
    """True when the target's columns have exactly the types binary fields are written for (a table
    appended to may have others: those take text COPY, which PostgreSQL converts)."""
    found = dict(
        pg.execute(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (qi(plan.source.name),),
        ).fetchall()
    )
    logical = {c.name: c.type.logical for c in plan.source.columns}
    return all(
        found.get(plan.target_name(name)) == BINARY.get(logical[name], ("", "?"))[1]
        for name in plan.target_columns
    )
