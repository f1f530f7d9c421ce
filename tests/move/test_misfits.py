"""Stored values that do not fit their column's type, found by the copy itself (SQLite → PostgreSQL).

Into new tables the check rides on the copy: wherever the bad value sits (the first Arrow batch,
a later one, the last chunk after others committed), the migration stops with the same report as
a profile up front, exit 2, and the target is left as it was. Into existing tables the source is
profiled before a row moves.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from batchyard.cli import app as cli_app

ROWS = 25_000


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE m (id INTEGER PRIMARY KEY, i INTEGER, f REAL, b BOOLEAN, t TEXT, bl BLOB, "
        "d DATE, ts TIMESTAMP, n NUMERIC(10,2))"
    )
    con.executemany(
        "INSERT INTO m VALUES (?,?,?,?,?,?,?,?,?)",
        (
            (
                k,
                k * 7,
                k / 8,
                k % 2,
                f"row {k}",
                bytes([k % 256]),
                f"2024-{k % 12 + 1:02d}-{k % 28 + 1:02d}",
                f"2024-03-{k % 28 + 1:02d} 10:{k % 60:02d}:00",
                k % 1000 / 4,
            )
            for k in range(1, ROWS + 1)
        ),
    )
    con.execute("CREATE TABLE other (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO other VALUES (?, ?)", ((k, f"n{k}") for k in range(1, 101)))
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def clean_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("misfits") / "clean.db"
    make_source(path)
    return path


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli_app, ["-C", str(tmp_path), "migrate", *args])
    assert "Traceback" not in r.stderr and not isinstance(r.exception, AssertionError)
    return r.exit_code, " ".join(r.stderr.split())


def tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# (column, logical type, the bad value as SQL, the row it goes in): rows past 10,000 are in a later
# Arrow batch than the first, whose values fixed each column's Arrow type; row 22,000 is in the
# last of three chunks.
CASES = [
    ("i", "integer", "1.5", 22_000),
    ("i", "integer", "'x'", 5),
    ("f", "float", "'abc'", 22_000),
    ("b", "boolean", "2", 22_000),
    ("t", "text", "X'01'", 22_000),
    ("t", "text", "X'6869'", 5),
    ("bl", "blob", "'text'", 22_000),
    ("d", "date", "'2024-1-5'", 22_000),
    ("d", "date", "'2024-02-30'", 22_000),
    ("d", "date", "'0000-01-01'", 5),
    ("ts", "datetime", "'soon'", 12_000),
    ("ts", "datetime", "'2023-02-29 10:00:00'", 22_000),
    ("n", "decimal", "'abc'", 22_000),
    ("n", "decimal", "X'00'", 5),
]


def test_bad_values_found_by_the_copy_stop_it_and_leave_the_target_as_it_was(
    tmp_path: Path, clean_source: Path, pg_database: str
) -> None:
    for column, logical, value, row in CASES:
        src = tmp_path / "src.db"
        shutil.copy(clean_source, src)
        con = sqlite3.connect(src)
        con.execute(f"UPDATE m SET {column} = {value} WHERE id = {row}")
        con.commit()
        con.close()
        case = f"{column}={value} at {row}"
        code, text = run(tmp_path, str(src), pg_database, "--chunk-rows", "10000")
        assert code == 2, (case, text)
        assert f"m.{column} ({logical}): 1 value(s) do not fit, e.g. {row}:" in text, (case, text)
        assert f"--skip-bad m.{column}" in text
        # Chunks that committed before the bad one are gone with the tables the job made.
        assert tables(pg_database) == [], case


def test_skip_bad_leaves_the_rows_out(tmp_path: Path, clean_source: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    shutil.copy(clean_source, src)
    con = sqlite3.connect(src)
    con.execute("UPDATE m SET b = 7 WHERE id IN (3, 20000)")
    con.commit()
    con.close()
    code, text = run(tmp_path, str(src), pg_database, "--skip-bad", "m.b", "--chunk-rows", "10000")
    assert code == 0, text
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT count(*), sum(id) FROM m").one()
    engine.dispose()
    assert found == (ROWS - 2, ROWS * (ROWS + 1) // 2 - 20003)


def test_existing_tables_are_profiled_before_a_row_moves(
    tmp_path: Path, clean_source: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    shutil.copy(clean_source, src)
    code, text = run(tmp_path, str(src), pg_database, "--tables", "other")
    assert code == 0, text
    con = sqlite3.connect(src)
    con.execute("UPDATE other SET name = X'00' WHERE id = 50")
    con.execute("INSERT INTO other VALUES (101, 'new')")
    con.commit()
    con.close()
    code, text = run(tmp_path, str(src), pg_database, "--tables", "other", "--if-exists", "append")
    assert code == 2 and "other.name (text): 1 value(s) do not fit, e.g. 50: blob X'00'" in text
    # Refused before anything moved: no job was made, and the table is as it was.
    assert "job " not in text
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM other").scalar() == 100
    engine.dispose()


def test_each_migration_reads_the_source_afresh(tmp_path: Path, pg_database: str) -> None:
    # One process migrating twice (as the server does): rows added in between are copied too.
    src = tmp_path / "grow.db"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE g (id INTEGER PRIMARY KEY, v TEXT)")
    con.executemany("INSERT INTO g VALUES (?, ?)", ((k, "a") for k in range(1, 11)))
    con.commit()
    code, text = run(tmp_path, str(src), str(tmp_path / "first.db"))
    assert code == 0, text
    con.executemany("INSERT INTO g VALUES (?, ?)", ((k, "b") for k in range(11, 21)))
    con.commit()
    con.close()
    for target in (str(tmp_path / "second.db"), pg_database):
        code, text = run(tmp_path, str(src), target)
        assert code == 0, text
        engine = sa.create_engine(target if "://" in target else f"sqlite:///{target}")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*), max(id) FROM g").one() == (20, 20)
        engine.dispose()
