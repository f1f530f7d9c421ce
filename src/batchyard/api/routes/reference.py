"""What the project has and how it is doing: statistics, kinds, pipelines, connections, health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from batchyard import __version__, pipelines
from batchyard.api.problems import RESPONSES
from batchyard.api.routes.jobs import NO_NUL, FilterDep
from batchyard.api.service import Service, service_of
from batchyard.engine.kinds import JobKind
from batchyard.errors import NotFound
from batchyard.secrets import mask_secrets, mask_url
from batchyard.store.models import utcnow

router = APIRouter(prefix="/api", tags=["reference"], responses=RESPONSES)
#: Open without a token, for load balancers and probes; it tells nothing about the jobs' data.
health_router = APIRouter(prefix="/api", tags=["reference"])
ServiceDep = Annotated[Service, Depends(service_of)]


class Throughput(BaseModel):
    window_s: float = Field(description="The window the rates cover (the `since` query).")
    jobs_finished: int
    jobs_per_hour: float
    items_done: int
    items_per_s: float = Field(description="Items done by the jobs that finished in the window.")


class Statistics(BaseModel):
    total: int
    by_status: dict[str, int]
    by_kind: dict[str, int]
    by_env: dict[str, int]
    success_rate: float | None = Field(description="completed / (completed + partial + failed).")
    duration_p50_s: float | None
    duration_p95_s: float | None
    throughput: Throughput
    by_kind_env: list[dict[str, Any]]


@router.get(
    "/statistics", operation_id="getStatistics", response_model=Statistics, summary="Job statistics"
)
def statistics(
    service: ServiceDep,
    filt: FilterDep,
    window_h: Annotated[
        float, Query(ge=0.01, le=24 * 366, description="Throughput window, in hours.")
    ] = 24,
) -> Statistics:
    """Counts by status, kind and env; success rate; duration percentiles; throughput."""
    reader = service.reader
    stats = reader.stats(filt)
    by_kind: dict[str, int] = {}
    by_env: dict[str, int] = {}
    for group in stats["by_kind_env"]:
        by_kind[group["kind"]] = by_kind.get(group["kind"], 0) + group["jobs"]
        by_env[group["env"]] = by_env.get(group["env"], 0) + group["jobs"]
    window = timedelta(hours=window_h)
    since: datetime = utcnow() - window
    finished, items = reader.read_store().throughput(since, filt)
    seconds = window.total_seconds()
    return Statistics(
        total=stats["total"],
        by_status=stats["by_status"],
        by_kind=dict(sorted(by_kind.items())),
        by_env=dict(sorted(by_env.items())),
        success_rate=stats["success_rate"],
        duration_p50_s=stats["duration_p50_s"],
        duration_p95_s=stats["duration_p95_s"],
        throughput=Throughput(
            window_s=seconds,
            jobs_finished=finished,
            jobs_per_hour=round(finished / (seconds / 3600), 3),
            items_done=items,
            items_per_s=round(items / seconds, 3),
        ),
        by_kind_env=stats["by_kind_env"],
    )


class TimelinePoint(BaseModel):
    start: str = Field(description="The bucket's start (UTC); jobs count by when they finished.")
    kind: str
    env: str
    jobs: int
    completed: int
    partial: int
    failed: int
    success_rate: float | None
    duration_p50_s: float | None
    duration_p95_s: float | None
    items_done: int
    rows_written: int
    items_per_s: float | None = Field(description="Items done per second the jobs ran.")


class Timeline(BaseModel):
    since: datetime
    bucket_s: int
    points: list[TimelinePoint] = Field(description="Per bucket, kind and env; oldest first.")


@router.get(
    "/statistics/timeline",
    operation_id="getStatisticsTimeline",
    response_model=Timeline,
    summary="Job statistics over time",
)
def timeline(
    service: ServiceDep,
    filt: FilterDep,
    window_h: Annotated[
        float, Query(ge=0.01, le=24 * 366, description="How far back, in hours.")
    ] = 24 * 7,
    buckets: Annotated[int, Query(ge=1, le=500, description="How many time buckets.")] = 48,
) -> Timeline:
    """Finished jobs per time bucket, kind and env: outcomes, success rate, p50/p95 duration and
    items/s. Takes the job list's filters."""
    since = utcnow() - timedelta(hours=window_h)
    bucket_s = max(1, int(window_h * 3600 / buckets))
    points = service.reader.read_store().timeline(since, bucket_s, filt)
    return Timeline(
        since=since,
        bucket_s=bucket_s,
        points=[TimelinePoint.model_validate(p) for p in points],
    )


