"""PostgreSQL decimals wider than a SQLite number can hold, migrated to SQLite."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.move import verify as v

VALUES = [
    (1, "12.34"),
    (2, "1180591620717411303424"),  # 2**70: wider than 64 bits
    (3, "1234567890.1234567890123"),  # more digits than a real keeps
    (4, "-9223372036854775809"),
    (5, "9223372036854775807"),
    (6, None),
]


@pytest.fixture
def source(pg_database: str) -> str:
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE amounts (id INTEGER PRIMARY KEY, n NUMERIC)")
        for i, value in VALUES:
            conn.exec_driver_sql("INSERT INTO amounts VALUES (%s, %s::numeric)", (i, value))
    engine.dispose()
    return pg_database


def stored(path: Path) -> dict[int, tuple[str, Decimal | None]]:
    con = sqlite3.connect(path)
    rows = con.execute("SELECT id, typeof(n), n FROM amounts").fetchall()
    con.close()
    return {i: (kind, None if n is None else Decimal(str(n))) for i, kind, n in rows}


def test_as_text_they_arrive_exactly_and_verify_agrees(tmp_path: Path, source: str) -> None:
    dst = tmp_path / "dst.db"
    with by.Batchyard(root=tmp_path) as app:
        job = app.run(
            "migrate",
            {"source": source, "target": str(dst), "verify": True, "types": ["amounts.n=text"]},
            install_signals=False,
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
    got = stored(dst)
    assert {i: n for i, (_, n) in got.items()} == {
        i: None if value is None else Decimal(value) for i, value in VALUES
    }
    assert {kind for i, (kind, _) in got.items() if i != 6} == {"text"}


def test_by_default_they_arrive_exactly_and_verify_agrees(tmp_path: Path, source: str) -> None:
    """A numeric of no declared precision goes to a DECIMAL BLOB column (no affinity): a value a
    number holds exactly is stored as one, any other as its digits, never as a rounded real."""
    dst = tmp_path / "dst.db"
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("migrate", {"source": source, "target": str(dst)}, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
    got = stored(dst)
    assert {i: n for i, (_, n) in got.items()} == {
        i: None if value is None else Decimal(value) for i, value in VALUES
    }
    assert {i: kind for i, (kind, _) in got.items()} == {
        1: "real",
        2: "text",
        3: "text",
        4: "text",
        5: "integer",
        6: "null",
    }
    result = v.verify_table(source, f"sqlite:///{dst}", "amounts", diff=True)
    assert result.status == v.IDENTICAL
