"""The runner on both stores: checkpoints, resume, retries, timeouts, stops, executors, lineage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.engine.context import StopFlag
from batchyard.errors import ParamError, PlanError, WriteError
from conftest import cli, count_rows
from waits import when

JOBS = """
import os, threading, time
from datetime import date
from pathlib import Path
import batchyard as by

LOG = Path(__file__).parent / "executions.log"
_lock = threading.Lock()

def executed(key):
    with _lock, open(LOG, "a") as fh:
        fh.write(f"{key}\\n")

def hold_until_stopping(ctx):
    # Keep the item busy until its job stops (at most 2 minutes: a broken test fails, not hangs).
    executed(f"holding-{ctx.item_key}")
    deadline = time.monotonic() + 120
    while not ctx.should_stop and time.monotonic() < deadline:
        time.sleep(0.005)

@by.job("numbers")
def numbers(n: int, fail: list[int] = [], sleep: float = 0.0, hold: list[int] = []):
    return range(n)

@numbers.item
def number(i: int, ctx: by.Context):
    executed(i)
    if i in ctx.params["hold"]:
        hold_until_stopping(ctx)
    if ctx.params["sleep"]:
        time.sleep(ctx.params["sleep"])
    if i in ctx.params["fail"]:
        raise ValueError(f"bad number {i}")
    ctx.write("numbers", {"i": i, "square": i * i}, key="i")
    return {"square": i * i}

ATTEMPTS = {}

@by.job("flaky", retries=by.Retry(attempts=3, delay=0.01, backoff=1.0, on=(ConnectionError,)))
def flaky(n: int, fail_times: int = 2, error: str = "ConnectionError"):
    return range(n)

@flaky.item
def flaky_item(i: int, ctx: by.Context):
    executed(i)
    if ctx.attempt <= ctx.params["fail_times"]:
        raise {"ConnectionError": ConnectionError, "KeyError": KeyError}[ctx.params["error"]](f"try {ctx.attempt}")
    return ctx.attempt

@by.job("slow", timeout=0.3)
def slow(n: int, seconds: float = 5.0):
    return range(n)

@slow.item
def slow_item(i: int, ctx: by.Context):
    if i == 0:
        time.sleep(ctx.params["seconds"])
    return i

@by.job("skipper")
def skipper(n: int):
    return range(n)

@skipper.item
def skip_item(i: int):
    if i % 2:
        raise by.Skip("odd")
    return i

@by.job("long")
def long(items: int = 3, steps: int = 20, hold: int = -1):
    return [f"item-{k}" for k in range(items)]

@long.item
def long_item(key: str, ctx: by.Context):
    start = ctx.cursor or 0
    for step in range(start, ctx.params["steps"]):
        if step == ctx.params["hold"]:
            hold_until_stopping(ctx)
        with open(Path(__file__).parent / "steps.log", "a") as fh:
            fh.write(f"{key} {step}\\n")
        time.sleep(0.01)
        ctx.checkpoint(step + 1)
    return {"from": start}

@by.job("days")
def days(start: date, end: date, token: str = ""):
    return by.dates(start, end)

@days.item
def day_item(day: date, ctx: by.Context):
    ctx.log.info("token is %s", ctx.params["token"])
    ctx.write("days", {"day": day, "weekday": day.weekday()}, key="day")

@by.job("dupes")
def dupes():
    return [1, 2, 1]

@dupes.item
def dupe_item(i: int):
    return i
