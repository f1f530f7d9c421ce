"""The Python API: :class:`Batchyard` runs and steers jobs for one project.

The CLI, the REST API and the dashboard are thin layers over these methods.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchyard import pipelines
from batchyard.check.report import Report
from batchyard.check.run import report_for, validate_params
from batchyard.check.suite import Suite
from batchyard.config import Settings, load_settings
from batchyard.db import is_driver_error, reason
from batchyard.engine.context import StopFlag
from batchyard.engine.executors import preflight
from batchyard.engine.jobview import JobView
from batchyard.engine.kinds import JobKind, Registry
from batchyard.engine.options import RunOptions
from batchyard.engine.progress import Snapshot
from batchyard.engine.registry import load_registry
from batchyard.engine.retry import Retry
from batchyard.engine.runner import Runner, is_held
from batchyard.errors import (
    BatchyardError,
    Conflict,
    PlanError,
    UsageError,
)
from batchyard.schedule import depends, status
from batchyard.schedule.scheduler import Scheduler, SchedulerOptions, scope_of
from batchyard.schedule.spec import Schedule, Target, of_field, of_pipelines
from batchyard.secrets import ParamSecrets, mask_secrets, resolve_params
from batchyard.store import JobFilter, Store
from batchyard.store.models import Event, Item, ItemStatus, Job, JobStatus, new_job_id, utcnow
from batchyard.store.schedules import ScheduleBook, ScheduleRun

if TYPE_CHECKING:
    from batchyard.monitor.alerts import AlertBook
    from batchyard.monitor.spec import Monitor
    from batchyard.store.models import Observation


def _merge(*sources: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in sources:
        if source:
            out.update(source)
    return out


class Batchyard:
    """One project's jobs: plan, run, resume, retry, cancel, list and export them."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        root: str | Path | None = None,
        store: Store | str | None = None,
        env: str | None = None,
    ) -> None:
        if settings is None:
            settings = load_settings(
                Path(root) if root else None,
                store=store if isinstance(store, str) else None,
                env=env,
            )
        elif env:
            settings = settings.override(env=env)
        self.settings = settings
        #: An env given here (``--env``) is the request's: it beats a pipeline's env.
        self._env = env
        self._store = store if isinstance(store, Store) else None
        self._registry: Registry | None = None
        self._read_store: Store | None = None
        #: Opening and closing the stores: a server's and a scheduler's threads share this object.
        self._stores_lock = threading.Lock()
        self._secrets = ParamSecrets()
        self._alerts: AlertBook | None = None

    # -- parts -----------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._stores_lock:
                if self._store is None:
                    self._store = Store.open(
                        self.settings.store_url, synchronous=self.settings.synchronous
                    )
        return self._store

    def read_store(self) -> Store:
        """The store for reading only: never creates a SQLite file that is not there."""
        with self._stores_lock:
            if self._store is not None:
                return self._store
            if self._read_store is None:
                self._read_store = Store.open(
                    self.settings.store_url, create=False, synchronous=self.settings.synchronous
                )
            return self._read_store

    def _find(self, job_id: str) -> Job:
        """The job, looked up without creating a store; then the store opened for writing."""
        job = self.read_store().find_job(job_id)
        with self._stores_lock:
            # Taken once: jobs started at the same moment (a scheduler's) close it once.
            done, self._read_store = self._read_store, None
        if done is not None:
            done.close()
        return self.store.get_job(job.id)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry(self.settings.root)
        return self._registry

    def kinds(self) -> list[JobKind]:
        return list(self.registry)

    def kind(self, name: str) -> JobKind:
        return self.registry.get(name)

    @property
    def alerts(self) -> AlertBook:
        """The project's alerts on this store: ``[alerts]`` and ``[channels]`` of its config."""
        from batchyard.monitor.alerts import AlertBook  # only commands that use alerts load it

        if self._alerts is None or self._alerts.records.store is not self.store:
            self._alerts = AlertBook.of(self.settings, self.store)
        return self._alerts

    def pipelines(self) -> list[pipelines.Pipeline]:
        return pipelines.list_all(self.settings.root)

    def close(self) -> None:
        with self._stores_lock:
            stores = (self._store, self._read_store)
            self._store = self._read_store = None
        for store in stores:
            if store is not None:
                store.close()

    def __enter__(self) -> Batchyard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- starting jobs ---------------------------------------------------------------------------

    def submit(
        self,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        env: str | None = None,
        workers: int | None = None,
        executor: str | None = None,
        retries: int | Retry | None = None,
        timeout: float | None = None,
        stop_on_error: bool | None = None,
        lease_ttl: float | None = None,
        name: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        job_id: str | None = None,
    ) -> Job:
        """Plan a job of a kind (or a pipeline in ``pipelines/``) and record it, ready to run.

        Run options given here beat the pipeline's, which beat the kind's, which beat the
        project's settings (see :mod:`batchyard.engine.options`). ``job_id`` gives the job an id
        chosen beforehand (the scheduler records a run's job id before the job exists); by
        default one is made."""
        pipeline = None
        if pipelines.exists(self.settings.root, target):
            pipeline = pipelines.load(self.settings.root, target)
            kind = self.kind(pipeline.kind)
        else:
            kind = self.kind(target)
        raw = _merge(pipeline.params if pipeline else None, params)
        parsed = kind.parse_params(resolve_params(raw))
        options = RunOptions.resolve(
            request={
                "workers": workers,
                "executor": executor,
                "retries": retries,
                "timeout": timeout,
                "stop_on_error": stop_on_error,
                "env": env or self._env,
                "lease_ttl": lease_ttl,
            },
            pipeline=pipeline.options() if pipeline else None,
            kind=kind.options_for(parsed, self.settings),
            settings=RunOptions.of_settings(self.settings),
        )
        preflight(options.executor, options.address, self.settings, self.settings.store_url)
        stored, secrets = self._secrets.split(raw, kind.dump_params(parsed))
        job = Job(
            id=job_id or new_job_id(kind.name, options.env),
            kind=kind.name,
            env=options.env,
            status=JobStatus.PENDING,
            name=name or (pipeline.name if pipeline else kind.name),
            project=self.settings.name,
            params=stored,
            options=options.to_dict(),
            tags=[*(pipeline.tags if pipeline else []), *tags],
            metadata=dict(metadata or {}) | ({"pipeline": pipeline.name} if pipeline else {}),
            parent_id=parent_id,
            created_at=utcnow(),
        )
        store = self.store
        try:
            planned = store.create_job(job, kind.plan(parsed, self.settings))
        except BatchyardError:
            raise
        except Exception as exc:
            raise PlanError(f"job {kind.name!r}: planning failed: {_plan_failure(exc)}") from exc
        self._secrets.keep(planned.id, secrets)
        return planned

    def run(
        self,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_progress: Callable[[Snapshot], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        install_signals: bool = True,
        stop: StopFlag | None = None,
        **options: Any,
    ) -> Job:
        """Plan and run a job to its end (or to a pause); return the job as it ended."""
        job = self.submit(target, params, **options)
        if on_message:
            on_message(f"job {job.id}: {job.total} item(s)")
        return self.execute(
            job.id,
            on_progress=on_progress,
            on_message=on_message,
            install_signals=install_signals,
            stop=stop,
        )

    def execute(
        self,
        job_id: str,
        *,
        workers: int | None = None,
        executor: str | None = None,
        on_progress: Callable[[Snapshot], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        install_signals: bool = True,
        stop: StopFlag | None = None,
    ) -> Job:
        """Run a pending or paused job (resume), continuing from its checkpoints; ``workers`` and
        ``executor`` (``dask://HOST:PORT`` too) change what it runs on from now on."""
        job = self._find(job_id)
        if job.status.finished:
            hint = (
                "`batchyard jobs retry` runs its failed items again"
                if job.failed
                else "nothing is left to run"
            )
            raise Conflict(f"job {job.id} is {job.status.value}; {hint}")
        kind = self.kind(job.kind)
        params = self._params_for_run(kind, job)
        run_options = RunOptions.recorded(
            job.options,
            job.env,
            kind.options_for(params, self.settings),
            RunOptions.of_settings(self.settings),
            workers=workers,
            executor=executor,
        )
        runner = Runner(
            self.store,
            kind,
            job,
            self.settings,
            run_options,
            params=params,
            on_progress=on_progress,
            on_message=on_message,
            install_signals=install_signals,
            stop=stop,
            jobs=Batchyard,
        )
        return runner.run()

    resume = execute

    def retry(self, job_id: str, *, failed_only: bool = True) -> Job:
        """A new job (``retry_of`` the old one) for the old job's unfinished items, or all of it.

        A job stopped by bad data whose writes were undone (its kind's cleanup) is run whole."""
        old = self._find(job_id)
        if not old.status.finished:
            raise Conflict(f"job {old.id} is {old.status.value}; resume it instead of retrying")
        kind = self.kind(old.kind)
        job = Job(
            id=new_job_id(kind.name, old.env),
            kind=old.kind,
            env=old.env,
            status=JobStatus.PENDING,
            name=old.name,
            project=old.project,
            params=old.params,
            options=old.options,
            tags=old.tags,
            # What the old run found out (bad data, its result) is not the new run's.
            metadata={
                k: v for k, v in old.metadata.items() if k not in ("bad_data", "undone", "result")
            },
            retry_of=old.id,
            parent_id=old.parent_id,
            created_at=utcnow(),
        )
        self._params_for_run(kind, old)  # a retry that could not run is never recorded
        if failed_only and not old.metadata.get("undone"):
            wanted = [
                s.value
                for s in (
                    ItemStatus.FAILED,
                    ItemStatus.CANCELLED,
                    ItemStatus.PENDING,
                    ItemStatus.RUNNING,
                )
            ]
            new = self.store.create_retry_job(job, old.id, wanted)
        else:
            new = self.store.create_job(
                job, kind.plan(self._params_for_run(kind, old), self.settings)
            )
        self._secrets.share(old.id, new.id)
        return new

    # -- steering --------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a running one stops at its runner's next heartbeat."""
        job = self._find(job_id)
        if job.status.finished:
            raise Conflict(f"job {job.id} is already {job.status.value}")
        if self._held(job):
            self.store.request(job.id, "cancel")
        else:
            self.store.cancel_pending(job.id)
            self.store.set_status(job.id, JobStatus.CANCELLED)
            self.store.log(job.id, "cancelled")
        return self.store.get_job(job.id)

    def pause(self, job_id: str) -> Job:
        """Ask the runner of a running job to pause it (in-flight items finish or checkpoint)."""
        job = self._find(job_id)
        if not self._held(job):
            raise Conflict(f"job {job.id} is {job.status.value}, not running")
        self.store.request(job.id, "pause")
        return self.store.get_job(job.id)

    def delete(self, job_id: str, *, force: bool = False) -> None:
        job = self._find(job_id)
        self.store.delete_job(job.id, force=force)

    def cleanup(self, older_than: timedelta, *, statuses: Sequence[str] = ()) -> list[str]:
        return self.store.cleanup(utcnow() - older_than, statuses=statuses)

    def _held(self, job: Job) -> bool:
        """True when a live runner holds the job."""
        return is_held(job)

    # -- reading ---------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        return JobView(self.read_store()).job(job_id)

    def jobs(
        self,
        filt: JobFilter = JobFilter(),
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
    ) -> tuple[list[Job], int]:
        return JobView(self.read_store()).jobs(filt, limit=limit, offset=offset, order=order)

    def items(
        self, job_id: str, *, status: Sequence[str] = (), limit: int | None = 100, offset: int = 0
    ) -> tuple[list[Item], int]:
        return JobView(self.read_store()).items(job_id, status=status, limit=limit, offset=offset)

    def log(self, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
        return JobView(self.read_store()).log(job_id, after=after, limit=limit)

    def progress(self, job_id: str) -> Snapshot:
        return JobView(self.read_store()).progress(job_id)

    def stats(self, filt: JobFilter = JobFilter()) -> dict[str, Any]:
        return self.read_store().stats(filt)

    def validate(
        self,
        target: str,
        rules: str | Path | Suite,
        *,
        tables: Sequence[str] = (),
        where: str | None = None,
        fail_on: str = "error",
        workers: int | None = None,
        on_progress: Callable[[Snapshot], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        install_signals: bool = True,
    ) -> Report:
        """Run a rules suite (a YAML file or a :class:`~batchyard.check.Suite`) on ``target``
        as a ``validate`` job; return its :class:`~batchyard.check.Report`."""
        params, suite = validate_params(
            self.settings, target, rules, tables=tables, where=where, fail_on=fail_on
        )
        job = self.submit("validate", params, workers=workers, metadata={"suite": suite.name})
        job = self.execute(
            job.id, on_progress=on_progress, on_message=on_message, install_signals=install_signals
        )
        return report_for(self.store, job)

    # -- monitors --------------------------------------------------------------------------------

    def monitors(self, names: Sequence[str] = ()) -> list[Monitor]:
        """The project's monitors (``monitors/*.yaml`` and those jobs.py declares), or those named."""
        from batchyard.monitor import spec

        self.registry  # noqa: B018 - loads jobs.py, where monitors may be declared in Python
        return spec.pick(self.settings.root, names)

    def check_monitors(self, names: Sequence[str] = (), **options: Any) -> Job:
        """Run a ``monitor`` job over the monitors named (default: all); return it as it ended."""
        return self.run("monitor", {"monitors": list(names)}, **options)

    def metric_history(
        self,
        *,
        monitor: str | None = None,
        metric: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: timedelta | None = None,
        limit: int | None = None,
        job_id: str | None = None,
    ) -> list[Observation]:
        """Observations, oldest first (the newest ``limit`` of them), over the last ``since``
        (or those the monitor job ``job_id`` recorded)."""
        found = self.read_store().observations(
            job_id=job_id,
            monitor=monitor,
            metric=metric,
            labels=labels,
            since=utcnow() - since if since else None,
            limit=limit,
            newest_first=limit is not None,
        )
        return sorted(found, key=lambda o: (o.observed_at, o.id or 0))

    def latest_metrics(self, monitor: str | None = None) -> list[Observation]:
        """The newest observation of every series (of ``monitor``)."""
        return self.read_store().latest_observations(monitor=monitor)

    def monitor_report(
        self,
        *,
        window: timedelta = timedelta(hours=24),
        monitor: str | None = None,
        alerts: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The monitoring report's data (see :mod:`batchyard.monitor.report`); ``alerts`` are the
        open alerts to show by severity (mappings with ``severity`` and ``title``), by default
        the project's alerts not resolved yet (of ``monitor``)."""
        from batchyard.monitor.report import build

        self.registry  # noqa: B018 - loads jobs.py, where monitors may be declared in Python
        if alerts is None:
            active, _ = self.alerts.list(monitor=monitor, limit=1000)
            alerts = [alert.to_dict() for alert in active]
        return build(
            self.read_store(), self.settings.root, window=window, monitor=monitor, alerts=alerts
        )

    def export(self, jobs: Sequence[Job], fmt: str = "json") -> str:
        """Jobs as a JSON array or CSV text (params masked)."""
        rows = [_export_row(j) for j in jobs]
        if fmt == "json":
            return json.dumps(rows, indent=2, ensure_ascii=False)
        if fmt == "csv":
            out = io.StringIO()
            fields = (
                list(rows[0]) if rows else list(_export_row(Job("", "", "", JobStatus.PENDING)))
            )
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
                )
            return out.getvalue()
        raise UsageError(f"format {fmt!r}: use json or csv")

    # -- schedules -------------------------------------------------------------------------------

    def schedules(self) -> list[Schedule]:
        """The project's schedules: pipelines with ``schedule:``, then monitors with one (ids
        ``monitor:NAME``). A bad cron, time zone or policy, a ``depends_on`` naming no
        pipeline, or a cycle raise :class:`ConfigError`."""
        found = of_pipelines(self.pipelines())
        names = [s.target.pipeline for s in found if s.target.pipeline]
        depends.graph(self.settings.root, names)
        return found + [_monitor_schedule(m) for m in self.monitors() if m.schedule is not None]

    def schedule_overview(self, *, count: int = 1) -> list[status.ScheduleStatus]:
        """Each schedule with whether it is paused, its latest run and its next ``count`` times."""
        return status.overview(
            self.read_store(), scope_of(self.settings), self.schedules(), count=count
        )

    def schedule_runs(
        self, schedule_id: str | None = None, *, limit: int = 50
    ) -> list[ScheduleRun]:
        """Recorded runs (of one schedule, or all), newest first."""
        if schedule_id is not None:
            status.find(self.schedules(), schedule_id)
        book = ScheduleBook(self.read_store())
        return book.runs(scope_of(self.settings), schedule_id, limit=limit)

    def pause_schedule(self, schedule_id: str) -> status.ScheduleStatus:
        """Stop firing a schedule until it is resumed (the times in between are not run)."""
        return self._set_paused(schedule_id, True)

    def resume_schedule(self, schedule_id: str) -> status.ScheduleStatus:
        """Fire a paused schedule again, from its next time on."""
        return self._set_paused(schedule_id, False)

    def _set_paused(self, schedule_id: str, paused: bool) -> status.ScheduleStatus:
        schedule = status.find(self.schedules(), schedule_id)
        ScheduleBook(self.store).set_paused(scope_of(self.settings), schedule.id, paused)
        return status.overview(self.store, scope_of(self.settings), [schedule])[0]

    def scheduler(
        self,
        options: SchedulerOptions = SchedulerOptions(),
        *,
        on_message: Callable[[str], None] | None = None,
    ) -> Scheduler:
        """A :class:`Scheduler` for this project's schedules (checked now); ``run()`` it. Besides
        firing them, it sends the alerts' due reminders and retries their failed deliveries
        (:meth:`AlertBook.tick <batchyard.monitor.alerts.AlertBook.tick>`) every
        ``options.chore_every`` seconds, so they go out even when no monitor runs."""
        self.schedules()
        return Scheduler(
            self,
            self.schedules,
            options=options,
            on_message=on_message,
            chores={"alert reminders and deliveries": self._tick_alerts},
        )

    def _tick_alerts(self) -> None:
        self.alerts.tick()

    # -- params ----------------------------------------------------------------------------------

    def _params_for_run(self, kind: JobKind, job: Job) -> Any:
        return kind.parse_params(self._secrets.params_for_run(job.id, job.params))


def _monitor_schedule(monitor: Monitor) -> Schedule:
    """A monitor's ``schedule:`` as a schedule of a ``monitor`` job of that monitor."""
    from batchyard.monitor.spec import where

    assert monitor.schedule is not None
    return of_field(
        f"monitor:{monitor.name}",
        Target(kind="monitor", params={"monitors": [monitor.name]}),
        monitor.schedule,
        source=monitor.path or f"monitor {monitor.name}",
        where=lambda fieldname: where(monitor, "schedule", fieldname),
    )


def _export_row(job: Job) -> dict[str, Any]:
    data = job.to_dict()
    for key in ("lease_owner", "lease_expires_at", "heartbeat_at", "control"):
        data.pop(key, None)
    data["params"] = mask_secrets(data["params"])
    return data


def _plan_failure(exc: Exception) -> str:
    """Why a plan failed: a database's own words for a driver error (no SQL, no links)."""
    if is_driver_error(exc):
        return reason(exc)
    return f"{type(exc).__name__}: {exc}"
