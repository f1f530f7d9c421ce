"""Binary COPY into PostgreSQL: every value arrives as text COPY would have brought it."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import batchyard as by
from move.test_migrate import cells

TYPED = """CREATE TABLE typed ("select" INTEGER PRIMARY KEY, "we""ird" TEXT, "order" REAL,
    flag BOOLEAN, d DATE, ts TIMESTAMP, b BLOB, big INTEGER, amount NUMERIC(10,2),
    exact NUMERIC(15,4))"""

TYPED_ROWS: list[tuple[Any, ...]] = [
    (1, "", 0.0, 0, "2024-02-29", "2024-06-01 12:34:56", b"", 2**63 - 1, 12.34, 0.25),
    (2, None, -0.0, 1, None, None, None, -(2**63), 5, None),
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
        1e10,
    ),
    (
        4,
        "'quoted' \"double\"",
        5e-324,
        None,
        "1900-01-01",
        "1969-12-31 23:59:59.999999",
        None,
        1,
        0.1,
        -7.5,
    ),
    (5, "NULL", 0.1 + 0.2, 0, "9999-12-31", "2024-06-01 12:34:56.123456", None, None, 99.99, 1e-4),
    (6, "\\N", -1.5e-300, 1, "0001-01-01", "2024-02-29 23:59:59.500000", None, 42, None, 3),
    (7, "x", float("inf"), 0, "2024-01-01", "1850-06-30 01:02:03.040000", b"\x01", 7, -0.05, 2.5),
]


def test_binary_copy_keeps_every_value_and_comes_back(tmp_path: Path, pg_database: str) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    con = sqlite3.connect(src)
    con.execute(TYPED)
    con.executemany("INSERT INTO typed VALUES (?,?,?,?,?,?,?,?,?,?)", TYPED_ROWS)
    con.commit()
    con.close()
    with by.Batchyard(root=tmp_path) as app:
        there = app.run(
            "migrate",
            {"source": str(src), "target": pg_database, "verify": True},
            install_signals=False,
        )
        assert there.status is by.JobStatus.COMPLETED, there.error
        home = app.run(
            "migrate",
            {"source": pg_database, "target": str(back), "verify": True},
            install_signals=False,
        )
        assert home.status is by.JobStatus.COMPLETED, home.error
    assert cells(back, "typed") == cells(src, "typed")
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        for row in TYPED_ROWS:
            # Each value is what PostgreSQL makes of the text that text COPY would send.
            same = conn.exec_driver_sql(
                "SELECT ts IS NOT DISTINCT FROM CAST(%(ts)s AS timestamp), "
                "d IS NOT DISTINCT FROM CAST(%(d)s AS date), "
                "amount IS NOT DISTINCT FROM CAST(%(amount)s AS numeric(10,2)), "
                "exact IS NOT DISTINCT FROM CAST(%(exact)s AS numeric(15,4)), "
                "flag IS NOT DISTINCT FROM CAST(%(flag)s AS boolean) "
                'FROM typed WHERE "select" = %(id)s',
                {
                    "id": row[0],
                    "d": row[4],
                    "ts": row[5],
                    "amount": None if row[8] is None else repr(row[8]),
                    "exact": None if row[9] is None else repr(row[9]),
                    "flag": None if row[3] is None else str(row[3]),
                },
            ).one()
            assert all(same), (row, same)
        order = dict(conn.exec_driver_sql('SELECT "select", "order" FROM typed').all())
    engine.dispose()
    assert order[7] == math.inf and order[4] == 5e-324 and order[3] == 1e308


def test_timestamps_in_other_forms_load_as_postgresql_reads_them(
    tmp_path: Path, pg_database: str
) -> None:
    """Text that is not in canonical form (a "T", minutes only, seven digits) goes by text COPY in
    the middle of binary pieces, and PostgreSQL reads it as it always would. (A time zone, which
    a timestamp without one would drop, is refused: see test_real_schemas.py.)"""
    loose = [
        "2024-06-01T07:08:09",
        "2024-06-01 07:08",
        "2024-06-01 07:08:09.5",
        "1850-06-30 01:02:03.04",
        "2024-06-01 07:08:09.1234567",
        "2024-06-01T07:08:09.250",
        "0999-12-31 23:59:59.999999",
    ]
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP, day DATE, v REAL)")
    rows = []
    for i in range(1, 12_001):
        at = loose[i % len(loose)] if 6_000 <= i < 6_007 else f"2020-01-01 00:00:{i % 60:02d}"
        rows.append((i, at, f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}", i / 7))
    con.executemany("INSERT INTO ev VALUES (?,?,?,?)", rows)
    con.commit()
    con.close()
    with by.Batchyard(root=tmp_path) as app:
        job = app.run(
            "migrate",
            {"source": str(src), "target": pg_database, "batch_rows": 20_000},
            install_signals=False,
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        for i, at, day, v in rows:
            if 5_990 <= i < 6_010 or i % 997 == 0:
                stored, expected, stored_day, stored_v = conn.exec_driver_sql(
                    "SELECT at, CAST(%(at)s AS timestamp), day::text, v FROM ev WHERE id = %(i)s",
                    {"at": at, "i": i},
                ).one()
                assert (stored, stored_day, stored_v) == (expected, day, v), (i, at)
        assert conn.exec_driver_sql("SELECT count(*) FROM ev").scalar() == 12_000
    engine.dispose()


def test_arrow_batches_load_the_same_rows_as_row_by_row(
    tmp_path: Path, pg_admin: sa.Engine, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows encoded a batch at a time from Arrow are the rows written one by one, NULLs in every
    column, empty and long values, Unicode and zero bytes included."""
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.execute(TYPED.replace(",\n    exact NUMERIC(15,4)", ""))
    rows = [r[:9] for r in TYPED_ROWS]
    rows += [(i, None, None, None, None, None, None, None, None) for i in range(100, 120)]
    rows += [
        (i, "é" * (i % 7), i / 3, i % 2, "2024-03-01", None, bytes([i % 256]) * (i % 5), -i, -i / 4)
        for i in range(200, 25_000)
    ]
    # The last chunk has a value too long to lay out. (A decimal with more places than its
    # column keeps would be refused: see test_numbers.py.)
    rows.append((30_000, "long " * 200, 1.0, 1, None, None, b"\x00" * 900, 1, 0.25))
    con.executemany("INSERT INTO typed VALUES (?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    other = f"{pg_database}_rows"
    name = sa.make_url(other).database
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        with by.Batchyard(root=tmp_path) as app:
            job = app.run(
                "migrate",
                {"source": str(src), "target": pg_database, "chunk_rows": 10_000},
                install_signals=False,
            )
            assert job.status is by.JobStatus.COMPLETED, job.error
            # Worker processes start anew for each job, and read this when they do.
            monkeypatch.setenv("BATCHYARD_MIGRATE_ARROW", "0")
            job = app.run(
                "migrate",
                {"source": str(src), "target": other},
                install_signals=False,
            )
            assert job.status is by.JobStatus.COMPLETED, job.error
        got = []
        for url in (pg_database, other):
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                got.append(conn.exec_driver_sql('SELECT * FROM typed ORDER BY "select"').all())
            engine.dispose()
        assert len(got[0]) == len(rows) and got[0] == got[1]
    finally:
        from batchyard.db import ENGINES

        ENGINES.dispose()
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
