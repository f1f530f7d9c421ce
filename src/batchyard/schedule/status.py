"""What ``schedules list`` and ``GET /api/schedules`` show: each schedule with its state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchyard.errors import NotFound
from batchyard.schedule.spec import Schedule
from batchyard.store import Store
from batchyard.store.models import utcnow
from batchyard.store.schedules import ScheduleBook, ScheduleRun


@dataclass(frozen=True)
class ScheduleStatus:
    """A schedule, whether it is paused, its latest run and the next times it is due."""

    schedule: Schedule
    paused: bool
    last_run: ScheduleRun | None
    next_at: list[datetime]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.schedule.to_dict(),
            "paused": self.paused,
            "last_run": self.last_run.to_dict() if self.last_run else None,
            "next_at": [t.isoformat() for t in self.next_at],
        }


def overview(
    store: Store,
    scope: str,
    schedules: list[Schedule],
    *,
    count: int = 1,
    now: datetime | None = None,
) -> list[ScheduleStatus]:
    book = ScheduleBook(store)
    states = book.states(scope)
    last = book.last_runs(scope)
    now = now or utcnow()
    out = []
    for schedule in schedules:
        state = states.get(schedule.id)
        paused = bool(state and state.paused)
        out.append(
            ScheduleStatus(
                schedule=schedule,
                paused=paused,
                last_run=last.get(schedule.id),
                next_at=[] if paused else schedule.upcoming(now, count),
            )
        )
    return out


def find(schedules: list[Schedule], schedule_id: str) -> Schedule:
    for schedule in schedules:
        if schedule.id == schedule_id:
            return schedule
    known = (
        ", ".join(s.id for s in schedules) or "none: give a pipeline or a monitor a schedule: field"
    )
    raise NotFound(f"no schedule {schedule_id!r} (schedules: {known})")
