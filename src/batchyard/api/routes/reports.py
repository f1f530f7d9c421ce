"""``/api/jobs/{id}/report``: a validate job's report, with its suite's score over time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from batchyard.api.problems import RESPONSES
from batchyard.api.routes.jobs import JobId
from batchyard.api.service import Service, service_of
from batchyard.check import history
from batchyard.check.run import report_for
from batchyard.errors import NotFound
from batchyard.secrets import mask_secrets

router = APIRouter(prefix="/api/jobs", tags=["reports"], responses=RESPONSES)
ServiceDep = Annotated[Service, Depends(service_of)]


class TablePoint(BaseModel):
    score: float
    failing: int = Field(description="Rules of the table that did not pass in that run.")


class ScorePoint(BaseModel):
    job: str
    at: str | None
    score: float
    rows: int
    failing: int = Field(0, description="Rules that did not pass in that run.")
    tables: dict[str, TablePoint] = Field(
        default_factory=dict, description="Each table's score and failing rules in that run."
    )


class ReportOut(BaseModel):
    """The JSON report of `batchyard validate --format json` (docs/validate.md), with the
    verdict the job recorded and the scores of the suite's runs on the same target."""

    version: int
    suite: str
    target: str
    job: str | None
    created_at: str
    score: float = Field(description="0 to 100, over every rule of every table.")
    rows: int
    counts: dict[str, int] = Field(description="Rules by status: pass, warn, fail, error.")
    tables: list[dict[str, Any]] = Field(
        description="Per table: score, counts, rows, seconds, and each rule's result with its "
        "failing rows, samples and suggested fix."
    )
    trend: dict[str, Any] | None = Field(description="Changes since the run before, if any.")
    errors: list[dict[str, Any]]
    status: str = Field(description="The job's status.")
    result: dict[str, Any] | None = Field(
        description="The job's verdict: passed, fail_on, failed (count), failing (rule names)."
    )
    history: list[ScorePoint] = Field(
        description="Scores of this suite's runs on this target up to this one, oldest first."
    )


@router.get(
    "/{job_id}/report",
    operation_id="getJobReport",
    response_model=ReportOut,
    summary="A validation job's report",
)
def get_report(job_id: JobId, service: ServiceDep) -> ReportOut:
    """Score, rules with samples and fixes, the trend since the run before, and the history of
    the suite's scores; 404 for a job that is not a `validate` job."""
    reader = service.reader
    job = reader.job(job_id)
    if job.kind != history.KIND:
        raise NotFound(f"job {job.id} is a {job.kind} job; only validate jobs have a report")
    report = report_for(reader.read_store(), job).to_dict()
    result = job.metadata.get("result") if isinstance(job.metadata, dict) else None
    data = {
        **mask_secrets(report),
        "status": job.status.value,
        "result": result if isinstance(result, dict) else None,
    }
    return ReportOut.model_validate(data)
