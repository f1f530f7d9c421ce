"""``/api/batch``: many jobs from one request, as the dashboard's bulk actions need."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from batchyard import pipelines
from batchyard.api.models import BulkExecute, BulkGenerate, BulkKind, JobList, JobOut, Mode
from batchyard.api.problems import RESPONSES
from batchyard.api.service import Service, service_of
from batchyard.errors import BadField, ParamError
from batchyard.generate.spec import Spec

router = APIRouter(prefix="/api/batch", tags=["batch"], responses=RESPONSES)
ServiceDep = Annotated[Service, Depends(service_of)]


@router.post(
    "/pipelines/bulk-execute",
    operation_id="bulkExecutePipelines",
    status_code=201,
    response_model=JobOut,
    summary="Run pipelines as one batch job",
)
def bulk_execute(body: BulkExecute, service: ServiceDep) -> JobOut:
    """One `batch` job whose items are the pipelines, in parallel (up to `max_parallel`) or one
    after another; each pipeline runs as a child job (`parent_id` is the batch)."""
    root = service.settings.root
    for n, name in enumerate(body.pipelines):
        if not pipelines.exists(root, name):
            raise BadField(
                f"no pipeline {name!r} in {pipelines.FOLDER}/; GET /api/pipelines lists them",
                f"body.pipelines.{n}",
            )
    if len(set(body.pipelines)) != len(body.pipelines):
        raise BadField("each pipeline may appear once", "body.pipelines")
    parallel = body.max_parallel if body.mode is Mode.parallel else 1
    job = service.submit(
        "batch",
        {"pipelines": body.pipelines, "parallel": parallel, "stop_on_error": body.stop_on_error},
        env=body.env,
        tags=body.tags,
    )
    return JobOut.of(job)


@router.post(
    "/data/bulk-generate",
    operation_id="bulkGenerateData",
    status_code=201,
    response_model=JobList,
    summary="Generate several datasets",
)
def bulk_generate(body: BulkGenerate, service: ServiceDep) -> JobList:
    """One `generate` job per item (a dataset schema and a row count), into files or databases
    inside the project; every item is checked before any job is made."""
    requests = []
    targets: dict[str, int] = {}
    for n, item in enumerate(body.items):
        to = item.to
        if to is None:
            suffix = "" if len(body.items) == 1 else f"-{n + 1}"
            to = f"{item.schema_.value}{suffix}" + (
                "" if item.format in ("csv", "jsonl") else ".db"
            )
        if to in targets:
            raise BadField(
                f"items {targets[to]} and {n} both write to {to!r}; give each its own `to`",
                f"body.items.{n}.to",
            )
        targets[to] = n
        params: dict[str, object] = {
            "dataset": item.schema_.value,
            "scale": _scale_for(item.schema_.value, item.rows, n),
            "to": to,
            "if_exists": item.if_exists,
        }
        if item.format is not None:
            params["format"] = item.format
        if item.seed is not None:
            params["seed"] = item.seed
        if item.inject_errors:
            params["inject_errors"] = item.inject_errors
        requests.append((params, {"env": body.env, "tags": body.tags}))
    return JobList(jobs=[JobOut.of(j) for j in service.submit_many("generate", requests)])


def _scale_for(schema: str, rows: int, n: int) -> str:
    """The scale at which ``schema`` has about ``rows`` rows in all its tables."""
    try:
        at_one = Spec.from_params(schema).total_rows
    except ParamError as exc:
        raise BadField(str(exc), f"body.items.{n}.schema") from exc
    return f"{rows / at_one:.6g}"


def _bulk(service: Service, kind: str, body: BulkKind) -> JobList:
    requests = [
        (
            item.params,
            {
                "env": body.env,
                "tags": body.tags,
                "workers": body.workers,
                "stop_on_error": body.stop_on_error,
                "name": item.name,
            },
        )
        for item in body.items
    ]
    return JobList(jobs=[JobOut.of(j) for j in service.submit_many(kind, requests)])


@router.post(
    "/projects/multi-validate",
    operation_id="multiValidate",
    status_code=201,
    response_model=JobList,
    summary="Validate several targets",
)
def multi_validate(body: BulkKind, service: ServiceDep) -> JobList:
    """One `validate` job per item (its params as `GET /api/kinds/validate` describes them);
    404 (Job kind not installed) when this server has no `validate` kind."""
    return _bulk(service, "validate", body)


@router.post(
    "/metadata/bulk-extract",
    operation_id="bulkExtractMetadata",
    status_code=201,
    response_model=JobList,
    summary="Extract metadata from several targets",
)
def bulk_extract(body: BulkKind, service: ServiceDep) -> JobList:
    """One `inspect` job per item (its params as `GET /api/kinds/inspect` describes them);
    404 (Job kind not installed) when this server has no `inspect` kind."""
    return _bulk(service, "inspect", body)
