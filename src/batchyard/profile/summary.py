"""Summary: what a table holds, column by column, from one aggregate scan.

Per table the row count; per column the nulls, the distinct values, min/max/mean of numbers and
dates (a date's mean is a date too) and the most frequent values of text and booleans. Tables up to
``exact_below`` rows are counted exactly; larger ones count distinct values and top values on a
sample of about ``sample_rows`` rows, and estimate the distinct count of the whole with the
Haas-Stokes estimator PostgreSQL's ``ANALYZE`` uses. Figures from a sample say so (``estimated``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from batchyard.db import quote_identifier as qi
from batchyard.move.reflect import Column, Table
from batchyard.profile import EXACT_BELOW, SAMPLE_ROWS, TOP

NUMBERS = ("integer", "float", "decimal")
DATES = ("date", "datetime")
TOPPED = ("text", "boolean", "uuid")
_UNIX_JULIAN = 2440587.5


def _aggregates(c: Column, dialect: str, exact: bool) -> list[str]:
    q = qi(c.name)
    logical = c.type.logical
    as_text = dialect == "postgresql" and logical in ("json", "any")
    out = [f"count({q})"]
    if exact and logical != "blob":
        out.append(f"count(DISTINCT {q}::text)" if as_text else f"count(DISTINCT {q})")
    if logical in NUMBERS:
        # PostgreSQL sums doubles as doubles: a column near 1e308 overflows unless summed exactly.
        mean = (
            f"avg({q}::numeric)" if dialect == "postgresql" and logical == "float" else f"avg({q})"
        )
        out += [f"min({q})", f"max({q})", mean]
    elif logical in DATES:
        mean = f"avg(julianday({q}))" if dialect == "sqlite" else f"avg(extract(epoch from {q}))"
        out += [f"min({q})", f"max({q})", mean]
    elif logical == "time":
        out += [f"min({q})", f"max({q})"]
    return out


def summarise_table(
    conn: Connection,
    table: Table,
    *,
    exact_below: int = EXACT_BELOW,
    sample_rows: int = SAMPLE_ROWS,
    top: int = TOP,
) -> dict[str, Any]:
    """The summary of one table (see the module docstring), as a JSON-ready dict.

    ``table`` comes from :func:`batchyard.move.reflect.reflect`, which counted its rows.
    """
    dialect = conn.dialect.name
    rows = table.rows  # reflect counted them
    exact = rows <= exact_below
    exprs: list[str] = []
    spans: list[tuple[int, int]] = []
    for c in table.columns:
        parts = _aggregates(c, dialect, exact)
        spans.append((len(exprs), len(exprs) + len(parts)))
        exprs += parts
    values = (
        conn.exec_driver_sql(f"SELECT {', '.join(exprs)} FROM {qi(table.name)}").one()
        if exprs
        else ()
    )
    sample = None if exact else _sample(conn, table, rows, sample_rows)
    columns = []
    for n, (c, (lo, hi)) in enumerate(zip(table.columns, spans, strict=True)):
        got = list(values[lo:hi])
        filled = int(got.pop(0) or 0)
        out: dict[str, Any] = {
            "name": c.name,
            "type": c.type.logical,
            "nulls": rows - filled,
            "null_pct": round(100.0 * (rows - filled) / rows, 2) if rows else 0.0,
        }
        logical = c.type.logical
        if logical != "blob":
            if exact:
                out["distinct"] = int(got.pop(0) or 0)
                out["distinct_estimated"] = False
            else:
                assert sample is not None
                out["distinct"] = _estimate(sample, n, filled)
                out["distinct_estimated"] = True
        if logical in NUMBERS or logical in DATES or logical == "time":
            out["min"] = _plain(got[0], logical)
            out["max"] = _plain(got[1], logical)
        if logical in NUMBERS:
            out["mean"] = _number(got[2])
        elif logical in DATES:
            out["mean"] = _mean_date(got[2], logical, dialect)
        if logical in TOPPED:
            out["top"] = (
                _top_exact(conn, table, c, top)
                if exact
                else _top_sampled(sample, n, filled, top, logical)
            )
        columns.append(out)
    return {
        "table": table.name,
        "rows": rows,
        "estimated": not exact,
        "sample_rows": None if sample is None else len(sample),
        "columns": columns,
    }


def _plain(value: Any, logical: str = "") -> Any:
    """A value as JSON can hold it: dates as ISO text, decimals as numbers (as text where a
    float would change their digits), booleans as booleans (SQLite keeps them as 0 and 1)."""
    if logical == "boolean" and isinstance(value, int):
        return bool(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value) if Decimal(repr(float(value))) == value.normalize() else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _number(value: Any) -> float | str | None:
    """A mean as a float; one that is not finite (an overflow, a NaN) as its text."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else str(number)


