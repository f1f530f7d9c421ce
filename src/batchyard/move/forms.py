"""The forms values are read in: one that both databases give alike for equal values (for the
checksums), and one to bring to canonical form (to compare rows one by one).

The checksum reads each column in a form that gives the same Python value on both sides whenever
the canonical values are the same (and never the same value when they differ), so rows hash in C
with no per-value Python work. Where the forms could still differ for equal values (a timestamp
text with a timezone, a decimal with 17 digits), the row ranges whose checksums differ are compared
again value by value in canonical form: the fast form only ever decides "equal".
"""

from __future__ import annotations

from typing import Any

from batchyard.db import Dialect
from batchyard.db import quote_identifier as qi
from batchyard.db.reflect import ColumnInfo
from batchyard.move.canonical import canonical_json

# ISO text as PostgreSQL prints it: a space, not "T", before the time; no trailing zeros in the
# fraction. Most values are written so already, and pass untouched (no string is built for them).
_TEMPORAL_TEXT = (
    "CASE WHEN typeof({q}) <> 'text' OR (instr({q}, 'T') = 0 AND instr({q}, '.') = 0) THEN {q} "
    "WHEN instr({q}, '.') > 0 THEN rtrim(rtrim(replace({q}, 'T', ' '), '0'), '.') "
    "ELSE replace({q}, 'T', ' ') END"
)
_PG_DECIMAL_INT = "({q} = trunc({q}) AND {q} BETWEEN -9223372036854775808 AND 9223372036854775807)"
_PG_DECIMAL_FLOAT = "(abs({q}) < 1e308)"


def _exact_in_float(pg: ColumnInfo) -> bool:
    """A PostgreSQL numeric(p, s) with p <= 15: distinct values stay distinct as float8 (and a
    SQLite real equal to one is the same decimal), so the column is compared as float8."""
    return pg.type.precision is not None and pg.type.precision <= 15


def fast_exprs(
    col: ColumnInfo, dialect: str, peer: ColumnInfo, peer_dialect: str
) -> tuple[list[str], str | None]:
    """The select expressions for one column's checksum form, and a converter name (or None)."""
    q = qi(col.name)
    if col.logical in CONVERTED:
        # Read as migrate converted it; the target's text or bytea is read as it is.
        return [canonical_expr(col, dialect)], None
    logical = col.logical if col.logical == peer.logical else None
    if dialect == Dialect.SQLITE:
        if peer_dialect == Dialect.SQLITE:
            return [q], None
        if logical == "decimal" and _exact_in_float(peer):
            # Text (a decimal SQLite would not store as a number) stays text: never a float.
            return [
                f"CASE WHEN typeof({q}) IN ('integer', 'real') THEN CAST({q} AS REAL) ELSE {q} END"
            ], None
        if logical == "decimal":
            return [
                f"CASE WHEN typeof({q}) = 'integer' THEN {q} END",
                f"CASE WHEN typeof({q}) = 'real' THEN {q} END",
                f"CASE WHEN typeof({q}) IN ('text', 'blob') THEN {q} END",
            ], None
        if logical in ("datetime", "time"):
            return [_TEMPORAL_TEXT.format(q=q)], None
        if logical == "uuid":
            return [f"CASE WHEN typeof({q}) = 'text' THEN lower({q}) ELSE {q} END"], None
        if logical == "any":
            return [
                f"CASE WHEN typeof({q}) = 'blob' THEN {q} END",
                f"CASE WHEN typeof({q}) <> 'blob' THEN {q} END",
                "NULL",
            ], None
        if logical == "json":
            return [q], "json"
        return [q], None
    # PostgreSQL
    if peer_dialect == Dialect.POSTGRESQL or logical is None:
        return [q if col.plain else f"{q}::text"], None
    if logical == "boolean":
        return [f"{q}::int"], None
    if logical == "decimal" and _exact_in_float(col):
        return [f"{q}::float8"], None
    if logical == "decimal":
        i, f = _PG_DECIMAL_INT.format(q=q), _PG_DECIMAL_FLOAT.format(q=q)
        return [
            f"CASE WHEN {i} THEN {q}::bigint END",
            f"CASE WHEN NOT {i} AND {f} THEN {q}::float8 END",
            f"CASE WHEN {i} THEN NULL WHEN {f} THEN CASE WHEN {q}::float8::numeric = {q} "
            f"THEN NULL ELSE {q}::text END ELSE {q}::text END",
        ], None
    if logical == "any":
        j = f"{q}::jsonb"
        obj = f"(jsonb_typeof({j}) IN ('object', 'array'))"
        b64 = f"(jsonb_typeof({j}) = 'object' AND {j} ? '$b64')"
        return [
            f"CASE WHEN {b64} THEN decode({j} ->> '$b64', 'base64') END",
            f"CASE WHEN NOT {obj} THEN {j} END",
            f"CASE WHEN {obj} AND NOT {b64} THEN 1 END",
        ], None
    if logical == "json":
        return [f"{q}::text"], "json"
    return [q if col.plain else f"{q}::text"], None


#: SQLite columns migrate converted (``--type t.c=text|blob``), read in their converted form.
CONVERTED = {
    "to_text": "CASE typeof({q}) WHEN 'integer' THEN CAST({q} AS TEXT) "
    "WHEN 'blob' THEN CAST({q} AS TEXT) ELSE {q} END",
    "to_blob": "CASE typeof({q}) WHEN 'blob' THEN {q} ELSE CAST({q} AS BLOB) END",
}


def canonical_expr(col: ColumnInfo, dialect: str) -> str:
    """How a column is read to be compared value by value (then :func:`canonical` of it)."""
    q = qi(col.name)
    if col.logical in CONVERTED:
        return CONVERTED[col.logical].format(q=q)
    if dialect == Dialect.SQLITE or col.logical in ("any", "decimal", "uuid") or col.plain:
        return q
    return f"{q}::text"


CONVERTERS = {"json": canonical_json}


def convert(
    rows: list[tuple[Any, ...]], converters: tuple[tuple[int, str], ...]
) -> list[tuple[Any, ...]]:
    """Rows with the values at the given positions converted in Python (the rare column, such as
    JSON, that no SQL brings to one form on both sides)."""
    funcs = [(i, CONVERTERS[name]) for i, name in converters]
    out = []
    for row in rows:
        values = list(row)
        for i, f in funcs:
            if values[i] is not None:
                values[i] = f(values[i])
        out.append(tuple(values))
    return out
