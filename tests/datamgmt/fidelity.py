"""The fidelity cases every export and import keeps: NULL vs empty text, Unicode, the integer
limits, awkward floats, blobs, dates, booleans and identifiers that need quoting."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

DDL = (
    'CREATE TABLE "odd table" ("select" INTEGER PRIMARY KEY, "we""ird" TEXT, "order" REAL, '
    "flag BOOLEAN, d DATE, ts TIMESTAMP, b BLOB, big INTEGER, amount NUMERIC(10,2), "
    "label VARCHAR(20) NOT NULL DEFAULT 'none')"
)
ROWS: list[tuple[Any, ...]] = [
    (1, "", 0.0, 0, "2024-02-29", "2024-06-01 12:34:56", b"", 2**63 - 1, 12.34, "a"),
    (2, None, -0.0, 1, None, None, None, -(2**63), 5, "b"),
    (
        3,
        "Zoë 🚀 漢字 \t tab\nnewline \\ back",
        1e308,
        1,
        "1999-12-31",
        "2000-01-01 00:00:00",
        b"\x00\xff\x10",
        0,
        None,
        "c",
    ),
    (4, "'quoted' \"double\", comma", 5e-324, None, "2024-01-01", None, None, 1, 0.1, "d"),
    (5, "NULL", 0.1 + 0.2, 0, None, "2024-06-01 12:34:56.123456", b"\x01\x02", None, 99.99, "e"),
    (6, "\\N", -1.5e-300, 1, None, None, None, 42, None, ""),
]


def make_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute(DDL)
    con.executemany('INSERT INTO "odd table" VALUES (?,?,?,?,?,?,?,?,?,?)', ROWS)
    con.execute("CREATE TABLE pairs (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))")
    con.executemany(
        "INSERT INTO pairs VALUES (?,?,?)", [(1, "x", "one"), (1, "y", ""), (2, "x", None)]
    )
    con.commit()
    con.close()


def make_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE "odd table" ("select" bigint PRIMARY KEY, "we""ird" text, "order" double '
            "precision, flag boolean, d date, ts timestamp, b bytea, big bigint, amount "
            "numeric(10,2), label varchar(20) NOT NULL DEFAULT 'none')"
        )
        for r in ROWS:
            row = list(r)
            row[3] = None if row[3] is None else bool(row[3])
            conn.exec_driver_sql(
                'INSERT INTO "odd table" VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)', tuple(row)
            )
        conn.exec_driver_sql("CREATE TABLE pairs (a bigint, b text, v text, PRIMARY KEY (a, b))")
        conn.exec_driver_sql(
            "INSERT INTO pairs VALUES (1, 'x', 'one'), (1, 'y', ''), (2, 'x', NULL)"
        )
    engine.dispose()


def show(v: Any) -> str:
    if isinstance(v, float):
        return f"float:{v!r}{'-' if math.copysign(1, v) < 0 else '+'}"
    if isinstance(v, memoryview):
        v = bytes(v)
    return f"{type(v).__name__}:{v!r}"


def cells(url: str, table: str) -> list[tuple[str, ...]]:
    """Every value with its Python type (-0.0 told apart from 0.0), rows in key order."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            cols = [c["name"] for c in sa.inspect(conn).get_columns(table)]
            q = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
            rows = conn.exec_driver_sql(f'SELECT {q} FROM "{table}" ORDER BY 1, 2').all()
    finally:
        engine.dispose()
    return [tuple(show(v) for v in r) for r in rows]
