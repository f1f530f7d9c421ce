"""What a schedule is: a target (a pipeline, or a job kind with params), a cron in a time zone,
and what to do with the times missed while no scheduler ran.

Pipelines give their schedules from ``schedule:`` in ``pipelines/NAME.yaml``, monitors from
``schedule:`` in ``monitors/NAME.yaml`` (a ``monitor`` job of that monitor, with the id
``monitor:NAME``); both are read by :func:`of_field`, so their fields mean the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from batchyard import pipelines
from batchyard.errors import ConfigError
from batchyard.schedule.cron import Cron


class Missed(StrEnum):
    """The times a schedule passed while no scheduler ran (down, or between two schedulers)."""

    SKIP = "skip"  # leave them out; run from the next time on
    ONCE = "once"  # run once for them (as of the latest), then carry on
    CATCH_UP = "catch_up"  # run each of them, oldest first

    def pick(self, cron: Cron, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Of the times due in ``(start, end]``, the ones to run."""
        if self is Missed.SKIP:
            return []
        if self is Missed.ONCE:
            latest = cron.latest(end)
            return [latest] if latest > start else []
        return cron.between(start, end, limit=limit)


@dataclass(frozen=True)
class Target:
    """What a schedule runs: a pipeline, or a job kind with params."""

    pipeline: str | None = None
    kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    env: str | None = None

    def __post_init__(self) -> None:
        if (self.pipeline is None) == (self.kind is None):
            raise ValueError("a schedule's target is a pipeline or a kind, one of the two")

    def describe(self) -> str:
        return f"pipeline {self.pipeline}" if self.pipeline else f"kind {self.kind}"

    def to_dict(self) -> dict[str, Any]:
        if self.pipeline:
            return {"pipeline": self.pipeline, "env": self.env}
        return {"kind": self.kind, "params": self.params, "env": self.env}


@dataclass(frozen=True)
class Schedule:
    """A target run on a cron. ``id`` is unique in a project: a pipeline's schedule has the
    pipeline's name; others should be prefixed with what they are (``monitor:files``)."""

    id: str
    target: Target
    cron: Cron
    missed: Missed = Missed.ONCE
    source: str = ""

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        times = self.cron.times(after)
        return [next(times) for _ in range(count)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target.to_dict(),
            "cron": self.cron.expression,
            "timezone": self.cron.timezone,
            "missed": self.missed.value,
            "source": self.source,
        }


def of_field(
    schedule_id: str,
    target: Target,
    spec: pipelines.ScheduleField,
    *,
    source: str,
    where: Callable[[str], str],
) -> Schedule:
    """The schedule a file's ``schedule:`` gives; a bad cron or time zone is a
    :class:`ConfigError` naming ``where(field)`` (the file and line) and the field."""
    try:
        cron = Cron(spec.cron, spec.timezone)
    except ConfigError as exc:
        fieldname = "timezone" if "time zone" in str(exc) else "cron"
        raise ConfigError(f"{where(fieldname)}: schedule.{fieldname}: {exc}") from None
    return Schedule(
        id=schedule_id, target=target, cron=cron, missed=Missed(spec.missed), source=source
    )


def of_pipeline(pipeline: pipelines.Pipeline) -> Schedule | None:
    """The pipeline's schedule (None without ``schedule:``); bad fields name the file and line."""
    if pipeline.schedule is None:
        return None
    return of_field(
        pipeline.name,
        Target(pipeline=pipeline.name, env=pipeline.env),
        pipelines.ScheduleField(
            cron=pipeline.schedule, timezone=pipeline.timezone, missed=pipeline.missed
        ),
        source=str(pipeline.path),
        where=lambda fieldname: pipelines.where(pipeline, "schedule", fieldname),
    )


def of_pipelines(found: list[pipelines.Pipeline]) -> list[Schedule]:
    return [s for s in (of_pipeline(p) for p in found) if s is not None]
