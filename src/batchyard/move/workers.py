"""The processes that read and checksum row ranges for verify, shared by every verification here.

Reading rows into Python is what verify spends its time on, and one process reads at the speed of one
core whatever its threads do. So the two sides of a big table are read by worker processes (two per
core, as one side often waits on its server), each keeping its connections between tasks. Starting
them takes a second or more (several on a busy machine): a table of at most ``LOCAL_ROWS`` rows a side
is read faster by two threads of the runner's own process, so ``run(..., local=True)`` starts none.

Checksums in the workers use Python's ``hash()`` of bytes, which is seeded per process: the workers
all come from one ``forkserver`` started with ``PYTHONHASHSEED=0``, so they agree with each other and
from run to run. Threads of this process (whose seed is random) hash with BLAKE2b instead (see
:func:`batchyard.move.checksum.checksum_rows`): also the same from run to run. Both sides of a table
are always read the same way, never a mix of the two.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool

from batchyard.errors import Interrupted
from batchyard.move.checksum import Query, Range, checksum_ranges

Task = tuple[Query, Sequence[Range]]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_setting = os.environ.get("BATCHYARD_VERIFY_PROCESSES", "").strip().lower()
_disabled = _setting in ("0", "no", "off", "false")
#: A table with at most this many rows a side is read in this process: starting the workers would
#: take longer than they save.
LOCAL_ROWS = 200_000


def worker_count() -> int:
    """``BATCHYARD_VERIFY_PROCESSES`` if it is a number, else two per core."""
    return int(_setting) if _setting.isdigit() else max(2, 2 * (os.cpu_count() or 1))


def _start_pool() -> ProcessPoolExecutor | None:
    global _pool, _disabled
    if _disabled:
        return None
    if _pool is None:
        try:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["batchyard.move.checksum"])
            saved = os.environ.get("PYTHONHASHSEED")
            os.environ["PYTHONHASHSEED"] = "0"
            try:
                from multiprocessing import forkserver

                forkserver.ensure_running()
            finally:
                if saved is None:
                    os.environ.pop("PYTHONHASHSEED", None)
                else:
                    os.environ["PYTHONHASHSEED"] = saved
            _pool = ProcessPoolExecutor(max_workers=worker_count(), mp_context=ctx)
        except (OSError, ValueError, AssertionError, RuntimeError):
            # A daemonic process (an executor's worker) may not start processes of its own.
            _disabled = True
            return None
    return _pool


def shutdown() -> None:
    """Stop the worker processes (they start again when needed)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


atexit.register(shutdown)


def run(
    tasks: Sequence[Task],
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] = lambda rows: None,
    *,
    local: bool = False,
) -> list[list[tuple[int, int]]]:
    """``(rows, checksum)`` for every range of every task, in order, read in parallel: by the worker
    processes, or with ``local`` (or where processes cannot be started) by threads of this one.

    ``progress(rows)`` is called as each task ends; ``should_stop()`` is asked while they run.
    """
    if not tasks:
        return []
    if not local:
        with _lock:
            pool = _start_pool()
        if pool is not None:
            try:
                return _gather(pool, tasks, should_stop, progress)
            except BrokenProcessPool:
                shutdown()  # a worker died (killed, out of memory): read this table in threads
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="batchyard-verify") as threads:
        return _gather(threads, tasks, should_stop, progress, local=True)


def _gather(
    executor: Executor,
    tasks: Sequence[Task],
    should_stop: Callable[[], bool],
    progress: Callable[[int], None],
    local: bool = False,
) -> list[list[tuple[int, int]]]:
    futures: list[Future[list[tuple[int, int]]]] = [
        executor.submit(checksum_ranges, query, ranges, local) for query, ranges in tasks
    ]
    try:
        pending = set(futures)
        while pending:
            if should_stop():
                raise Interrupted("verify stopped; it starts the table again on resume")
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                progress(sum(rows for rows, _ in future.result()))
        return [f.result() for f in futures]
    finally:
        for f in futures:
            f.cancel()


def warm() -> None:
    """Start the workers now (while a job is being recorded, say), so a big table does not wait for
    them; quietly nothing if they cannot start or are being shut down (the process is exiting)."""
    try:
        with _lock:
            pool = _start_pool()
        if pool is not None:
            list(pool.map(time.sleep, [0.0] * worker_count()))
    except (RuntimeError, BrokenProcessPool):
        pass
