"""Durations in `jobs list` and `jobs show` count running time only: a paused job's duration stands
still, and a job that sat paused shows its working time, with the paused and queued time apart
(in `jobs show`, its --json, and the API)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import as_json, ok, run_job, sqlite_project_at

PAUSE = 0.6


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def _listed(project: Path, job_id: str) -> dict[str, object]:
    listed = as_json(ok(project, "jobs", "list", "--json"))
    (job,) = [j for j in listed["jobs"] if j["id"] == job_id]
    return dict(job)


def test_a_paused_job_shows_its_working_time_and_its_pause_apart(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=6", "-p", "pause_at=2", "-w", "1", code=130)
    first = _listed(sqlite_project, job_id)
    assert first["status"] == "paused"
    time.sleep(PAUSE)
    second = _listed(sqlite_project, job_id)
    assert second["duration_s"] == first["duration_s"]  # it stands still while paused
    assert float(second["paused_s"]) >= PAUSE  # type: ignore[arg-type]

    table = ok(sqlite_project, "jobs", "show", job_id).stdout
    lines = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "paused" in lines and "queued" in lines and "duration" in lines, table

    ok(sqlite_project, "jobs", "resume", job_id)
    done = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert done["status"] == "completed"
    created = datetime.fromisoformat(done["created_at"])
    started = datetime.fromisoformat(done["started_at"])
    finished = datetime.fromisoformat(done["finished_at"])
    wall = (finished - created).total_seconds()
    # What it worked is all it shows as its duration; the pause is shown apart.
    assert done["duration_s"] <= (finished - started).total_seconds() - PAUSE
    assert done["paused_s"] >= PAUSE
    assert done["duration_s"] + done["paused_s"] + done["queued_s"] == pytest.approx(wall, abs=0.01)
    listed = _listed(sqlite_project, job_id)
    assert listed["duration_s"] == done["duration_s"]
