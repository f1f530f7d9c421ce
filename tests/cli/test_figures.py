"""The figures a job leaves behind: its last progress line (average rates, no ETA once it has
stopped), the progress the store keeps, and the options it ran with (a resume's ``-w``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import as_json, ok, run_job, sqlite_project_at

from batchyard.engine.progress import Tracker


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


LINE = re.compile(
    r"^(?P<status>\w+)\s+[\d.]+%\s+(?P<finished>\d+)/(?P<total>\d+) items\s+"
    r"(?P<items>[\d.,k]+) items/s\s+(?P<rows>[\d.,k]+) rows/s\s+(?P<eta>ETA \S+\s+)?"
    r"elapsed (?P<elapsed>[\d.]+)s\s+failed \d+$"
)


def last_line(stderr: str) -> re.Match[str]:
    """The last progress line the command drew (stderr is not a terminal here: plain lines)."""
    found = [m for m in map(LINE.match, stderr.splitlines()) if m]
    assert found, stderr
    return found[-1]


def within(rate: float, count: int, elapsed: float) -> bool:
    """``rate`` is ``count`` over ``elapsed`` as the figures show them (elapsed rounded to 1 ms)."""
    low, high = count / (elapsed + 0.0005), count / max(elapsed - 0.0005, 1e-9)
    return low - 0.01 <= rate <= high + 0.01


def figures(project: Path, job_id: str) -> dict[str, float]:
    return as_json(ok(project, "jobs", "progress", job_id, "--json"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("args", "env", "status"),
    [
        (["-p", "n=30"], {}, "completed"),
        (["-p", "n=30", "--stop-on-error"], {"NUMS_FAIL": "3"}, "failed"),
        (["-p", "n=30", "-p", "pause_at=4", "-w", "1"], {}, "paused"),
    ],
    ids=["completed", "failed", "paused"],
)
def test_a_stopped_job_shows_its_average_rates_and_no_eta(
    sqlite_project: Path, args: list[str], env: dict[str, str], status: str
) -> None:
    code = {"completed": 0, "failed": 1, "paused": 130}[status]
    result = ok(sqlite_project, "run", "nums", *args, code=code, env=env)
    job_id = result.stderr.splitlines()[0].split()[1].rstrip(":")
    line = last_line(result.stderr)
    assert line["status"] == status, result.stderr
    assert line["eta"] is None, f"a {status} job shows an ETA: {line[0]}"

    snap = figures(sqlite_project, job_id)
    assert snap["status"] == status and snap["eta_s"] is None
    job = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    finished = job["done"] + job["failed"] + job["skipped"] + job["cancelled"]
    elapsed = snap["elapsed_s"]
    assert elapsed > 0 and finished > 0
    # Its rates are its averages over the time it worked: items and rows over elapsed. The
    # figures are rounded (elapsed to the millisecond, rates to 0.01), and a job stopped on its
    # first failures can be over in a few milliseconds: the bounds allow for that rounding.
    assert within(snap["items_per_s"], finished, elapsed)
    assert job["rows_written"] > 0  # each item writes rows before it can fail
    assert within(snap["rows_per_s"], job["rows_written"], elapsed)
    assert float(line["rows"].replace(",", "")) > 0


def test_a_short_job_shows_its_true_rate() -> None:
    """A job of 0.6 s whose first items take a while to start: the smoothed rate still weighs
    that slow start (about half the true rate); the final figure is the average."""

    class ShortJob:
        id, kind, total, done, failed, skipped, cancelled = "short", "custom", 300, 0, 0, 0, 0
        rows_read = rows_written = 0
        progress: dict[str, float] = {}

    ticks = iter([0.0, 0.0, 0.3, 0.6, 0.6])
    tracker = Tracker(ShortJob(), clock=lambda: next(ticks))
    tracker.snapshot()  # the runner's first look, at the start
    for _ in range(30):  # the first 0.3 s: few items (workers starting, a slow first batch)
        tracker.add("done", rows_written=2)
    tracker.snapshot()
    for _ in range(270):  # then the rest
        tracker.add("done", rows_written=2)
    running = tracker.snapshot()
    tracker.status = "completed"
    final = tracker.snapshot()
    assert running.items_per_s < 0.6 * (300 / 0.6)  # the smoothed figure lags
    assert final.items_per_s == pytest.approx(500.0)  # 300 items in 0.6 s
    assert final.rows_per_s == pytest.approx(1000.0)  # 600 rows in 0.6 s
    assert final.eta_s is None


def test_show_tells_the_workers_a_resume_runs_with(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=6", "-p", "pause_at=1", "-w", "2", code=130)
    assert as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))["options"]["workers"] == 2
    ok(sqlite_project, "jobs", "resume", job_id, "-w", "4")
    job = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert job["status"] == "completed" and job["options"]["workers"] == 4
    assert "workers=4" in ok(sqlite_project, "jobs", "show", job_id).stdout
    # A resume without -w runs with what the job last ran with.
    log = ok(sqlite_project, "jobs", "log", job_id).stdout
    assert re.search(r"runner \S+ started \(4 threads workers\)", log), log
