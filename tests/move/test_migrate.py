"""migrate between SQLite and PostgreSQL: fidelity, schema, resume, exactly once, bad input."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from waits import when

FIDELITY = [
    """CREATE TABLE "odd table" ("select" INTEGER PRIMARY KEY, "we""ird" TEXT, "order" REAL,
        flag BOOLEAN, d DATE, ts TIMESTAMP, b BLOB, anything, big INTEGER, amount NUMERIC(10,2),
        label VARCHAR(20) NOT NULL DEFAULT 'none')""",
    "CREATE TABLE pairs (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))",
    "CREATE TABLE nokey (x TEXT, y REAL)",
    'CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES "odd table"'
    ' ("select"), note TEXT)',
    "CREATE INDEX ix_child_note ON child (note)",
    "CREATE UNIQUE INDEX ux_pairs_v ON pairs (v)",
]

ODD_ROWS: list[tuple[Any, ...]] = [
    (1, "", 0.0, 0, "2024-02-29", "2024-06-01 12:34:56", b"", 5, 2**63 - 1, 12.34, "a"),
    (2, None, -0.0, 1, None, None, None, "text", -(2**63), 5, "b"),
    (
        3,
        "Zoë 🚀 漢字 \t tab\nnewline \\ back",
        1e308,
        1,
        "1999-12-31",
        "2000-01-01 00:00:00",
        b"\x00\xff\x10",
        2.5,
        0,
        None,
        "c",
    ),
    (4, "'quoted' \"double\"", 5e-324, None, "2024-01-01", None, None, b"\x01\x02", 1, 0.1, "d"),
    (5, "NULL", 0.1 + 0.2, 0, None, "2024-06-01 12:34:56.123456", None, None, None, 99.99, "e"),
    (6, "\\N", -1.5e-300, 1, None, None, None, 3.0, 42, None, "f"),
]


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    for ddl in FIDELITY:
        con.execute(ddl)
    con.executemany('INSERT INTO "odd table" VALUES (?,?,?,?,?,?,?,?,?,?,?)', ODD_ROWS)
    con.executemany(
        "INSERT INTO pairs VALUES (?,?,?)", [(1, "x", "one"), (1, "y", "two"), (2, "x", None)]
    )
    con.executemany("INSERT INTO nokey VALUES (?,?)", [("a", 1.0), ("a", 1.0), (None, None)])
    con.executemany("INSERT INTO child VALUES (?,?,?)", [(10, 1, "n1"), (11, 3, None)])
    con.commit()
    con.close()


def cells(path: Path, table: str) -> list[tuple[tuple[str, str], ...]]:
    """Every value with its storage class, -0.0 told apart from 0.0, in a stable order."""
    con = sqlite3.connect(path)
    cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
    select = ", ".join(
        f'typeof("{c.replace(chr(34), chr(34) * 2)}"), "{c.replace(chr(34), chr(34) * 2)}"'
        for c in cols
    )
    rows = con.execute(f'SELECT {select} FROM "{table}"').fetchall()
    con.close()

    def show(v: Any) -> str:
        if isinstance(v, float):
            return f"{v!r}{'-' if math.copysign(1, v) < 0 else '+'}"
        return repr(v)

    out = [tuple((r[i], show(r[i + 1])) for i in range(0, len(r), 2)) for r in rows]
    return sorted(out)


def test_round_trip_through_postgres_keeps_every_value(tmp_path: Path, pg_database: str) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    make_source(src)
    with by.Batchyard(root=tmp_path) as app:
        there = app.run(
            "migrate",
            {"source": str(src), "target": pg_database, "verify": True},
            install_signals=False,
        )
        assert there.status is by.JobStatus.COMPLETED, there.error
        assert there.rows_written == 6 + 3 + 3 + 2
        home = app.run(
            "migrate",
            {"source": pg_database, "target": str(back), "verify": True},
            install_signals=False,
        )
        assert home.status is by.JobStatus.COMPLETED, home.error
    for table in ("odd table", "pairs", "nokey", "child"):
        assert cells(back, table) == cells(src, table), table

    engine = sa.create_engine(pg_database)
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("pairs")["constrained_columns"] == ["a", "b"]
    assert {i["name"] for i in insp.get_indexes("child")} >= {"ix_child_note"}
    assert insp.get_foreign_keys("child")[0]["referred_table"] == "odd table"
    types = {c["name"]: str(c["type"]) for c in insp.get_columns("odd table")}
    assert types["flag"] == "BOOLEAN" and types["d"] == "DATE" and types["big"] == "BIGINT"
    assert types["amount"] == "NUMERIC(10, 2)" and types["anything"] == "JSONB"
    with engine.begin() as conn:
        # The sequence continues after the copied keys.
        conn.exec_driver_sql("INSERT INTO child (parent) VALUES (1)")
        assert conn.exec_driver_sql("SELECT max(id) FROM child").scalar() == 12
    engine.dispose()
    con = sqlite3.connect(back)
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name='child'").fetchone()[0]
    assert "FOREIGN KEY" in ddl
    con.close()


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_chunks_resume_without_loss_or_duplicates(
    tmp_path: Path, target_kind: str, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.execute("CREATE TABLE u (name TEXT, n INTEGER)")  # no key: rowid ranges
    con.executemany("INSERT INTO t VALUES (?, ?)", ((i * 3, f"v{i}") for i in range(1, 20001)))
    con.executemany("INSERT INTO u VALUES (?, ?)", ((f"n{i % 7}", i) for i in range(5000)))
    con.commit()
    con.close()
    target = (
        str(tmp_path / "dst.db")
        if target_kind == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    from batchyard.engine.context import StopFlag

    stop = StopFlag()
    with by.Batchyard(root=tmp_path) as app:
        job = app.submit(
            "migrate",
            {"source": str(src), "target": target, "chunk_rows": 2000, "batch_rows": 700},
            workers=2,
        )
        assert job.total == 10 + 3

        # Stop once a chunk is done (a row in the store), then resume: the copy continues where
        # it stopped.
        when(lambda: app.store.item_counts(job.id).get("done", 0) >= 1, stop.set)
        first = app.execute(job.id, install_signals=False, stop=stop)
        done = (
            app.execute(job.id, install_signals=False) if first.status.value == "paused" else first
        )
        assert done.status is by.JobStatus.COMPLETED, done.error
        assert done.rows_written == 25000
    engine = sa.create_engine(target if "://" in target else f"sqlite:///{target}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT id), sum(id) FROM t"
        ).one() == (20000, 20000, 3 * 20000 * 20001 // 2)
        assert conn.exec_driver_sql("SELECT count(*), sum(n) FROM u").one() == (
            5000,
            4999 * 5000 // 2,
        )
    engine.dispose()


def test_bad_input_is_refused_before_any_row_moves(tmp_path: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    out = tmp_path / "out.db"

    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        # In-process: the same command code, without starting a process for each refusal.
        r = runner.invoke(cli_app, ["-C", str(tmp_path), "migrate", *args])
        assert "Traceback" not in r.stderr and not isinstance(r.exception, AssertionError)
        return r.exit_code, " ".join(r.stderr.split())

    code, text = run(str(src), "postgresql://nobody:wrong@127.0.0.1:1/nothing")
    assert code == 2 and "cannot connect to the target" in text and "wrong" not in text
    code, text = run(str(tmp_path / "missing.db"), str(out))
    assert code == 2 and "no such SQLite file" in text
    code, text = run(str(src), str(out), "--tables", "pairs,nope")
    assert code == 2 and "table 'nope' does not exist in the source" in text
    assert not out.exists() or sqlite3.connect(out).execute(
        "SELECT count(*) FROM sqlite_master"
    ).fetchone() == (0,)

    # A stored value that does not fit its column's type, on the way to PostgreSQL.
    con = sqlite3.connect(src)
    con.execute("INSERT INTO \"odd table\" (\"select\", big, label) VALUES (7, 'lots', 'g')")
    con.commit()
    con.close()
    code, text = run(str(src), pg_database)
    assert code == 2
    assert "odd table.big (integer): 1 value(s) do not fit, e.g. 7: text 'lots'" in text
    assert "--type odd table.big=text" in text or "--type" in text
    engine = sa.create_engine(pg_database)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    # Leaving the bad rows out is a choice the user can make.
    code, text = run(str(src), pg_database, "--skip-bad", "odd table.big")
    assert code == 0, text

    # Appending adds the rows again (nokey has no key to refuse them).
    code, text = run(str(src), pg_database, "--tables", "nokey", "--if-exists", "append")
    assert code == 0, text
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM nokey").scalar() == 6
        conn.exec_driver_sql("ALTER TABLE nokey ADD COLUMN extra TEXT")
    engine.dispose()
    # The target's table now has other columns.
    code, text = run(str(src), pg_database, "--tables", "nokey", "--if-exists", "append")
    assert code == 2 and "target table 'nokey' has other columns" in text and "extra: extra" in text
    code, text = run(str(src), pg_database, "--tables", "nokey")
    assert code == 2 and "already has table 'nokey'" in text
