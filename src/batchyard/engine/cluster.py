"""The Dask executor: a job's items run on the workers of a Dask cluster.

The runner stays the coordinator: it claims items, commits every outcome and checkpoint in the
store, retries and times out as with threads. This executor only carries tasks to the workers and
results back. Items travel in chunks, sized so that a chunk takes about :data:`CHUNK_SECONDS` on a
worker (one Dask task per no-op item would cost far more than the item); the runner keeps each
worker thread two chunks deep, so no worker waits for the runner.

Where: ``address`` names a running scheduler (``dask scheduler``, the Dask operator, dask-jobqueue);
without one, a cluster of this machine is started for the job (``workers`` threads in all, in a
worker process per core at most) and ended with it. A worker that dies mid-chunk has the chunk run again elsewhere
by Dask; its items rerun under the same attempt, so ``ctx.write``'s upserts and the target's
checkpoints keep it exactly once.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import pickle
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from distributed import Client, Future, LocalCluster

from batchyard.engine import cluster_tasks
from batchyard.engine.context import StopFlag
from batchyard.engine.executors import JobSpec, Result, Task, lost_result, sigint_held
from batchyard.engine.kinds import JobKind
from batchyard.engine.registry import ProjectCode
from batchyard.errors import ClusterError
from batchyard.secrets import mask_url
from batchyard.store.models import utcnow

#: About how long one chunk should keep a worker busy: long enough that Dask's cost per task is
#: small beside it, short enough that a worker's death or a pause redoes or waits for little.
CHUNK_SECONDS = 0.25
#: The most items in one chunk.
MAX_CHUNK = 1000
#: Seconds between two looks at how many threads the cluster has.
SLOTS_EVERY = 1.0


class ChunkSize:
    """How many items go in one chunk: fixed (``[executor] chunk_items``), or grown from the
    measured run time of items, starting at one so that long items spread over every worker."""

    def __init__(self, fixed: int = 0) -> None:
        self.fixed = fixed
        self._per_item: float | None = None

    @property
    def size(self) -> int:
        if self.fixed:
            return self.fixed
        if self._per_item is None:
            return 1
        return max(1, min(MAX_CHUNK, int(CHUNK_SECONDS / max(self._per_item, 1e-6))))

    def measured(self, results: list[Result]) -> None:
        """Learn from a chunk's results (their time on the worker)."""
        ran = [r for r in results if not r.interrupted]
        if not ran:
            return
        busy = sum((r.finished_at - r.started_at).total_seconds() for r in ran) / len(ran)
        # A smooth average, which may grow the chunks by no more than 4 times at once.
        old = self._per_item
        self._per_item = busy if old is None else max(0.5 * old + 0.5 * busy, old / 4)


def local_addresses() -> set[str]:
    """The IP addresses of this machine (its interfaces), as a worker's address would name them."""
    import psutil  # (a dependency of distributed)

    found = {"127.0.0.1", "::1", "localhost"}
    for addresses in psutil.net_if_addrs().values():
        found.update(a.address.split("%")[0] for a in addresses)
    return found


def is_local(worker: str, here: set[str]) -> bool:
    host = urlsplit(worker).hostname or ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        try:
            host = socket.gethostbyname(host)
        except OSError:
            return False
    return host in here


