"""What the routes share: the project's API for writing, a read-only view of the store, the pool."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from prometheus_client import CollectorRegistry

from batchyard.api.options import ServeOptions
from batchyard.api.paths import confine
from batchyard.api.pool import STATE_FILE, JobPool
from batchyard.app import Batchyard
from batchyard.config import Settings
from batchyard.db import Database
from batchyard.engine.kinds import JobKind
from batchyard.engine.runner import is_held
from batchyard.errors import (
    BadField,
    BatchyardError,
    BodyParamError,
    ClusterError,
    KindMissing,
    ParamError,
    UnknownKind,
    UsageError,
)
from batchyard.secrets import redact, resolve_params, secret_values
from batchyard.store import Store
from batchyard.store.models import Job


class Service:
    """One project served over HTTP."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.app = Batchyard(settings)
        store = self.app.store  # made (and migrated) here, before anything reads it
        self.reader = Batchyard(settings, store=_reading_store(store))
        state = settings.state_dir / STATE_FILE if options.max_jobs else None
        self.pool = JobPool(self.app, options.max_jobs, state)
        self.metrics: CollectorRegistry | None = None

    def close(self) -> None:
        self.pool.shutdown()
        self.reader.close()
        self.app.close()

    def held(self, job: Job) -> bool:
        """True when a live runner (here or elsewhere) holds the job's lease."""
        return is_held(job)

    # -- submitting ------------------------------------------------------------------------------

    def kind_named(self, name: str) -> JobKind:
        """A kind looked up now, so kinds added since the server started are found."""
        registry = self.app.registry
        if name not in registry:
            raise KindMissing(
                f"this server has no {name!r} job kind; install a batchyard with it and restart "
                "the server"
            )
        return registry.get(name)

    def check_params(self, kind: JobKind, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Params checked against the kind's params model, paths confined to the project."""
        try:
            confined = confine(dict(params), self.settings.root, self.settings.connections)
            kind.parse_params(resolve_params(confined))
        except ParamError as exc:
            raise _at(exc, where, params) from exc
        return confined

    def submit(
        self,
        target: str,
        params: Mapping[str, Any],
        *,
        where: str = "params",
        target_field: str = "kind",
        run: bool = True,
        **options: Any,
    ) -> Job:
        """Plan a job (a kind or a pipeline), record it and queue it in the pool."""
        try:
            confined = confine(dict(params), self.settings.root, self.settings.connections)
        except ParamError as exc:
            raise _at(exc, where, params) from exc
        options["metadata"] = {**(options.get("metadata") or {}), "submitted_via": "api"}
        try:
            job = self.app.submit(target, confined, **options)
        except UnknownKind as exc:
            raise BadField(str(exc), f"body.{target_field}") from exc
        except ClusterError as exc:  # a scheduler that does not answer, or cannot use the store
            raise BadField(str(exc), "body.executor") from exc
        except ParamError as exc:
            if not re.match(r"(unknown executor|executor|scheduler address) ", str(exc)):
                raise _at(exc, where, params) from exc
            raise BadField(str(exc), "body.executor") from exc
        except UsageError as exc:  # params, rules, files: what planning found wrong in them
            raise _at(exc, where, params) from exc
        if run:
            self.pool.submit(job.id)
        return job

    def submit_many(
        self, kind_name: str, requests: Sequence[tuple[dict[str, Any], dict[str, Any]]]
    ) -> list[Job]:
        """One job of ``kind_name`` per ``(params, options)``, all or none: every params is
        checked and every job planned before any runs; a bad item (named) undoes the others."""
        kind = self.kind_named(kind_name)
        batch = uuid.uuid4().hex[:12]
        checked = [
            self.check_params(kind, params, f"items.{n}.params")
            for n, (params, _) in enumerate(requests)
        ]
        jobs: list[Job] = []
        try:
            for n, (params, (_, options)) in enumerate(zip(checked, requests, strict=True)):
                options = {**options, "metadata": {"bulk_request": batch}}
                where = f"items.{n}.params"
                jobs.append(self.submit(kind.name, params, where=where, run=False, **options))
        except BatchyardError:
            for job in jobs:
                self.app.store.delete_job(job.id, force=True)  # planned, never started
            raise
        for job in jobs:
            self.pool.submit(job.id)
        return jobs


def _at(exc: UsageError, where: str, params: Mapping[str, Any]) -> ParamError:
    # The message may quote the value it refused; a secret param's value is masked there too.
    message = redact(str(exc), secret_values(dict(params)))
    name = re.search(r"param '([^']+)'", message)
    field = f"body.{where}.{name.group(1)}" if name else f"body.{where}"
    return BodyParamError(message, field)


def _reading_store(store: Store) -> Store:
    """SQLite: a read-only connection pool, so readers never queue behind the runners' writes."""
    if not store.is_sqlite or store.url in ("sqlite://", "sqlite:///:memory:"):
        return store
    return Store(Database.of(store.url).engine(readonly=True, pool_size=8), store.url)


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service
