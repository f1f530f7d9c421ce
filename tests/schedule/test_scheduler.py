"""The scheduler in process, on SQLite and PostgreSQL, through its clock seam (``tick(now)``):
missed-run policies, pause and resume, the lease (one active scheduler, fenced writes) and
recovery of runs a stopped scheduler left."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import batchyard as by
from batchyard.errors import LeaseLost
from batchyard.schedule import Cron, Schedule, Target
from batchyard.schedule.scheduler import Scheduler, SchedulerOptions
from batchyard.store.models import JobStatus, utcnow
from batchyard.store.schedules import RunStatus, ScheduleBook

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import pipeline, wait_for, write_jobs

T0 = datetime(2031, 1, 1, 0, 0, 5, tzinfo=UTC)


def scheduler(app: by.Batchyard, ttl: float = 30.0) -> Scheduler:
    return Scheduler(app, app.schedules, options=SchedulerOptions(lease_ttl=ttl))


def start(s: Scheduler, now: datetime) -> None:
    """Take the lease as of ``now`` (the times before it are the missed ones)."""
    s.clock = lambda: now
    assert s.acquire()


def recorded(app: by.Batchyard, schedule_id: str) -> list[datetime]:
    runs = ScheduleBook(app.store).runs("test/dev", schedule_id, limit=None)
    return sorted(r.scheduled_at for r in runs)


def test_missed_runs_follow_each_policy(project: Path, app: by.Batchyard) -> None:
    write_jobs(project)
    for policy in ("skip", "once", "catch_up"):
        pipeline(project, policy, schedule={"cron": "*/10 * * * * *", "missed": policy})
    first = scheduler(app)
    start(first, T0)
    assert first.tick(T0) == []  # new schedules fire from now on
    first.tick(T0 + timedelta(seconds=10))  # on time: 00:00:10 for each
    first.release()  # stopped at 00:00:10 ...
    second = scheduler(app)
    later = T0 + timedelta(seconds=65)  # ... and started at 00:01:10
    start(second, later)
    second.tick(later)
    second.tick(later + timedelta(seconds=10))  # on time again: 00:01:20

    def at(*seconds: int) -> list[datetime]:
        return [datetime(2031, 1, 1, 0, 0, tzinfo=UTC) + timedelta(seconds=s) for s in seconds]

    assert recorded(app, "skip") == at(10, 80)
    assert recorded(app, "once") == at(10, 70, 80)
    assert recorded(app, "catch_up") == at(10, 20, 30, 40, 50, 60, 70, 80)
    # Pipelines due at the same time share one batch job; each time its own.
    runs = ScheduleBook(app.store).runs("test/dev", limit=None)
    by_time: dict[datetime, set[str]] = {}
    for r in runs:
        by_time.setdefault(r.scheduled_at, set()).add(r.job_id)
    assert all(len(ids) == 1 for ids in by_time.values())
    assert len({r.job_id for r in runs}) == len(by_time)


def test_a_paused_schedule_does_not_fire_and_resumes_from_now(
    project: Path, app: by.Batchyard
) -> None:
    write_jobs(project)
    pipeline(project, "p", schedule="* * * * * *")
    s = scheduler(app)
    t = utcnow() - timedelta(seconds=60)
    start(s, t)
    s.tick(t)
    app.pause_schedule("p")
    assert s.tick(t + timedelta(seconds=5)) == []
    assert [x.paused for x in app.schedule_overview()] == [True]
    assert app.schedule_overview()[0].next_at == []
    resumed = utcnow()
    app.resume_schedule("p")  # from now on: the 55 s since the pause are not run
    assert s.tick(t + timedelta(seconds=30)) == []
    later = resumed + timedelta(seconds=3)
    ran = [r.scheduled_at for r in s.tick(later)]
    assert ran and all(resumed < at <= later for at in ran)
    assert recorded(app, "p") == ran


def test_one_active_scheduler_and_a_lost_lease_records_nothing(
    project: Path, app: by.Batchyard
) -> None:
    write_jobs(project)
    pipeline(project, "p", schedule="* * * * * *")
    first = scheduler(app, ttl=1.0)
    start(first, T0)
    first.tick(T0)
    second = scheduler(app, ttl=30.0)
    second.clock = lambda: T0
    assert not second.acquire()  # the first holds a live lease
    book = ScheduleBook(app.store)
    lease = book.lease("scheduler:test/dev")
    assert lease is not None and lease.owner == first.owner
    # The first stalls (no heartbeat) until its lease runs out; then the second takes over.
    wait_for(lambda: not book.lease("scheduler:test/dev").live(), 10, "the lease to expire")
    assert second.acquire()
    before = book.states("test/dev")["p"].cursor
    with pytest.raises(LeaseLost):
        first.tick(T0 + timedelta(seconds=30))
    assert recorded(app, "p") == []
    assert book.states("test/dev")["p"].cursor == before


def test_a_new_scheduler_finishes_the_runs_an_earlier_one_left(
    project: Path, app: by.Batchyard, tmp_path: Path
) -> None:
    write_jobs(project)
    log = tmp_path / "log.txt"
    pipeline(project, "p", schedule="*/10 * * * * *", params={"log": str(log)})
    pipeline(project, "q", schedule="*/10 * * * * *", params={"log": str(log)}, depends_on=["p"])
    first = scheduler(app)
    start(first, T0)
    first.tick(T0)
    runs = first.tick(T0 + timedelta(seconds=20))  # 00:00:10 and 00:00:20, not started
    assert len(runs) == 4
    jobs = sorted({r.job_id for r in runs})
    # The first crashed after making the first run's job, before running it.
    made = app.submit("batch", {"pipelines": ["p", "q"], "parallel": 2}, job_id=runs[0].job_id)
    assert made.status is JobStatus.PENDING
    first.release()
    second = scheduler(app)
    second.clock = lambda: T0 + timedelta(seconds=21)  # nothing more is due
    thread = threading.Thread(target=second.run, daemon=True)
    thread.start()
    book = ScheduleBook(app.store)
    wait_for(
        lambda: all(r.status.finished for r in book.runs("test/dev", limit=None)),
        30,
        "the left runs to end",
    )
    second.stop()
    thread.join(30)
    runs_now = book.runs("test/dev", limit=None)
    assert {r.status for r in runs_now} == {RunStatus.COMPLETED}
    assert sorted({r.job_id for r in runs_now}) == jobs
    batches, _ = app.jobs(by.JobFilter(kind="batch"))
    assert sorted(j.id for j in batches) == jobs  # no job made twice
    assert all(j.status is JobStatus.COMPLETED for j in batches)
    # Each pipeline ran once per run, p before q.
    lines = log.read_text().splitlines()
    assert sum(line.startswith("end p") for line in lines) == 2
    assert sum(line.startswith("end q") for line in lines) == 2


def test_a_schedule_may_run_a_kind_with_params(project: Path, app: by.Batchyard) -> None:
    """What monitors need: a schedule whose target is a job kind with params, not a pipeline."""
    write_jobs(project)
    schedule = Schedule(
        id="kind:mark",
        target=Target(kind="mark", params={"name": "from-a-schedule"}),
        cron=Cron("*/10 * * * * *"),
    )
    s = Scheduler(app, lambda: [schedule])
    start(s, T0)
    s.tick(T0)
    (run,) = s.tick(T0 + timedelta(seconds=10))
    thread = threading.Thread(target=s.run, daemon=True)
    thread.start()
    book = ScheduleBook(app.store)
    wait_for(lambda: book.runs("test/dev")[0].status.finished, 30, "the run to end")
    s.stop()
    thread.join(30)
    (done,) = book.runs("test/dev")
    assert done.status is RunStatus.COMPLETED
    job = app.job(run.job_id)
    assert (job.kind, job.name, job.params["name"]) == ("mark", "kind:mark", "from-a-schedule")
    assert job.metadata["scheduled_for"] == "2031-01-01T00:00:10+00:00"
    assert job.tags == ["scheduled"]
