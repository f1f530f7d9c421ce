"""``/api/jobs``: create, list, read, steer, delete and export jobs."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator

from batchyard.api.models import (
    EventOut,
    ItemOut,
    ItemPage,
    JobCreate,
    JobOut,
    JobPage,
    JobSort,
    LogPage,
    ProgressOut,
    RetryBody,
)
from batchyard.api.problems import RESPONSES
from batchyard.api.service import Service, service_of
from batchyard.api.sse import stream_job
from batchyard.errors import Conflict
from batchyard.store import JobFilter
from batchyard.store.models import ItemStatus, JobStatus

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=RESPONSES)

ServiceDep = Annotated[Service, Depends(service_of)]
# No NUL: PostgreSQL cannot hold one in text, so no job, kind or name can contain it.
NO_NUL = r"^[^\x00]+$"
JobId = Annotated[
    str,
    Path(min_length=1, max_length=200, pattern=NO_NUL, description="A job id or its prefix."),
]
Text = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)]


_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?)?$"
)


def _moment(value: object) -> datetime:
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError("give an ISO 8601 date or date-time, such as 2024-06-01T12:00:00Z")
    moment = datetime.fromisoformat(value.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime, BeforeValidator(_moment)]


class Order(StrEnum):
    asc = "asc"
    desc = "desc"


class Format(StrEnum):
    json = "json"
    csv = "csv"


def job_filter(
    status: Annotated[list[JobStatus], Query(description="Repeat for several.")] = [],  # noqa: B006
    kind: Text = None,
    env: Text = None,
    project: Text = None,
    tag: Text = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=NO_NUL, description="Text in the id or name."),
    ] = None,
    created_after: Annotated[
        Moment | None, Query(description="ISO 8601; UTC if no offset.")
    ] = None,
    created_before: Annotated[
        Moment | None, Query(description="ISO 8601; UTC if no offset.")
    ] = None,
    parent_id: Text = None,
) -> JobFilter:
    return JobFilter(
        status=[s.value for s in status],
        kind=kind,
        env=env,
        project=project,
        tag=tag,
        search=q,
        parent_id=parent_id,
        created_after=created_after,
        created_before=created_before,
    )


FilterDep = Annotated[JobFilter, Depends(job_filter)]


@router.post(
    "",
    operation_id="createJob",
    status_code=201,
    response_model=JobOut,
    summary="Create and start a job",
)
def create_job(body: JobCreate, service: ServiceDep, response: Response) -> JobOut:
    """Plan a job of a kind (or a saved pipeline) and queue it in the server's worker pool."""
    job = service.submit(
        body.kind or body.pipeline or "",
        body.params,
        workers=body.workers,
        executor=body.executor,
        retries=body.retries,
        timeout=body.timeout,
        env=body.env,
        stop_on_error=body.stop_on_error,
        tags=body.tags,
        name=body.name,
    )
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobOut.of(job)


