"""The Python API: :class:`Batchyard` runs and steers jobs for one project.

The CLI, the REST API and the dashboard are thin layers over these methods.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchyard import pipelines
from batchyard.config import (
    MASK,
    MAX_WORKERS,
    Settings,
    holds_literal_secret,
    interpolate,
    load_settings,
    mask_secrets,
)
from batchyard.db import is_driver_error, reason
from batchyard.engine.context import StopFlag
from batchyard.engine.executors import EXECUTORS
from batchyard.engine.kinds import JobKind, Registry
from batchyard.engine.progress import Snapshot
from batchyard.engine.registry import load_registry
from batchyard.engine.retry import Retry
from batchyard.engine.runner import Runner, RunOptions, owner_is_dead
from batchyard.errors import (
    BatchyardError,
    Conflict,
    ParamError,
    PlanError,
    UsageError,
)
from batchyard.store import JobFilter, Store
from batchyard.store.models import Event, Item, ItemStatus, Job, JobStatus, new_job_id, utcnow

if TYPE_CHECKING:
    from batchyard.check.report import Report
    from batchyard.check.suite import Suite
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
        self._store = store if isinstance(store, Store) else None
        self._registry: Registry | None = None
        self._read_store: Store | None = None
        # Secrets typed in as literal params: used by runs in this process, never stored.
        self._secrets: dict[str, dict[str, Any]] = {}

    # -- parts -----------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.store_url, synchronous=self.settings.synchronous)
        return self._store

    def read_store(self) -> Store:
        """The store for reading only: never creates a SQLite file that is not there."""
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
        if self._read_store is not None:
            self._read_store.close()
            self._read_store = None
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

    def pipelines(self) -> list[pipelines.Pipeline]:
        return pipelines.list_all(self.settings.root)

    def close(self) -> None:
        for store in (self._store, self._read_store):
            if store is not None:
                store.close()
        self._store = self._read_store = None

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
        name: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> Job:
        """Plan a job of a kind (or a pipeline in ``pipelines/``) and record it, ready to run."""
        pipeline = None
        if pipelines.exists(self.settings.root, target):
            pipeline = pipelines.load(self.settings.root, target)
            kind = self.kind(pipeline.kind)
        else:
            kind = self.kind(target)
        raw = _merge(pipeline.params if pipeline else None, params)
        parsed = kind.parse_params(self._resolve(raw))
        extra = kind.options_for(parsed, self.settings)
        retry = _first(
            retries, pipeline.retries if pipeline else None, kind.retry, self.settings.retries
        )
        options = {
            "workers": _first(
                workers,
                extra.get("workers"),
                pipeline.workers if pipeline else None,
                kind.workers,
                self.settings.workers,
            ),
            "executor": _first(
                executor,
                pipeline.executor if pipeline else None,
                extra.get("executor"),
                kind.executor,
                self.settings.executor,
            ),
            "retries": retry.attempts - 1 if isinstance(retry, Retry) else retry,
            "timeout": _first(timeout, kind.timeout),
            "stop_on_error": bool(
                _first(
                    stop_on_error,
                    extra.get("stop_on_error"),
                    pipeline.stop_on_error if pipeline else None,
                    kind.stop_on_error,
                )
            ),
        }
        if isinstance(retries, Retry):
            options["retry"] = {k: v for k, v in retries.to_dict().items() if k != "on"}
        if options["executor"] not in EXECUTORS:
            raise ParamError(
                f"unknown executor {options['executor']!r} "
                f"(choose from: {', '.join(sorted(EXECUTORS))})"
            )
        _check_workers(options["workers"])
        job_env = env or (pipeline.env if pipeline else None) or self.settings.env
        stored, secrets = self._params_to_store(kind, raw, parsed)
        job = Job(
            id=new_job_id(kind.name, job_env),
            kind=kind.name,
            env=job_env,
            status=JobStatus.PENDING,
            name=name or (pipeline.name if pipeline else kind.name),
            project=self.settings.name,
            params=stored,
            options=options,
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
        if secrets:
            self._secrets[planned.id] = secrets
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
        on_progress: Callable[[Snapshot], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        install_signals: bool = True,
        stop: StopFlag | None = None,
    ) -> Job:
        """Run a pending or paused job (resume), continuing from its checkpoints."""
        job = self._find(job_id)
        if job.status.finished:
            hint = (
                "`batchyard jobs retry` runs its failed items again"
                if job.failed
                else "nothing is left to run"
            )
            raise Conflict(f"job {job.id} is {job.status.value}; {hint}")
        if workers is not None:
            _check_workers(workers)
        kind = self.kind(job.kind)
        params = self._params_for_run(kind, job)
        opts = job.options
        retry = Retry.of(opts.get("retries") if opts.get("retries") is not None else kind.retry)
        if "retry" in opts:
            retry = Retry(**{**opts["retry"], "on": (retry.on)})
        elif kind.retry is not None and opts.get("retries") == kind.retry.attempts - 1:
            retry = kind.retry
        run_options = RunOptions(
            workers=workers or int(opts.get("workers") or self.settings.workers),
            executor=str(opts.get("executor") or self.settings.executor),
            retry=retry,
            timeout=opts.get("timeout"),
            stop_on_error=bool(opts.get("stop_on_error")),
        )
        runner = Runner(
            self.store,
            kind,
            job,
            self.settings,
            run_options,
            params=kind.dump_params(params),
            on_progress=on_progress,
            on_message=on_message,
            install_signals=install_signals,
            stop=stop,
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
        if old.id in self._secrets:
            self._secrets[new.id] = self._secrets[old.id]
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
        if not job.lease_owner or not job.lease_expires_at:
            return False
        return job.lease_expires_at > utcnow() and not owner_is_dead(job.lease_owner)

    # -- reading ---------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        return self.read_store().find_job(job_id)

    def jobs(
        self,
        filt: JobFilter = JobFilter(),
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
    ) -> tuple[list[Job], int]:
        return self.read_store().list_jobs(filt, limit=limit, offset=offset, order=order)

    def items(
        self, job_id: str, *, status: Sequence[str] = (), limit: int | None = 100, offset: int = 0
    ) -> tuple[list[Item], int]:
        store = self.read_store()
        job = store.find_job(job_id)
        return store.list_items(job.id, status=status, limit=limit, offset=offset)

    def log(self, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
        store = self.read_store()
        return store.events(store.find_job(job_id).id, after=after, limit=limit)

    def progress(self, job_id: str) -> Snapshot:
        return Snapshot.from_job(self.read_store().find_job(job_id))

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
        from batchyard.check.run import validate

        return validate(
            self,
            target,
            rules,
            tables=tables,
            where=where,
            fail_on=fail_on,
            workers=workers,
            on_progress=on_progress,
            on_message=on_message,
            install_signals=install_signals,
        )

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
        alerts: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The monitoring report's data (see :mod:`batchyard.monitor.report`); ``alerts`` are the
        open alerts to show by severity (mappings with ``severity`` and ``title``)."""
        from batchyard.monitor.report import build

        self.registry  # noqa: B018 - loads jobs.py, where monitors may be declared in Python
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

    # -- params ----------------------------------------------------------------------------------

    def _resolve(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: _interpolated(v, k) for k, v in raw.items()}

    def _params_to_store(
        self, kind: JobKind, raw: Mapping[str, Any], parsed: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        dumped = kind.dump_params(parsed)
        stored: dict[str, Any] = {}
        secrets: dict[str, Any] = {}
        for name, value in dumped.items():
            given = raw.get(name)
            if _has_reference(given):
                stored[name] = given  # kept as the reference; read from the environment at run
            elif holds_literal_secret(name, value):
                secrets[name] = value
                stored[name] = mask_secrets(value, name)
            elif isinstance(value, dict | list):
                masked = mask_secrets(value, name)
                if masked != value:  # a list of URLs, say, one with a password in it
                    secrets[name] = value
                stored[name] = masked
            else:
                stored[name] = value
        return stored, secrets

    def _params_for_run(self, kind: JobKind, job: Job) -> Any:
        raw = dict(job.params)
        raw.update(self._secrets.get(job.id, {}))
        for name, value in raw.items():
            if any(
                MASK in text and holds_literal_secret(name, text.replace(MASK, "x"))
                for text in _strings(value)
            ):
                raise ParamError(
                    f"param {name!r} of job {job.id} held a secret, which is never stored; "
                    f"pass it as a ${{ENV_VAR}} reference so a resume can read it from the environment"
                )
        return kind.parse_params(self._resolve(raw))


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _export_row(job: Job) -> dict[str, Any]:
    data = job.to_dict()
    for key in ("lease_owner", "lease_expires_at", "heartbeat_at", "control"):
        data.pop(key, None)
    data["params"] = mask_secrets(data["params"])
    return data


def _check_workers(workers: Any) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ParamError(f"workers={workers!r}: give between 1 and {MAX_WORKERS} workers")


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a param value, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _has_reference(value: Any) -> bool:
    """True when a param value holds a ``${VAR}`` reference anywhere inside it."""
    return any("${" in text for text in _strings(value))


def _interpolated(value: Any, name: str) -> Any:
    """``value`` with every ``${VAR}`` inside it read from the environment."""
    if isinstance(value, str):
        return interpolate(value, where=f"param {name!r}") if "${" in value else value
    if isinstance(value, dict):
        return {k: _interpolated(v, name) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_interpolated(v, name) for v in value]
    return value


def _plan_failure(exc: Exception) -> str:
    """Why a plan failed: a database's own words for a driver error (no SQL, no links)."""
    if is_driver_error(exc):
        return reason(exc)
    return f"{type(exc).__name__}: {exc}"
