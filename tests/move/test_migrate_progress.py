"""migrate's progress per table: rows done of rows estimated, rows/s and ETA, across a resume."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.engine import progress
from batchyard.engine.context import StopFlag
from batchyard.engine.progress import Snapshot
from conftest import cli

SIZES = {"games": 40000, "notes": 3000}


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, home TEXT)")
    con.execute("CREATE TABLE notes (game INTEGER, text TEXT)")  # no key: rowid ranges
    con.executemany(
        "INSERT INTO games VALUES (?, ?)", ((i, f"t{i}") for i in range(SIZES["games"]))
    )
    con.executemany("INSERT INTO notes VALUES (?, ?)", ((i, "n") for i in range(SIZES["notes"])))
    con.commit()
    con.close()


def copied(url: str, job_id: str) -> dict[str, int]:
    """Rows the target holds per table for the job, from its checkpoint table."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT table_name, sum(rows) FROM _batchyard_migrate "
                "WHERE chunk LIKE :scope GROUP BY table_name"
            ),
            {"scope": f"{job_id}:%"},
        ).all()
    engine.dispose()
    return {str(t): int(n) for t, n in rows}


@pytest.mark.slow
@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_per_table_figures_start_from_what_was_copied_after_a_resume(
    tmp_path: Path,
    target_kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "PART_INTERVAL", 0.0)  # read the figures at every tick
    src = tmp_path / "src.db"
    make_source(src)
    target = (
        f"sqlite:///{tmp_path / 'dst.db'}"
        if target_kind == "sqlite"
        else str(request.getfixturevalue("pg_database"))
    )
    stop = StopFlag()
    seen: list[Snapshot] = []

    def watch(snap: Snapshot) -> None:
        seen.append(snap)
        if any(p["done"] for p in snap.parts):
            stop.set()  # pause once some rows are in: the resume has figures to start from

    with by.Batchyard(root=tmp_path) as app:
        job = app.submit(
            "migrate",
            {"source": str(src), "target": target, "chunk_rows": 10000, "batch_rows": 200},
            workers=1,
        )
        first = app.execute(job.id, install_signals=False, stop=stop, on_progress=watch)
        assert first.status is by.JobStatus.PAUSED
        before = copied(target, job.id)
        assert 0 < sum(before.values()) < sum(SIZES.values())

        # Another terminal sees the same figures, per table, with the estimates made up front.
        r = cli("jobs", "progress", job.id, "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        parts = {p["name"]: p for p in json.loads(r.stdout)["parts"]}
        assert {n: p["total"] for n, p in parts.items()} == SIZES
        assert {n: p["done"] for n, p in parts.items()} == {n: before.get(n, 0) for n in SIZES}
        assert all("rows_per_s" in p and "eta_s" in p for p in parts.values())
        human = cli("jobs", "progress", job.id, cwd=tmp_path).stdout
        for name in SIZES:  # and a line per table in the human view
            assert re.search(rf"(?m)^\s+{name}\s+[\d.]+%\s+{before.get(name, 0):,}/", human), human

        resumed: list[Snapshot] = []
        done = app.execute(job.id, install_signals=False, on_progress=resumed.append)
        assert done.status is by.JobStatus.COMPLETED, done.error
    # The resumed run's figures never start from zero: the rows copied before count as done.
    with_parts = [s for s in resumed if s.parts]
    assert with_parts
    for snap in with_parts:
        figures = {p["name"]: p["done"] for p in snap.parts}
        assert all(figures[n] >= before.get(n, 0) for n in SIZES), figures
    last = with_parts[-1]
    assert {p["name"]: (p["done"], p["total"], p["eta_s"]) for p in last.parts} == {
        n: (rows, rows, 0.0) for n, rows in SIZES.items()
    }
    assert Snapshot.from_job(done).parts == last.parts


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_a_finished_job_stores_every_table_as_fully_copied(
    tmp_path: Path, target_kind: str, request: pytest.FixtureRequest
) -> None:
    # The figures are read at most once a second while the job runs (left as it is here): a job
    # quicker than that must still store its final figures, not the first reading's zeros.
    src = tmp_path / "src.db"
    make_source(src)
    target = (
        f"sqlite:///{tmp_path / 'dst.db'}"
        if target_kind == "sqlite"
        else str(request.getfixturevalue("pg_database"))
    )
    with by.Batchyard(root=tmp_path) as app:
        job = app.submit("migrate", {"source": str(src), "target": target}, workers=1)
        done = app.execute(job.id, install_signals=False)
        assert done.status is by.JobStatus.COMPLETED, done.error
    expected = {n: (rows, rows) for n, rows in SIZES.items()}
    stored = {p["name"]: (p["done"], p["total"]) for p in Snapshot.from_job(done).parts}
    assert stored == expected
    r = cli("jobs", "progress", job.id, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    parts = json.loads(r.stdout)["parts"]
    assert {p["name"]: (p["done"], p["total"]) for p in parts} == expected
    assert all(p["percent"] == 100.0 and p["eta_s"] == 0.0 for p in parts)
