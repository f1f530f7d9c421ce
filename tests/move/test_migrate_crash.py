"""A migration killed with SIGKILL at random moments, resumed each time, ends identical to its source."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, home TEXT, runs INTEGER, odds REAL)")
    con.execute(
        "CREATE TABLE lines (game INTEGER, book TEXT, price REAL, PRIMARY KEY (game, book))"
    )
    con.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400000) "
        "INSERT INTO games SELECT i * 2, 'team ' || (i % 30), i % 13, (i % 997) / 7.0 FROM s"
    )
    con.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60000) "
        "INSERT INTO lines SELECT i, CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END, "
        "i / 3.0 FROM s"
    )
    con.commit()
    con.close()


def rows(url: str, table: str, order: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")]
    engine.dispose()
    return out


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "batchyard", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def chunks_done(store: Path) -> int:
    """Items (chunks) of the newest job that are done, read from the store (WAL: never blocked)."""
    if not store.exists():
        return 0
    con = sqlite3.connect(store)
    try:
        return int(
            con.execute(
                "SELECT count(*) FROM by_items WHERE status = 'done' AND job_id = "
                "(SELECT id FROM by_jobs ORDER BY created_at DESC LIMIT 1)"
            ).fetchone()[0]
        )
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def job_state(store: Path) -> tuple[str | None, str | None]:
    if not store.exists():
        return None, None
    con = sqlite3.connect(store)
    try:
        row = con.execute(
            "SELECT id, status FROM by_jobs ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        row = None
    con.close()
    return (row[0], row[1]) if row else (None, None)


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_killed_ten_times_and_resumed(
    tmp_path: Path, target_kind: str, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    target = (
        f"sqlite:///{tmp_path / 'dst.db'}"
        if target_kind == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    store = tmp_path / ".batchyard" / "store.db"
    seed = int(os.environ.get("BY_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    kills = 0
    for _attempt in range(40):
        job_id, status = job_state(store)
        if status == "completed":
            break
        if job_id is None:
            args = [
                "migrate",
                str(src),
                target,
                "--chunk-rows",
                "10000",
                "--batch-rows",
                "1000",
                "--verify",
            ]
        else:
            args = ["jobs", "resume", job_id]
        proc = start(args, tmp_path)
        if kills >= 10:
            _, errs = proc.communicate(timeout=180)
            assert proc.returncode == 0, (seed, errs)
            continue
        # Kill once the copy has moved on by a random number of chunks, plus a random moment
        # (or, now and then, at a random moment before the job even starts).
        early = rng.random() < 0.15
        goal = chunks_done(store) + rng.randrange(0, 2)
        deadline = time.monotonic() + (rng.uniform(0.05, 0.6) if early else 60)
        while time.monotonic() < deadline and proc.poll() is None:
            if not early and chunks_done(store) >= goal and job_state(store)[1] == "running":
                time.sleep(rng.uniform(0.0, 0.05))
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        job_id, status = job_state(store)
        if status not in (None, "completed"):
            kills += 1
    assert kills >= 10, f"only {kills} kills landed mid-run (seed {seed})"
    assert job_state(store)[1] == "completed", seed
    src_url = f"sqlite:///{src}"
    assert rows(target, "games", "id") == rows(src_url, "games", "id"), seed
    assert rows(target, "lines", "game, book") == rows(src_url, "lines", "game, book"), seed
    engine = sa.create_engine(target)
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("lines")["constrained_columns"] == ["game", "book"]
    engine.dispose()
