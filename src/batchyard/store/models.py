"""Jobs and items as the store records them: statuses are Enums, records are frozen dataclasses."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED

    @property
    def resumable(self) -> bool:
        return self in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PAUSED)


FINISHED = frozenset(
    {JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)


class ItemStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id(kind: str, env: str, now: datetime | None = None) -> str:
    """``{kind}_{env}_{YYYYMMDD_HHMMSS}_{6 hex}``."""
    stamp = (now or utcnow()).strftime("%Y%m%d_%H%M%S")
    return f"{kind}_{env}_{stamp}_{secrets.token_hex(3)}"


def iso(value: datetime | None) -> str | None:
    """A time as ``to_dict`` gives it: ISO 8601 text, or None."""
    return value.isoformat() if value else None


def aware(value: Any) -> datetime | None:
    """A stored time as an aware datetime (SQLite gives naive text or datetimes, in UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    return json.loads(value)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    env: str
    status: JobStatus
    name: str = ""
    project: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    rows_read: int = 0
    rows_written: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    error: str | None = None
    retry_of: str | None = None
    parent_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    heartbeat_at: datetime | None = None
    control: str | None = None
    weight_total: int = 0
    #: Seconds spent running, paused and queued in the stretches that ended (None: a job
    #: recorded before the store kept them), and when the current stretch began.
    run_s: float | None = None
    paused_s: float | None = None
    queued_s: float | None = None
    status_since: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(self.total - self.done - self.failed - self.skipped - self.cancelled, 0)

    @property
    def percent(self) -> float:
        if not self.total:
            return 100.0 if self.status.finished else 0.0
        return 100.0 * (self.done + self.failed + self.skipped + self.cancelled) / self.total

    @property
    def duration(self) -> float | None:
        """Seconds the job has spent running: time paused or queued does not count, so a paused
        job's duration stands still. None before it first runs."""
        if not self.started_at:
            return None
        if self.run_s is None:  # recorded before the store kept running time apart
            end = self.finished_at or utcnow()
            return (end - self.started_at).total_seconds()
        return self.run_s + self._current(JobStatus.RUNNING)

    @property
    def paused_time(self) -> float | None:
        """Seconds the job has spent paused, this pause included."""
        if self.paused_s is None:
            return None
        return self.paused_s + self._current(JobStatus.PAUSED)

    @property
    def queued_time(self) -> float | None:
        """Seconds the job has spent waiting for a runner: from its creation to its first run,
        and after a runner died until another took it over."""
        if self.queued_s is None:
            return None
        return self.queued_s + self._current(JobStatus.PENDING)

    def _current(self, status: JobStatus) -> float:
        """Seconds of the stretch going on now, if the job is in ``status``."""
        if self.status is not status or self.status_since is None:
            return 0.0
        end = utcnow()
        expires = self.lease_expires_at
        if status is JobStatus.RUNNING and expires is not None and expires < end:
            # Its runner stopped beating: it last worked at its last heartbeat.
            end = max(self.heartbeat_at or self.status_since, self.status_since)
        return max((end - self.status_since).total_seconds(), 0.0)

    @property
    def result_failed(self) -> bool:
        """True when the job ran to its end but its result fails (a validate job's rules)."""
        result = self.metadata.get("result")
        return isinstance(result, dict) and result.get("passed") is False

    @property
    def exit_code(self) -> int:
        """What ``batchyard`` exits with for the job as it is now: 0 completed (with a result
        that passes, if it has one); 1 failed, partial or cancelled, or a result that fails;
        2 stopped by bad data in its source (bad input, as a refusal before it starts);
        130 paused (as by Ctrl+C), to be resumed."""
        if self.status is JobStatus.COMPLETED:
            return 1 if self.result_failed else 0
        if self.status is JobStatus.PAUSED:
            return 130
        return 2 if self.metadata.get("bad_data") else 1

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(
            id=row["id"],
            kind=row["kind"],
            env=row["env"],
            status=JobStatus(row["status"]),
            name=row["name"] or "",
            project=row["project"] or "",
            params=_json(row["params"]) or {},
            options=_json(row["options"]) or {},
            total=row["total"],
            done=row["done"],
            failed=row["failed"],
            skipped=row["skipped"],
            cancelled=row["cancelled"],
            rows_read=row["rows_read"],
            rows_written=row["rows_written"],
            created_at=aware(row["created_at"]),
            started_at=aware(row["started_at"]),
            finished_at=aware(row["finished_at"]),
            updated_at=aware(row["updated_at"]),
            error=row["error"],
            retry_of=row["retry_of"],
            parent_id=row["parent_id"],
            tags=_json(row["tags"]) or [],
            metadata=_json(row["metadata"]) or {},
            progress=_json(row["progress"]) or {},
            lease_owner=row["lease_owner"],
            lease_expires_at=aware(row["lease_expires_at"]),
            heartbeat_at=aware(row["heartbeat_at"]),
            control=row["control"],
            weight_total=int(row.get("weight_total") or 0),
            run_s=row.get("run_s"),
            paused_s=row.get("paused_s"),
            queued_s=row.get("queued_s"),
            status_since=aware(row.get("status_since")),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for key in (
            "created_at",
            "started_at",
            "finished_at",
            "updated_at",
            "lease_expires_at",
            "heartbeat_at",
            "status_since",
        ):
            data[key] = iso(getattr(self, key))
        data["percent"] = round(self.percent, 2)
        del data["run_s"]  # duration_s is the running time, the current run's included
        data["duration_s"] = _round(self.duration)
        data["paused_s"] = _round(self.paused_time)
        data["queued_s"] = _round(self.queued_time)
        return data


def _round(seconds: float | None) -> float | None:
    return round(seconds, 3) if seconds is not None else None


@dataclass(frozen=True)
class Item:
    job_id: str
    key: str
    position: int
    status: ItemStatus
    value: Any = None
    attempts: int = 0
    error: str | None = None
    traceback: str | None = None
    result: Any = None
    cursor: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    rows_read: int = 0
    rows_written: int = 0
    weight: int = 0
    #: Where the last attempt ran: ``host:pid/thread`` of the runner, or a Dask worker's address.
    worker: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Item:
        return cls(
            job_id=row["job_id"],
            key=row["key"],
            position=row["position"],
            status=ItemStatus(row["status"]),
            value=_json(row["value"]),
            attempts=row["attempts"],
            error=row["error"],
            traceback=row["traceback"],
            result=_json(row["result"]),
            cursor=_json(row["cursor"]),
            started_at=aware(row["started_at"]),
            finished_at=aware(row["finished_at"]),
            duration_s=row["duration_s"],
            rows_read=row["rows_read"],
            rows_written=row["rows_written"],
            weight=int(row.get("weight") or 0),
            worker=row.get("worker"),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["started_at"] = iso(self.started_at)
        data["finished_at"] = iso(self.finished_at)
        return data


@dataclass(frozen=True)
class Event:
    id: int
    job_id: str
    ts: datetime
    level: str
    message: str
    item_key: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        ts = aware(row["ts"])
        assert ts is not None
        return cls(
            id=row["id"],
            job_id=row["job_id"],
            ts=ts,
            level=row["level"],
            message=row["message"],
            item_key=row["item_key"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "ts": self.ts.isoformat(),
            "level": self.level,
            "item_key": self.item_key,
            "message": self.message,
        }


class ObservationStatus(StrEnum):
    """How an observation of a metric stands against its thresholds."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    #: The metric could not be measured (a bucket that went away, a query that failed).
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]


_STATUS_RANK = {
    ObservationStatus.OK: 0,
    ObservationStatus.WARN: 1,
    ObservationStatus.FAIL: 2,
    ObservationStatus.ERROR: 2,
}


def labels_key(labels: Mapping[str, Any]) -> str:
    """Labels as the store keeps them: JSON with sorted keys, so equal labels are equal text."""
    return json.dumps(
        {str(k): str(v) for k, v in labels.items()}, sort_keys=True, separators=(",", ":")
    )


@dataclass(frozen=True)
class Observation:
    """One value of one monitor's metric (a series: monitor, metric and labels) at one time."""

    monitor: str
    metric: str
    value: float | None
    observed_at: datetime
    status: ObservationStatus = ObservationStatus.OK
    labels: dict[str, str] = field(default_factory=dict)
    anomaly: bool = False
    #: What the anomaly detector expected, and the robust z-score of the value against it.
    expected: float | None = None
    score: float | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    id: int | None = None

    @property
    def series(self) -> tuple[str, str, str]:
        return self.monitor, self.metric, labels_key(self.labels)

    @property
    def failing(self) -> bool:
        """A threshold failed or warned, the value is an anomaly, or it could not be measured."""
        return self.anomaly or self.status is not ObservationStatus.OK

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Observation:
        observed = aware(row["observed_at"])
        assert observed is not None
        return cls(
            id=row["id"],
            monitor=row["monitor"],
            metric=row["metric"],
            labels=_json(row["labels"]) or {},
            value=row["value"],
            observed_at=observed,
            status=ObservationStatus(row["status"]),
            anomaly=bool(row["anomaly"]),
            expected=row["expected"],
            score=row["score"],
            message=row["message"],
            details=_json(row["details"]) or {},
            job_id=row["job_id"],
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["observed_at"] = self.observed_at.isoformat()
        return data
