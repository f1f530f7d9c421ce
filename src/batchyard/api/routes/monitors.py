"""Monitors and their metric history: ``/api/monitors``, ``/api/metrics``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from batchyard.api.problems import RESPONSES
from batchyard.api.routes.jobs import NO_NUL
from batchyard.api.service import Service, service_of
from batchyard.errors import UsageError
from batchyard.monitor.spec import Monitor, parse_duration
from batchyard.secrets import mask_secrets
from batchyard.store.models import Observation

router = APIRouter(prefix="/api", tags=["monitors"], responses=RESPONSES)
ServiceDep = Annotated[Service, Depends(service_of)]


class ObservationOut(BaseModel):
    monitor: str
    metric: str = Field(examples=["games.files"])
    labels: dict[str, str]
    value: float | None
    observed_at: str
    status: str = Field(description="ok, warn, fail (a threshold) or error (not measured).")
    anomaly: bool
    expected: float | None = Field(description="What the anomaly detector expected.")
    score: float | None = Field(description="Robust z-score of the value against expected.")
    message: str | None

    @classmethod
    def of(cls, obs: Observation) -> ObservationOut:
        data = obs.to_dict()
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class ThresholdOut(BaseModel):
    level: str = Field(examples=["fail"], description="warn or fail.")
    above: float | None = None
    below: float | None = None
    outside: tuple[float, float] | None = None
    text: str = Field(examples=["fail: below 10"])


class SeriesOut(ObservationOut):
    thresholds: list[ThresholdOut] = Field(
        description="The thresholds on the value itself (not on its change): lines to draw."
    )


class MonitorOut(BaseModel):
    name: str
    description: str
    schedule: str | None = Field(
        description="Its cron expression, if the scheduler runs it: its time zone, missed-run "
        "policy and runs are under /api/schedules/monitor:NAME."
    )
    path: str | None
    metrics: list[dict[str, Any]] = Field(description="The metrics as declared (secrets masked).")
    latest: list[SeriesOut] = Field(
        description="The newest value of each series, with its thresholds."
    )
    status: str | None = Field(description="The worst status among the latest values.")


ORDER = ("ok", "warn", "fail", "error")


def _series(monitor: Monitor, obs: Observation) -> SeriesOut:
    thresholds = [
        ThresholdOut.model_validate(t.model_dump() | {"text": t.describe()})
        for t in monitor.thresholds_of(obs.metric)
    ]
    return SeriesOut.model_validate(
        ObservationOut.of(obs).model_dump() | {"thresholds": thresholds}
    )


def _monitor(monitor: Monitor, latest: list[Observation]) -> MonitorOut:
    mine = [o for o in latest if o.monitor == monitor.name]
    worst = max((ORDER.index(o.status.value) for o in mine), default=None)
    return MonitorOut(
        name=monitor.name,
        description=monitor.description,
        schedule=monitor.schedule.cron if monitor.schedule else None,
        path=monitor.path,
        metrics=mask_secrets(monitor.model_dump(mode="json", exclude_none=True)["metrics"]),
        latest=[_series(monitor, o) for o in mine],
        status=ORDER[worst] if worst is not None else None,
    )


@router.get(
    "/monitors", operation_id="listMonitors", response_model=list[MonitorOut], summary="Monitors"
)
def list_monitors(service: ServiceDep) -> list[MonitorOut]:
    """The project's monitors, each with the latest value and status of its series."""
    latest = service.reader.latest_metrics()
    return [_monitor(m, latest) for m in service.app.monitors()]


@router.get(
    "/monitors/{name}", operation_id="getMonitor", response_model=MonitorOut, summary="One monitor"
)
def get_monitor(
    name: Annotated[str, Path(max_length=200, pattern=NO_NUL)], service: ServiceDep
) -> MonitorOut:
    (monitor,) = service.app.monitors([name])
    return _monitor(monitor, service.reader.latest_metrics(name))


class MetricsPage(BaseModel):
    window: str
    count: int
    observations: list[ObservationOut]


def _window(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"window: {exc}") from None


@router.get(
    "/metrics",
    operation_id="getMetricHistory",
    response_model=MetricsPage,
    summary="Metric history",
)
def metric_history(
    service: ServiceDep,
    monitor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    metric: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="A series, e.g. games.files.")
    ] = None,
    window: Annotated[
        str, Query(max_length=20, description="How far back: 30m, 24h, 7d, 2w.")
    ] = "24h",
    limit: Annotated[
        int, Query(ge=1, le=10_000, description="At most this many, the newest.")
    ] = 1000,
) -> MetricsPage:
    """Observations over a window, oldest first: value, status, anomaly flag and expectation."""
    found = service.reader.metric_history(
        monitor=monitor, metric=metric, since=_window(window), limit=limit
    )
    return MetricsPage(
        window=window, count=len(found), observations=[ObservationOut.of(o) for o in found]
    )
