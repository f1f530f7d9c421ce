"""The runner: executes a job's items, checkpoints each one, retries, and stops gracefully.

One loop owns the job. It claims pending items (marking them running), hands them to the executor,
and commits every outcome, together with the job's counters, in one store transaction: an item
counts as done only once that commit returns. No more items are ever claimed and not yet
committed than the executor's capacity (``workers`` for threads and processes; a Dask cluster's
threads times two chunks), so a crash redoes at most the items that were in flight. A job deleted under
its runner stops it: nothing more is recorded, and the run ends with one :class:`NotFound`.
"""

from __future__ import annotations

import heapq
import os
import queue
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context, JobsFactory, StopFlag
from batchyard.engine.executors import (
    Executor,
    JobSpec,
    Result,
    Task,
    describe_error,
    make_executor,
    timeout_result,
)
from batchyard.engine.kinds import JobKind
from batchyard.engine.options import RunOptions
from batchyard.engine.params import Params
from batchyard.engine.progress import Snapshot, Tracker
from batchyard.errors import LeaseHeld, LeaseLost, NotFound, StoreError
from batchyard.secrets import secret_values
from batchyard.store import Outcome, Store
from batchyard.store.models import ItemStatus, Job, JobStatus, utcnow

HOST = socket.gethostname()


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{os.urandom(2).hex()}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` is a runner process on this host that no longer exists."""
    try:
        host, pid_text, _ = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != HOST:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (exited, not yet reaped by its parent) holds no lease either.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def is_held(job: Job) -> bool:
    """True when a live runner (here or elsewhere) holds the job's lease."""
    if not job.lease_owner or not job.lease_expires_at:
        return False
    return job.lease_expires_at > utcnow() and not owner_is_dead(job.lease_owner)


class Runner:
    """Runs one job to an end (completed, partial, failed, cancelled) or to a pause."""

    def __init__(
        self,
        store: Store,
        kind: JobKind,
        job: Job,
        settings: Settings,
        options: RunOptions,
        *,
        params: Params | None = None,
        on_progress: Callable[[Snapshot], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        install_signals: bool = True,
        stop: StopFlag | None = None,
        jobs: JobsFactory | None = None,
    ) -> None:
        self.store = store
        # A declared kind's code, now: what it registers (the parts its progress reports) must be
        # there before the job's tracker is made.
        kind.load()
        self.kind = kind
        self.job = job
        self.settings = settings
        self.options = options
        #: The job's params: the kind's model (``ctx.params``), and as JSON values for workers.
        self.params = params if params is not None else kind.parse_params(job.params)
        self._params_json = kind.dump_params(self.params)
        self.on_progress = on_progress
        self.on_message = on_message or (lambda _msg: None)
        self.install_signals = install_signals
        self.stop = stop or StopFlag()
        #: Makes what items get as ``ctx.app``: :class:`batchyard.Batchyard`, when it runs the job.
        self.jobs = jobs
        self.owner = new_owner()
        self._results: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self._inflight: dict[str, tuple[Task, float, datetime]] = {}
        self._weights: dict[str, int] = {}
        self._retry_at: list[tuple[float, str]] = []
        self._after = -1
        self._exhausted = False
        self._stop_reason: str | None = None  # "pause", "cancel" or "error"
        self._hard = False
        self._lost = False
        self._deleted = False
        self._first_error: str | None = None
        #: The message of the bad data an item met (it stops the job, and the kind cleans up).
        self._bad_data: str | None = None
        self._setup_error: str | None = None
        self._signals = 0

    # -- public ----------------------------------------------------------------------------------

    def run(self) -> Job:
        previous: dict[signal.Signals, Any] = {}
        held = False
        try:
            # Before the lease: a Ctrl+C from here on pauses the job, however early it comes.
            if self.install_signals and threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    previous[sig] = signal.signal(sig, self._on_signal)
            self._acquire()
            held = True
            return self._run()
        except Exception as exc:
            if held and (self._deleted or self._gone()):
                # What broke is the job missing under the runner (a store write refused for
                # it, say): say that.
                raise self._deleted_error() from exc
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def request_stop(self, reason: str = "pause") -> None:
        """Stop dispatching; in-flight items finish or checkpoint; the job ends ``reason``."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self.stop.set()

    # -- lease -----------------------------------------------------------------------------------

    def _acquire(self) -> None:
        job = self.store.get_job(self.job.id)
        observed = job.lease_owner
        stale = bool(observed) and owner_is_dead(observed or "")
        if not self.store.acquire_lease(
            self.job.id, self.owner, self.options.lease_ttl, observed_owner=observed, stale=stale
        ):
            job = self.store.get_job(self.job.id)
            ago = (utcnow() - job.heartbeat_at).total_seconds() if job.heartbeat_at else None
            raise LeaseHeld(self.job.id, job.lease_owner or "another runner", ago)

    # -- the loop --------------------------------------------------------------------------------

    def _run(self) -> Job:
        store, job_id = self.store, self.job.id
        executor: Executor | None = None
        try:
            reclaimed = store.reset_running(job_id)
            if reclaimed:
                self.on_message(
                    f"{reclaimed} item(s) left running by a stopped runner go back to pending"
                )
            store.request(job_id, None)
            store.set_status(job_id, JobStatus.RUNNING)
            self._record_options()
            store.log(job_id, f"runner {self.owner} started ({self._where()})")
            self.job = store.get_job(job_id)
            self.tracker = Tracker(self.job, weight_done=store.finished_weight(job_id))
            spec = JobSpec(
                job_id=job_id,
                kind_name=self.kind.name,
                params=self._params_json,
                env=self.job.env,
                settings=self.settings,
                store_url=store.url,
                retry=self.options.retry,
                secrets=secret_values(self._params_json),
                jobs=self.jobs,
                timeout=self.options.timeout,
                address=self.options.address if self.options.executor == "dask" else None,
            )
            self._spec = spec
            if self.kind.setup_fn is not None:
                try:
                    self._hook(self.kind.setup_fn, "@setup")
                except Exception as exc:
                    self._setup_error = describe_error(exc, spec.secrets)
            if self._setup_error is None:  # else _finish (below) records the failure
                executor = make_executor(self.options.executor)
                if self._start(executor, spec):
                    self._loop(executor)
        except BaseException:
            # Whatever broke the loop, leave no item claimed by this runner.
            self._hard = True
            raise
        finally:
            if executor is not None:
                executor.shutdown(wait=not self._hard)
                self._warn_lingering(executor)
            if not self._lost and self._gone():
                self._deleted = True
            if not self._lost and not self._deleted:
                try:
                    self._finish()
                finally:
                    store.release_lease(job_id, self.owner)
        if self._deleted:
            raise self._deleted_error()
        return store.get_job(job_id)

    def _start(self, executor: Executor, spec: JobSpec) -> bool:
        """Start the executor; False when a Ctrl+C (or a pause) came while it started and broke
        the start: a cluster of this machine takes seconds, and its worker processes, in the
        terminal's process group, get the same Ctrl+C. Nothing ran yet; the job pauses."""
        try:
            executor.start(
                spec, self.kind, self.options.workers, self.store, self.stop, self._results.put
            )
        except Exception as exc:
            if not self.stop.is_set():
                raise
            self.store.log(self.job.id, f"stopped while the executor started: {exc}")
            return False
        return True

    def _gone(self) -> bool:
        """True when the job is no longer in the store: deleted (``jobs delete --force``) while
        this runner ran it. Nothing more is recorded for it then."""
        try:
            self.store.get_job(self.job.id)
        except NotFound:
            return True
        except Exception:  # the store cannot say just now: carry on as if it were there
            return False
        return False

    def _deleted_error(self) -> NotFound:
        return NotFound(f"job {self.job.id} was deleted while it ran; its runner stopped")

    def _record_options(self) -> None:
        """The job's options say what it runs with now (a resume with more workers, say)."""
        dask = self.options.executor == "dask"
        now = {
            "workers": self.options.workers,
            "executor": self.options.executor,
            "address": self.options.address if dask else None,
        }
        if any(self.job.options.get(k) != v for k, v in now.items()):  # (a missing address: None)
            recorded = {**self.job.options, **now}
            if recorded["address"] is None:
                del recorded["address"]
            self.store.update_job(self.job.id, options=recorded)

    def _where(self) -> str:
        options = self.options
        if options.executor == "dask" and options.address:
            return f"on the Dask scheduler at {options.address}"
        if options.executor == "dask":
            return f"on a Dask cluster of this machine, {options.workers} workers"
        return f"{options.workers} {options.executor} workers"

    def _loop(self, executor: Executor) -> None:
        next_beat = 0.0
        next_view = 0.0
        wait = 0.0
        while True:
            results = self._drain(wait)
            now = time.monotonic()
            if now >= next_beat:
                self._heartbeat()
                next_beat = now + self.options.heartbeat
            elif self.on_progress and now >= next_view:
                self.on_progress(self.tracker.snapshot())
                next_view = now + 0.25
            if self._hard or self._lost:
                return
            if self._stop_reason is None and self.stop.is_set():
                self.request_stop("pause")  # the job that started this one is stopping
            outcomes = self._outcomes(results)
            outcomes += self._timeouts(executor, ended={o.key for o in outcomes})
            self._step(executor, outcomes)
            if not self._inflight:
                if self._stop_reason is not None:
                    return
                if self._exhausted and not self._retry_at:
                    return
            wait = max(min(next_beat - time.monotonic(), 0.25), 0.0)
            if self._retry_at:
                wait = max(min(wait, self._retry_at[0][0] - time.monotonic()), 0.0)

    def _drain(self, wait: float) -> list[Result]:
        results: list[Result] = []
        try:
            results.append(
                self._results.get(timeout=wait) if wait > 0 else self._results.get_nowait()
            )
        except queue.Empty:
            return results
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                return results

    def _step(self, executor: Executor, outcomes: list[Outcome]) -> None:
        """Commit ``outcomes`` and claim the next items, in one store transaction."""
        free = 0
        if self._stop_reason is None:
            free = executor.capacity() - (len(self._inflight) - len(outcomes))
        now = time.monotonic()
        due: list[str] = []
        while free > len(due) and self._retry_at and self._retry_at[0][0] <= now:
            due.append(heapq.heappop(self._retry_at)[1])
        limit = 0 if self._exhausted else max(free - len(due), 0)
        if not outcomes and not due and limit == 0:
            return
        try:
            claimed = self.store.step(
                self.job.id, outcomes, after=self._after, limit=limit, keys=due, owner=self.owner
            )
        except LeaseLost:
            self._lose()
            return
        for o in outcomes:
            self._inflight.pop(o.key, None)
            weight = self._weights.pop(o.key, 0) if o.status is not ItemStatus.PENDING else 0
            self.tracker.add(o.status.value, o.rows_read, o.rows_written, weight)
        due_set = set(due)
        fresh = [c for c in claimed if c.key not in due_set]
        if limit and len(fresh) < limit:
            self._exhausted = True
        if fresh:
            self._after = fresh[-1].position
        started = utcnow()
        for c in claimed:
            task = Task(c.key, c.value, c.attempts, c.cursor)
            self._inflight[c.key] = (task, time.monotonic(), started)
            self._weights[c.key] = c.weight
            executor.submit(task)
        if claimed:
            executor.flush()
        self.tracker.retrying = len(self._retry_at)
        self.tracker.current = list(self._inflight)[:10]

    def _outcomes(self, results: list[Result]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for r in results:
            if r.key not in self._inflight or self._inflight[r.key][0].attempt != r.attempt:
                # A late result of an attempt whose timeout was recorded (maybe retried since).
                continue
            status = r.status
            if status is ItemStatus.FAILED and r.retryable and self._stop_reason == "pause":
                # Stopping: the retry waits for the resume.
                status = ItemStatus.PENDING
            elif status is ItemStatus.FAILED and r.retryable and self._stop_reason is None:
                status = ItemStatus.PENDING
                task = self._inflight[r.key][0]
                delay = self.options.retry.wait(task.attempt)
                heapq.heappush(self._retry_at, (time.monotonic() + delay, r.key))
                self.store.log(
                    self.job.id,
                    f"attempt {task.attempt} failed: {r.error}; retrying in {delay:.1f}s",
                    level="warning",
                    item_key=r.key,
                )
            elif status is ItemStatus.FAILED:
                self._first_error = self._first_error or f"item {r.key}: {r.error}"
                if r.halts and self._bad_data is None:
                    # The message as the item's error class put it, without the class's name.
                    self._bad_data = re.sub(r"^\w+: ", "", r.error or "", count=1)
                if (self.options.stop_on_error or r.halts) and self._stop_reason is None:
                    self.request_stop("error")
            outcomes.append(
                Outcome(
                    key=r.key,
                    status=status,
                    result=r.result,
                    error=r.error,
                    traceback=r.traceback,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    rows_read=r.rows_read,
                    rows_written=r.rows_written,
                    interrupted=r.interrupted,
                    worker=r.worker,
                )
            )
        return outcomes

    def _timeouts(self, executor: Executor, ended: set[str]) -> list[Outcome]:
        limit = self.options.timeout
        if not limit:
            return []
        now = time.monotonic()
        expired = [
            (k, v) for k, v in self._inflight.items() if now - v[1] > limit and k not in ended
        ]
        if not expired:
            return []
        results = []
        for key, (task, _t0, started) in expired:
            executor.abandon(key)
            results.append(timeout_result(task, started, limit, self.options.retry))
        return self._outcomes(results)

    def _heartbeat(self) -> None:
        snap = self.tracker.snapshot()
        try:
            ours, control = self.store.heartbeat(
                self.job.id, self.owner, self.options.lease_ttl, progress=snap.to_dict()
            )
        except StoreError as exc:
            self.on_message(f"heartbeat failed: {exc}")
            return
        if not ours:
            self._lose()
            return
        if control in ("cancel", "pause") and self._stop_reason is None:
            self.on_message(f"{control} requested")
            self.request_stop(control)
        if self.on_progress:
            self.on_progress(snap)

    def _lose(self) -> None:
        """Another runner took the job over: stop, leaving everything to it."""
        if self._lost:
            return
        self._lost = True
        self.stop.set()
        if self._gone():
            self._deleted = True  # said once, by the error the run ends with
            return
        text = f"job {self.job.id} was taken over by another runner; runner {self.owner} stops"
        self.store.log(self.job.id, text, level="warning")
        self.on_message(text)

    # -- the end ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        store, job_id = self.store, self.job.id
        if self._inflight:
            # A hard stop: in-flight items go back to pending and keep their attempt.
            store.reset_running(job_id, refund=True)
            self._inflight.clear()
        if self._setup_error is not None:
            store.reset_running(job_id, refund=True)
            store.set_status(job_id, JobStatus.FAILED, error=f"setup: {self._setup_error}")
            store.log(job_id, f"setup failed: {self._setup_error}", level="error")
            self._end()
            return
        reason = self._stop_reason
        counts = store.item_counts(job_id)
        pending = counts.get("pending", 0) + counts.get("running", 0)
        if reason == "cancel" and pending:  # (a cancel that came after the last item is moot)
            n = store.cancel_pending(job_id)
            store.set_status(job_id, JobStatus.CANCELLED)
            store.log(job_id, f"cancelled; {n} item(s) not run")
        elif reason == "error" and self._bad_data is not None:
            store.log(job_id, f"stopped on bad data: {self._bad_data}", level="error")
            undone = False
            if self.kind.cleanup_fn is not None:
                try:
                    undone = self._hook(self.kind.cleanup_fn, "@cleanup") is True
                except Exception as exc:
                    failed_cleanup = describe_error(exc, self._spec.secrets)
                    store.log(job_id, f"cleaning up failed: {failed_cleanup}", level="error")
            # "undone": nothing the job wrote is left, so a retry must run every item again.
            metadata = {**store.get_job(job_id).metadata, "bad_data": True, "undone": undone}
            store.update_job(job_id, metadata=metadata)
            store.set_status(job_id, JobStatus.FAILED, error=self._bad_data)
        elif reason == "error":
            store.set_status(job_id, JobStatus.FAILED, error=self._first_error)
            store.log(job_id, f"stopped on error: {self._first_error}", level="error")
        elif reason == "pause" or self._hard or pending:
            store.set_status(job_id, JobStatus.PAUSED)
            store.log(job_id, f"paused with {pending} item(s) to go")
        else:
            failed = counts.get("failed", 0)
            finished_ok = counts.get("done", 0) + counts.get("skipped", 0)
            if failed == 0 and self.kind.finish_fn is not None:
                try:
                    self._hook(self.kind.finish_fn, "@finish")
                except Exception as exc:
                    failed_finish = describe_error(exc, self._spec.secrets)
                    store.set_status(job_id, JobStatus.FAILED, error=f"finishing: {failed_finish}")
                    store.log(job_id, f"finishing failed: {failed_finish}", level="error")
                    self._end()
                    return
            if failed == 0:
                status = JobStatus.COMPLETED
            elif finished_ok == 0:
                status = JobStatus.FAILED
            else:
                status = JobStatus.PARTIAL
            error = None if failed == 0 else f"{failed} item(s) failed; first: {self._first_error}"
            store.set_status(job_id, status, error=error)
            store.log(
                job_id,
                f"{status.value}: {counts.get('done', 0)} done, {failed} failed, "
                f"{counts.get('skipped', 0)} skipped",
            )
        self._end()

    def _end(self) -> None:
        store, job_id = self.store, self.job.id
        self.tracker.status = store.get_job(job_id).status.value
        snap = self.tracker.snapshot()
        store.update_job(job_id, progress=snap.to_dict())
        if self.on_progress:
            self.on_progress(snap)

    def _warn_lingering(self, executor: Executor) -> None:
        for key in executor.lingering():
            text = (
                f"item {key} timed out and is still running (a thread cannot be stopped); "
                "its writes and checkpoints through ctx are refused"
            )
            self.store.log(self.job.id, text, level="warning", item_key=key)
            self.on_message(f"warning: {text}")

    def _hook(self, fn: Callable[[Any], Any], name: str) -> Any:
        """Run a kind's setup, finish or cleanup function with a context of its own."""
        spec = self._spec
        ctx = Context(
            store=self.store,
            settings=spec.settings,
            job_id=spec.job_id,
            item_key=name,
            attempt=1,
            cursor=None,
            params=self.params,
            env=spec.env,
            stop=self.stop,
            secrets=spec.secrets,
            fenced=False,
            jobs=spec.jobs,
        )
        out = fn(ctx)
        if ctx.counters.rows_read or ctx.counters.rows_written:
            self.store.add_job_rows(
                self.job.id, read=ctx.counters.rows_read, written=ctx.counters.rows_written
            )
        return out

    # -- signals ---------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1 and signum in (signal.SIGINT, signal.SIGTERM):
            self.request_stop("pause")
            self.on_message(
                f"stopping: letting {len(self._inflight)} in-flight item(s) finish or checkpoint "
                "(Ctrl+C again to stop now)"
            )
        else:
            self._hard = True
            self.stop.set()
            if self._stop_reason is None:
                self._stop_reason = "pause"
            self.on_message("stopping now")
