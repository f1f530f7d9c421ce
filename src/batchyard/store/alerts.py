"""Alerts as the store keeps them: the records, their statuses, and every query on their tables.

Three tables (``schema.py``): ``by_alerts`` (one row per alert; ``open_key`` holds the fingerprint
while the alert is not resolved, under a unique index, so there is never more than one open alert
per fingerprint), ``by_alert_notices`` (what a channel is to be told: pending until it is sent) and
``by_alert_deliveries`` (each attempt at sending a notice, and how it went).

The decisions (when to open, remind, resolve) are the alert book's, in ``monitor/alerts.py``; it
makes them inside one transaction here, with the alert's row locked (``FOR UPDATE`` on PostgreSQL;
SQLite transactions here start with ``BEGIN IMMEDIATE`` and so run one at a time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from batchyard.errors import NotFound
from batchyard.store.models import aware, iso
from batchyard.store.schema import alert_deliveries, alert_notices, alerts
from batchyard.store.store import Store


class Severity(StrEnum):
    """How bad a failed check is, least to most."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


class CheckStatus(StrEnum):
    """How one check of a metric came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    ANOMALY = "anomaly"


class AlertStatus(StrEnum):
    """``open`` until someone acknowledges it or its checks pass again; ``resolved`` for good."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


#: Open or acknowledged: not resolved yet.
ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class NoticeEvent(StrEnum):
    OPENED = "opened"
    REMINDER = "reminder"
    RESOLVED = "resolved"


