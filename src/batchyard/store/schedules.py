"""What the scheduler keeps in the store: its lease, each schedule's state, and every run.

A run is recorded, with the id its job will have, *before* that job exists: the key
``(scope, schedule_id, scheduled_at)`` makes a time fire once, and the job id lets a scheduler
that starts after a crash find (or make) the very job that run was to be. Recording runs also
renews the scheduler's lease in the same transaction, so a scheduler that lost its lease to
another records nothing more (on PostgreSQL the lease's row stays locked until that commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from batchyard.errors import LeaseLost
from batchyard.store.models import Job, aware, iso, utcnow
from batchyard.store.schema import jobs, leases, schedule_runs, schedules
from batchyard.store.store import Store


class RunStatus(StrEnum):
    PENDING = "pending"  # recorded; its job has not started yet
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"  # an upstream pipeline did not succeed
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


UNFINISHED = (RunStatus.PENDING.value, RunStatus.RUNNING.value)


def _utc(value: Any) -> datetime | None:
    """A stored time in UTC: runs are keyed and compared by their times."""
    at = aware(value)
    return None if at is None else at.astimezone(UTC)


@dataclass(frozen=True)
class ScheduleRun:
    """One firing of a schedule: the time it was due, the job that runs it, how it went."""

    scope: str
    schedule_id: str
    scheduled_at: datetime
    job_id: str
    status: RunStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    detail: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ScheduleRun:
        return cls(
            scope=row["scope"],
            schedule_id=row["schedule_id"],
            scheduled_at=_utc(row["scheduled_at"]),  # type: ignore[arg-type]
            job_id=row["job_id"],
            status=RunStatus(row["status"]),
            created_at=_utc(row["created_at"]),  # type: ignore[arg-type]
            started_at=_utc(row["started_at"]),
            finished_at=_utc(row["finished_at"]),
            detail=row["detail"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "scheduled_at": iso(self.scheduled_at),
            "job_id": self.job_id,
            "status": self.status.value,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ScheduleState:
    id: str
    paused: bool = False
    cursor: datetime | None = None


@dataclass(frozen=True)
class Lease:
    name: str
    owner: str | None
    expires_at: datetime | None
    heartbeat_at: datetime | None
    acquired_at: datetime | None

    def live(self, now: datetime | None = None) -> bool:
        return bool(self.owner) and (self.expires_at or datetime.min.replace(tzinfo=UTC)) > (
            now or utcnow()
        )


@dataclass(frozen=True)
class NewRun:
    """A run to record: the schedule, the time it is due, and the id its job will have."""

    schedule_id: str
    scheduled_at: datetime
    job_id: str


class ScheduleBook:
    """The scheduler's tables in a :class:`Store`, one method per query."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- the lease -------------------------------------------------------------------------------

    def lease(self, name: str) -> Lease | None:
        with self.store.tx() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).mappings().first()
        if row is None:
            return None
        return Lease(
            name=row["name"],
            owner=row["owner"],
            expires_at=_utc(row["expires_at"]),
            heartbeat_at=_utc(row["heartbeat_at"]),
            acquired_at=_utc(row["acquired_at"]),
        )

    def acquire_lease(
        self, name: str, owner: str, ttl: float, *, stale_owner: str | None = None
    ) -> bool:
        """Take the lease if it is free, expired, already ``owner``'s, or held by ``stale_owner``
        (a holder known to be dead)."""
        now = utcnow()
        values = {
            "owner": owner,
            "expires_at": now + timedelta(seconds=ttl),
            "heartbeat_at": now,
            "acquired_at": now,
        }
        cond = [leases.c.owner.is_(None), leases.c.expires_at < now, leases.c.owner == owner]
        if stale_owner:
            cond.append(leases.c.owner == stale_owner)
        with self.store.tx() as conn:
            result = conn.execute(
                leases.update().where(leases.c.name == name, sa.or_(*cond)).values(**values)
            )
            if result.rowcount == 1:
                return True
            exists = conn.execute(sa.select(leases.c.name).where(leases.c.name == name)).first()
        if exists is not None:
            return False
        try:
            with self.store.tx() as conn:
                conn.execute(leases.insert().values(name=name, **values))
        except sa.exc.IntegrityError:
            return False  # another one inserted it first
        return True

    def renew_lease(self, name: str, owner: str, ttl: float) -> bool:
        with self.store.tx() as conn:
            return _renew(conn, name, owner, ttl)

    def release_lease(self, name: str, owner: str) -> None:
        with self.store.tx() as conn:
            conn.execute(
                leases.update()
                .where(leases.c.name == name, leases.c.owner == owner)
                .values(owner=None, expires_at=None)
            )

    # -- schedules -------------------------------------------------------------------------------

    def states(self, scope: str) -> dict[str, ScheduleState]:
        with self.store.tx() as conn:
            rows = conn.execute(sa.select(schedules).where(schedules.c.scope == scope)).mappings()
            return {
                r["id"]: ScheduleState(r["id"], bool(r["paused"]), _utc(r["cursor"])) for r in rows
            }

    def set_paused(self, scope: str, schedule_id: str, paused: bool) -> None:
        """Pause or resume a schedule; resuming moves its cursor to now, so the times it passed
        while paused are not run."""
        now = utcnow()
        values: dict[str, Any] = {"paused": paused, "updated_at": now}
        if not paused:
            values["cursor"] = now
        with self.store.tx() as conn:
            done = conn.execute(
                schedules.update()
                .where(schedules.c.scope == scope, schedules.c.id == schedule_id)
                .values(**values)
            ).rowcount
            if not done:
                conn.execute(
                    schedules.insert().values(
                        scope=scope, id=schedule_id, paused=paused, updated_at=now
                    )
                )

    # -- runs ------------------------------------------------------------------------------------

    def record(
        self,
        scope: str,
        lease: tuple[str, str, float],
        runs: Sequence[NewRun],
        cursors: Mapping[str, datetime],
    ) -> list[ScheduleRun]:
        """In one transaction, while ``lease`` (name, owner, ttl) is held (else
        :class:`LeaseLost` and nothing is written): renew it, record the ``runs`` not recorded
        yet, and move each schedule's cursor. Returns the runs recorded now."""
        now = utcnow()
        name, owner, ttl = lease
        recorded: list[ScheduleRun] = []
        with self.store.tx() as conn:
            if not _renew(conn, name, owner, ttl):
                raise LeaseLost(f"the scheduler's lease {name!r} is held by another scheduler")
            for schedule_id, cursor in cursors.items():
                moved = conn.execute(
                    schedules.update()
                    .where(schedules.c.scope == scope, schedules.c.id == schedule_id)
                    .values(cursor=cursor, updated_at=now)
                ).rowcount
                if not moved:
                    conn.execute(
                        schedules.insert().values(
                            scope=scope, id=schedule_id, cursor=cursor, updated_at=now
                        )
                    )
            for run in runs:
                there = conn.execute(
                    sa.select(schedule_runs.c.job_id).where(
                        schedule_runs.c.scope == scope,
                        schedule_runs.c.schedule_id == run.schedule_id,
                        schedule_runs.c.scheduled_at == run.scheduled_at,
                    )
                ).first()
                if there is not None:
                    continue
                row = {
                    "scope": scope,
                    "schedule_id": run.schedule_id,
                    "scheduled_at": run.scheduled_at,
                    "job_id": run.job_id,
                    "status": RunStatus.PENDING.value,
                    "created_at": now,
                }
                conn.execute(schedule_runs.insert().values(**row))
                recorded.append(ScheduleRun.from_row({**row, **dict.fromkeys(_LATER)}))
        return recorded

    def mark(
        self,
        scope: str,
        job_id: str,
        status: RunStatus,
        *,
        schedule_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Set the status of the runs of ``job_id`` (or of one schedule's run among them)."""
        now = utcnow()
        values: dict[str, Any] = {"status": status.value}
        if status is RunStatus.RUNNING:
            values["started_at"] = sa.func.coalesce(schedule_runs.c.started_at, now)
        if status.finished:
            values["finished_at"] = now
        if detail is not None:
            values["detail"] = detail
        where = [schedule_runs.c.scope == scope, schedule_runs.c.job_id == job_id]
        if schedule_id is not None:
            where.append(schedule_runs.c.schedule_id == schedule_id)
        with self.store.tx() as conn:
            conn.execute(schedule_runs.update().where(*where).values(**values))

    def unfinished(self, scope: str) -> list[ScheduleRun]:
        """Runs recorded but not ended (a scheduler stopped or crashed), oldest first."""
        return self._runs(
            [schedule_runs.c.scope == scope, schedule_runs.c.status.in_(UNFINISHED)],
            order=schedule_runs.c.scheduled_at,
        )

    def runs(
        self, scope: str, schedule_id: str | None = None, *, limit: int | None = 100
    ) -> list[ScheduleRun]:
        """Runs, newest first."""
        where = [schedule_runs.c.scope == scope]
        if schedule_id is not None:
            where.append(schedule_runs.c.schedule_id == schedule_id)
        return self._runs(where, order=schedule_runs.c.scheduled_at.desc(), limit=limit)

    def last_runs(self, scope: str) -> dict[str, ScheduleRun]:
        """Each schedule's latest run."""
        latest = (
            sa.select(
                schedule_runs.c.schedule_id,
                sa.func.max(schedule_runs.c.scheduled_at).label("at"),
            )
            .where(schedule_runs.c.scope == scope)
            .group_by(schedule_runs.c.schedule_id)
            .subquery()
        )
        query = sa.select(schedule_runs).join(
            latest,
            sa.and_(
                schedule_runs.c.schedule_id == latest.c.schedule_id,
                schedule_runs.c.scheduled_at == latest.c.at,
            ),
        )
        with self.store.tx() as conn:
            rows = conn.execute(query.where(schedule_runs.c.scope == scope)).mappings().all()
        return {r["schedule_id"]: ScheduleRun.from_row(dict(r)) for r in rows}

    def _runs(self, where: list[Any], *, order: Any, limit: int | None = None) -> list[ScheduleRun]:
        query = sa.select(schedule_runs).where(*where).order_by(order)
        if limit is not None:
            query = query.limit(limit)
        with self.store.tx() as conn:
            return [ScheduleRun.from_row(dict(r)) for r in conn.execute(query).mappings().all()]

    # -- jobs, as depends_on asks about them ------------------------------------------------------

    def latest_jobs_named(self, name: str, *, limit: int = 10) -> list[Job]:
        """The newest jobs named ``name`` (a pipeline's jobs carry its name), newest first."""
        with self.store.tx() as conn:
            rows = (
                conn.execute(
                    sa.select(jobs)
                    .where(jobs.c.name == name)
                    .order_by(jobs.c.created_at.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [Job.from_row(dict(r)) for r in rows]


_LATER = ("started_at", "finished_at", "detail")


def _renew(conn: sa.Connection, name: str, owner: str, ttl: float) -> bool:
    now = utcnow()
    result = conn.execute(
        leases.update()
        .where(leases.c.name == name, leases.c.owner == owner)
        .values(expires_at=now + timedelta(seconds=ttl), heartbeat_at=now)
    )
    return result.rowcount == 1
