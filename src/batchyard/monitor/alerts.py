"""Alerts: what a failing check opens, who is told, and when it ends.

The monitors hand each check's outcome to :meth:`AlertBook.observe` as an :class:`Observation`.
The book keeps one alert per fingerprint (monitor, metric and labels) while it is not resolved:

- a check whose status is in ``open_on`` (``fail`` and ``anomaly`` by default) opens an alert, and
  each of its channels is told once (``opened``); further failing checks only count on it;
- while nobody acknowledged it and it is not silenced, each channel is reminded every
  ``remind_every`` (``reminder``);
- ``resolve_after`` passing (``ok``) checks in a row resolve it, and the channels are told once more
  (``resolved``); a ``warn`` check that does not open alerts breaks the run of passing checks;
- a person may acknowledge it (no more reminders), silence it until a time, or resolve it.

Notices wait in the store until their channel takes them. Each attempt is recorded; one that keeps
failing stays pending and is sent again at the next observation or :meth:`AlertBook.tick`, so an
alert is never lost to a channel that is down. Time comes from an injectable clock.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from batchyard.config import AlertsSection, Settings
from batchyard.errors import ConfigError, Conflict, DeliveryFailed, UsageError
from batchyard.monitor.channels import Channel, Message, build_channels
from batchyard.store import Store
from batchyard.store.alerts import (
    ACTIVE,
    Alert,
    AlertFilter,
    AlertStatus,
    AlertStore,
    CheckStatus,
    Delivery,
    Notice,
    NoticeEvent,
    Severity,
)
from batchyard.store.models import utcnow

__all__ = [
    "Alert",
    "AlertBook",
    "AlertPolicy",
    "AlertStatus",
    "CheckStatus",
    "Delivery",
    "ManualClock",
    "Notice",
    "Observation",
    "Outcome",
    "Severity",
    "fingerprint",
]

Clock = Callable[[], datetime]


class ManualClock:
    """A clock that moves only when told to: for tests, and for replaying history."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move on by ``delta`` (or ``minutes=5``, ``hours=1``, ...); return the new time."""
        self.now += delta if delta is not None else timedelta(**units)
        return self.now