"""


@pytest.fixture
def jobs_app(project: Path, app: by.Batchyard) -> by.Batchyard:
    (project / "jobs.py").write_text(JOBS)
    return app


def executions(project: Path) -> list[str]:
    path = project / "executions.log"
    return path.read_text().split() if path.exists() else []


def test_job_id_and_lineage(jobs_app: by.Batchyard, target_url: str) -> None:
    job = jobs_app.run("numbers", {"n": "20"}, install_signals=False)
    assert re.fullmatch(r"numbers_dev_\d{8}_\d{6}_[0-9a-f]{6}", job.id)
    assert job.status is by.JobStatus.COMPLETED
    assert (job.total, job.done, job.failed, job.rows_written) == (20, 20, 0, 20)
    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT i, square, _job_id, _item_key FROM numbers").all()
    engine.dispose()
    assert len(rows) == 20
    assert {r[2] for r in rows} == {job.id}
    assert all(str(r[0]) == r[3] and r[1] == r[0] ** 2 for r in rows)
    items, total = jobs_app.items(job.id)
    assert total == 20
    assert items[3].result == {"square": 9}
    assert items[3].status is by.ItemStatus.DONE and items[3].attempts == 1


def test_failed_items_make_partial_and_retry_runs_only_them(
    jobs_app: by.Batchyard, project: Path, target_url: str
) -> None:
    job = jobs_app.run("numbers", {"n": "10", "fail": "3,7"}, install_signals=False)
    assert job.status is by.JobStatus.PARTIAL
    assert (job.done, job.failed) == (8, 2)
    assert "bad number" in (job.error or "")
    failed, _ = jobs_app.items(job.id, status=["failed"])
    assert [i.key for i in failed] == ["3", "7"]
    assert "ValueError: bad number 3" in (failed[0].error or "")
    assert "Traceback" in (failed[0].traceback or "")

    retry = jobs_app.retry(job.id)
    assert retry.retry_of == job.id and retry.total == 2
    jobs_app.store.update_job(retry.id, params={**retry.params, "fail": []})
    (project / "executions.log").unlink()
    done = jobs_app.execute(retry.id, install_signals=False)
    assert done.status is by.JobStatus.COMPLETED
    assert sorted(executions(project)) == ["3", "7"]
    assert count_rows(target_url, "numbers") == 10


def test_all_failed_is_failed(jobs_app: by.Batchyard) -> None:
    job = jobs_app.run("numbers", {"n": "2", "fail": "[0, 1]"}, install_signals=False)
    assert job.status is by.JobStatus.FAILED


def test_stop_on_error_stops_dispatching(jobs_app: by.Batchyard, project: Path) -> None:
    job = jobs_app.run(
        "numbers", {"n": "200", "fail": "0"}, workers=1, stop_on_error=True, install_signals=False
    )
    assert job.status is by.JobStatus.FAILED
    assert job.failed == 1
    assert len(executions(project)) < 200
    assert "bad number 0" in (job.error or "")


def test_retry_policy_retries_only_listed_errors(jobs_app: by.Batchyard, project: Path) -> None:
    job = jobs_app.run("flaky", {"n": "3"}, install_signals=False)
    assert job.status is by.JobStatus.COMPLETED
    items, _ = jobs_app.items(job.id)
    assert [i.attempts for i in items] == [3, 3, 3]
    assert [i.result for i in items] == [3, 3, 3]
    assert len(executions(project)) == 9
    warnings = [e for e in jobs_app.log(job.id) if e.level == "warning"]
    assert len(warnings) == 6 and "retrying in" in warnings[0].message

    # Three failures use up the three attempts.
    job = jobs_app.run("flaky", {"n": "1", "fail_times": "3"}, install_signals=False)
    assert job.status is by.JobStatus.FAILED
    assert jobs_app.items(job.id)[0][0].attempts == 3

    # A KeyError is not in `on`: no retry.
    job = jobs_app.run("flaky", {"n": "1", "error": "KeyError"}, install_signals=False)
    assert job.status is by.JobStatus.FAILED
    assert jobs_app.items(job.id)[0][0].attempts == 1


def test_timeout_fails_the_item_and_the_job_goes_on(jobs_app: by.Batchyard) -> None:
    job = jobs_app.run("slow", {"n": "5"}, workers=2, install_signals=False)
    # Item 0 sleeps 5 s from after the job started: a job that ended sooner did not wait for it.
    assert job.duration is not None and job.duration < 5.0
    assert job.status is by.JobStatus.PARTIAL
    assert (job.done, job.failed) == (4, 1)
    failed = jobs_app.items(job.id, status=["failed"])[0][0]
    assert failed.key == "0" and "ItemTimeout" in (failed.error or "")


def test_skip(jobs_app: by.Batchyard) -> None:
    job = jobs_app.run("skipper", {"n": "6"}, install_signals=False)
    assert job.status is by.JobStatus.COMPLETED
    assert (job.done, job.skipped) == (3, 3)


def test_pause_then_resume_continues_from_checkpoint(jobs_app: by.Batchyard, project: Path) -> None:
    stop = StopFlag()
    # Both items hold before step 5 until the job stops: stop once both are holding.
    there = {"holding-item-0", "holding-item-1"}
    watcher = when(lambda: there <= set(executions(project)), stop.set)
    job = jobs_app.run(
        "long",
        {"items": "2", "steps": "40", "hold": "5"},
        workers=2,
        stop=stop,
        install_signals=False,
    )
    assert watcher.fired()
    assert job.status is by.JobStatus.PAUSED
    counts = jobs_app.store.item_counts(job.id)
    assert counts == {"pending": 2}
    items, _ = jobs_app.items(job.id)
    cursors = {i.key: i.cursor for i in items}
    assert cursors == {"item-0": 6, "item-1": 6}  # step 5 was the last: then the checkpoint
    assert all(i.attempts == 0 for i in items)  # an interruption does not use up an attempt

    done = jobs_app.execute(job.id, install_signals=False)
    assert done.status is by.JobStatus.COMPLETED
    items, _ = jobs_app.items(job.id)
    assert {i.key: i.result["from"] for i in items} == cursors
    lines = (project / "steps.log").read_text().splitlines()
    for key in cursors:
        steps = [int(line.split()[1]) for line in lines if line.startswith(key + " ")]
        # Every step ran once: the one in flight when the job paused checkpointed after it.
        assert sorted(steps) == list(range(40))


def test_cancel_and_pause_requests_reach_a_running_job(
    jobs_app: by.Batchyard, project: Path
) -> None:
    # One worker; items 5 and 30 hold until the job stops: each request is made while one of
    # them runs, so it always finds the job running, with items left to go.
    job = jobs_app.submit("numbers", {"n": "40", "hold": [5, 30]}, workers=1)
    request = when(lambda: "5" in executions(project), lambda: jobs_app.pause(job.id))
    paused = jobs_app.execute(job.id, install_signals=False)
    assert request.fired()
    assert paused.status is by.JobStatus.PAUSED
    assert paused.done == 6  # 0..5: the held item finished once the job was stopping

    request = when(lambda: "30" in executions(project), lambda: jobs_app.cancel(job.id))
    cancelled = jobs_app.execute(job.id, install_signals=False)
    assert request.fired()
    assert cancelled.status is by.JobStatus.CANCELLED
    counts = jobs_app.store.item_counts(job.id)
    assert "pending" not in counts and "running" not in counts
    assert counts["cancelled"] == cancelled.cancelled > 0


def test_cancel_a_paused_job(jobs_app: by.Batchyard) -> None:
    job = jobs_app.submit("numbers", {"n": "5"})
    cancelled = jobs_app.cancel(job.id)
    assert cancelled.status is by.JobStatus.CANCELLED
    assert cancelled.cancelled == 5
    with pytest.raises(by.BatchyardError, match="already cancelled"):
        jobs_app.cancel(job.id)


@pytest.mark.slow
def test_process_executor(jobs_app: by.Batchyard, target_url: str) -> None:
    job = jobs_app.run(
        "numbers", {"n": "30", "fail": "4"}, executor="processes", workers=2, install_signals=False
    )
    assert job.status is by.JobStatus.PARTIAL
    assert (job.done, job.failed, job.rows_written) == (29, 1, 29)
    assert count_rows(target_url, "numbers") == 29


def test_params_are_typed_and_checked(jobs_app: by.Batchyard) -> None:
    with pytest.raises(ParamError, match=r"param 'n'.*valid integer.*got 'ten'"):
        jobs_app.submit("numbers", {"n": "ten"})
    with pytest.raises(ParamError, match="needs param 'n'"):
        jobs_app.submit("numbers", {})
    with pytest.raises(ParamError, match="has no param 'm'"):
        jobs_app.submit("numbers", {"n": "1", "m": "2"})
    with pytest.raises(ParamError, match="end 2024-01-01 is before start"):
        jobs_app.submit("days", {"start": "2024-02-01", "end": "2024-01-01"})
    assert jobs_app.jobs()[1] == 0  # nothing was recorded


def test_duplicate_item_keys_are_refused_and_nothing_is_written(jobs_app: by.Batchyard) -> None:
    with pytest.raises(PlanError, match="yields item '1' twice"):
        jobs_app.submit("dupes")
    assert jobs_app.jobs()[1] == 0


def test_secrets_never_stored(
    jobs_app: by.Batchyard, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = jobs_app.run(
        "days",
        {"start": "2024-01-01", "end": "2024-01-02", "token": "s3cret"},
        install_signals=False,
    )
    assert job.status is by.JobStatus.COMPLETED
    assert job.params["token"] == "***"
    assert all("s3cret" not in e.message for e in jobs_app.log(job.id))
    # A resume in another process cannot read a secret that was never stored: it says what to do.
    job2 = jobs_app.submit("days", {"start": "2024-01-01", "end": "2024-01-02", "token": "x1"})
    with by.Batchyard(root=project) as other, pytest.raises(ParamError, match=r"\$\{ENV_VAR\}"):
        other.execute(job2.id)
    # A ${VAR} reference is kept as the reference and read from the environment at run time.
    monkeypatch.setenv("DAYS_TOKEN", "from-env")
    job3 = jobs_app.submit(
        "days", {"start": "2024-01-01", "end": "2024-01-01", "token": "${DAYS_TOKEN}"}
    )
    assert jobs_app.store.get_job(job3.id).params["token"] == "${DAYS_TOKEN}"
    with by.Batchyard(root=project) as other:
        assert other.execute(job3.id, install_signals=False).status is by.JobStatus.COMPLETED


def test_progress_is_persisted(jobs_app: by.Batchyard) -> None:
    job = jobs_app.run("numbers", {"n": "50", "sleep": "0.005"}, install_signals=False)
    snap = jobs_app.progress(job.id)
    assert snap.status == "completed"
    assert (snap.total, snap.done, snap.percent) == (50, 50, 100.0)
    assert snap.items_per_s > 0 and snap.elapsed_s > 0
    assert snap.rows_written == 50


def test_resume_of_finished_job_is_refused(jobs_app: by.Batchyard) -> None:
    job = jobs_app.run("numbers", {"n": "1"}, install_signals=False)
    with pytest.raises(by.BatchyardError, match="is completed; nothing is left to run"):
        jobs_app.execute(job.id)


def test_write_errors_are_clear(jobs_app: by.Batchyard, target_url: str) -> None:
    from batchyard.engine.writes import write_rows

    lineage = {"_job_id": "j", "_item_key": "k"}
    with pytest.raises(WriteError, match="needs key"):
        write_rows(target_url, "t", [{"a": 1}], key=None, lineage=lineage)
    with pytest.raises(WriteError, match="row 1: key column 'a' is missing"):
        write_rows(target_url, "t", [{"a": 1}, {"b": 2}], key="a", lineage=lineage)
    with pytest.raises(WriteError, match="rows 0 and 1 have the same key"):
        write_rows(target_url, "t", [{"a": 1}, {"a": 1}], key="a", lineage=lineage)
    # Upsert updates in place, and new columns are added as they appear.
    write_rows(target_url, "t", [{"a": 1, "b": "x"}], key="a", lineage=lineage)
    write_rows(target_url, "t", [{"a": 1, "b": "y", "c": 2.5}], key="a", lineage=lineage)
    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT a, b, c FROM t").all() == [(1, "y", 2.5)]
    engine.dispose()


def test_batch_runs_pipelines_as_child_jobs(jobs_app: by.Batchyard, project: Path) -> None:
    folder = project / "pipelines"
    folder.mkdir()
    (folder / "ok.yaml").write_text("kind: numbers\nparams:\n  n: 5\n")
    (folder / "bad.yaml").write_text("kind: numbers\nparams:\n  n: 3\n  fail: [1]\n")
    job = jobs_app.run("batch", {"pipelines": ["ok", "bad"], "parallel": 2}, install_signals=False)
    assert job.status is by.JobStatus.PARTIAL
    items = {i.key: i for i in jobs_app.items(job.id)[0]}
    assert items["ok"].status is by.ItemStatus.DONE
    assert items["ok"].result["status"] == "completed"
    assert "ended partial" in (items["bad"].error or "")
    children, total = jobs_app.jobs(by.JobFilter(parent_id=job.id))
    assert total == 2 and {c.name for c in children} == {"ok", "bad"}
    top, _ = jobs_app.jobs(by.JobFilter(top_level=True))
    assert [j.id for j in top] == [job.id]


HOOKS = """
import batchyard as by
from pathlib import Path