class KindOut(BaseModel):
    name: str = Field(examples=["generate"])
    description: str
    builtin: bool
    params: dict[str, Any] = Field(description="The JSON Schema of the kind's params.")
    retries: int | None
    workers: int | None
    timeout: float | None


def _kind(kind: JobKind) -> KindOut:
    try:
        return KindOut.model_validate(kind.describe())
    except Exception:  # a param type that has no JSON Schema: the kind is listed all the same
        return KindOut(
            name=kind.name,
            description=kind.description,
            builtin=kind.builtin,
            params={},
            retries=(kind.retry.attempts - 1) if kind.retry else None,
            workers=kind.workers,
            timeout=kind.timeout,
        )


@router.get("/kinds", operation_id="listKinds", response_model=list[KindOut], summary="Job kinds")
def kinds(service: ServiceDep) -> list[KindOut]:
    """Every kind this project can run, each with the JSON Schema of its params."""
    return [_kind(k) for k in service.app.kinds()]


@router.get("/kinds/{name}", operation_id="getKind", response_model=KindOut, summary="One job kind")
def kind(
    name: Annotated[str, Path(max_length=200, pattern=NO_NUL)], service: ServiceDep
) -> KindOut:
    registry = service.app.registry
    if name not in registry:
        raise NotFound(f"no job kind {name!r}; GET /api/kinds lists them")
    return _kind(registry.get(name))


class PipelineOut(BaseModel):
    name: str
    path: str
    kind: str
    description: str
    env: str | None
    workers: int | None
    executor: str | None
    retries: int | None
    stop_on_error: bool | None
    params: dict[str, Any]
    tags: list[Any]
    depends_on: list[Any]
    schedule: str | None


@router.get(
    "/pipelines",
    operation_id="listPipelines",
    response_model=list[PipelineOut],
    summary="Saved pipelines",
)
def list_pipelines(service: ServiceDep) -> list[PipelineOut]:
    """The project's `pipelines/*.yaml` (params masked)."""
    root = service.settings.root
    out = []
    for p in pipelines.list_all(root):
        data = p.to_dict()
        data["params"] = mask_secrets(data["params"])
        try:
            data["path"] = str(p.path.relative_to(root))
        except ValueError:
            data["path"] = p.path.name
        out.append(PipelineOut.model_validate(data))
    return out


class ConnectionOut(BaseModel):
    name: str = Field(examples=["warehouse"])
    url: str = Field(examples=["postgresql://app:***@db/warehouse"])
    backend: str = Field(examples=["postgresql"])


@router.get(
    "/connections",
    operation_id="listConnections",
    response_model=list[ConnectionOut],
    summary="Connections",
)
def connections(service: ServiceDep) -> list[ConnectionOut]:
    """The project's named connections, passwords masked."""
    out = []
    for name, url in sorted(service.settings.masked_connections().items()):
        scheme = url.split("://", 1)[0] if "://" in url else "file"
        out.append(ConnectionOut(name=name, url=mask_url(url), backend=scheme.split("+")[0]))
    return out


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    version: str
    store: str = Field(examples=["ok"])
    jobs_running: int
    jobs_queued: int


@health_router.get("/health", operation_id="getHealth", response_model=Health, summary="Health")
def health(service: ServiceDep) -> Health:
    """`ok` when the store answers; the server's own running and queued jobs."""
    try:
        service.reader.read_store().item_counts("")
        store = "ok"
    except Exception:
        store = "unavailable"
    pool = service.pool.snapshot()
    return Health(
        status="ok" if store == "ok" else "degraded",
        version=__version__,
        store=store,
        jobs_running=len(pool["running"]),
        jobs_queued=len(pool["queued"]),
    )
