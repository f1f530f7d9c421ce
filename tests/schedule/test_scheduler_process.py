"""The real ``batchyard scheduler`` in subprocesses: it fires within a second of the scheduled
second; SIGKILLed at five observed moments and restarted, it loses no run (catch_up) and doubles
none; a second scheduler waits while the first lives and takes over when it dies or stalls."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from batchyard.db import ENGINES
from batchyard.store import JobFilter, Store
from batchyard.store.models import utcnow
from batchyard.store.schedules import RunStatus, ScheduleBook, ScheduleRun

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import log_lines, pipeline, wait_for, write_jobs

SCOPE = "sched/dev"

pytestmark = pytest.mark.slow  # real processes, killed and restarted: `make test` runs them


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "sched"\n\n[store]\nurl = "sqlite:///{root / "store.db"}"\n'
    )
    write_jobs(root)
    return root


@pytest.fixture
def store(project: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{project / 'store.db'}")
    yield s
    s.close()
    ENGINES.dispose()


class Proc:
    """A ``batchyard scheduler`` process, its output in a file the test can read as it goes."""

    def __init__(self, project: Path, *args: str) -> None:
        self.out = project.parent / f"scheduler-{time.monotonic_ns()}.log"
        self._fh = self.out.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "batchyard", "scheduler", *args],
            cwd=project,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )
        self.pid = self.popen.pid

    def text(self) -> str:
        return self.out.read_text()

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(30)
        self._fh.close()

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(60)
        self._fh.close()
        return code

    def __del__(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def freeze(proc: Proc, database: Path) -> None:
    """SIGSTOP ``proc`` between two of its store transactions: a process frozen inside one would
    hold the SQLite store's write lock, and nobody could write until it went on."""
    for _ in range(200):
        os.kill(proc.pid, signal.SIGSTOP)
        probe = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")  # free: the frozen process holds no write lock
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.kill(proc.pid, signal.SIGCONT)  # caught inside one: let it finish, try again
            time.sleep(0.01)
        finally:
            probe.close()
    raise AssertionError(f"scheduler {proc.pid} never left the store's write lock")


def holder(store: Store) -> str | None:
    lease = ScheduleBook(store).lease(f"scheduler:{SCOPE}")
    return lease.owner if lease and lease.live() else None


def active(store: Store, proc: Proc) -> Callable[[], bool]:
    """True once ``proc`` holds the scheduler's lease."""
    return lambda: (holder(store) or "").split(":")[1:2] == [str(proc.pid)]


def runs(store: Store) -> list[ScheduleRun]:
    return sorted(ScheduleBook(store).runs(SCOPE, limit=None), key=lambda r: r.scheduled_at)


