"""The Dask executor's parts that need no cluster: chunk sizes, which workers are this machine's,
the run options that name a scheduler, and what a worker does with a job's chunks (called here
directly, in this process, on a real store)."""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path

import pytest

import batchyard as by
from batchyard.engine.executors import JobSpec, Result, Task
from batchyard.engine.options import RunOptions
from batchyard.engine.registry import ProjectCode
from batchyard.errors import ClusterError, ParamError
from batchyard.store.models import ItemStatus, utcnow

pytest.importorskip("distributed")

from batchyard.engine import cluster_tasks
from batchyard.engine.cluster import ChunkSize, connect, is_local, local_addresses


def results(seconds: float, n: int) -> list[Result]:
    start = utcnow()
    end = start + timedelta(seconds=seconds)
    return [Result(str(i), ItemStatus.DONE, start, end) for i in range(n)]


def test_chunks_start_at_one_item_and_grow_for_quick_items() -> None:
    size = ChunkSize()
    assert size.size == 1
    for _ in range(10):
        size.measured(results(0.00001, 50))
    assert size.size == 1000  # the most in one chunk
    slow = ChunkSize()
    slow.measured(results(2.0, 1))
    assert slow.size == 1
    medium = ChunkSize()
    medium.measured(results(0.01, 5))
    assert medium.size == 25  # about a quarter of a second of work
    assert ChunkSize(fixed=7).size == 7


def test_workers_of_this_machine() -> None:
    here = local_addresses()
    assert is_local("tcp://127.0.0.1:40000", here)
    assert is_local("tcp://[::1]:40000", here) or "::1" in here
    assert not is_local("tcp://10.213.250.7:40000", here - {"10.213.250.7"})
    assert not is_local("tcp://no-such-host.invalid:1", here)


def test_run_options_name_a_scheduler() -> None:
    options = RunOptions.resolve(request={"executor": "dask://sched:8786"})
    assert (options.executor, options.address) == ("dask", "tcp://sched:8786")
    assert options.to_dict()["address"] == "tcp://sched:8786"
    # "dask" alone takes the address the settings give ([executor] address, BATCHYARD_DASK).
    options = RunOptions.resolve(
        request={"executor": "dask"}, settings={"address": "other:1", "executor": "threads"}
    )
    assert (options.executor, options.address) == ("dask", "tcp://other:1")
    # Threads record no address, whatever the settings hold.
    options = RunOptions.resolve(settings={"address": "other:1", "executor": "threads"})
    assert "address" not in options.to_dict()
    with pytest.raises(ParamError, match=r"dask://nowhere.*HOST:PORT"):
        RunOptions.resolve(request={"executor": "dask://nowhere"})
    with pytest.raises(ParamError, match=r"unknown executor 'frob' \(from the pipeline\)"):
        RunOptions.resolve(pipeline={"executor": "frob"})


def test_a_worker_never_makes_a_sqlite_store(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "store.db"
    with pytest.raises(ClusterError, match=r"SQLite file on the runner's machine.*PostgreSQL"):
        cluster_tasks.open_store(f"sqlite:///{missing}", "normal")
    assert not missing.exists() and not missing.parent.exists()


JOBS = """
import batchyard as by


@by.job("doubles")
def doubles(n: int = 5):
    return [str(i) for i in range(n)]


@doubles.item
def double(key: str, ctx: by.Context) -> dict:
    ctx.checkpoint({"at": key})
    return {"double": int(key) * 2}
"""


def payload_of(app: by.Batchyard, job: by.Job, root: Path, token: str) -> bytes:
    kind = app.kind(job.kind)
    spec = JobSpec(
        job_id=job.id,
        kind_name=job.kind,
        params=kind.dump_params(kind.parse_params(job.params)),
        env=job.env,
        settings=app.settings,
        store_url=app.store.url,
        retry=by.Retry(),
    )
    code = ProjectCode.of(root)
    return pickle.dumps(cluster_tasks.Payload(token, code, pickle.dumps(spec), "runner-host"))


def test_a_chunk_on_a_worker(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "jobs.py").write_text(JOBS)
    with by.Batchyard(root=root) as app:
        job = app.submit("doubles", {"n": 6})
        claimed = app.store.claim(job.id, after=-1, limit=6)
        tasks = [Task(c.key, c.value, c.attempts, c.cursor) for c in claimed]
        payload = payload_of(app, job, root, "job/1")
        try:
            first: list[Result] = pickle.loads(
                cluster_tasks.run_chunk(payload, pickle.dumps(tasks[:3]))
            )
            assert [(r.key, r.status, r.result) for r in first] == [
                (str(i), ItemStatus.DONE, {"double": i * 2}) for i in range(3)
            ]
            assert all(r.worker for r in first)
            # The checkpoints reached the store from the worker's own connection.
            items, _ = app.store.list_items(job.id)
            assert [i.cursor for i in items[:3]] == [{"at": str(i)} for i in range(3)]
            # Once the job is stopping, the items not started come back unrun.
            cluster_tasks.stop("job/1")
            rest: list[Result] = pickle.loads(
                cluster_tasks.run_chunk(payload, pickle.dumps(tasks[3:]))
            )
            assert {(r.status, r.interrupted) for r in rest} == {(ItemStatus.PENDING, True)}
        finally:
            cluster_tasks.forget("job/1")


def test_a_worker_that_cannot_load_the_jobs_code(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "jobs.py").write_text(JOBS)
    with by.Batchyard(root=root) as app:
        job = app.submit("doubles", {"n": 2})
        claimed = app.store.claim(job.id, after=-1, limit=2)
        tasks = [Task(c.key, c.value, c.attempts, c.cursor) for c in claimed]
        (root / "jobs.py").write_text("import not_installed_here\n" + JOBS)
        payload = payload_of(app, job, root, "job/2")
    with pytest.raises(ClusterError, match=r"No module named 'not_installed_here'"):
        cluster_tasks.probe(payload)
    failed: list[Result] = pickle.loads(cluster_tasks.run_chunk(payload, pickle.dumps(tasks)))
    assert {r.status for r in failed} == {ItemStatus.FAILED}
    assert "cannot run this job" in (failed[0].error or "")
    assert "install what it imports on every worker" in (failed[0].error or "")


def test_an_address_distributed_refuses_is_a_cluster_error() -> None:
    # (dask_address lets no such address through; this is the seam's own guard)
    with pytest.raises(ClusterError, match=r"the Dask scheduler at tcp://h:x does not answer"):
        connect("tcp://h:x", 1)
