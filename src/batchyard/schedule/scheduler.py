"""The scheduler: fires each schedule's runs on time, one active scheduler per project and env.

Invariant: a run is recorded in the store, keyed by (schedule, scheduled time) and with the id
its job will have, before anything starts it; recording it also moves the schedule's cursor (the
time up to which its runs are dealt with) and renews the scheduler's lease, in one transaction.
So after a crash at any instant the next scheduler finds every run that was due: recorded ones
it finishes (making the job if it was not made yet, else resuming it), and the times after the
cursor are the missed ones its policy decides about. No time is recorded twice, and no run gets
two jobs.

One scheduler holds the lease (a row in ``by_leases``, renewed every third of its time to live);
a second one waits, and takes over when the lease expires or its holder's process is gone.
Pipelines due at the same moment fire as one ``batch`` job, so ``depends_on`` orders them.
Other targets (a ``monitor`` job of one monitor, say) get a job each. Besides firing, the active
scheduler runs its chores (the project's alert reminders and delivery retries) in a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from batchyard.config import Settings
from batchyard.engine.context import StopFlag
from batchyard.engine.runner import is_held, new_owner, owner_is_dead
from batchyard.errors import BatchyardError, LeaseHeld, LeaseLost, NotFound, StoreError
from batchyard.schedule.spec import Schedule
from batchyard.store import Store
from batchyard.store.models import ItemStatus, Job, JobStatus, new_job_id, utcnow
from batchyard.store.schedules import NewRun, RunStatus, ScheduleBook, ScheduleRun

logger = logging.getLogger("batchyard.schedule")

_ITEM_TO_RUN = {
    ItemStatus.DONE: RunStatus.COMPLETED,
    ItemStatus.FAILED: RunStatus.FAILED,
    ItemStatus.SKIPPED: RunStatus.SKIPPED,
    ItemStatus.CANCELLED: RunStatus.CANCELLED,
}


class Launcher(Protocol):
    """What the scheduler starts jobs with: :class:`batchyard.Batchyard` is one."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    def submit(
        self,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        env: str | None = None,
        name: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        job_id: str | None = None,
    ) -> Job: ...

    def execute(
        self, job_id: str, *, install_signals: bool = True, stop: StopFlag | None = None
    ) -> Job: ...


@dataclass(frozen=True)
class SchedulerOptions:
    #: Seconds the lease lasts without a heartbeat: then another scheduler may take over.
    lease_ttl: float = 30.0
    #: Scheduled jobs run at once; runs due beyond that wait (recorded) for a free slot.
    max_jobs: int = 4
    #: The most missed times one schedule catches up on (the newest ones), with ``catch_up``.
    catch_up_limit: int = 1000
    #: Seconds between two readings of the schedules (pipelines edited while it runs).
    reload_every: float = 5.0
    #: Seconds between two rounds of the chores the active scheduler runs besides firing
    #: schedules (the project's: sending alerts' reminders and retrying failed deliveries).
    chore_every: float = 30.0


@dataclass
class _Launch:
    """A job to start (or resume) for one or more recorded runs that share it."""

    job_id: str
    runs: list[ScheduleRun]


def scope_of(settings: Settings) -> str:
    """The scheduler's scope: one active scheduler per project and env."""
    return f"{settings.name}/{settings.env}"


