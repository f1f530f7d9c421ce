"""`jobs stats` draws the durations of each kind as bars on one scale: to the median, then on to
the 95th percentile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import ok, sqlite_project_at, store_file

from batchyard.cli.output import fmt_duration
from batchyard.store import Store
from batchyard.store.models import Job, JobStatus, new_job_id


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def _finished(store: Store, kind: str, seconds: float) -> None:
    job = store.create_job(
        Job(id=new_job_id(kind, "dev"), kind=kind, env="dev", status=JobStatus.PENDING),
        [("a", "1")],
    )
    store.set_status(job.id, JobStatus.RUNNING)
    store.set_status(job.id, JobStatus.COMPLETED)
    store.update_job(job.id, run_s=seconds)  # as if it had run that long


def test_jobs_stats_draws_durations_per_kind(sqlite_project: Path) -> None:
    assert "durations by kind" not in ok(sqlite_project, "jobs", "stats").stdout  # none yet
    path = store_file(sqlite_project)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(f"sqlite:///{path}") as store:
        for seconds in (1, 2, 3):
            _finished(store, "quick", seconds)
        for seconds in (10, 20, 40):
            _finished(store, "backfill", seconds)
    text = ok(sqlite_project, "jobs", "stats").stdout
    assert f"durations by kind: █ median, ░ to p95 (full width {fmt_duration(40)})" in text
    bars = {}
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in ("quick", "backfill") and ("█" in line or "░" in line):
            bars[words[0]] = (line.count("█"), line.count("░"), line)
    assert set(bars) == {"quick", "backfill"}, text
    # One scale: the slowest kind's p95 fills the width (40 cells), its median half of it.
    assert bars["backfill"][:2] == (20, 20), bars["backfill"][2]
    assert bars["quick"][:2] == (2, 1), bars["quick"][2]
    assert "median 20.0s · p95 40.0s · 3 job(s)" in bars["backfill"][2]
    assert "median 2.0s · p95 3.0s" in bars["quick"][2]
