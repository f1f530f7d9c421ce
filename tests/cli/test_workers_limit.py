"""Workers are bounded (1 to 64, documented) everywhere they are given, and threads start lazily.

``--workers 100000`` used to end in a traceback (``can't start new thread``), and a pool of N
workers started N threads whatever the job's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import invoke, run_job, sqlite_project_at

import batchyard as by
from batchyard.config import MAX_WORKERS
from batchyard.db import ENGINES
from batchyard.errors import ParamError, UsageError

THREADS = '''
import threading

import batchyard as by


@by.job("threads")
def threads(n: int):
    """Items 0..n-1; each says how many worker threads the job has."""
    return range(n)


@threads.item
def count(i: int) -> int:
    return sum(t.name.startswith("batchyard-worker") for t in threading.enumerate())
'''


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def test_the_limit_is_64() -> None:
    assert MAX_WORKERS == 64


@pytest.mark.parametrize(
    "args",
    [
        ["run", "nums", "-p", "n=3", "--workers", "100000"],
        ["run", "nums", "-p", "n=3", "-w", "65"],
        ["migrate", "a.db", "b.db", "-w", "65"],
        ["verify", "a.db", "b.db", "-w", "65"],
        ["validate", "a.db", "--rules", "r.yaml", "-w", "65"],
        ["collect", "http://127.0.0.1:9/x", "--keys", "a", "--table", "t", "-w", "65"],
        ["generate", "retail", "--workers", "65"],
        ["jobs", "resume", "nope", "-w", "65"],
    ],
)
def test_workers_past_the_limit_are_exit_2_naming_the_option(
    sqlite_project: Path, args: list[str]
) -> None:
    result = invoke(sqlite_project, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "--workers" in result.stderr, result.stderr
    assert "64" in result.stderr or "1<=x" in result.stderr, result.stderr
    assert not (sqlite_project / ".batchyard" / "store.db").exists()


def test_workers_from_the_environment_pipelines_and_python_are_bounded_too(
    sqlite_project: Path,
) -> None:
    env = invoke(sqlite_project, "run", "nums", "-p", "n=3", env={"BATCHYARD_WORKERS": "1000"})
    assert env.exit_code == 2 and "between 1 and 64" in env.stderr, env.stderr
    (sqlite_project / "pipelines" / "wide.yaml").write_text(
        "kind: nums\nworkers: 65\nparams:\n  n: 2\n"
    )
    wide = invoke(sqlite_project, "run", "wide")
    assert wide.exit_code == 2 and "wide.yaml" in wide.stderr and "64" in wide.stderr, wide.stderr
    with by.Batchyard(root=sqlite_project) as app:
        with pytest.raises(ParamError, match="between 1 and 64"):
            app.submit("nums", {"n": 3}, workers=100_000)
        job = app.submit("nums", {"n": 3})
        with pytest.raises(UsageError, match="between 1 and 64"):
            app.execute(job.id, workers=65, install_signals=False)
    ENGINES.dispose()


def test_a_pool_of_64_workers_starts_a_thread_per_item_not_64(sqlite_project: Path) -> None:
    (sqlite_project / "jobs.py").write_text(THREADS)
    job_id = run_job(sqlite_project, "threads", "-p", "n=3", "--workers", "64")
    with by.Batchyard(root=sqlite_project) as app:
        items, _ = app.store.list_items(job_id, limit=None)
    assert len(items) == 3
    assert all(1 <= item.result <= 3 for item in items), [i.result for i in items]
