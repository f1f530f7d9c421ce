"""The API's request and response bodies. Responses are what the OpenAPI document promises."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from batchyard.config import MAX_WORKERS
from batchyard.engine.progress import Snapshot
from batchyard.generate.datasets import DATASETS
from batchyard.secrets import mask_secrets
from batchyard.store.models import Event, Item, Job

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
#: A name or tag: 1 to ``n`` characters, no control characters (the schema says so too).
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=_PRINTABLE)]
PipelineName = Annotated[str, Field(min_length=1, max_length=200, pattern=_PRINTABLE)]
Tags = Annotated[list[Tag], Field(max_length=50, examples=[["nightly"]])]
Env = Annotated[str, Field(min_length=1, max_length=100, pattern=_PRINTABLE, examples=["dev"])]
DatasetName = StrEnum("DatasetName", {name: name for name in DATASETS})  # type: ignore[misc]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobCreate(_Body):
    """A job to plan and run on the server: a kind with params, or a saved pipeline."""

    kind: str | None = Field(
        None, min_length=1, max_length=100, pattern=_PRINTABLE, examples=["generate"]
    )
    pipeline: str | None = Field(
        None, min_length=1, max_length=200, pattern=_PRINTABLE, examples=[None]
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The kind's params; `GET /api/kinds` gives their JSON Schema.",
        examples=[{"dataset": "retail", "scale": "0.001", "to": "retail.db"}],
    )
    # Run options: each left out comes from the pipeline, then the kind, then the project's
    # settings, as for `batchyard run` (see docs/configuration.md).
    workers: StrictInt | None = Field(None, ge=1, le=MAX_WORKERS, examples=[2])
    executor: str | None = Field(
        None,
        pattern=r"^(threads|processes|dask|dask://(\[[0-9A-Fa-f:.]+\]|[^\s/:@\[\]]+):[0-9]+)$",
        description="threads, processes, dask (a cluster of the server's machine) or "
        "dask://HOST:PORT (a running Dask scheduler).",
        examples=[None],
    )
    retries: StrictInt | None = Field(
        None, ge=0, le=100, description="Extra attempts for a failing item.", examples=[None]
    )
    timeout: float | None = Field(
        None, gt=0, le=7 * 86400, description="Most seconds one attempt may take.", examples=[None]
    )
    env: Env | None = None
    stop_on_error: StrictBool | None = Field(None, examples=[False])
    tags: Tags = Field(default_factory=list)
    name: PipelineName | None = None

    @model_validator(mode="after")
    def _one_target(self) -> JobCreate:
        if (self.kind is None) == (self.pipeline is None):
            raise ValueError("give exactly one of kind or pipeline")
        return self


class JobOut(BaseModel):
    """A job as the store records it (params masked)."""

    id: str = Field(examples=["generate_dev_20240930_120000_1a2b3c"])
    kind: str
    env: str
    status: str = Field(examples=["running"])
    name: str
    project: str
    params: dict[str, Any]
    options: dict[str, Any]
    total: int
    done: int
    failed: int
    skipped: int
    cancelled: int
    rows_read: int
    rows_written: int
    percent: float
    duration_s: float | None = Field(
        description="Seconds the job has spent running; time paused or queued does not count."
    )
    paused_s: float | None = Field(
        None,
        description="Seconds the job has spent paused (None for a job recorded before the "
        "store kept it).",
    )
    queued_s: float | None = Field(
        None,
        description="Seconds the job has spent waiting for a runner (None for a job recorded "
        "before the store kept it).",
    )
    status_since: datetime | None = Field(None, description="When the job got its status.")
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    error: str | None
    retry_of: str | None
    parent_id: str | None
    tags: list[Any]
    metadata: dict[str, Any]
    progress: dict[str, Any]
    runner: str | None = Field(description="The runner holding the job's lease, if any.")
    heartbeat_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        # Field by field rather than Job.to_dict(): asdict's deep copies cost most of a list page.
        data = {name: getattr(job, name) for name in _JOB_FIELDS}
        data["status"] = job.status.value
        data["runner"] = job.lease_owner
        data["percent"] = round(job.percent, 2)
        for key, seconds in (
            ("duration_s", job.duration),
            ("paused_s", job.paused_time),
            ("queued_s", job.queued_time),
        ):
            data[key] = round(seconds, 3) if seconds is not None else None
        for key in ("params", "metadata", "options", "error"):
            data[key] = mask_secrets(data[key])
        return cls.model_validate(data)


_JOB_FIELDS = [
    name
    for name in JobOut.model_fields
    if name not in ("status", "runner", "percent", "duration_s", "paused_s", "queued_s")
]


class JobPage(BaseModel):
    jobs: list[JobOut]
    total: int = Field(description="How many jobs match the filters, on every page.")
    limit: int
    offset: int


class ItemOut(BaseModel):
    job_id: str
    key: str
    position: int
    status: str
    value: Any = None
    attempts: int
    error: str | None
    traceback: str | None
    result: Any = None
    cursor: Any = None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    rows_read: int
    rows_written: int
    weight: int
    #: Where the last attempt ran: ``host:pid/thread`` of the runner, or a Dask worker's address.
    worker: str | None = None

    @classmethod
    def of(cls, item: Item) -> ItemOut:
        data = {f.name: getattr(item, f.name) for f in fields(item)}
        data["status"] = item.status.value
        for key in ("value", "result", "cursor", "error", "traceback"):
            data[key] = mask_secrets(data[key])
        return cls.model_validate(data)


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    limit: int
    offset: int


class EventOut(BaseModel):
    id: int
    job_id: str
    ts: datetime
    level: str
    item_key: str | None
    message: str

    @classmethod
    def of(cls, event: Event) -> EventOut:
        data = event.to_dict()
        data["message"] = mask_secrets(data["message"])
        return cls.model_validate(data)


class LogPage(BaseModel):
    events: list[EventOut]
    next_after: int = Field(description="Pass as `after` to get the lines that follow.")


class ProgressOut(BaseModel):
    """A :class:`~batchyard.engine.progress.Snapshot` as the API sends it (a test keeps the two
    alike field for field)."""

    job_id: str
    status: str
    total: int
    done: int
    failed: int
    skipped: int
    cancelled: int
    rows_read: int
    rows_written: int
    elapsed_s: float
    items_per_s: float
    rows_per_s: float
    eta_s: float | None
    current: list[str]
    retrying: int
    weight_total: int
    weight_done: int
    parts: list[dict[str, Any]] = Field(
        description="Figures per part of a job that reports them (a migrate job's tables): "
        "name, done, total, percent, rows_per_s, eta_s."
    )
    percent: float
    recorded_at: datetime | None = Field(description="When the runner last recorded it.")

    @classmethod
    def of(cls, job: Job) -> ProgressOut:
        data = Snapshot.from_job(job).to_dict()
        data["recorded_at"] = job.heartbeat_at or job.updated_at
        return cls.model_validate(data)


class RetryBody(_Body):
    failed_only: StrictBool = Field(True, description="Only the failed and unfinished items.")


class JobSort(StrEnum):
    created_at = "created_at"
    started_at = "started_at"
    finished_at = "finished_at"
    updated_at = "updated_at"
    name = "name"
    kind = "kind"
    env = "env"
    status = "status"
    id = "id"


class Mode(StrEnum):
    parallel = "parallel"
    sequential = "sequential"


class BulkExecute(_Body):
    """Saved pipelines to run as one ``batch`` job."""

    pipelines: list[PipelineName] = Field(
        min_length=1, max_length=100, examples=[["rosters", "scores"]]
    )
    mode: Mode = Mode.parallel
    max_parallel: StrictInt = Field(4, ge=1, le=10)
    stop_on_error: StrictBool = False
    env: Env | None = None
    tags: Tags = Field(default_factory=list)


class GenerateItem(_Body):
    schema_: DatasetName = Field(alias="schema", examples=["sports"])
    rows: StrictInt = Field(
        ge=1,
        le=100_000_000,
        examples=[10_000],
        description="About this many rows in all, across the dataset's tables.",
    )
    to: str | None = Field(
        None, max_length=500, description="A connection, URL or file in the project."
    )
    format: Literal["sqlite", "csv", "jsonl"] | None = None
    seed: StrictInt | None = Field(None, ge=0, le=2**31)
    inject_errors: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="Share of rows given a planted defect (0 to 0.5), listed in a manifest.",
    )
    if_exists: Literal["fail", "replace"] = "fail"


class BulkGenerate(_Body):
    items: list[GenerateItem] = Field(min_length=1, max_length=50)
    env: Env | None = None
    tags: Tags = Field(default_factory=list)


class KindItem(_Body):
    params: dict[str, Any] = Field(default_factory=dict)
    name: PipelineName | None = None


class BulkKind(_Body):
    """One job of the endpoint's kind per item; all params are checked before any job is made."""

    items: list[KindItem] = Field(min_length=1, max_length=100)
    workers: StrictInt | None = Field(None, ge=1, le=MAX_WORKERS)
    env: str | None = Field(None, min_length=1, max_length=100)
    stop_on_error: StrictBool | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)


class JobList(BaseModel):
    jobs: list[JobOut]
