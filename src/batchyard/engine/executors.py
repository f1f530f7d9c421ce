"""Executors run items: threads (the default), processes, or a Dask cluster (``cluster.py``).

An executor takes :class:`Task` objects and puts one :class:`Result` per task on the runner's
queue. It never touches item state in the store: the runner commits every outcome. It says how
many items the runner should keep in its hands (``capacity``): a pool's size, or a cluster's
threads times the items it sends each of them at once.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic_core import to_jsonable_python

from batchyard.config import Settings
from batchyard.engine.context import Context, JobsFactory, StopFlag
from batchyard.engine.kinds import JobKind
from batchyard.engine.params import Params
from batchyard.engine.registry import load_registry
from batchyard.engine.retry import Retry
from batchyard.errors import BadData, Interrupted, ItemTimeout, Skip, UsageError
from batchyard.secrets import redact
from batchyard.store import Store
from batchyard.store.models import ItemStatus, utcnow


@dataclass(frozen=True)
class Task:
    key: str
    value: Any
    attempt: int
    cursor: Any


@dataclass(frozen=True)
class Result:
    key: str
    status: ItemStatus
    started_at: datetime
    finished_at: datetime
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    retryable: bool = False
    #: The item met bad data (:class:`BadData`): the whole job stops.
    halts: bool = False
    interrupted: bool = False
    rows_read: int = 0
    rows_written: int = 0
    #: Which attempt this is the result of: the runner takes only the in-flight attempt's.
    attempt: int = 0
    #: Where it ran: ``host:pid/thread`` for threads and processes, a Dask worker's address.
    worker: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to run the items of one job (picklable for processes)."""

    job_id: str
    kind_name: str
    #: The params as JSON values; each executor makes the kind's model of them once per job.
    params: dict[str, Any]
    env: str
    settings: Settings
    store_url: str
    retry: Retry
    #: Secret values to hide from logs, errors and tracebacks.
    secrets: tuple[str, ...] = ()
    #: What ``ctx.app`` is made with (a class, pickled by name for processes).
    jobs: JobsFactory | None = None
    #: The most seconds one attempt may take (the runner enforces it; Dask sends items singly).
    timeout: float | None = None
    #: The Dask scheduler to run on (``tcp://HOST:PORT``); None: a cluster of this machine.
    address: str | None = None


HOST = socket.gethostname()


def here() -> str:
    """This thread of this process, as items record where they ran."""
    return f"{HOST}:{os.getpid()}/{threading.current_thread().name}"


def describe_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    message = f"{name}: {text}" if text else name
    return redact(message, secrets)


@contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl+C back from this thread while worker processes start, and deliver it after.
    A process (or thread) started meanwhile keeps SIGINT blocked for good: the terminal sends
    Ctrl+C to its whole process group, workers included, and it is the runner's to handle (a
    worker that got it would die with the items it holds, where the runner lets them finish)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def lost_result(
    task: Task, started: datetime, error: str, exc: BaseException, spec: JobSpec, stopping: bool
) -> Result:
    """The result of an item whose worker was lost under it (its process died, the scheduler
    dropped it): failed, and retried as the kind allows. While the job stops it goes back to
    pending with its attempt refunded, for the resume: Ctrl+C reaches the terminal's whole
    process group, so a worker may die of the same Ctrl+C that pauses the job."""
    if stopping:
        return Result(
            task.key,
            ItemStatus.PENDING,
            started,
            utcnow(),
            error=error,
            interrupted=True,
            attempt=task.attempt,
        )
    return Result(
        task.key,
        ItemStatus.FAILED,
        started,
        utcnow(),
        error=error,
        retryable=spec.retry.should_retry(exc, task.attempt),
        attempt=task.attempt,
    )


