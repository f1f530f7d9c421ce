"""Crash safety: SIGKILL the runner again and again; nothing is lost, only in-flight items rerun.

A 2,000-item job (4 workers, each item logs its key to an executions log, sleeps ~2.5 ms and
upserts one row) is started with ``batchyard run``, SIGKILLed at a random moment, resumed with
``batchyard jobs resume`` and SIGKILLed again, until at least 10 kills have landed mid-run; a last
resume then finishes it. After each kill the store is read directly: the items done then must
never execute again, and every extra execution must be explained by an item in flight at a kill.

Set BY_TEST_SEED to replay a run's kill moments.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from byprocs import (
    StoreReader,
    lines,
    log_size,
    reap_spawned,  # noqa: F401  (an autouse fixture: no process outlives a test)
    spawn,
    target_keys,
    wait_until,
    write_jobs,
)

from conftest import cli

N = 2000
WORKERS = 4
WANT_KILLS = 10  # kills that must land mid-run
MAX_ATTEMPTS = 30  # the cap on the kill loop


@dataclass(frozen=True)
class Kill:
    attempt: int
    how: str  # "after-start" or "any-moment"
    delay: float
    executions_before: int  # lines in the executions log when the runner was dead
    ran_items: bool  # the killed runner had executed at least one item
    done: frozenset[str]
    running: frozenset[str]
    job_status: str


@pytest.mark.slow
def test_sigkill_loop_loses_nothing_and_reruns_only_in_flight_items(
    project: Path, store_url: str, target_url: str
) -> None:
    write_jobs(project)
    seed = int(os.environ.get("BY_TEST_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    where = f"(seed {seed}; replay with BY_TEST_SEED={seed})"
    log = project.parent / "executions.log"
    # The job's last item waits while the gate file exists: no runner can finish the job (and
    # exit before its kill) until the kills are over, however the machine's speed moves them.
    gate = project.parent / "gate"
    gate.touch()
    reader = StoreReader(store_url)
    kills: list[Kill] = []
    job_id: str | None = None
    t0 = time.monotonic()
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if sum(k.ran_items and len(k.done) < N for k in kills) >= WANT_KILLS:
                break
            if job_id is None:
                args: tuple[str, ...] = (
                    "run",
                    "many",
                    "-p",
                    f"n={N}",
                    "-p",
                    "sleep=0.0025",
                    "-p",
                    f"log={log}",
                    "-p",
                    f"gate={gate}",
                    "--workers",
                    str(WORKERS),
                )
            else:
                args = ("jobs", "resume", job_id)
            size = log_size(log)
            proc = spawn(project, *args)
            # Most kills land a random moment after the runner began executing items; one in
            # four (on resumes) lands at any moment from the process start: in imports, while
            # taking the lease, while resetting the items the last runner left running, ...
            # Near the end of the job the kills come sooner, so that enough land mid-run.
            remaining = N - (len(kills[-1].done) if kills else 0)
            if job_id is not None and remaining > 800 and rng.random() < 0.25:
                how, delay = "any-moment", rng.uniform(0.05, 0.9)
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline and proc.popen.poll() is None:
                    time.sleep(0.002)
            else:
                how, delay = "after-start", rng.uniform(0.0, 0.15 if remaining > 800 else 0.04)
                wait_until(
                    lambda s=size: log_size(log) > s,
                    timeout=30,
                    what=f"items to start {where}",
                    proc=proc,
                )
                time.sleep(delay)
            proc.signal(signal.SIGKILL)
            rc = proc.wait()
            if rc != -signal.SIGKILL:
                # The runner ended by itself before the kill (it cannot finish the job: the
                # gate holds its last item).
                raise AssertionError(
                    f"attempt {attempt}: the runner exited with {rc} before it was killed; "
                    f"only {len(kills)} kill(s) so far {where}\n{proc.describe()}"
                )
            if job_id is None:
                ids = reader.job_ids()
                assert len(ids) == 1, ids
                job_id = ids[0]
            statuses = reader.statuses(job_id)
            assert len(statuses) == N
            kills.append(
                Kill(
                    attempt=attempt,
                    how=how,
                    delay=delay,
                    executions_before=len(lines(log)),
                    ran_items=log_size(log) > size,
                    done=frozenset(k for k, s in statuses.items() if s == "done"),
                    running=frozenset(k for k, s in statuses.items() if s == "running"),
                    job_status=reader.job(job_id).status.value,
                )
            )
        landed = [k for k in kills if k.ran_items and len(k.done) < N]
        assert len(landed) >= WANT_KILLS, (
            f"only {len(landed)} of {len(kills)} kills landed mid-run {where}"
        )
        assert job_id is not None

        gate.unlink()
        final = cli("jobs", "resume", job_id, cwd=project)
        assert final.returncode == 0, final.stderr
        assert "Traceback" not in final.stderr

        # -- executions against what the store said at each kill ----------------------------
        executions = lines(log)
        runs = Counter(executions)
        assert set(runs) == {str(i) for i in range(N)}
        for k in kills:
            # Never more in flight than workers: at most `workers` claimed, uncommitted items.
            assert len(k.running) <= WORKERS, (k.attempt, sorted(k.running))
            assert k.job_status == "running", k
            later = executions[k.executions_before :]
            redone = k.done.intersection(later)
            assert not redone, (
                f"kill {k.attempt} ({k.how}, {k.delay:.3f}s): {len(redone)} item(s) done at the "
                f"kill ran again afterwards: {sorted(redone, key=int)[:10]} {where}"
            )
        in_flight_total = sum(len(k.running) for k in kills)
        extra = len(executions) - N
        assert extra <= in_flight_total, (
            f"{extra} extra executions, but only {in_flight_total} items were in flight at the "
            f"{len(kills)} kills {where}"
        )
        # Per item: one execution, plus at most one per kill that found it in flight.
        for key, count in runs.items():
            allowed = 1 + sum(key in k.running for k in kills)
            assert count <= allowed, (key, count, allowed, where)

        # -- the end state ------------------------------------------------------------------
        statuses = reader.statuses(job_id)
        assert Counter(statuses.values()) == {"done": N}
        job = reader.job(job_id)
        assert job.status.value == "completed"
        assert (job.total, job.done, job.failed) == (N, N, 0)
        # Counters are committed with the outcomes, so a crash never counts an item twice.
        assert job.rows_written == N
        assert job.lease_owner is None
        written = target_keys(target_url, "rows", "i")
        assert len(written) == N
        assert sorted(written) == list(range(N))
    finally:
        reader.close()
    elapsed = time.monotonic() - t0
    print(
        f"{len(kills)} kills ({len(landed)} mid-run, the last at {len(kills[-1].done)}/{N} "
        f"done), {extra} extra executions of {in_flight_total} in flight, {elapsed:.1f}s {where}"
    )
