"""Signals on a live ``batchyard`` process: Ctrl+C (SIGINT) once or twice, and SIGTERM.

One signal pauses the job after the in-flight items finish (or stop at ``ctx.checkpoint``); a
second Ctrl+C stops at once, putting in-flight items back to pending. Both exit 130 and print the
command that resumes the job, and the resume finishes it without redoing finished work.
"""

from __future__ import annotations

import shlex
import signal
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from byprocs import (
    Proc,
    StoreReader,
    lines,
    reap_spawned,  # noqa: F401  (an autouse fixture: no process outlives a test)
    spawn,
    target_keys,
    wait_until,
    write_jobs,
)

from conftest import cli

pytestmark = pytest.mark.slow


def _only_job(reader: StoreReader) -> str:
    ids = reader.job_ids()
    assert len(ids) == 1, ids
    return ids[0]


def _resume_command(proc: Proc, job_id: str, flags: tuple[str, ...] = ()) -> list[str]:
    """The resume command the paused run printed (checked to be exactly the expected one, with
    the global ``flags`` the run was given), as arguments for ``batchyard``."""
    output = proc.stdout() + proc.stderr()
    expected = ["batchyard", *flags, "jobs", "resume", job_id]
    found = [line.strip() for line in output.splitlines() if "Resume with:" in line]
    assert found == [f"Paused. Resume with: {shlex.join(expected)}"], output
    argv = shlex.split(found[0].split("Resume with:", 1)[1])
    assert argv == expected
    return argv[1:]


def _rows(url: str, table: str) -> int:
    """Rows in ``table`` at ``url`` (0 when there is no such table)."""
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(table):
            return 0
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar() or 0)
    finally:
        engine.dispose()


def _assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    assert "KeyboardInterrupt" not in text, text