def run_task(
    kind: JobKind,
    spec: JobSpec,
    params: Params,
    task: Task,
    store: Any,
    stop: StopFlag,
    worker: str | None = None,
) -> Result:
    """Run one attempt at one item and say how it ended. Never raises."""
    worker = worker or here()
    started = utcnow()
    ctx = Context(
        store=store,
        settings=spec.settings,
        job_id=spec.job_id,
        item_key=task.key,
        attempt=task.attempt,
        cursor=task.cursor,
        params=params,
        env=spec.env,
        stop=stop,
        secrets=spec.secrets,
        jobs=spec.jobs,
    )
    try:
        value = kind.call_item(task.value, ctx)
        result = to_jsonable_python(value, fallback=str) if value is not None else None
        status = ItemStatus.DONE
        return Result(
            task.key,
            status,
            started,
            utcnow(),
            result=result,
            rows_read=ctx.counters.rows_read,
            rows_written=ctx.counters.rows_written,
            attempt=task.attempt,
            worker=worker,
        )
    except Skip as exc:
        return Result(
            task.key,
            ItemStatus.SKIPPED,
            started,
            utcnow(),
            result={"skipped": str(exc)} if str(exc) else None,
            rows_read=ctx.counters.rows_read,
            rows_written=ctx.counters.rows_written,
            attempt=task.attempt,
            worker=worker,
        )
    except Interrupted as exc:
        return Result(
            task.key,
            ItemStatus.PENDING,
            started,
            utcnow(),
            error=describe_error(exc),
            interrupted=True,
            rows_read=ctx.counters.rows_read,
            rows_written=ctx.counters.rows_written,
            attempt=task.attempt,
            worker=worker,
        )
    except (Exception, SystemExit) as exc:
        tb = redact("".join(traceback.format_exception(exc)), spec.secrets)
        return Result(
            task.key,
            ItemStatus.FAILED,
            started,
            utcnow(),
            error=describe_error(exc, spec.secrets),
            traceback=None if isinstance(exc, BadData) else tb,
            retryable=not isinstance(exc, BadData) and spec.retry.should_retry(exc, task.attempt),
            halts=isinstance(exc, BadData),
            rows_read=ctx.counters.rows_read,
            rows_written=ctx.counters.rows_written,
            attempt=task.attempt,
            worker=worker,
        )


def timeout_result(task: Task, started: datetime, seconds: float, retry: Retry) -> Result:
    exc = ItemTimeout(f"item {task.key} ran longer than its timeout of {seconds:g}s")
    return Result(
        task.key,
        ItemStatus.FAILED,
        started,
        utcnow(),
        error=describe_error(exc),
        retryable=retry.should_retry(exc, task.attempt),
        attempt=task.attempt,
    )


class Executor(Protocol):
    """The seam between the runner and whatever runs items."""

    name: str

    def start(
        self,
        spec: JobSpec,
        kind: JobKind,
        workers: int,
        store: Any,
        stop: StopFlag,
        done: Callable[[Result], None],
    ) -> None: ...

    def capacity(self) -> int:
        """How many items the runner may hold claimed and not yet ended (read at every step)."""
        ...

    def submit(self, task: Task) -> None: ...

    def flush(self) -> None:
        """Send on the tasks submitted since the last flush (the runner's step ends)."""

    def abandon(self, key: str) -> None:
        """Give up on a task that timed out; its late result is ignored and its worker replaced."""

    def lingering(self) -> list[str]:
        """Keys of abandoned tasks still running (a thread cannot be stopped)."""
        ...

    def shutdown(self, *, wait: bool) -> None: ...


class ThreadExecutor:
    """Items run on daemon threads of this process; the default.

    Threads start as tasks arrive, never more than ``workers``, and never more than the tasks in
    hand: 64 workers for 3 items start 3 threads.
    """

    name = "threads"

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, str] = {}
        self._retire: set[int] = set()
        self._lock = threading.Lock()
        self._workers = 0
        #: Tasks submitted and not yet finished (nor abandoned).
        self._open = 0

    def start(
        self,
        spec: JobSpec,
        kind: JobKind,
        workers: int,
        store: Any,
        stop: StopFlag,
        done: Callable[[Result], None],
    ) -> None:
        self._spec, self._kind, self._store, self._stop, self._done = spec, kind, store, stop, done
        self._params = kind.parse_params(spec.params)
        self._workers = workers

    def capacity(self) -> int:
        return self._workers

    def flush(self) -> None:
        pass

    def _grow(self) -> None:
        """Start a thread if a task has none to take it and the pool is not full (lock held)."""
        serving = len(self._threads) - len(self._retire)
        if self._open > serving and serving < self._workers:
            thread = threading.Thread(
                target=self._work, daemon=True, name=f"batchyard-worker-{len(self._threads)}"
            )
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            task = self._tasks.get()
            if task is None:
                return
            with self._lock:
                self._running[me] = task.key
            result = run_task(self._kind, self._spec, self._params, task, self._store, self._stop)
            with self._lock:
                self._running.pop(me, None)
                retire = me in self._retire
                if not retire:
                    self._open -= 1
            self._done(result)
            if retire:
                return

    def submit(self, task: Task) -> None:
        with self._lock:
            self._open += 1
            self._grow()
        self._tasks.put(task)

    def abandon(self, key: str) -> None:
        with self._lock:
            for ident, running in self._running.items():
                if running == key and ident not in self._retire:
                    self._retire.add(ident)
                    self._open -= 1
            self._grow()  # the stuck thread no longer serves: another takes the waiting tasks

    def lingering(self) -> list[str]:
        with self._lock:
            return sorted(key for ident, key in self._running.items() if ident in self._retire)

    def shutdown(self, *, wait: bool) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for thread in self._threads:
                # A thread stuck past its item's timeout is left behind (it is a daemon).
                if thread.ident not in self._retire:
                    thread.join()