HERE = Path(__file__).parent

@by.job("hooked", retries=3)
def hooked(n: int, fail_setup: bool = False, fail_finish: bool = False, bad: int = -1):
    return range(n)

@hooked.setup
def prepare(ctx):
    if ctx.params["fail_setup"]:
        raise RuntimeError("target unreachable")
    with open(HERE / "hooks.log", "a") as fh:
        fh.write(f"setup {ctx.item_key}\\n")

@hooked.item
def one(i: int, ctx):
    with open(HERE / "hooks.log", "a") as fh:
        fh.write(f"item {i}\\n")
    if i == ctx.params["bad"]:
        raise by.errors.BadData(f"row {i} holds 'lots' in an integer column")

@hooked.cleanup
def undo(ctx):
    with open(HERE / "hooks.log", "a") as fh:
        fh.write(f"cleanup {ctx.item_key}\\n")
    return True  # everything the job wrote is undone

@hooked.finish
def done(ctx):
    if ctx.params["fail_finish"]:
        raise RuntimeError("indexes failed")
    with open(HERE / "hooks.log", "a") as fh:
        fh.write(f"finish {ctx.item_key}\\n")
"""


def test_setup_and_finish_hooks(project: Path, app: by.Batchyard) -> None:
    (project / "jobs.py").write_text(HOOKS)
    log = project / "hooks.log"
    job = app.run("hooked", {"n": "3"}, install_signals=False)
    assert job.status is by.JobStatus.COMPLETED
    lines = log.read_text().splitlines()
    assert lines[0] == "setup @setup" and lines[-1] == "finish @finish"
    assert sorted(lines[1:-1]) == ["item 0", "item 1", "item 2"]

    log.unlink()
    job = app.run("hooked", {"n": "3", "fail_setup": "true"}, install_signals=False)
    assert job.status is by.JobStatus.FAILED
    assert job.error == "setup: RuntimeError: target unreachable"
    assert not log.exists()  # no item ran
    assert app.store.item_counts(job.id) == {"pending": 3}

    job = app.run("hooked", {"n": "2", "fail_finish": "true"}, install_signals=False)
    assert job.status is by.JobStatus.FAILED
    assert job.error == "finishing: RuntimeError: indexes failed"
    assert job.done == 2


@pytest.mark.slow
def test_bad_data_stops_the_job_and_runs_its_cleanup(project: Path, app: by.Batchyard) -> None:
    (project / "jobs.py").write_text(HOOKS)
    log = project / "hooks.log"
    job = app.run("hooked", {"n": "10", "bad": "2"}, workers=1, install_signals=False)
    assert job.status is by.JobStatus.FAILED
    # The item's message as it is, not retried (the kind allows 3 retries), and nothing after it.
    assert job.error == "row 2 holds 'lots' in an integer column"
    assert job.metadata["bad_data"] is True
    lines = log.read_text().splitlines()
    assert lines == ["setup @setup", "item 0", "item 1", "item 2", "cleanup @cleanup"]
    assert app.store.item_counts(job.id) == {"done": 2, "failed": 1, "pending": 7}
    (bad,) = app.items(job.id, status=["failed"])[0]
    assert bad.attempts == 1 and bad.traceback is None
    # Its writes were undone: a retry runs every item again (and meets the bad data again).
    again = app.retry(job.id)
    assert again.total == 10 and "bad_data" not in again.metadata
    # Any other failure leaves the cleanup alone.
    log.unlink()
    job = app.run("hooked", {"n": "2", "fail_finish": "true"}, install_signals=False)
    assert "cleanup @cleanup" not in log.read_text()

    # On the command line: bad input, exit 2, the message and no retry hint.
    done = cli(
        "-C", str(project), "run", "hooked", "-p", "n=4", "-p", "bad=0", "-w", "1", cwd=project
    )
    assert done.returncode == 2, done.stderr
    assert "row 0 holds 'lots' in an integer column" in done.stderr
    assert "jobs retry" not in done.stderr and "Traceback" not in done.stderr


WEIGHTED = """
import batchyard as by

@by.job("weighted")
def weighted():
    return [by.Item("small", 1, weight=10), by.Item("big", 2, weight=990)]

@weighted.item
def run(value):
    return value
"""


def test_weights_make_percent_and_eta_follow_work(project: Path, app: by.Batchyard) -> None:
    (project / "jobs.py").write_text(WEIGHTED)
    job = app.submit("weighted")
    assert job.weight_total == 1000
    items = {i.key: i.weight for i in app.items(job.id)[0]}
    assert items == {"small": 10, "big": 990}
    # After the small item alone, the job is 1% done by work, not 50% by count.
    from batchyard.engine.progress import Tracker

    tracker = Tracker(app.store.get_job(job.id), weight_done=10)
    tracker.add("done", weight=0)
    assert tracker.snapshot().percent == pytest.approx(1.0)
    done = app.execute(job.id, install_signals=False)
    assert done.status is by.JobStatus.COMPLETED
    snap = app.progress(job.id)
    assert snap.weight_total == 1000 and snap.weight_done == 1000 and snap.percent == 100.0
    retry = app.retry(job.id, failed_only=False)
    assert retry.weight_total == 1000
