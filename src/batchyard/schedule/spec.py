"""What a schedule is: a target (a pipeline, or a job kind with params), a cron in a time zone,
and what to do with the times missed while no scheduler ran.

Pipelines give their schedules from ``schedule:`` in ``pipelines/NAME.yaml``; anything else
that wants to run on a schedule (a monitor, say) makes :class:`Schedule` objects the same way.
"""

from __future__ import annotations

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


def of_pipeline(pipeline: pipelines.Pipeline) -> Schedule | None:
    """The pipeline's schedule (None without ``schedule:``); bad fields name the file and line."""
    if pipeline.schedule is None:
        return None
    try:
        cron = Cron(pipeline.schedule, pipeline.timezone)
    except ConfigError as exc:
        fieldname = "timezone" if "time zone" in str(exc) else "cron"
        where = pipelines.where(pipeline, "schedule", fieldname)
        raise ConfigError(f"{where}: schedule.{fieldname}: {exc}") from None
    return Schedule(
        id=pipeline.name,
        target=Target(pipeline=pipeline.name, env=pipeline.env),
        cron=cron,
        missed=Missed(pipeline.missed),
        source=str(pipeline.path),
    )


def of_pipelines(found: list[pipelines.Pipeline]) -> list[Schedule]:
    return [s for s in (of_pipeline(p) for p in found) if s is not None]