# -- processes ------------------------------------------------------------------------------------

_child: dict[str, Any] = {}


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive its runner: killed with it, it would go on writing while a
    resumed runner redoes the same items."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # where prctl is missing: notice the parent is gone within a second
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="batchyard-parent-watch").start()


def _child_init(root: Path, payload: bytes, event: Any, parent: int) -> None:
    _die_with_parent(parent)
    # The parent handles Ctrl+C and SIGTERM for the whole job; children finish what they hold.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The project's kinds first, as the parent loaded them: the spec may name classes of its
    # jobs.py (an exception in Retry(on=...)), which only unpickle once that module is loaded.
    registry = load_registry(root)
    spec: JobSpec = pickle.loads(payload)
    _child["kind"] = registry.get(spec.kind_name)
    _child["params"] = _child["kind"].parse_params(spec.params)
    _child["store"] = Store.open(spec.store_url, synchronous=spec.settings.synchronous)
    _child["stop"] = StopFlag(event)
    _child["spec"] = spec


def _child_run(task: Task) -> Result:
    c = _child
    return run_task(c["kind"], c["spec"], c["params"], task, c["store"], c["stop"])


class ProcessExecutor:
    """Items run in worker processes: for CPU-bound items. The kind must live in an importable
    module or the project's ``jobs.py``, and values, results and cursors must be picklable."""

    name = "processes"

    def start(
        self,
        spec: JobSpec,
        kind: JobKind,
        workers: int,
        store: Any,
        stop: StopFlag,
        done: Callable[[Result], None],
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._event = ctx.Event()
        self._stop = stop
        self._done = done
        self._abandoned: set[str] = set()
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_child_init,
            initargs=(spec.settings.root, pickle.dumps(spec), self._event, os.getpid()),
        )
        self._spec = spec
        self._workers = workers
        self._watch = threading.Thread(target=self._relay_stop, daemon=True)
        self._watch.start()

    def capacity(self) -> int:
        return self._workers

    def flush(self) -> None:
        pass

    def _relay_stop(self) -> None:
        while not self._stop.is_set():
            threading.Event().wait(0.1)
        self._event.set()

    def submit(self, task: Task) -> None:
        started = utcnow()
        with sigint_held():  # (the pool starts its processes as items come)
            future = self._pool.submit(_child_run, task)

        def finished(f: Future[Result]) -> None:
            try:
                result = f.result()
            except BaseException as exc:  # the worker process died or could not pickle
                result = lost_result(
                    task, started, describe_error(exc), exc, self._spec, self._stop.is_set()
                )
            self._done(result)

        future.add_done_callback(finished)

    def abandon(self, key: str) -> None:
        self._abandoned.add(key)

    def lingering(self) -> list[str]:
        return []  # shutdown waits for a pool's tasks, or kills its processes

    def shutdown(self, *, wait: bool) -> None:
        if not wait:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.is_alive():
                    os.kill(process.pid, signal.SIGKILL)
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def _dask() -> Executor:
    """The Dask executor, imported when chosen: distributed is an extra, and slow to import."""
    try:
        from batchyard.engine.cluster import DaskExecutor
    except ImportError as exc:
        if exc.name not in ("distributed", "dask"):
            raise
        raise UsageError(
            "--executor dask needs Dask distributed: pip install 'batchyard[dask]' "
            "(here, and on every worker of the cluster)"
        ) from None
    return DaskExecutor()


def preflight(executor: str, address: str | None, settings: Settings, store_url: str) -> None:
    """What can be known before a job is recorded: a Dask scheduler answers, has workers, and
    can use the store (a SQLite file serves workers of this machine only)."""
    if executor == "dask" and address is not None:
        _dask()  # (says so if distributed is missing)
        from batchyard.engine.cluster import preflight as cluster_preflight

        cluster_preflight(address, settings.dask.connect_timeout, store_url)


EXECUTORS: dict[str, Callable[[], Executor]] = {
    "threads": ThreadExecutor,
    "processes": ProcessExecutor,
    "dask": _dask,
}


def make_executor(name: str) -> Executor:
    """The executor called ``name``; more register in :data:`EXECUTORS`."""
    try:
        return EXECUTORS[name]()
    except KeyError:
        raise UsageError(
            f"unknown executor {name!r} (choose from: {', '.join(sorted(EXECUTORS))})"
        ) from None