def _json(model: BaseModel) -> Any:
    # The model is already checked: serialising it once here skips FastAPI's second validation,
    # a good part of a list page's time. The response_model still documents it.
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("", operation_id="listJobs", response_model=JobPage, summary="List jobs")
def list_jobs(
    service: ServiceDep,
    filt: FilterDep,
    sort: JobSort = JobSort.created_at,
    order: Order = Order.desc,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Jobs matching the filters, a page at a time, with the total that match."""
    prefix = "-" if order is Order.desc else ""
    jobs, total = service.reader.jobs(
        filt, limit=limit, offset=offset, order=f"{prefix}{sort.value}"
    )
    page = JobPage(jobs=[JobOut.of(j) for j in jobs], total=total, limit=limit, offset=offset)
    return _json(page)


@router.get(
    "/export",
    operation_id="exportJobs",
    summary="Export jobs",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export_jobs(
    service: ServiceDep,
    filt: FilterDep,
    format: Format = Format.json,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
) -> Response:
    """The jobs matching the filters as a JSON array or CSV (params masked)."""
    jobs, _ = service.reader.jobs(filt, limit=limit)
    text = service.reader.export(jobs, format.value)
    return _download(text, format, "jobs")


def _download(text: str, format: Format, name: str) -> Response:
    media = "text/csv" if format is Format.csv else "application/json"
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format.value}"'},
    )


@router.get("/{job_id}", operation_id="getJob", response_model=JobOut, summary="Get a job")
def get_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """One job, by its id or a unique prefix of it."""
    return JobOut.of(service.reader.job(job_id))


@router.get(
    "/{job_id}/progress",
    operation_id="getJobProgress",
    response_model=ProgressOut,
    summary="A job's progress",
)
def get_progress(job_id: JobId, service: ServiceDep) -> ProgressOut:
    """%, items/s, rows/s, ETA and the items in flight, as the runner last recorded them."""
    job = service.reader.job(job_id)
    return ProgressOut.of(job)


@router.get(
    "/{job_id}/items", operation_id="listJobItems", response_model=ItemPage, summary="A job's items"
)
def get_items(
    job_id: JobId,
    service: ServiceDep,
    status: Annotated[list[ItemStatus], Query(description="Repeat for several.")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> Any:
    """A page of the job's items in plan order, with the total that match."""
    if status:
        items, total = service.reader.items(
            job_id, status=[s.value for s in status], limit=limit, offset=offset
        )
    else:  # the job row holds the total; the page is a range of positions
        job = service.reader.job(job_id)
        items, total = service.reader.read_store().items_at(job.id, offset, limit), job.total
    page = ItemPage(items=[ItemOut.of(i) for i in items], total=total, limit=limit, offset=offset)
    return _json(page)


@router.get(
    "/{job_id}/log", operation_id="getJobLog", response_model=LogPage, summary="A job's log"
)
def get_log(
    job_id: JobId,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> LogPage:
    """Log lines after the line id ``after``, oldest first."""
    events = service.reader.log(job_id, after=after, limit=limit)
    return LogPage(
        events=[EventOut.of(e) for e in events], next_after=events[-1].id if events else after
    )


@router.get(
    "/{job_id}/events",
    operation_id="streamJobEvents",
    summary="Live progress, status and log (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def get_events(
    job_id: JobId,
    request: Request,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Log lines after this id.")] = 0,
) -> StreamingResponse:
    """Events `status`, `progress` (as `/progress`) and `log` (as a `/log` line, its id the
    event id) until the job ends; `Last-Event-ID` resumes the log where a client left off."""
    job = service.reader.job(job_id)
    last = request.headers.get("last-event-id", "")
    start = int(last) if last.isdigit() and len(last) < 18 else after
    return StreamingResponse(
        stream_job(service, job.id, start, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/{job_id}/cancel",
    operation_id="cancelJob",
    status_code=202,
    response_model=JobOut,
    summary="Cancel a job",
)
def cancel_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """A running job stops at its runner's next heartbeat; a waiting one is cancelled at once."""
    job = service.reader.job(job_id)
    return JobOut.of(service.app.cancel(job.id))


@router.post(
    "/{job_id}/pause",
    operation_id="pauseJob",
    status_code=202,
    response_model=JobOut,
    summary="Pause a job",
)
def pause_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """In-flight items finish or checkpoint; the job ends paused, ready to resume."""
    job = service.reader.job(job_id)
    return JobOut.of(service.app.pause(job.id))


@router.post(
    "/{job_id}/resume",
    operation_id="resumeJob",
    status_code=202,
    response_model=JobOut,
    summary="Resume a job",
)
def resume_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """Run a pending or paused job (or one whose runner died) on the server, from its checkpoints."""
    job = service.reader.job(job_id)
    if job.status.finished:
        hint = "retry it instead" if job.failed or job.cancelled else "nothing is left to run"
        raise Conflict(f"job {job.id} is {job.status.value}; {hint}")
    if not service.pool.holds(job.id):
        if service.held(job):
            raise Conflict(f"job {job.id} is running (runner {job.lease_owner})")
        service.pool.submit(job.id)
    return JobOut.of(service.reader.job(job.id))


@router.post(
    "/{job_id}/retry",
    operation_id="retryJob",
    status_code=201,
    response_model=JobOut,
    summary="Retry a job",
)
def retry_job(
    job_id: JobId, service: ServiceDep, response: Response, body: RetryBody | None = None
) -> JobOut:
    """A new job for a finished job's failed and unfinished items (or all of it), started now."""
    job = service.reader.job(job_id)
    new = service.app.retry(job.id, failed_only=(body or RetryBody()).failed_only)
    service.pool.submit(new.id)
    response.headers["Location"] = f"/api/jobs/{new.id}"
    return JobOut.of(new)


@router.delete(
    "/{job_id}", operation_id="deleteJob", status_code=204, summary="Delete a finished job"
)
def delete_job(job_id: JobId, service: ServiceDep) -> Response:
    """Delete a finished job with its items and log; 409 while it is not finished."""
    job = service.reader.job(job_id)
    service.app.delete(job.id)
    return Response(status_code=204)


@router.get(
    "/{job_id}/export",
    operation_id="exportJob",
    summary="Export a job",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export_job(job_id: JobId, service: ServiceDep, format: Format = Format.json) -> Response:
    """JSON: the job with all its items; CSV: one row per item."""
    job = service.reader.job(job_id)
    store = service.reader.read_store()
    items = [ItemOut.of(i).model_dump(mode="json") for i in store.iter_items(job.id)]
    if format is Format.json:
        body = {"job": JobOut.of(job).model_dump(mode="json"), "items": items}
        return _download(json.dumps(body, ensure_ascii=False), format, job.id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ItemOut.model_fields))
    writer.writeheader()
    for row in items:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return _download(out.getvalue(), format, job.id)