def _mean_date(value: Any, logical: str, dialect: str) -> str | None:
    if value is None:
        return None
    days = float(value) - _UNIX_JULIAN if dialect == "sqlite" else float(value) / 86400.0
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days)
    if logical == "date":
        return moment.date().isoformat()
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def _top_exact(conn: Connection, table: Table, c: Column, top: int) -> list[dict[str, Any]]:
    q = qi(c.name)
    got = conn.exec_driver_sql(
        f"SELECT {q}, count(*) FROM {qi(table.name)} WHERE {q} IS NOT NULL "
        f"GROUP BY {q} ORDER BY count(*) DESC, {q} LIMIT {int(top)}"
    ).all()
    return [{"value": _plain(v, c.type.logical), "count": int(k)} for v, k in got]


def _sample(conn: Connection, table: Table, rows: int, sample_rows: int) -> list[tuple[Any, ...]]:
    """About ``sample_rows`` rows spread over the table (on PostgreSQL, the same every run)."""
    share = min(sample_rows / rows, 1.0)
    if conn.dialect.name == "postgresql":
        cols = ", ".join(
            f"{qi(c.name)}::text" if c.type.logical in ("json", "any") else qi(c.name)
            for c in table.columns
        )
        sql = (
            f"SELECT {cols} FROM {qi(table.name)} TABLESAMPLE BERNOULLI ({share * 100:.6f}) "
            "REPEATABLE (7)"
        )
    else:
        cols = ", ".join(qi(c.name) for c in table.columns)
        # SQLite has no seeded sampling: each row is kept with the sample's share, at random.
        where = f"abs(random() % 1000000) < {int(share * 1000000)}"
        sql = f"SELECT {cols} FROM {qi(table.name)} WHERE {where}"
    return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def _key(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _estimate(sample: list[tuple[Any, ...]], n: int, filled: int) -> int:
    """Distinct values of the whole column from a sample: Haas and Stokes' Duj1 estimator."""
    counts = Counter(_key(r[n]) for r in sample if r[n] is not None)
    seen = sum(counts.values())
    if not seen:
        return 0
    d = len(counts)
    f1 = sum(1 for k in counts.values() if k == 1)
    estimate = seen * d / (seen - f1 + f1 * seen / filled) if filled else d
    return round(min(max(estimate, d), filled))


def _top_sampled(
    sample: list[tuple[Any, ...]] | None, n: int, filled: int, top: int, logical: str
) -> list[dict[str, Any]]:
    assert sample is not None
    counts = Counter(r[n] for r in sample if r[n] is not None)
    seen = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    return [
        {"value": _plain(v, logical), "count": round(k * filled / seen), "estimated": True}
        for v, k in ordered
    ]


# -- rendering -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A figure as it reads: booleans as true/false, numbers with their digits (15 significant,
    a double's), in exponent form only past 10^15."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def top_text(column: dict[str, Any]) -> str:
    return ", ".join(
        f"{_cell(t['value'])} ({'~' if t.get('estimated') else ''}{t['count']:,})"
        for t in column.get("top") or []
    )


def to_markdown(source: str, tables: list[dict[str, Any]]) -> str:
    lines = [f"# Summary of {source}", ""]
    for t in tables:
        note = f", estimated from a sample of {t['sample_rows']:,}" if t.get("estimated") else ""
        lines += [f"## {t['table']}", "", f"{t['rows']:,} rows{note}.", ""]
        lines += [
            "| column | type | null % | distinct | min | max | mean | top values |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in t["columns"]:
            distinct = c.get("distinct")
            shown = "" if distinct is None else f"{'~' if c.get('distinct_estimated') else ''}"
            shown += "" if distinct is None else f"{distinct:,}"
            lines.append(
                f"| {_cell(c['name'])} | {c['type']} | {c['null_pct']:g} | {shown} | "
                f"{_cell(c.get('min'))} | {_cell(c.get('max'))} | {_cell(c.get('mean'))} | "
                f"{_cell(top_text(c))} |"
            )
        lines.append("")
    return "\n".join(lines)