def fingerprint(monitor: str, metric: str, labels: Mapping[str, str]) -> str:
    """The identity of what an alert is about: sha256 of monitor, metric and sorted labels."""
    key = json.dumps([monitor, metric, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Observation:
    """One check of one metric, as the monitors hand it to the alert book.

    ``status`` is how the check came out (``ok``, ``warn``, ``fail`` or ``anomaly``), ``severity``
    how bad a failure is. ``at`` is when it was measured (default: the book's clock). ``channels``
    names where an alert it opens goes (default: ``[alerts] channels``, else every channel).
    """

    monitor: str
    metric: str
    value: float | None
    status: CheckStatus
    severity: Severity = Severity.MEDIUM
    labels: Mapping[str, str] = field(default_factory=dict)
    at: datetime | None = None
    message: str = ""
    channels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("monitor", "metric"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise UsageError(f"observation {name}: give a non-empty name")
        try:
            object.__setattr__(self, "status", CheckStatus(self.status))
        except ValueError:
            choices = ", ".join(s.value for s in CheckStatus)
            raise UsageError(f"observation status {self.status!r}: use one of {choices}") from None
        try:
            object.__setattr__(self, "severity", Severity(self.severity))
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise UsageError(
                f"observation severity {self.severity!r}: use one of {choices}"
            ) from None
        labels = {str(k): str(v) for k, v in sorted(dict(self.labels).items())}
        object.__setattr__(self, "labels", labels)
        if self.value is not None:
            object.__setattr__(self, "value", float(self.value))
        if self.at is not None and self.at.tzinfo is None:
            object.__setattr__(self, "at", self.at.replace(tzinfo=UTC))
        if self.channels is not None:
            object.__setattr__(self, "channels", tuple(self.channels))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.monitor, self.metric, self.labels)


@dataclass(frozen=True)
class AlertPolicy:
    """When alerts open, how often they remind, how many passing checks resolve them, and where
    they go (``None``: every channel). ``claim_for`` is how long a sender holds a notice."""

    remind_every: timedelta | None = timedelta(hours=4)
    resolve_after: int = 3
    open_on: frozenset[CheckStatus] = frozenset({CheckStatus.FAIL, CheckStatus.ANOMALY})
    channels: tuple[str, ...] | None = None
    claim_for: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.resolve_after < 1:
            raise UsageError(f"resolve_after={self.resolve_after}: give 1 or more")
        if self.remind_every is not None and self.remind_every <= timedelta(0):
            raise UsageError("remind_every: give a positive interval, or None for no reminders")
        object.__setattr__(self, "open_on", frozenset(CheckStatus(s) for s in self.open_on))

    @classmethod
    def of(cls, section: AlertsSection) -> AlertPolicy:
        """The policy ``[alerts]`` of ``batchyard.toml`` describes."""
        return cls(
            remind_every=section.remind_interval,
            resolve_after=section.resolve_after,
            open_on=frozenset(CheckStatus(s) for s in section.open_on),
            channels=tuple(section.channels) if section.channels is not None else None,
        )


@dataclass(frozen=True)
class Outcome:
    """What an observation did: ``action`` is ``opened``, ``failing`` (counted on an open alert),
    ``reminded``, ``passing`` (one more passing check), ``resolved`` or ``none``."""

    action: str
    alert: Alert | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """Notices sent and notices that failed (and stay pending) in one round of delivery."""

    sent: int = 0
    failed: int = 0


STATUS_CHOICES = ("active", "open", "acknowledged", "resolved", "all")


def statuses(values: Iterable[str]) -> tuple[str, ...]:
    """Alert statuses from what a user asked: ``active`` (open or acknowledged, the default),
    ``open``, ``acknowledged``, ``resolved``, or ``all``."""
    out: list[str] = []
    for value in values or ("active",):
        if value not in STATUS_CHOICES:
            raise UsageError(f"status {value!r}: use one of {', '.join(STATUS_CHOICES)}")
        if value == "all":
            return ()
        if value == "active":
            out.extend(s.value for s in ACTIVE)
        else:
            out.append(value)
    return tuple(dict.fromkeys(out))


def severities(values: Iterable[str]) -> tuple[str, ...]:
    """Severities from what a user asked, checked."""
    known = [s.value for s in Severity]
    out = tuple(values)
    for value in out:
        if value not in known:
            raise UsageError(f"severity {value!r}: use one of {', '.join(known)}")
    return out


class AlertBook:
    """The alerts of one store: observations in, notices out to the channels.

    ``AlertBook.of(settings, store)`` reads ``[alerts]`` and ``[channels]`` of the project; tests
    pass a policy, channels, a :class:`ManualClock` and a ``sleep`` of their own.
    """

    def __init__(
        self,
        store: Store,
        *,
        policy: AlertPolicy | None = None,
        channels: Mapping[str, Channel] | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.records = AlertStore(store)
        self.policy = policy or AlertPolicy()
        self.channels = dict(channels or {})
        self.clock: Clock = clock or utcnow
        self.sleep = sleep
        for name in self.policy.channels or ():
            if name not in self.channels:
                raise ConfigError(f"alerts.channels: no channel named {name!r}")

    @classmethod
    def of(cls, settings: Settings, store: Store, **options: Any) -> AlertBook:
        """The alert book of a project: policy from ``[alerts]``, channels from ``[channels]``."""
        return cls(
            store,
            policy=AlertPolicy.of(settings.alerts),
            channels=build_channels(settings.channels),
            **options,
        )

    # -- observations ----------------------------------------------------------------------------

    def observe(self, observation: Observation) -> Outcome:
        """Take one check's outcome: open, count, remind or resolve its alert; then send what is
        pending (this alert's notices, and earlier ones that failed)."""
        outcome = self._observe(observation)
        self.deliver()
        return outcome

    def observe_all(self, observations: Iterable[Observation]) -> list[Outcome]:
        """:meth:`observe` for many checks (a monitor run), sending once at the end."""
        outcomes = [self._observe(o) for o in observations]
        self.deliver()
        return outcomes

    def tick(self) -> DeliveryReport:
        """Send the reminders that are due and every notice still pending: for a scheduler to call
        between monitor runs, so reminders go out even when no check runs."""
        now = self.clock()
        for alert_id in self.records.active_ids():
            with self.records.tx() as conn:
                alert = self.records.lock(conn, alert_id)
                if alert.active:
                    self._remind_if_due(conn, alert, now)
        return self.deliver()

    def _observe(self, obs: Observation) -> Outcome:
        self._check_channels(obs)
        try:
            return self._record(obs)
        except sa.exc.IntegrityError:
            # Another process opened this fingerprint's alert between our look and our insert:
            # the second look finds it.
            return self._record(obs)

    def _check_channels(self, obs: Observation) -> None:
        for name in obs.channels or ():
            if name not in self.channels:
                known = ", ".join(sorted(self.channels)) or "none defined"
                raise ConfigError(
                    f"monitor {obs.monitor}: channels: no channel named {name!r} ({known}); "
                    "add it as [channels.NAME] in batchyard.toml"
                )

    def _record(self, obs: Observation) -> Outcome:
        now = self.clock()
        at = obs.at or now
        failing = obs.status in self.policy.open_on
        with self.records.tx() as conn:
            alert = self.records.find_open(conn, obs.fingerprint)
            if alert is None:
                if not failing:
                    return Outcome("none")
                return Outcome("opened", self._open(conn, obs, at, now))
            if failing:
                severity = max(alert.severity, obs.severity, key=lambda s: s.rank)
                self.records.update(
                    conn,
                    alert.id,
                    last_seen_at=at,
                    failures=alert.failures + 1,
                    passes=0,
                    value=obs.value,
                    message=obs.message,
                    severity=severity.value,
                )
                alert = self.records.lock(conn, alert.id)
                reminded = self._remind_if_due(conn, alert, now)
                return Outcome(
                    "reminded" if reminded else "failing", self.records.lock(conn, alert.id)
                )
            if obs.status is not CheckStatus.OK:
                self.records.update(conn, alert.id, passes=0)
                return Outcome("failing", self.records.lock(conn, alert.id))
            passes = alert.passes + 1
            if passes < self.policy.resolve_after:
                self.records.update(conn, alert.id, passes=passes)
                return Outcome("passing", self.records.lock(conn, alert.id))
            self.records.update(conn, alert.id, passes=passes)
            return Outcome("resolved", self._resolve(conn, alert, now, "checks"))

    def _open(self, conn: Connection, obs: Observation, at: datetime, now: datetime) -> Alert:
        routed = list(obs.channels if obs.channels is not None else self._default_channels())
        alert_id = self.records.insert(
            conn,
            {
                "fingerprint": obs.fingerprint,
                "open_key": obs.fingerprint,
                "monitor": obs.monitor,
                "metric": obs.metric,
                "labels": dict(obs.labels),
                "status": AlertStatus.OPEN.value,
                "severity": obs.severity.value,
                "cause": obs.status.value,
                "message": obs.message,
                "value": obs.value,
                "channels": routed,
                "opened_at": at,
                "last_seen_at": at,
                "failures": 1,
                "passes": 0,
                "notified_at": now,
            },
        )
        alert = self.records.lock(conn, alert_id)
        self.records.notify(conn, alert_id, NoticeEvent.OPENED, self._targets(alert), now)
        return alert

    def _default_channels(self) -> Sequence[str]:
        if self.policy.channels is not None:
            return self.policy.channels
        return sorted(self.channels)

    def _targets(self, alert: Alert) -> list[str]:
        """The channels of ``alert`` that take its severity (a channel no longer configured is
        kept, so its notice records why it cannot be sent)."""
        return [
            name
            for name in alert.channels
            if name not in self.channels or self.channels[name].accepts(alert.severity)
        ]

    def _remind_if_due(self, conn: Connection, alert: Alert, now: datetime) -> bool:
        every = self.policy.remind_every
        if (
            every is None
            or alert.status is not AlertStatus.OPEN
            or alert.silenced(now)
            or (alert.notified_at is not None and now - alert.notified_at < every)
        ):
            return False
        self.records.update(conn, alert.id, notified_at=now, reminders=alert.reminders + 1)
        self.records.notify(conn, alert.id, NoticeEvent.REMINDER, self._targets(alert), now)
        return True

    def _resolve(self, conn: Connection, alert: Alert, now: datetime, by: str) -> Alert:
        self.records.update(
            conn,
            alert.id,
            status=AlertStatus.RESOLVED.value,
            open_key=None,
            resolved_at=now,
            resolved_by=by,
        )
        self.records.notify(conn, alert.id, NoticeEvent.RESOLVED, self._targets(alert), now)
        return self.records.lock(conn, alert.id)

    # -- people ----------------------------------------------------------------------------------

    def acknowledge(
        self, alert_id: int, *, by: str | None = None, note: str | None = None
    ) -> Alert:
        """Someone is on it: no more reminders. It still resolves (and says so) as usual."""
        with self.records.tx() as conn:
            alert = self._active(conn, alert_id, "acknowledge")
            if alert.status is AlertStatus.OPEN:
                self.records.update(
                    conn,
                    alert_id,
                    status=AlertStatus.ACKNOWLEDGED.value,
                    acknowledged_at=self.clock(),
                    acknowledged_by=by,
                    note=note,
                )
            elif note is not None:
                self.records.update(conn, alert_id, note=note)
            return self.records.lock(conn, alert_id)

    def silence(self, alert_id: int, *, until: datetime, by: str | None = None) -> Alert:
        """No reminders until ``until``; after it, reminders start again if it is still open."""
        now = self.clock()
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        if until <= now:
            raise UsageError(f"until {until.isoformat()}: give a time in the future")
        with self.records.tx() as conn:
            self._active(conn, alert_id, "silence")
            values: dict[str, Any] = {"silenced_until": until}
            if by is not None:
                values["note"] = f"silenced by {by} until {until.isoformat(timespec='seconds')}"
            self.records.update(conn, alert_id, **values)
            return self.records.lock(conn, alert_id)

    def resolve(self, alert_id: int, *, by: str | None = None) -> Alert:
        """Resolve it now; its channels are told. A failing check after this opens a new alert."""
        with self.records.tx() as conn:
            alert = self._active(conn, alert_id, "resolve")
            resolved = self._resolve(conn, alert, self.clock(), by or "hand")
        self.deliver()
        return resolved

    def _active(self, conn: Connection, alert_id: int, verb: str) -> Alert:
        alert = self.records.lock(conn, alert_id)
        if not alert.active:
            raise Conflict(f"alert {alert_id} is resolved: there is nothing to {verb}")
        return alert

    # -- reading ---------------------------------------------------------------------------------

    def get(self, alert_id: int) -> Alert:
        return self.records.get(alert_id)

    def list(
        self,
        *,
        status: Sequence[str] = ("active",),
        severity: Sequence[str] = (),
        monitor: str | None = None,
        metric: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Alert], int]:
        """A page of alerts, newest first, and the number that match."""
        filt = AlertFilter(
            status=statuses(status), severity=severities(severity), monitor=monitor, metric=metric
        )
        return self.records.page(filt, limit=limit, offset=offset)

    def show(self, alert_id: int) -> dict[str, Any]:
        """The alert with its notices and its delivery attempts (the latest 200)."""
        data = self.get(alert_id).to_dict()
        data["notices"] = [n.to_dict() for n in self.records.notices(alert_id)]
        data["deliveries"] = [d.to_dict() for d in self.records.deliveries(alert_id)]
        return data

    def open_by_severity(self) -> dict[str, int]:
        return self.records.open_by_severity()

    # -- delivery --------------------------------------------------------------------------------

    def deliver(self) -> DeliveryReport:
        """Send every pending notice: each channel's retries with backoff, every attempt recorded.
        What still fails stays pending for the next round."""
        sent = failed = 0
        now = self.clock()
        for notice in self.records.pending(now):
            if not self.records.claim(notice.id, now, now + self.policy.claim_for):
                continue
            if self._send(notice):
                sent += 1
            else:
                failed += 1
        return DeliveryReport(sent, failed)

    def _send(self, notice: Notice) -> bool:
        channel = self.channels.get(notice.channel)
        attempt = notice.attempts
        if channel is None:
            self.records.record(
                notice,
                attempt=attempt + 1,
                ok=False,
                at=self.clock(),
                error=f"no channel named {notice.channel!r} under [channels] in batchyard.toml",
                done=True,
            )
            return False
        message = Message(notice.event, self.records.get(notice.alert_id), notice.id, self.clock())
        tries = channel.retries + 1
        for n in range(tries):
            attempt += 1
            started = time.perf_counter()
            try:
                channel.send(message)
            except Exception as exc:
                if not isinstance(exc, DeliveryFailed):
                    exc = DeliveryFailed(
                        channel.clean(f"{type(exc).__name__}: {exc}"), retryable=False
                    )
                last = n == tries - 1 or not exc.retryable
                self.records.record(
                    notice,
                    attempt=attempt,
                    ok=False,
                    at=self.clock(),
                    error=str(exc),
                    elapsed_s=round(time.perf_counter() - started, 6),
                    done=last,
                )
                if last:
                    return False
                self.sleep(channel.backoff * 2**n)
            else:
                self.records.record(
                    notice,
                    attempt=attempt,
                    ok=True,
                    at=self.clock(),
                    elapsed_s=round(time.perf_counter() - started, 6),
                    done=True,
                )
                return True
        return False
