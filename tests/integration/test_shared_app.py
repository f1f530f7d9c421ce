"""One :class:`Batchyard` shared by threads (a server's requests, a scheduler's jobs): the stores
it opens and closes on first use are opened and closed once, whoever comes first."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

import batchyard as by
from batchyard.errors import Conflict
from batchyard.store.models import JobStatus

JOBS = """
import batchyard as by

@by.job("one")
def one():
    return [1]

@one.item
def run(i: int, ctx: by.Context):
    return i
"""


@pytest.mark.slow
def test_threads_that_look_up_jobs_at_the_same_moment_share_the_stores(tmp_path: Path) -> None:
    (tmp_path / "batchyard.toml").write_text('[project]\nname = "shared"\n')
    (tmp_path / "jobs.py").write_text(JOBS)
    with by.Batchyard(root=tmp_path) as maker:
        ids = [maker.submit("one").id for _ in range(16)]
    # Threads switch as often as they can: the moments between a check and its act are where
    # threads sharing an object meet.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _round in range(100):
            assert _look_up_at_once(tmp_path, ids) == []
    finally:
        sys.setswitchinterval(before)
    with by.Batchyard(root=tmp_path) as app:
        assert {app.job(i).status for i in ids} == {JobStatus.PENDING}


def _look_up_at_once(root: Path, ids: list[str]) -> list[BaseException]:
    """A fresh object (no store open yet, as when a scheduler starts its jobs), each thread
    steering one job of it at the same moment; what went wrong."""
    app = by.Batchyard(root=root)
    ready = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def look(job_id: str) -> None:
        ready.wait()
        try:
            app.pause(job_id)
        except Conflict:
            pass  # not running: what a pending job says; the lookup itself went through
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=look, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    app.close()
    return errors