class NoticeStatus(StrEnum):
    """``pending`` until sent; ``superseded`` when a later notice to the same channel says more."""

    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Alert:
    id: int
    fingerprint: str
    monitor: str
    metric: str
    status: AlertStatus
    severity: Severity
    cause: CheckStatus
    opened_at: datetime
    last_seen_at: datetime
    labels: dict[str, str] = field(default_factory=dict)
    message: str = ""
    value: float | None = None
    channels: list[str] = field(default_factory=list)
    failures: int = 1
    passes: int = 0
    notified_at: datetime | None = None
    reminders: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    silenced_until: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    def silenced(self, now: datetime) -> bool:
        return self.silenced_until is not None and self.silenced_until > now

    @property
    def active(self) -> bool:
        return self.status is not AlertStatus.RESOLVED

    @property
    def title(self) -> str:
        """``monitor/metric {label=value, ...}``: what the alert is about, in one line."""
        labels = ", ".join(f"{k}={v}" for k, v in self.labels.items())
        return f"{self.monitor}/{self.metric}" + (f" {{{labels}}}" if labels else "")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Alert:
        opened_at = aware(row["opened_at"])
        last_seen_at = aware(row["last_seen_at"])
        assert opened_at is not None and last_seen_at is not None
        return cls(
            id=int(row["id"]),
            fingerprint=row["fingerprint"],
            monitor=row["monitor"],
            metric=row["metric"],
            status=AlertStatus(row["status"]),
            severity=Severity(row["severity"]),
            cause=CheckStatus(row["cause"]),
            opened_at=opened_at,
            last_seen_at=last_seen_at,
            labels=json.loads(row["labels"] or "{}"),
            message=row["message"] or "",
            value=row["value"],
            channels=json.loads(row["channels"] or "[]"),
            failures=int(row["failures"]),
            passes=int(row["passes"]),
            notified_at=aware(row["notified_at"]),
            reminders=int(row["reminders"]),
            acknowledged_at=aware(row["acknowledged_at"]),
            acknowledged_by=row["acknowledged_by"],
            note=row["note"],
            silenced_until=aware(row["silenced_until"]),
            resolved_at=aware(row["resolved_at"]),
            resolved_by=row["resolved_by"],
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("status", "severity", "cause"):
            data[key] = getattr(self, key).value
        for key in (
            "opened_at",
            "last_seen_at",
            "notified_at",
            "acknowledged_at",
            "silenced_until",
            "resolved_at",
        ):
            data[key] = iso(getattr(self, key))
        data["title"] = self.title
        return data


@dataclass(frozen=True)
class Notice:
    id: int
    alert_id: int
    event: NoticeEvent
    channel: str
    status: NoticeStatus
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Notice:
        created_at = aware(row["created_at"])
        assert created_at is not None
        return cls(
            id=int(row["id"]),
            alert_id=int(row["alert_id"]),
            event=NoticeEvent(row["event"]),
            channel=row["channel"],
            status=NoticeStatus(row["status"]),
            created_at=created_at,
            attempts=int(row["attempts"]),
            last_error=row["last_error"],
            sent_at=aware(row["sent_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.event.value
        data["status"] = self.status.value
        data["created_at"] = iso(self.created_at)
        data["sent_at"] = iso(self.sent_at)
        return data


@dataclass(frozen=True)
class Delivery:
    """One attempt at sending a notice to a channel."""

    id: int
    alert_id: int
    notice_id: int
    channel: str
    event: NoticeEvent
    attempt: int
    ok: bool
    at: datetime
    error: str | None = None
    elapsed_s: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Delivery:
        at = aware(row["at"])
        assert at is not None
        return cls(
            id=int(row["id"]),
            alert_id=int(row["alert_id"]),
            notice_id=int(row["notice_id"]),
            channel=row["channel"],
            event=NoticeEvent(row["event"]),
            attempt=int(row["attempt"]),
            ok=row["status"] == "ok",
            at=at,
            error=row["error"],
            elapsed_s=row["elapsed_s"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "alert_id": self.alert_id,
            "notice_id": self.notice_id,
            "channel": self.channel,
            "event": self.event.value,
            "attempt": self.attempt,
            "status": "ok" if self.ok else "failed",
            "error": self.error,
            "at": self.at.isoformat(),
            "elapsed_s": self.elapsed_s,
        }


@dataclass(frozen=True)
class AlertFilter:
    status: Sequence[str] = ACTIVE
    severity: Sequence[str] = ()
    monitor: str | None = None
    metric: str | None = None


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class AlertStore:
    """The alert tables of one store: every query on them, by name."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.store.tx() as conn:
            yield conn

    # -- inside a transaction (the alert book decides; these write) ------------------------------

    def find_open(self, conn: Connection, fingerprint: str) -> Alert | None:
        """The open (or acknowledged) alert of ``fingerprint``, its row locked till commit."""
        query = sa.select(alerts).where(alerts.c.open_key == fingerprint)
        row = conn.execute(self._locked(query)).mappings().first()
        return Alert.from_row(dict(row)) if row else None

    def lock(self, conn: Connection, alert_id: int) -> Alert:
        query = sa.select(alerts).where(alerts.c.id == alert_id)
        row = conn.execute(self._locked(query)).mappings().first()
        if row is None:
            raise NotFound(f"no alert {alert_id}: `batchyard alerts list --status all` lists them")
        return Alert.from_row(dict(row))

    def insert(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Insert an alert; raises ``sqlalchemy.exc.IntegrityError`` when its fingerprint already
        has an open alert (another writer opened it first)."""
        row = dict(values)
        for name in ("labels", "channels"):
            if name in row and not isinstance(row[name], str):
                row[name] = dumps(row[name])
        result = conn.execute(alerts.insert().values(**row))
        primary = result.inserted_primary_key
        assert primary is not None
        return int(primary[0])

    def update(self, conn: Connection, alert_id: int, **values: Any) -> None:
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))

    def notify(
        self,
        conn: Connection,
        alert_id: int,
        event: NoticeEvent,
        channels: Sequence[str],
        now: datetime,
    ) -> None:
        """Queue ``event`` for each channel; it replaces what is still pending for that channel
        (the newer notice says more), so a channel that is down never piles up notices."""
        if not channels:
            return
        conn.execute(
            alert_notices.update()
            .where(
                alert_notices.c.alert_id == alert_id,
                alert_notices.c.channel.in_(list(channels)),
                alert_notices.c.status == NoticeStatus.PENDING.value,
            )
            .values(status=NoticeStatus.SUPERSEDED.value)
        )
        conn.execute(
            alert_notices.insert(),
            [
                {
                    "alert_id": alert_id,
                    "event": event.value,
                    "channel": channel,
                    "status": NoticeStatus.PENDING.value,
                    "created_at": now,
                }
                for channel in channels
            ],
        )

    def _locked(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query if self.store.is_sqlite else query.with_for_update()

    # -- reading ---------------------------------------------------------------------------------

    def get(self, alert_id: int) -> Alert:
        with self.tx() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().first()
        if row is None:
            raise NotFound(f"no alert {alert_id}: `batchyard alerts list --status all` lists them")
        return Alert.from_row(dict(row))

    def page(
        self, filt: AlertFilter = AlertFilter(), *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Alert], int]:
        """A page of alerts, newest first, and how many match in all."""
        where: list[Any] = []
        if filt.status:
            where.append(alerts.c.status.in_([str(s) for s in filt.status]))
        if filt.severity:
            where.append(alerts.c.severity.in_([str(s) for s in filt.severity]))
        if filt.monitor:
            where.append(alerts.c.monitor == filt.monitor)
        if filt.metric:
            where.append(alerts.c.metric == filt.metric)
        with self.tx() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(alerts).where(*where))
            count = int(total.scalar() or 0)
            rows = (
                conn.execute(
                    sa.select(alerts)
                    .where(*where)
                    .order_by(alerts.c.opened_at.desc(), alerts.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
                .mappings()
                .all()
            )
        return [Alert.from_row(dict(r)) for r in rows], count

    def active_ids(self) -> list[int]:
        with self.tx() as conn:
            rows = conn.execute(
                sa.select(alerts.c.id).where(alerts.c.open_key.is_not(None)).order_by(alerts.c.id)
            )
            return [int(r[0]) for r in rows]

    def open_by_severity(self) -> dict[str, int]:
        """Alerts not resolved yet, counted by severity (every severity, zeros included)."""
        with self.tx() as conn:
            rows = conn.execute(
                sa.select(alerts.c.severity, sa.func.count())
                .where(alerts.c.open_key.is_not(None))
                .group_by(alerts.c.severity)
            ).all()
        counts = {s.value: 0 for s in Severity}
        counts.update({str(sev): int(n) for sev, n in rows})
        return counts

    def notices(self, alert_id: int) -> list[Notice]:
        with self.tx() as conn:
            rows = (
                conn.execute(
                    sa.select(alert_notices)
                    .where(alert_notices.c.alert_id == alert_id)
                    .order_by(alert_notices.c.id)
                )
                .mappings()
                .all()
            )
        return [Notice.from_row(dict(r)) for r in rows]

    def deliveries(self, alert_id: int, *, limit: int = 200) -> list[Delivery]:
        """The latest ``limit`` delivery attempts of an alert, oldest first."""
        with self.tx() as conn:
            rows = (
                conn.execute(
                    sa.select(alert_deliveries)
                    .where(alert_deliveries.c.alert_id == alert_id)
                    .order_by(alert_deliveries.c.id.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [Delivery.from_row(dict(r)) for r in reversed(rows)]

    # -- sending ---------------------------------------------------------------------------------

    def pending(self, now: datetime, *, limit: int = 100) -> list[Notice]:
        """Notices still to send that no sender holds, oldest first."""
        with self.tx() as conn:
            rows = (
                conn.execute(
                    sa.select(alert_notices)
                    .where(
                        alert_notices.c.status == NoticeStatus.PENDING.value,
                        sa.or_(
                            alert_notices.c.claimed_until.is_(None),
                            alert_notices.c.claimed_until < now,
                        ),
                    )
                    .order_by(alert_notices.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [Notice.from_row(dict(r)) for r in rows]

    def claim(self, notice_id: int, now: datetime, until: datetime) -> bool:
        """Take a pending notice to send it; False when it was sent, replaced or taken since."""
        with self.tx() as conn:
            result = conn.execute(
                alert_notices.update()
                .where(
                    alert_notices.c.id == notice_id,
                    alert_notices.c.status == NoticeStatus.PENDING.value,
                    sa.or_(
                        alert_notices.c.claimed_until.is_(None),
                        alert_notices.c.claimed_until < now,
                    ),
                )
                .values(claimed_until=until)
            )
            return result.rowcount == 1

    def record(
        self,
        notice: Notice,
        *,
        attempt: int,
        ok: bool,
        at: datetime,
        error: str | None = None,
        elapsed_s: float | None = None,
        done: bool = False,
    ) -> None:
        """Record one attempt at sending ``notice``; with ``done`` the sender lets go of it:
        sent when ``ok``, else pending again, for the next evaluation to try."""
        with self.tx() as conn:
            conn.execute(
                alert_deliveries.insert().values(
                    alert_id=notice.alert_id,
                    notice_id=notice.id,
                    channel=notice.channel,
                    event=notice.event.value,
                    attempt=attempt,
                    status="ok" if ok else "failed",
                    error=error,
                    at=at,
                    elapsed_s=elapsed_s,
                )
            )
            values: dict[str, Any] = {"attempts": attempt}
            if ok:
                values.update(status=NoticeStatus.SENT.value, sent_at=at, claimed_until=None)
            else:
                values["last_error"] = error
                if done:
                    values["claimed_until"] = None
            conn.execute(
                alert_notices.update()
                .where(
                    alert_notices.c.id == notice.id,
                    # A notice replaced while it was being sent stays replaced.
                    alert_notices.c.status == NoticeStatus.PENDING.value,
                )
                .values(**values)
            )