@pytest.mark.parametrize(
    ("sig", "elsewhere"),
    [(signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["sigint", "sigterm"],
)
def test_one_signal_pauses_after_in_flight_items_finish(
    project: Path, store_url: str, target_url: str, sig: signal.Signals, elsewhere: bool
) -> None:
    """(a) one Ctrl+C, (c) SIGTERM: in-flight items finish, job paused, exit 130; resume ends it.

    The SIGTERM run is started from another folder with ``-C PROJECT``, which the printed resume
    command must carry too.
    """
    write_jobs(project)
    n, workers = 60, 4
    log = project.parent / "executions.log"
    flags = ("-C", str(project)) if elsewhere else ()
    cwd = project.parent if elsewhere else project
    proc = spawn(
        project,
        *flags,
        "run",
        "many",
        "-p",
        f"n={n}",
        "-p",
        "sleep=0.25",
        "-p",
        f"log={log}",
        "--workers",
        str(workers),
        cwd=cwd,
    )
    wait_until(lambda: len(lines(log)) >= workers, timeout=30, what="items to start", proc=proc)
    proc.signal(sig)
    rc = proc.wait(30)
    assert rc == 130, proc.describe()
    _assert_no_traceback(proc.stderr())

    with StoreReader(store_url) as reader:
        job_id = _only_job(reader)
        job = reader.job(job_id)
        statuses = reader.statuses(job_id)
    assert job.status.value == "paused"
    assert job.lease_owner is None
    counts = Counter(statuses.values())
    assert counts["running"] == 0, counts
    executed = lines(log)
    # Graceful: every item that started before the signal ran to its end and was committed;
    # nothing new started after it (the rest stays pending).
    assert len(executed) == len(set(executed))
    done = {k for k, s in statuses.items() if s == "done"}
    assert set(executed) == done, (sorted(set(executed) - done), sorted(done - set(executed)))
    assert 0 < len(done) < n
    assert counts["pending"] == n - len(done)
    assert job.done == len(done)

    args = _resume_command(proc, job_id, flags)
    resumed = cli(*args, cwd=cwd, env={"BY_TEST_SLEEP": "0.002"})
    assert resumed.returncode == 0, resumed.stderr
    _assert_no_traceback(resumed.stderr)
    with StoreReader(store_url) as reader:
        job = reader.job(job_id)
        statuses = reader.statuses(job_id)
    assert job.status.value == "completed"
    assert Counter(statuses.values()) == {"done": n}
    assert (job.done, job.rows_written) == (n, n)
    assert sorted(target_keys(target_url, "rows", "i")) == list(range(n))
    # Each item executed exactly once over both runs: the pause lost and redid nothing.
    assert Counter(lines(log)) == {str(i): 1 for i in range(n)}


def test_second_sigint_stops_at_once(project: Path, store_url: str, target_url: str) -> None:
    """(b) Ctrl+C twice while items sleep 5 s in one call: exit 130 at once, items pending."""
    write_jobs(project)
    n, workers, sleep = 8, 4, 5.0
    log = project.parent / "executions.log"
    proc = spawn(
        project,
        "run",
        "many",
        "-p",
        f"n={n}",
        "-p",
        f"sleep={sleep}",
        "-p",
        f"log={log}",
        "--workers",
        str(workers),
    )
    wait_until(lambda: len(lines(log)) >= workers, timeout=30, what="items to start", proc=proc)
    proc.signal(signal.SIGINT)
    # The second Ctrl+C once the first has been taken (two at once may arrive as one).
    wait_until(
        lambda: "Ctrl+C again to stop now" in proc.stderr(),
        timeout=30,
        what="the first Ctrl+C to be taken",
        proc=proc,
    )
    proc.signal(signal.SIGINT)
    rc = proc.wait(30)
    assert rc == 130, proc.describe()
    _assert_no_traceback(proc.stderr())
    # It did not wait for the items in flight: none of them got to write its row (each writes
    # after its 5 s sleep).
    assert _rows(target_url, "rows") == 0

    with StoreReader(store_url) as reader:
        job_id = _only_job(reader)
        job = reader.job(job_id)
        rows = reader.items(job_id)
    assert job.status.value == "paused"
    assert job.lease_owner is None
    assert Counter(r["status"] for r in rows.values()) == {"pending": n}
    # Stopped on purpose: the cut-short attempts do not count against the items.
    assert {k: r["attempts"] for k, r in rows.items()} == {str(i): 0 for i in range(n)}
    assert job.done == 0
    executed = lines(log)
    assert len(executed) == workers, executed

    args = _resume_command(proc, job_id)
    resumed = cli(*args, cwd=project, env={"BY_TEST_SLEEP": "0.01"})
    assert resumed.returncode == 0, resumed.stderr
    _assert_no_traceback(resumed.stderr)
    with StoreReader(store_url) as reader:
        job = reader.job(job_id)
        statuses = reader.statuses(job_id)
    assert job.status.value == "completed"
    assert Counter(statuses.values()) == {"done": n}
    assert (job.done, job.rows_written) == (n, n)
    assert sorted(target_keys(target_url, "rows", "i")) == list(range(n))


def test_sigint_stops_long_item_at_checkpoint_and_resume_starts_at_cursor(
    project: Path, store_url: str, target_url: str
) -> None:
    """(d) items loop over 400 steps, ctx.checkpoint(step) after each: one Ctrl+C stops them at
    their next checkpoint, and the resume continues each from ctx.cursor + 1."""
    write_jobs(project)
    count, length, sleep, hold = 2, 400, 0.01, 20
    log = project.parent / "steps.log"
    proc = spawn(
        project,
        "run",
        "steps",
        "-p",
        f"count={count}",
        "-p",
        f"length={length}",
        "-p",
        f"sleep={sleep}",
        "-p",
        f"log={log}",
        "-p",
        f"hold={hold}",
        "--workers",
        str(count),
    )

    def steps_logged() -> dict[int, list[int]]:
        out: dict[int, list[int]] = {i: [] for i in range(count)}
        for line in lines(log):
            word, *rest = line.split()
            if word == "step":
                out[int(rest[0])].append(int(rest[1]))
        return out

    # Each item holds before step `hold` until the job stops: the signal comes once both are
    # there, whatever the machine's speed.
    wait_until(
        lambda: all(f"holding {i} {hold}" in lines(log) for i in range(count)),
        timeout=30,
        what=f"both items to reach step {hold}",
        proc=proc,
    )
    proc.signal(signal.SIGINT)
    rc = proc.wait(30)
    assert rc == 130, proc.describe()
    _assert_no_traceback(proc.stderr())
    first_run = lines(log)
    taken = steps_logged()
    # Each item stopped at its next checkpoint (after step `hold`), not at the end of its loop.
    assert taken == {i: list(range(hold + 1)) for i in range(count)}, taken

    with StoreReader(store_url) as reader:
        job_id = _only_job(reader)
        job = reader.job(job_id)
        rows = reader.items(job_id)
    assert job.status.value == "paused"
    assert {k: r["status"] for k, r in rows.items()} == {str(i): "pending" for i in range(count)}
    cursors: dict[int, int] = {}
    for i in range(count):
        row = rows[str(i)]
        # The last step taken is the last one checkpointed: steps 0..cursor, each once.
        assert taken[i] == list(range(len(taken[i]))), taken[i]
        assert row["cursor"] is not None
        cursors[i] = int(row["cursor"])
        assert cursors[i] == taken[i][-1]
        assert row["attempts"] == 0  # an attempt stopped at a checkpoint does not count
    assert f"end {0}" not in first_run

    args = _resume_command(proc, job_id)
    resumed = cli(*args, cwd=project, env={"BY_TEST_SLEEP": "0"})
    assert resumed.returncode == 0, resumed.stderr
    _assert_no_traceback(resumed.stderr)
    second_run = lines(log)[len(first_run) :]
    for i in range(count):
        # The resumed attempt saw ctx.cursor and started right after it.
        assert f"start {i} {cursors[i] + 1}" in second_run, second_run[:5]
        resumed_steps = [int(x.split()[2]) for x in second_run if x.startswith(f"step {i} ")]
        assert resumed_steps == list(range(cursors[i] + 1, length)), resumed_steps[:5]
        assert second_run.count(f"end {i}") == 1
    # Over both runs, every step of every item was taken exactly once.
    every = Counter(x for x in lines(log) if x.startswith("step "))
    assert every == {f"step {i} {s}": 1 for i in range(count) for s in range(length)}

    with StoreReader(store_url) as reader:
        job = reader.job(job_id)
        rows = reader.items(job_id)
    assert job.status.value == "completed"
    assert {k: r["status"] for k, r in rows.items()} == {str(i): "done" for i in range(count)}
    assert sorted(target_keys(target_url, "walked", "item")) == list(range(count))