def connect(address: str, timeout: float) -> Client:
    """A client of the scheduler at ``address`` that has at least one worker, or a ClusterError
    that says what to do."""
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:  # (ValueError: an address it refuses)
        raise ClusterError(
            f"the Dask scheduler at {address} does not answer ({exc}); start it "
            f"(`dask scheduler`) or give its address: --executor dask://HOST:PORT, "
            "[executor] address in batchyard.toml, or BATCHYARD_DASK"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise ClusterError(
            f"the Dask scheduler at {address} has no workers: start some (`dask worker {address}`)"
        ) from None
    return client


def workers_of(client: Client) -> dict[str, Any]:
    """The scheduler's workers by address, with what it knows of each (``nthreads``...)."""
    return dict(client.scheduler_info(n_workers=-1).get("workers", {}))


def refuse_sqlite(client: Client, url: str) -> None:
    """A SQLite store serves workers of this machine only (they open the same file)."""
    here = local_addresses()
    away = sorted(w for w in workers_of(client) if not is_local(w, here))
    if away:
        raise ClusterError(
            f"the store is a SQLite file on this machine ({mask_url(url)}), which the Dask "
            f"worker(s) at {', '.join(away)} cannot reach: give the project a PostgreSQL "
            'store for a cluster ([store] url = "postgresql://..." in batchyard.toml, or '
            "BATCHYARD_STORE), or run with --executor dask for a cluster of this machine"
        )


def preflight(address: str, timeout: float, store_url: str) -> None:
    """Before a job is recorded: the scheduler answers, has workers, and can use the store."""
    client = connect(address, timeout)
    try:
        if store_url.startswith("sqlite"):
            refuse_sqlite(client, store_url)
    finally:
        client.close()


class DaskExecutor:
    """Items run on a Dask cluster; results come back to the runner, which commits them."""

    name = "dask"

    def __init__(self) -> None:
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._buffer: list[Task] = []
        self._futures: dict[str, tuple[Future[bytes], list[Task]]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._slots = 1
        self._workers: list[str] = []
        #: Timed-out items still running, by their chunk's key: the worker each one holds up.
        self._stuck: dict[str, str] = {}
        self._closing = False

    # -- start -----------------------------------------------------------------------------------

    def start(
        self,
        spec: JobSpec,
        kind: JobKind,
        workers: int,
        store: Any,
        stop: StopFlag,
        done: Callable[[Result], None],
    ) -> None:
        self._spec, self._stop, self._done = spec, stop, done
        self._chunks = ChunkSize(1 if spec.timeout else spec.settings.dask.chunk_items)
        self._client = self._connect(spec, workers)
        client = self._client
        if spec.address is not None and store.is_sqlite:
            refuse_sqlite(client, store.url)
        code = ProjectCode.of(spec.settings.root)
        # Workers elsewhere lack the runner's environment: they get its connections as resolved
        # here (the store's URL already is).
        spec = replace(spec, settings=spec.settings.with_connections_resolved())
        self._token = f"{spec.job_id}/{os.urandom(4).hex()}"
        payload = pickle.dumps(
            cluster_tasks.Payload(self._token, code, pickle.dumps(spec), socket.gethostname())
        )
        self._probe(payload)
        # Sent once to every worker; the chunks refer to it (a worker that joins later fetches it).
        self._payload = client.scatter(payload, broadcast=True, hash=False)
        self._refresh_slots()
        self._watch = threading.Thread(
            target=self._watch_cluster, daemon=True, name="batchyard-dask"
        )
        self._watch.start()

    def _connect(self, spec: JobSpec, workers: int) -> Client:
        timeout = spec.settings.dask.connect_timeout
        if spec.address is None:
            # `workers` items at once: a process per core at most, each with threads enough.
            processes = max(1, min(workers, os.cpu_count() or 1))
            with sigint_held():  # (in its event loop's thread, and the workers it starts, too)
                self._cluster = LocalCluster(
                    n_workers=processes,
                    threads_per_worker=math.ceil(workers / processes),
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard; the scheduler's HTTP server (health, metrics) still starts,
                    # on 8787 unless told: any free port, so that two jobs at once neither
                    # clash nor warn about it on the terminal.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
            client = Client(self._cluster, timeout=timeout)
            # Started for this job: its workers go when the runner's process does.
            client.run(cluster_tasks.die_with, os.getpid())
            return client
        return connect(spec.address, timeout)

    def _probe(self, payload: bytes) -> None:
        """Load the job on every worker before any item runs; name each worker that cannot."""
        assert self._client is not None
        answers = self._client.run(cluster_tasks.probe, payload, on_error="return")
        failed = {w: a for w, a in answers.items() if isinstance(a, BaseException)}
        if failed:
            worker, exc = sorted(failed.items())[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise ClusterError(
                f"Dask worker {worker}{more} cannot run job {self._spec.job_id}: {exc}"
            )

    # -- running ---------------------------------------------------------------------------------

    def _refresh_slots(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            found = workers_of(client)
            threads = sum(int(w.get("nthreads", 1)) for w in found.values())
            self._workers = sorted(found)
        except Exception:
            return  # the scheduler is busy or away for a moment: keep the last count
        self._slots = max(threads, 1)

    def capacity(self) -> int:
        if self._spec.timeout:
            # Timed items go one at a time to a free thread: time in a queue would count. A
            # thread still running an item past its timeout is not free.
            return max(self._slots - len(self._stuck), 1)
        return self._slots * self._chunks.size * 2

    def submit(self, task: Task) -> None:
        self._buffer.append(task)

    def flush(self) -> None:
        tasks, self._buffer = self._buffer, []
        if not tasks:
            return
        # Spread what there is over every thread before filling chunks to their size.
        size = min(self._chunks.size, math.ceil(len(tasks) / self._slots))
        for start in range(0, len(tasks), size):
            self._send(tasks[start : start + size])

    def _send(self, chunk: list[Task]) -> None:
        assert self._client is not None
        with self._lock:
            self._seq += 1
            key = f"batchyard-{self._token}-{self._seq}"
            stuck = set(self._stuck.values())
        free = [w for w in self._workers if w not in stuck]
        future = self._client.submit(
            cluster_tasks.run_chunk,
            self._payload,
            pickle.dumps(chunk),
            key=key,
            pure=False,
            # Not behind an item that outlived its timeout: it may run for ever.
            workers=free if stuck and free else None,
        )
        with self._lock:
            self._futures[key] = (future, chunk)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future[bytes]) -> None:
        with self._lock:
            sent = self._futures.pop(str(future.key), None)
            self._stuck.pop(str(future.key), None)
        if self._closing or sent is None:
            return
        chunk = sent[1]
        try:
            results: list[Result] = pickle.loads(future.result())
            self._chunks.measured(results)
        except CancelledError as exc:
            # Not by this executor (it cancels only once closing): the scheduler dropped the
            # chunk (it restarted, or lost this client). Its items fail, and may be retried.
            results = self._failed(chunk, exc)
        except Exception as exc:
            if len(chunk) > 1 and type(exc).__name__ == "KilledWorker":
                # One of its items may be what kills workers: each goes again on its own.
                for task in chunk:
                    self._send([task])
                return
            results = self._failed(chunk, exc)
        for result in results:
            self._done(result)

    def _failed(self, chunk: list[Task], exc: BaseException) -> list[Result]:
        now = utcnow()
        error = cluster_tasks.describe_failure(exc)
        stopping = self._stop.is_set()
        return [lost_result(t, now, error, exc, self._spec, stopping) for t in chunk]

    def _watch_cluster(self) -> None:
        """Count the cluster's threads as workers come and go; tell the workers when the job
        stops. (Here, not in the runner's loop: each look is a round trip to the scheduler.)"""
        looked = time.monotonic()
        while not self._stop.is_set():
            if self._closing:
                return
            threading.Event().wait(0.1)
            if time.monotonic() - looked >= SLOTS_EVERY and not self._closing:
                looked = time.monotonic()
                self._refresh_slots()
        client = self._client
        if client is not None and not self._closing:
            try:
                client.run(cluster_tasks.stop, self._token, on_error="ignore")
            except Exception:  # the cluster is going away; the items still end as pending
                return

    def abandon(self, key: str) -> None:
        """An item ran past its timeout: its thread is not free until it returns (a Dask worker
        cannot stop it), so no more items go to that worker meanwhile; its late result is the
        runner's to ignore, and its writes are refused."""
        with self._lock:
            keys = {
                k for k, (_f, chunk) in self._futures.items() if [t.key for t in chunk] == [key]
            }
        if not keys or self._client is None:
            return
        try:
            processing = self._client.processing()
        except Exception:
            return
        for worker, running in processing.items():
            for chunk_key in keys & {str(k) for k in running}:
                with self._lock:
                    self._stuck[chunk_key] = worker

    def lingering(self) -> list[str]:
        return []

    def shutdown(self, *, wait: bool) -> None:
        self._closing = True
        client, self._client = self._client, None
        with self._lock:
            futures = [f for f, _chunk in self._futures.values()]
            self._futures.clear()
        if client is not None:
            try:
                if futures:
                    client.cancel(futures, force=True)
                if hasattr(self, "_token"):
                    client.run(cluster_tasks.forget, self._token, on_error="ignore")
            except Exception:
                pass  # a scheduler gone already has nothing left of this job
            finally:
                client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
