"""One check of a monitor: measure each metric, judge each value, record them all at once.

Every value is judged against its thresholds and, where asked, the anomaly detector; then the
monitor's observations are recorded in one store transaction (a retried check replaces its own
rows), handed to the project's alerts (:mod:`batchyard.monitor.alerts`: a failure opens an
alert, passing checks resolve it) and to the registered sinks (:mod:`batchyard.monitor.hooks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from batchyard.config import Settings
from batchyard.errors import BatchyardError
from batchyard.monitor import alerts, hooks
from batchyard.monitor.anomaly import Detector, Point
from batchyard.monitor.evaluate import status
from batchyard.monitor.measures import Reading, measure
from batchyard.monitor.spec import AnomalySpec, MetricSpec, Monitor
from batchyard.secrets import redact, secret_values
from batchyard.store import Store
from batchyard.store.models import Observation, ObservationStatus, labels_key

#: History read for thresholds against a 7-day baseline, when no anomaly window asks for more.
LOOKBACK = timedelta(days=8)


def detector(spec: AnomalySpec) -> Detector:
    return Detector(
        sensitivity=spec.sensitivity,
        min_history=spec.min_history,
        window=spec.window.total_seconds(),
        seasonality=spec.seasonality,
        adapt_after=spec.adapt_after,
    )


def point(obs: Observation) -> Point:
    return Point(
        obs.observed_at.timestamp(),
        float(obs.value or 0.0),
        obs.expected,
        obs.anomaly,
        obs.score,
        bool(obs.details.get("level_shift")),
    )


def observe(
    monitor: Monitor,
    settings: Settings,
    store: Store,
    *,
    now: datetime | None = None,
    job_id: str | None = None,
) -> list[Observation]:
    """Check ``monitor`` now: its observations, as recorded."""
    now = now or datetime.now(UTC)
    lookback = max(
        [LOOKBACK, *(s.window for m in monitor.metrics if (s := m.anomaly_spec()) is not None)]
    )
    history: dict[tuple[str, str], list[Observation]] = {}
    for obs in store.observations(monitor=monitor.name, since=now - lookback, until=now):
        if obs.value is not None:
            history.setdefault((obs.metric, labels_key(obs.labels)), []).append(obs)
    secrets = secret_values({"storage_options": _options(monitor.metrics)})
    found: list[Observation] = []
    for metric in monitor.metrics:
        try:
            readings = measure(metric, settings, store, now)
        except BatchyardError as exc:
            found.append(
                Observation(
                    monitor=monitor.name,
                    metric=f"{metric.label}.{metric.values()[0].name}",
                    value=None,
                    observed_at=now,
                    status=ObservationStatus.ERROR,
                    message=redact(str(exc), secrets),
                    job_id=job_id,
                )
            )
            continue
        for reading in readings:
            found.append(_judge(monitor, metric, reading, history, now, job_id))
    store.record_observations(found, job_id=job_id, monitor=monitor.name)
    _alert(found, settings, store)
    hooks.notify(found, store)
    return found


#: How bad each outcome is when it opens an alert: a value that could not be measured is as bad as
#: a failed threshold (the data may be gone); an anomaly asks for a look; a warning for less.
SEVERITY = {
    "fail": alerts.Severity.HIGH,
    "anomaly": alerts.Severity.MEDIUM,
    "warn": alerts.Severity.LOW,
    "ok": alerts.Severity.INFO,
}


def _alert(found: Sequence[Observation], settings: Settings, store: Store) -> None:
    """Hand a check's observations to the project's alerts: a failure opens (or keeps) its alert,
    passing checks resolve it, and the channels of ``[channels]`` are told."""
    checks = []
    for obs in found:
        if obs.status in (ObservationStatus.FAIL, ObservationStatus.ERROR):
            outcome = "fail"
        elif obs.anomaly:
            outcome = "anomaly"
        else:
            outcome = obs.status.value  # ok or warn
        checks.append(
            alerts.Observation(
                monitor=obs.monitor,
                metric=obs.metric,
                value=obs.value,
                status=alerts.CheckStatus(outcome),
                severity=SEVERITY[outcome],
                labels=obs.labels,
                at=obs.observed_at,
                message=obs.message or "",
            )
        )
    alerts.AlertBook.of(settings, store).observe_all(checks)


def _options(metrics: Sequence[MetricSpec]) -> list[object]:
    return [getattr(m, "storage_options", {}) for m in metrics]


def _judge(
    monitor: Monitor,
    metric: MetricSpec,
    reading: Reading,
    history: dict[tuple[str, str], list[Observation]],
    now: datetime,
    job_id: str | None,
) -> Observation:
    name = f"{metric.label}.{reading.value}"
    past = history.get((name, labels_key(reading.labels)), [])
    main = metric.values()[0].name
    mine = [t for t in metric.thresholds if (t.value or main) == reading.value]
    level, message = status(mine, reading.number, past, now)
    spec = metric.anomaly_spec()
    details = dict(reading.details)
    expected = score = None
    anomaly = False
    if spec is not None and reading.number is not None and reading.value in (spec.values or [main]):
        judged = detector(spec).judge([point(o) for o in past], now.timestamp(), reading.number)
        expected, score, anomaly = judged.expected, judged.score, judged.anomaly
        if judged.shift:
            details["level_shift"] = True
        if judged.note:
            details["anomaly_note"] = judged.note
        if anomaly:
            side = "above" if (score or 0) > 0 else "below"
            note = f"anomaly: {reading.number:g} is {abs(score or 0):.1f} deviations {side} the expected {expected:g}"
            message = f"{message}; {note}" if message else note
    return Observation(
        monitor=monitor.name,
        metric=name,
        labels=reading.labels,
        value=reading.number,
        observed_at=now,
        status=level,
        anomaly=anomaly,
        expected=None if expected is None else round(expected, 6),
        score=score,
        message=message,
        details=details,
        job_id=job_id,
    )
