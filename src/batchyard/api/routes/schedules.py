"""``/api/schedules``: the project's schedules, their next times and runs; pause and resume."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from batchyard.api.problems import RESPONSES
from batchyard.api.routes.jobs import NO_NUL
from batchyard.api.service import Service, service_of
from batchyard.schedule.status import ScheduleStatus, find
from batchyard.store.models import utcnow
from batchyard.store.schedules import ScheduleRun

router = APIRouter(prefix="/api/schedules", tags=["schedules"], responses=RESPONSES)
ServiceDep = Annotated[Service, Depends(service_of)]
ScheduleId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        pattern=NO_NUL,
        description="The schedule: its pipeline's name, or monitor:NAME for a monitor's.",
    ),
]
Count = Annotated[int, Query(ge=1, le=1000, description="How many next times to give.")]


class RunOut(BaseModel):
    schedule_id: str
    scheduled_at: datetime = Field(description="The time the run was due (UTC).")
    job_id: str = Field(description="The job that runs it (a `batch` job for pipelines).")
    status: str = Field(
        examples=["completed"],
        description="pending, running, completed, "
        "partial, failed, skipped (an upstream failed) or cancelled.",
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    detail: str | None = Field(description="The child job, the error, or why it was skipped.")

    @classmethod
    def of(cls, run: ScheduleRun) -> RunOut:
        return cls.model_validate(run.to_dict())


class ScheduleOut(BaseModel):
    id: str = Field(examples=["nightly-scores"])
    target: dict[str, Any] = Field(description="What it runs: `{pipeline}` or `{kind, params}`.")
    cron: str = Field(examples=["0 3 * * *"])
    timezone: str = Field(examples=["Europe/Paris"])
    missed: str = Field(
        examples=["once"], description="What is done with missed times: skip, once or catch_up."
    )
    source: str = Field(description="The file the schedule comes from.")
    paused: bool
    last_run: RunOut | None
    next_at: list[datetime] = Field(description="The next times it is due (UTC); none if paused.")

    @classmethod
    def of(cls, status: ScheduleStatus, root: FilePath) -> ScheduleOut:
        data = status.to_dict()
        source = FilePath(status.schedule.source)
        if source.is_relative_to(root):  # the project's own path is no business of clients'
            data["source"] = str(source.relative_to(root))
        return cls.model_validate(data)


def _one(service: Service, schedule_id: str, count: int = 1) -> ScheduleOut:
    found = service.reader.schedule_overview(count=count)
    schedule = find([s.schedule for s in found], schedule_id)
    status = next(s for s in found if s.schedule.id == schedule.id)
    return ScheduleOut.of(status, service.settings.root)


@router.get("", operation_id="listSchedules", response_model=list[ScheduleOut], summary="Schedules")
def list_schedules(service: ServiceDep, count: Count = 1) -> list[ScheduleOut]:
    """Every schedule (pipelines with `schedule:`): cron, time zone, missed-run policy, paused
    or not, its latest run and its next `count` times. A pipeline file with a bad schedule answers
    400 naming the file and field."""
    root = service.settings.root
    return [ScheduleOut.of(s, root) for s in service.reader.schedule_overview(count=count)]


@router.get(
    "/{schedule_id}", operation_id="getSchedule", response_model=ScheduleOut, summary="One schedule"
)
def get_schedule(schedule_id: ScheduleId, service: ServiceDep, count: Count = 5) -> ScheduleOut:
    return _one(service, schedule_id, count)


@router.get(
    "/{schedule_id}/next",
    operation_id="listScheduleTimes",
    response_model=list[datetime],
    summary="Next times",
)
def next_times(schedule_id: ScheduleId, service: ServiceDep, count: Count = 5) -> list[datetime]:
    """The next `count` times the schedule is due (UTC), whether or not it is paused."""
    schedule = find(service.reader.schedules(), schedule_id)
    return schedule.upcoming(utcnow(), count)


@router.get(
    "/{schedule_id}/runs",
    operation_id="listScheduleRuns",
    response_model=list[RunOut],
    summary="Runs of a schedule",
)
def runs(
    schedule_id: ScheduleId,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    """The runs the scheduler recorded, newest first: when each was due, its job, how it ended."""
    return [RunOut.of(r) for r in service.reader.schedule_runs(schedule_id, limit=limit)]


@router.post(
    "/{schedule_id}/pause",
    operation_id="pauseSchedule",
    response_model=ScheduleOut,
    summary="Pause a schedule",
)
def pause(schedule_id: ScheduleId, service: ServiceDep) -> ScheduleOut:
    """Stop firing the schedule; its times pass unrun until it is resumed."""
    return ScheduleOut.of(service.app.pause_schedule(schedule_id), service.settings.root)


@router.post(
    "/{schedule_id}/resume",
    operation_id="resumeSchedule",
    response_model=ScheduleOut,
    summary="Resume a schedule",
)
def resume(schedule_id: ScheduleId, service: ServiceDep) -> ScheduleOut:
    """Fire the schedule again, from its next time on."""
    return ScheduleOut.of(service.app.resume_schedule(schedule_id), service.settings.root)