def test_the_scheduler_fires_within_a_second_of_the_scheduled_second(
    project: Path, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "log.txt"
    pipeline(project, "tick", schedule="* * * * * *", params={"log": str(log)})
    proc = Proc(project)
    try:
        done = wait_for(
            lambda: (
                [r for r in runs(store) if r.status is RunStatus.COMPLETED][:3]
                if len([r for r in runs(store) if r.status is RunStatus.COMPLETED]) >= 3
                else None
            ),
            20,
            "three completed runs",
        )
    finally:
        assert proc.stop() in (0, 130), proc.text()
    started = {job: at for event, _, job, at in log_lines(log) if event == "start"}
    lags = []
    for run in done:
        job = store.get_job(run.job_id)
        assert job.started_at is not None
        fired = (job.started_at - run.scheduled_at).total_seconds()
        child = store.list_jobs(JobFilter(parent_id=job.id))[0][0]
        item = started[child.id] - run.scheduled_at.timestamp()
        lags.append((fired, item))
        assert 0 <= fired < 1.0, f"job started {fired:.3f}s after {run.scheduled_at}"
        assert 0 <= item < 1.0, f"its item started {item:.3f}s after {run.scheduled_at}"
    print("seconds from the scheduled second to the job's start, to its item's start:", lags)


def test_sigkilled_five_times_no_run_is_lost_or_doubled(
    project: Path, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "log.txt"
    gate = tmp_path / "gate"
    pipeline(
        project,
        "tick",
        schedule={"cron": "* * * * * *", "missed": "catch_up"},
        params={"log": str(log), "gate": str(gate)},
    )
    book = ScheduleBook(store)

    def new_run(after: int) -> Callable[[], bool]:
        return lambda: len(runs(store)) > after

    def run_made_its_job() -> bool:
        return any(not r.status.finished and _exists(store, r.job_id) for r in runs(store))

    def child_job_exists(after: int) -> Callable[[], bool]:
        return lambda: store.list_jobs(JobFilter(kind="mark"))[1] > after

    def inside_item(after: int) -> Callable[[], bool]:
        return lambda: sum(e == "start" for e, *_ in log_lines(log)) > after

    def completed(after: int) -> Callable[[], bool]:
        return lambda: sum(r.status is RunStatus.COMPLETED for r in runs(store)) > after

    moments: list[tuple[str, Callable[[], Callable[[], bool]]]] = [
        ("right after a run is recorded", lambda: new_run(len(runs(store)))),
        ("while a run's batch job exists and has not ended", lambda: run_made_its_job),
        (
            "right after a pipeline's child job is made",
            lambda: child_job_exists(store.list_jobs(JobFilter(kind="mark"))[1]),
        ),
        (
            "inside an item, held by the gate file",
            lambda: inside_item(sum(e == "start" for e, *_ in log_lines(log))),
        ),
        (
            "right after a run completed",
            lambda: completed(sum(r.status is RunStatus.COMPLETED for r in runs(store))),
        ),
    ]
    t0 = time.monotonic()
    # Six schedulers start at once (a start-up takes seconds on a busy machine): one leads, the
    # others wait for the lease, frozen (SIGSTOP) until their turn. Each kill is followed by a
    # second or more with no scheduler at all, then the next one goes on and takes over.
    procs = [Proc(project) for _ in range(6)]
    proc = wait_for(lambda: next((p for p in procs if active(store, p)()), None), 30, "one to lead")
    standbys = [p for p in procs if p is not proc]
    for standby in standbys:
        wait_for(lambda p=standby: "waiting: scheduler" in p.text(), 30, "the others to wait")
        freeze(standby, project / "store.db")
    for (what, moment), standby in zip(moments, standbys, strict=True):
        try:
            if what.startswith("inside"):
                gate.touch()
            wait_for(moment(), 20, what)
            proc.kill()  # SIGKILL
            gate.unlink(missing_ok=True)
            down = utcnow()
            wait_for(lambda d=down: utcnow() - d >= timedelta(seconds=1), 5, "a second to pass")
            os.kill(standby.pid, signal.SIGCONT)
            wait_for(active(store, standby), 20, "the next scheduler to take over")
        finally:
            if proc.popen.poll() is None:
                proc.kill()
            gate.unlink(missing_ok=True)
        proc = standby
    # The last one runs on: it finishes what the killed ones left and catches up.
    try:
        end = runs(store)[-1].scheduled_at + timedelta(seconds=2)
        wait_for(lambda: runs(store)[-1].scheduled_at >= end, 20, "two more seconds of runs")
        book.set_paused(SCOPE, "tick", True)
        wait_for(lambda: all(r.status.finished for r in runs(store)), 20, "every run to end")
    finally:
        code = proc.stop()
    assert code in (0, 130), proc.text()
    elapsed = time.monotonic() - t0

    recorded = runs(store)
    times = [r.scheduled_at for r in recorded]
    # None lost: with catch_up, every second from the first run to the last has its run ...
    expected = [times[0] + timedelta(seconds=n) for n in range(len(times))]
    assert times == expected, "missing seconds: " + str(sorted(set(expected) - set(times)))
    # ... and each ran to its end, once: one batch job per run, one pipeline job per batch.
    assert {r.status for r in recorded} == {RunStatus.COMPLETED}
    job_ids = [r.job_id for r in recorded]
    assert len(set(job_ids)) == len(job_ids)
    batches, _ = store.list_jobs(JobFilter(kind="batch"), limit=10_000)
    assert sorted(j.id for j in batches) == sorted(job_ids)
    children, _ = store.list_jobs(JobFilter(kind="mark"), limit=10_000)
    assert sorted(c.parent_id or "" for c in children) == sorted(job_ids)
    ended = {job for event, _, job, _ in log_lines(log) if event == "end"}
    assert ended == {c.id for c in children}
    print(f"{len(recorded)} runs over {elapsed:.1f}s and 5 SIGKILLs: none lost, none doubled")


def test_a_second_scheduler_waits_and_takes_over(project: Path, store: Store) -> None:
    pipeline(project, "tick", schedule="* * * * * *")
    book = ScheduleBook(store)
    procs = [Proc(project, "--lease-ttl", "3") for _ in range(3)]
    try:
        first = wait_for(
            lambda: next((p for p in procs if active(store, p)()), None), 30, "one to lead"
        )
        others = [p for p in procs if p is not first]
        for proc in others:
            wait_for(lambda p=proc: "waiting: scheduler" in p.text(), 30, "the others to wait")
        fired = len(runs(store))
        wait_for(lambda: len(runs(store)) > fired + 1, 20, "the first to fire on")
        assert active(store, first)() and all(not active(store, p)() for p in others)

        first.kill()  # gone: another takes over at once, the holder's process being dead
        second = wait_for(
            lambda: next((p for p in others if active(store, p)()), None), 10, "a takeover"
        )
        fired = len(runs(store))
        wait_for(lambda: len(runs(store)) > fired, 10, "the second to fire")

        # A holder that is alive but stalled keeps the lease until it expires.
        freeze(second, project / "store.db")
        lease = book.lease(f"scheduler:{SCOPE}")
        assert lease is not None and lease.expires_at is not None
        third = next(p for p in others if p is not second)
        wait_for(active(store, third), 20, "the third to take over once the lease expired")
        taken = book.lease(f"scheduler:{SCOPE}")
        assert taken is not None and taken.acquired_at is not None
        assert taken.acquired_at >= lease.expires_at
        os.kill(second.pid, signal.SIGCONT)
        wait_for(lambda: "lost the lease" in second.text(), 20, "the second to learn it lost")
        fired = len(runs(store))
        wait_for(lambda: len(runs(store)) > fired + 1, 20, "the third to fire on")
        assert active(store, third)()
    finally:
        for proc in procs:
            if proc.popen.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.stop()
    recorded = runs(store)
    times = [r.scheduled_at for r in recorded]
    assert len(set(times)) == len(times)  # each second recorded once, whoever fired it
    batches, _ = store.list_jobs(JobFilter(kind="batch"), limit=10_000)
    assert len(batches) == len({r.job_id for r in recorded})


def _exists(store: Store, job_id: str) -> bool:
    try:
        store.get_job(job_id)
    except Exception:
        return False
    return True
