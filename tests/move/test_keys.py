"""``--key TABLE=COLUMNS``: a key named for a table without a primary key, in migrate and verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.engine.context import StopFlag
from conftest import cli
from waits import when

ROWS = 3000


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE events (game INTEGER, seq INTEGER, note TEXT)")
    con.execute("CREATE TABLE plays (id INTEGER PRIMARY KEY, what TEXT)")
    con.executemany(
        "INSERT INTO events VALUES (?, ?, ?)",
        ((i // 10, i % 10, f"note {i}") for i in range(ROWS)),
    )
    con.executemany("INSERT INTO plays VALUES (?, ?)", ((i, f"p{i}") for i in range(50)))
    con.commit()
    con.close()


def url_of(target: str) -> str:
    return target if "://" in target else f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "dst.db")
    return str(request.getfixturevalue("pg_database"))


@pytest.mark.slow
def test_named_key_becomes_the_target_key_and_verify_diff_matches_by_it(
    tmp_path: Path, target: str
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    r = cli(
        "migrate", str(src), target, "--key", "events=game,seq", "--batch-rows", "700", "--verify",
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    engine = sa.create_engine(url_of(target))
    assert sa.inspect(engine).get_pk_constraint("events")["constrained_columns"] == ["game", "seq"]
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == ROWS
        # The named key holds in the target: a repeated key is refused there.
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.exec_driver_sql("INSERT INTO events VALUES (0, 0, 'again')")
        conn.exec_driver_sql("UPDATE events SET note = 'changed' WHERE game = 7 AND seq = 3")
        conn.exec_driver_sql("DELETE FROM events WHERE game = 250 AND seq = 9")
    engine.dispose()

    r = cli(
        "verify", str(src), target, "--tables", "events", "--diff", "--key", "events=game,seq",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    (table,) = json.loads(r.stdout)["tables"]
    found = {
        (d["kind"], d["key"]["game"], d["key"]["seq"], tuple(d.get("columns") or ()))
        for d in table["diff"]["rows"]
    }
    assert found == {("changed", 7, 3, ("note",)), ("missing", 250, 9, ())}


@pytest.mark.slow
def test_bad_keys_are_refused_before_any_row_moves(tmp_path: Path, target: str) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE loose (a INTEGER, b TEXT)")
    con.executemany("INSERT INTO loose VALUES (?, ?)", [(1, "x"), (1, "y"), (None, "z")])
    con.commit()
    con.close()
    cases = [
        ("events=game,nope", "table 'events' has no column 'nope'"),
        ("events=game", "the key is not unique, e.g. (0) is in 10 rows"),
        ("loose=a,b", "some rows have no value in the key, e.g. (None, 'z')"),
        ("plays=what", "the table has a primary key (id)"),
        ("nothere=a", "no table 'nothere' among those to move"),
        ("events", "write it as TABLE=COLUMN"),
    ]
    runner = CliRunner()
    for key, message in cases:
        # In-process: each refusal is the same command code, without a process start each.
        r = runner.invoke(cli_app, ["-C", str(tmp_path), "migrate", str(src), target, "--key", key])
        text = " ".join(r.stderr.split())
        assert r.exit_code == 2, (key, r.stderr, r.exception)
        assert message in text and "Traceback" not in text, (key, r.stderr)
    engine = sa.create_engine(url_of(target))
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    r = cli("verify", str(src), str(src), "--key", "events=nope", cwd=tmp_path)
    assert r.returncode == 2 and "table 'events' has no column 'nope'" in r.stderr, r.stderr


def test_postgres_source_chunks_on_the_named_key_and_resumes_exactly_once(
    tmp_path: Path, pg_database: str
) -> None:
    """A PostgreSQL table has no rowid: an indexed integer key named for it splits it into chunks,
    checkpointed in the target, so a stopped copy resumes without loss or duplicates."""
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ticks (n BIGINT NOT NULL, v TEXT)")
        conn.exec_driver_sql("CREATE INDEX ix_ticks_n ON ticks (n)")
        conn.exec_driver_sql(
            "INSERT INTO ticks SELECT i * 2, 'v' || i FROM generate_series(1, 30000) i"
        )
    engine.dispose()
    dst = tmp_path / "dst.db"
    stop = StopFlag()
    with by.Batchyard(root=tmp_path) as app:
        job = app.submit(
            "migrate",
            {
                "source": pg_database,
                "target": str(dst),
                "keys": ["ticks=n"],
                "chunk_rows": 5000,
                "batch_rows": 1000,
                "keep_checkpoints": True,  # to count them below
            },
            workers=2,
        )
        assert job.total == 6
        # Stop once a chunk is done (a row in the store), not after a guessed delay.
        when(lambda: app.store.item_counts(job.id).get("done", 0) >= 1, stop.set)
        first = app.execute(job.id, install_signals=False, stop=stop)
        done = (
            app.execute(job.id, install_signals=False) if first.status.value == "paused" else first
        )
        assert done.status is by.JobStatus.COMPLETED, done.error
    con = sqlite3.connect(dst)
    assert con.execute("SELECT count(*), count(DISTINCT n), sum(n) FROM ticks").fetchone() == (
        30000,
        30000,
        30000 * 30001,
    )
    chunks = con.execute(
        "SELECT count(*) FROM _batchyard_migrate WHERE table_name = 'ticks' AND finished"
    ).fetchone()[0]
    assert chunks == 6
    con.close()
