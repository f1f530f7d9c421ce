"""``/metrics`` in Prometheus text format, read from the store at each scrape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from batchyard.api.problems import RESPONSES
from batchyard.api.service import Service, service_of
from batchyard.store import Store
from batchyard.store.models import JobStatus

router = APIRouter(tags=["reference"], responses=RESPONSES)


class StoreCollector(Collector):
    """Jobs by status, items processed, rows, durations: one query of the store per scrape."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        store = self.service.reader.read_store()
        totals = store.metric_totals()
        jobs = GaugeMetricFamily(
            "batchyard_jobs", "Jobs in the store by status and kind.", labels=["status", "kind"]
        )
        seen = set()
        for (status, kind), n in sorted(totals["jobs"].items()):
            jobs.add_metric([status, kind], n)
            seen.add(status)
        for status in JobStatus:
            if status.value not in seen:
                jobs.add_metric([status.value, ""], 0)
        yield jobs
        items = CounterMetricFamily(
            "batchyard_items", "Items processed, by outcome.", labels=["outcome"]
        )
        for outcome in ("done", "failed", "skipped", "cancelled"):
            items.add_metric([outcome], totals["items"][outcome])
        yield items
        rows = CounterMetricFamily("batchyard_rows", "Rows read and written.", labels=["direction"])
        rows.add_metric(["read"], totals["rows_read"])
        rows.add_metric(["written"], totals["rows_written"])
        yield rows
        duration = GaugeMetricFamily(
            "batchyard_job_duration_seconds",
            "Duration of finished jobs: quantiles over the store.",
            labels=["quantile"],
        )
        for q, value in (("0.5", totals["p50"]), ("0.95", totals["p95"])):
            duration.add_metric([q], value if value is not None else float("nan"))
        yield duration
        alerts = GaugeMetricFamily(
            "batchyard_alerts_open",
            "Alerts not resolved yet (open or acknowledged), by severity.",
            labels=["severity"],
        )
        for severity, n in self.service.reader.alerts.open_by_severity().items():
            alerts.add_metric([severity], n)
        yield alerts
        pool = self.service.pool.snapshot()
        served = GaugeMetricFamily(
            "batchyard_server_jobs", "Jobs in this server's worker pool.", labels=["state"]
        )
        served.add_metric(["running"], len(pool["running"]))
        served.add_metric(["queued"], len(pool["queued"]))
        yield served
        yield from monitor_metrics(store)


def monitor_metrics(store: Store) -> Iterator[Metric]:
    """The latest value of every monitor series, its status, and whether it is an anomaly."""
    latest = store.latest_observations()
    labels = sorted({k for o in latest for k in o.labels})
    names = ["monitor", "metric", *labels]
    value = GaugeMetricFamily(
        "batchyard_monitor_value", "The latest value of each monitor's series.", labels=names
    )
    status = GaugeMetricFamily(
        "batchyard_monitor_status",
        "The latest status of each series: 0 ok, 1 warn, 2 fail, 3 error.",
        labels=names,
    )
    anomaly = GaugeMetricFamily(
        "batchyard_monitor_anomaly", "1 when the latest value is an anomaly.", labels=names
    )
    age = GaugeMetricFamily(
        "batchyard_monitor_observed_timestamp_seconds",
        "When each series was last observed.",
        labels=names,
    )
    for o in latest:
        key = [o.monitor, o.metric, *(o.labels.get(k, "") for k in labels)]
        value.add_metric(key, o.value if o.value is not None else float("nan"))
        status.add_metric(key, ("ok", "warn", "fail", "error").index(o.status.value))
        anomaly.add_metric(key, 1.0 if o.anomaly else 0.0)
        age.add_metric(key, o.observed_at.timestamp())
    yield from (value, status, anomaly, age)


def registry_for(service: Service) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(service))
    return registry


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(service: Annotated[Service, Depends(service_of)]) -> Response:
    """Jobs by status, items processed, rows, durations; for Prometheus to scrape."""
    if service.metrics is None:
        service.metrics = registry_for(service)
    return Response(generate_latest(service.metrics), media_type=CONTENT_TYPE_LATEST)