class Scheduler:
    """Runs ``schedules`` (called again every ``reload_every`` seconds) through ``app``; while it
    is the active scheduler, it also runs each of ``chores`` (by name) every ``chore_every``
    seconds, in a thread of their own, so a slow chore never delays a run."""

    def __init__(
        self,
        app: Launcher,
        schedules: Callable[[], list[Schedule]],
        *,
        options: SchedulerOptions = SchedulerOptions(),
        clock: Callable[[], datetime] = utcnow,
        on_message: Callable[[str], None] | None = None,
        chores: Mapping[str, Callable[[], object]] | None = None,
    ) -> None:
        self.app = app
        self.load = schedules
        self.options = options
        self.clock = clock
        self.on_message = on_message or (lambda text: None)
        self.scope = scope_of(app.settings)
        self.lease_name = f"scheduler:{self.scope}"
        self.owner = new_owner()
        self.book = ScheduleBook(app.store)
        self.schedules: dict[str, Schedule] = {s.id: s for s in schedules()}
        self.holding = False
        #: When this scheduler took the lease: times due before it were missed.
        self._since: datetime | None = None
        self._stop = threading.Event()
        self._hard = False
        self._wake = threading.Event()
        self._jobs_stop = StopFlag()
        self._queue: deque[_Launch] = deque()
        self._active: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self.paused_runs = 0
        self._told_waiting = False
        self.chores = dict(chores or {})
        self._chore_errors: dict[str, str] = {}

    # -- steering --------------------------------------------------------------------------------

    def stop(self, *, hard: bool = False) -> None:
        """Stop firing; running jobs pause after their in-flight items (``hard``: do not wait)."""
        self._hard = self._hard or hard
        self._stop.set()
        self._jobs_stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Hold the lease (waiting for it while another scheduler has it) and fire schedules
        until :meth:`stop`; then let running jobs pause and give the lease up."""
        chores = None
        if self.chores:
            chores = threading.Thread(target=self._chores_loop, name="scheduler-chores")
            chores.daemon = True
            chores.start()
        try:
            while not self._stop.is_set():
                try:
                    if not self.acquire():
                        # A standby looks often: it takes over soon after the holder is gone.
                        self._stop.wait(min(0.5, self.options.lease_ttl / 6))
                        continue
                    self._serve()
                except StoreError as exc:
                    # The store is away for now: try again (a lease that runs out meanwhile
                    # is another scheduler's to take, and this one learns it at its next write).
                    self._say(f"the store cannot be used just now: {exc}")
                    self._stop.wait(1.0)
        finally:
            self._wind_down(chores)

    def acquire(self) -> bool:
        """Take the lease if it is free, expired, or its holder's process is gone."""
        lease = self.book.lease(self.lease_name)
        stale = lease.owner if lease and lease.owner and owner_is_dead(lease.owner) else None
        if not self.book.acquire_lease(
            self.lease_name, self.owner, self.options.lease_ttl, stale_owner=stale
        ):
            if not self._told_waiting and lease is not None:
                self._told_waiting = True
                self._say(f"waiting: scheduler {lease.owner} holds the lease for {self.scope}")
            return False
        self._told_waiting = False
        self.holding = True
        self._since = self.clock()
        self._say(f"scheduler {self.owner} is the active scheduler for {self.scope}")
        self._recover()
        return True

    def _serve(self) -> None:
        """Fire until stopped or the lease is lost."""
        ttl = self.options.lease_ttl
        next_beat = 0.0
        next_load = 0.0
        mono = time.monotonic
        while not self._stop.is_set():
            now_m = mono()
            if now_m >= next_load:
                self._reload()
                next_load = now_m + self.options.reload_every
            if now_m >= next_beat:
                if not self.book.renew_lease(self.lease_name, self.owner, ttl):
                    self._lost()
                    return
                next_beat = now_m + min(ttl / 3, 5.0)
            try:
                self.tick()
            except LeaseLost:
                self._lost()
                return
            self._dispatch()
            wait = min(next_beat, next_load) - mono()
            due = self.next_due()
            if due is not None:
                wait = min(wait, (due - self.clock()).total_seconds())
            self._wake.wait(max(min(wait, 1.0), 0.0))
            self._wake.clear()

    def tick(self, now: datetime | None = None) -> list[ScheduleRun]:
        """Record the runs due by ``now`` (by the missed-run policy for times before this
        scheduler took the lease) and queue their jobs. Returns the runs recorded."""
        now = now or self.clock()
        since = self._since or now
        states = self.book.states(self.scope)
        cursors: dict[str, datetime] = {}
        due: list[tuple[Schedule, datetime]] = []
        for schedule in self.schedules.values():
            state = states.get(schedule.id)
            cursor = state.cursor if state else None
            if cursor is None or (state is not None and state.paused):
                if cursor is None or cursor < now:
                    cursors[schedule.id] = now  # new, or paused: from now on
                continue
            if now <= cursor:
                continue
            times: list[datetime] = []
            if cursor < since:
                times += schedule.missed.pick(
                    schedule.cron, cursor, min(since, now), self.options.catch_up_limit
                )
            times += schedule.cron.between(max(cursor, since), now)
            due += [(schedule, at) for at in times]
            cursors[schedule.id] = now
        if not cursors:
            return []
        runs = self._new_runs(due)
        recorded = self.book.record(
            self.scope, (self.lease_name, self.owner, self.options.lease_ttl), runs, cursors
        )
        for launch in _group(recorded):
            self._enqueue(launch)
        return recorded

    def next_due(self) -> datetime | None:
        """The next time any schedule is due (None without schedules)."""
        now = self.clock()
        times = [s.cron.after(now) for s in self.schedules.values()]
        return min(times) if times else None

    # -- runs and their jobs ---------------------------------------------------------------------

    def _new_runs(self, due: Iterable[tuple[Schedule, datetime]]) -> list[NewRun]:
        """Pipelines due at the same time (and env) share one batch job; others get their own."""
        shared: dict[tuple[datetime, str], str] = {}
        runs = []
        for schedule, at in sorted(due, key=lambda d: (d[1], d[0].id)):
            env = schedule.target.env or self.app.settings.env
            if schedule.target.pipeline:
                job_id = shared.setdefault((at, env), new_job_id("batch", env))
            else:
                job_id = new_job_id(str(schedule.target.kind), env)
            runs.append(NewRun(schedule.id, at, job_id))
        return runs

    def _recover(self) -> None:
        """Queue the runs a stopped or crashed scheduler left unfinished."""
        with self._lock:
            mine = set(self._active) | {launch.job_id for launch in self._queue}
        left = [r for r in self.book.unfinished(self.scope) if r.job_id not in mine]
        launches = list(_group(left))
        if launches:
            self._say(f"{len(left)} run(s) left unfinished by an earlier scheduler: taking them on")
        for launch in launches:
            self._enqueue(launch)

    def _enqueue(self, launch: _Launch) -> None:
        with self._lock:
            self._queue.append(launch)

    def _dispatch(self) -> None:
        with self._lock:
            while self._queue and len(self._active) < self.options.max_jobs:
                launch = self._queue.popleft()
                if launch.job_id in self._active:
                    continue
                thread = threading.Thread(
                    target=self._launch, args=(launch,), name=f"schedule-{launch.job_id}"
                )
                thread.daemon = True
                self._active[launch.job_id] = thread
                thread.start()

    def _launch(self, launch: _Launch) -> None:
        try:
            self._run_job(launch)
        except Exception as exc:  # recorded on the run; the scheduler carries on
            logger.exception("scheduled job %s", launch.job_id)
            self._finish(launch, RunStatus.FAILED, detail=_text(exc))
        finally:
            with self._lock:
                self._active.pop(launch.job_id, None)
            self._wake.set()

    def _run_job(self, launch: _Launch) -> None:
        store = self.app.store
        job_id = launch.job_id
        try:
            job: Job | None = store.get_job(job_id)
        except NotFound:
            job = None
        if job is None:
            try:
                job = self._submit(launch)
            except Exception as exc:
                try:  # made meanwhile by a scheduler that held the lease before this one?
                    job = store.get_job(job_id)
                except NotFound:
                    self._finish(launch, RunStatus.FAILED, detail=_text(exc))
                    self._say(f"run {_describe(launch)} could not start: {_text(exc)}")
                    return
        while not job.status.finished:
            if self._jobs_stop.is_set():
                return  # left for the next scheduler
            if is_held(job):
                self._stop.wait(1.0)  # another runner (an earlier scheduler's) runs it
                job = store.get_job(job_id)
                continue
            self.book.mark(self.scope, job_id, RunStatus.RUNNING)
            self._say(f"run {_describe(launch)}: job {job_id}")
            try:
                job = self.app.execute(job_id, install_signals=False, stop=self._jobs_stop)
            except LeaseHeld:
                job = store.get_job(job_id)
                continue
            if job.status is JobStatus.PAUSED:
                with self._lock:
                    self.paused_runs += len(launch.runs)
                return  # stopped with the scheduler: the next one resumes it
        self._record_end(launch, job)

    def _submit(self, launch: _Launch) -> Job:
        first = launch.runs[0]
        schedule = self.schedules.get(first.schedule_id)
        if schedule is None:
            raise NotFound(f"schedule {first.schedule_id!r} is no longer in the project")
        target = schedule.target
        env = target.env or self.app.settings.env
        metadata = {
            "scheduled_for": first.scheduled_at.isoformat(),
            "schedules": [r.schedule_id for r in launch.runs],
        }
        if target.pipeline:
            names = [r.schedule_id for r in launch.runs]
            return self.app.submit(
                "batch",
                {"pipelines": names, "parallel": min(len(names), 8), "stop_on_error": False},
                env=env,
                name=f"scheduled {', '.join(names)}"[:200],
                tags=["scheduled"],
                metadata=metadata,
                job_id=launch.job_id,
            )
        return self.app.submit(
            str(target.kind),
            target.params,
            env=env,
            name=schedule.id,
            tags=["scheduled"],
            metadata=metadata,
            job_id=launch.job_id,
        )

    def _record_end(self, launch: _Launch, job: Job) -> None:
        if job.kind != "batch" or not any(
            r.schedule_id in self.schedules and self.schedules[r.schedule_id].target.pipeline
            for r in launch.runs
        ):
            self._finish(launch, RunStatus(job.status.value), detail=job.error)
            return
        items = {i.key: i for i in self.app.store.list_items(job.id, limit=None)[0]}
        for run in launch.runs:
            item = items.get(run.schedule_id)
            status = _ITEM_TO_RUN.get(item.status, RunStatus.FAILED) if item else RunStatus.FAILED
            detail = None
            if item is not None:
                skipped = (item.result or {}).get("skipped") if item.result else None
                child = (item.result or {}).get("job_id") if item.result else None
                detail = item.error or skipped or (f"job {child}" if child else None)
            self.book.mark(self.scope, job.id, status, schedule_id=run.schedule_id, detail=detail)
        self._say(f"run {_describe(launch)} ended: job {job.id} {job.status.value}")

    def _finish(self, launch: _Launch, status: RunStatus, *, detail: str | None) -> None:
        self.book.mark(self.scope, launch.job_id, status, detail=detail)

    # -- chores ----------------------------------------------------------------------------------

    def _chores_loop(self) -> None:
        """Run the chores while this scheduler holds the lease: when it takes it, then every
        ``chore_every`` seconds."""
        every = self.options.chore_every
        next_at = 0.0
        while not self._stop.is_set():
            if self.holding and time.monotonic() >= next_at:
                self.run_chores()
                next_at = time.monotonic() + every
            elif not self.holding:
                next_at = 0.0
            self._stop.wait(min(every, 0.5))

    def run_chores(self) -> None:
        """Run each chore once; one that raises is reported (once while it keeps failing the
        same way) and the others still run."""
        for name, chore in self.chores.items():
            try:
                chore()
            except Exception as exc:
                text = _text(exc)
                if self._chore_errors.get(name) != text:
                    logger.exception("scheduler chore %s", name)
                    self._say(
                        f"{name} failed (tried again in {self.options.chore_every:g}s): {text}"
                    )
                self._chore_errors[name] = text
            else:
                self._chore_errors.pop(name, None)

    # -- reading the schedules, losing the lease, stopping ---------------------------------------

    def _reload(self) -> None:
        try:
            self.schedules = {s.id: s for s in self.load()}
        except BatchyardError as exc:
            self._say(f"schedules not reloaded (the ones read before stay): {exc}")

    def _lost(self) -> None:
        self.holding = False
        self._since = None
        with self._lock:
            self._queue.clear()
        self._say(
            f"scheduler {self.owner} lost the lease for {self.scope} to another scheduler; "
            "its running jobs finish, and it waits to take over again"
        )

    def _wind_down(self, chores: threading.Thread | None = None) -> None:
        with self._lock:
            self._queue.clear()
            threads = list(self._active.values())
        if chores is not None:
            threads.append(chores)
        if not self._hard:
            for thread in threads:
                while thread.is_alive() and not self._hard:
                    thread.join(0.2)
        self.release()

    def release(self) -> None:
        """Give the lease up (a waiting scheduler takes over at once)."""
        if self.holding:
            try:
                self.book.release_lease(self.lease_name, self.owner)
            except BatchyardError as exc:
                self._say(f"could not release the lease: {exc}")
            self.holding = False

    def _say(self, text: str) -> None:
        logger.info("%s", text)
        self.on_message(text)


def _group(runs: Iterable[ScheduleRun]) -> Iterable[_Launch]:
    launches: dict[str, _Launch] = {}
    for run in runs:
        launches.setdefault(run.job_id, _Launch(run.job_id, [])).runs.append(run)
    return launches.values()


def _describe(launch: _Launch) -> str:
    at = launch.runs[0].scheduled_at.isoformat()
    return f"{', '.join(r.schedule_id for r in launch.runs)} @ {at}"


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
