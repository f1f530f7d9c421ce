"""What runs on a Dask worker: a job's code and store, loaded once per worker, and its chunks.

The runner sends a :class:`Payload` once per job (scattered to every worker) and chunks of
:class:`~batchyard.engine.executors.Task` as pickled bytes: Dask looks through a task's arguments
for futures, which costs more than running a no-op item, so a chunk goes as one opaque value.
A chunk runs its items one after another and returns every :class:`Result`; it never raises, so
what went wrong is always the item's error, recorded by the runner.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from batchyard.engine.context import StopFlag
from batchyard.engine.executors import JobSpec, Result, Task, describe_error, run_task
from batchyard.engine.kinds import JobKind
from batchyard.engine.params import Params
from batchyard.engine.registry import ProjectCode, load_shipped
from batchyard.errors import ClusterError, StoreError
from batchyard.secrets import mask_url
from batchyard.store import Store
from batchyard.store.models import ItemStatus, utcnow


@dataclass(frozen=True)
class Payload:
    """Everything a worker needs to run a job's items, sent once per job."""

    #: This run of the job (its id and the runner's): a resumed job's workers load it anew.
    token: str
    code: ProjectCode
    #: The :class:`JobSpec`, pickled: it may name classes of ``jobs.py``, loaded first.
    spec: bytes
    #: The runner's host, for messages.
    runner: str


@dataclass
class LoadedJob:
    kind: JobKind
    spec: JobSpec
    params: Params
    store: Store
    stop: StopFlag


_lock = threading.Lock()
_jobs: dict[str, LoadedJob] = {}
#: Jobs told to stop (maybe before this worker loaded them).
_stopped: set[str] = set()


def worker_name() -> str:
    """This worker's address as the scheduler knows it (``tcp://HOST:PORT``)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not on a Dask worker (a test calls a chunk directly)
        return f"{socket.gethostname()}:{os.getpid()}"


def open_store(url: str, synchronous: str) -> Store:
    """The job's store, as this worker reaches it. A SQLite store must be a file this machine
    already has: opening it here must never make a new, empty one."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if not path or not Path(path).is_file():
            raise ClusterError(
                f"the store {mask_url(url)} is a SQLite file on the runner's machine, which this "
                "worker cannot reach: give the project a PostgreSQL store for a cluster of "
                'several machines ([store] url = "postgresql://..." in batchyard.toml, or '
                "BATCHYARD_STORE)"
            )
    try:
        return Store.open(url, create=False, synchronous=synchronous)
    except StoreError as exc:
        raise ClusterError(f"this worker cannot reach the store: {exc}") from exc


def load(payload: bytes) -> tuple[str, LoadedJob]:
    """The job a payload describes, loaded on this worker (once per job and process)."""
    sent: Payload = pickle.loads(payload)
    with _lock:
        found = _jobs.get(sent.token)
        if found is not None:
            return sent.token, found
        try:
            registry = load_shipped(sent.code)
        except Exception as exc:
            raise ClusterError(
                f"cannot load the project's jobs.py: {exc}; install what it imports on every "
                "worker (the same packages as on the runner's machine)"
            ) from exc
        spec: JobSpec = pickle.loads(sent.spec)
        if spec.kind_name not in registry:
            raise ClusterError(
                f"job kind {spec.kind_name!r} is not installed here: install the package that "
                "provides it (its batchyard.jobs entry point) on every worker"
            )
        kind = registry.get(spec.kind_name)
        params = kind.parse_params(spec.params)
        store = open_store(spec.store_url, spec.settings.synchronous)
        try:
            store.get_job(spec.job_id)
        except Exception as exc:
            store.close()
            raise ClusterError(
                f"the store this worker reaches at {mask_url(spec.store_url)} does not hold job "
                f"{spec.job_id}: give the workers the runner's store ({exc})"
            ) from exc
        stop = StopFlag()
        if sent.token in _stopped:
            stop.set()
        job = LoadedJob(kind, spec, params, store, stop)
        _jobs[sent.token] = job
        return sent.token, job


def probe(payload: bytes) -> str:
    """Load the job here, or raise what stops this worker from running it (before any item)."""
    load(payload)
    return socket.gethostname()


def run_chunk(payload: bytes, tasks: bytes) -> bytes:
    """Run a chunk's items in turn; the pickled list of their results. Never raises.

    Once the job is stopping, the items not yet started go back unrun (pending, the attempt not
    counted): a pause waits only for the items under way.
    """
    chunk: list[Task] = pickle.loads(tasks)
    worker = worker_name()
    try:
        _token, job = load(payload)
    except Exception as exc:
        now = utcnow()
        error = f"worker {worker} cannot run this job: {describe_error(exc)}"
        return pickle.dumps(
            [
                Result(
                    t.key,
                    ItemStatus.FAILED,
                    now,
                    now,
                    error=error,
                    attempt=t.attempt,
                    worker=worker,
                )
                for t in chunk
            ]
        )
    try:
        # A chunk Dask runs again (its first worker died) starts each item from the checkpoint
        # the first run recorded, not the one it was sent with.
        cursors = job.store.cursors(job.spec.job_id, [t.key for t in chunk])
    except Exception:
        cursors = {}
    results: list[Result] = []
    for task in chunk:
        if task.key in cursors:
            task = replace(task, cursor=cursors[task.key])
        if job.stop.is_set():
            now = utcnow()
            results.append(
                Result(
                    task.key,
                    ItemStatus.PENDING,
                    now,
                    now,
                    error="Interrupted: not started, the job is stopping",
                    interrupted=True,
                    attempt=task.attempt,
                    worker=worker,
                )
            )
            continue
        results.append(run_task(job.kind, job.spec, job.params, task, job.store, job.stop, worker))
    return pickle.dumps(results)


def stop(token: str) -> None:
    """The job is stopping: items under way see ``ctx.should_stop``, the rest stay unrun."""
    with _lock:
        _stopped.add(token)
        found = _jobs.get(token)
    if found is not None:
        found.stop.set()


def forget(token: str) -> None:
    """The run ended: let go of the job's store connections."""
    with _lock:
        found = _jobs.pop(token, None)
        _stopped.discard(token)
    if found is not None:
        found.store.close()


def die_with(pid: int) -> None:
    """(A cluster started for one job) end this worker once the runner's process is gone, so a
    killed runner leaves nothing writing behind it; and leave Ctrl+C to the runner. The worker
    is in the terminal's process group, so Ctrl+C reaches it too: it would end the worker with
    its items, where the runner lets them finish (as process workers do, ``_child_init``)."""
    if threading.current_thread() is threading.main_thread():  # (a worker's event loop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                return
            threading.Event().wait(0.5)

    threading.Thread(target=watch, daemon=True, name="batchyard-runner-watch").start()


def describe_failure(exc: BaseException) -> str:
    """A chunk that Dask could not run (its worker died, it could not be unpickled)."""
    text = describe_error(exc)
    if type(exc).__name__ == "KilledWorker":
        return f"the worker running it died ({text})"
    if type(exc).__name__ == "CancelledError":
        return f"the Dask scheduler dropped it (restarted, or lost the runner): {text}"
    return text


__all__ = ["LoadedJob", "Payload", "forget", "load", "probe", "run_chunk", "stop"]
