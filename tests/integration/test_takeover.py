"""A runner whose lease was taken over records nothing more: the store's checkpoint step is fenced
by the lease, so a stalled runner that wakes up after another took its job cannot overwrite what
the new one did (no double runner), on both stores."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import batchyard as by
from batchyard.engine.runner import Runner, RunOptions
from batchyard.store.models import utcnow
from conftest import count_rows

JOBS = """
import threading

import batchyard as by

STARTED = threading.Event()  # the first runner's first attempt is running
RELEASE = threading.Event()  # set by the test once another runner took the job over


@by.job("stalls")
def stalls(n: int):
    return range(n)


@stalls.item
def stall(i: int, ctx: by.Context):
    if i == 0 and ctx.attempt == 1:
        STARTED.set()
        RELEASE.wait()
        try:
            ctx.write("done", {"i": i, "attempt": ctx.attempt}, key="i")
        except by.errors.AttemptFenced:
            pass  # (the fence of attempts; here the lease's fence is under test)
        return "first runner"
    ctx.write("done", {"i": i, "attempt": ctx.attempt}, key="i")
    return "second runner"
"""


def test_a_runner_that_lost_its_lease_records_nothing_more(
    project: Path, app: by.Batchyard, target_url: str
) -> None:
    (project / "jobs.py").write_text(JOBS, encoding="utf-8")
    kind = app.kind("stalls")
    shared: dict[str, Any] = kind.item_fn.__globals__  # type: ignore[union-attr]
    job = app.submit("stalls", {"n": 3})
    # The first runner beats once at its start, then stalls (as a runner starved of CPU or
    # blocked on a slow store would): only the store can tell it that it lost the job.
    first = Runner(
        app.store,
        kind,
        job,
        app.settings,
        RunOptions(workers=1, heartbeat=3600),
        install_signals=False,
    )
    ended: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: ended.update(job=first.run()), daemon=True)
    thread.start()
    try:
        assert shared["STARTED"].wait(60)
        # Its lease runs out; a second runner takes the job over and finishes it.
        app.store.update_job(job.id, lease_expires_at=utcnow() - timedelta(seconds=1))
        second = app.execute(job.id, install_signals=False)
        assert second.status is by.JobStatus.COMPLETED
        assert (second.done, second.failed) == (3, 0)
    finally:
        shared["RELEASE"].set()
    thread.join(60)
    assert not thread.is_alive()

    after = app.job(job.id)
    assert after.status is by.JobStatus.COMPLETED
    assert (after.done, after.failed, after.lease_owner) == (3, 0, None)
    items, _ = app.items(job.id)
    assert {(i.key, i.status.value, i.result) for i in items} == {
        (str(k), "done", "second runner") for k in range(3)
    }
    assert count_rows(target_url, "done") == 3
    assert any("taken over" in e.message for e in app.log(job.id))
