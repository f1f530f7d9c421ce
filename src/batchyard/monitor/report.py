"""The monitoring report: overall health, recent checks, active alerts by severity, every metric
with its 24 h and 7 d trends, the anomalies, and what to do about what is wrong.

:func:`build` gathers it from the store as plain data (the ``json`` format is that data);
:mod:`batchyard.monitor.render` writes it as Markdown, text or a self-contained HTML page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from batchyard.monitor import spec as specs
from batchyard.monitor.evaluate import trend
from batchyard.store import JobFilter, Store
from batchyard.store.models import Observation, ObservationStatus

SEVERITIES = ("critical", "high", "medium", "low", "info")
#: How much history the report's charts show.
CHART_WINDOW = timedelta(days=7)


def _better(monitors: Mapping[str, specs.Monitor], obs: Observation) -> str:
    monitor = monitors.get(obs.monitor)
    label, _, value = obs.metric.rpartition(".")
    if monitor is not None:
        for metric in monitor.metrics:
            if metric.label == label:
                for v in metric.values():
                    if v.name == value:
                        return v.better
    for values in specs.VALUES.values():
        for v in values:
            if v.name == value:
                return v.better
    return "up"


def _thresholds(monitors: Mapping[str, specs.Monitor], obs: Observation) -> list[dict[str, Any]]:
    monitor = monitors.get(obs.monitor)
    return [
        t.model_dump(exclude_none=True) | {"text": t.describe()}
        for t in (monitor.thresholds_of(obs.metric) if monitor else [])
    ]


def build(
    store: Store,
    root: Path,
    *,
    now: datetime | None = None,
    window: timedelta = timedelta(hours=24),
    monitor: str | None = None,
    alerts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report's data: for the last ``window``, with history for the charts."""
    now = now or datetime.now(UTC)
    try:
        monitors = {m.name: m for m in specs.load_all(root)}
    except Exception:  # a broken monitor file must not hide the history there is
        monitors = {}
    series = dict(store.iter_series(monitor=monitor, since=now - max(CHART_WINDOW, window)))
    metrics: list[dict[str, Any]] = []
    anomalies: list[dict[str, Any]] = []
    counts = dict.fromkeys([s.value for s in ObservationStatus], 0)
    for history in series.values():
        latest = history[-1]
        if latest.observed_at < now - window:
            continue  # a series no longer measured
        counts[latest.status.value] += 1
        better = _better(monitors, latest)
        metrics.append(
            {
                "monitor": latest.monitor,
                "metric": latest.metric,
                "labels": latest.labels,
                "value": latest.value,
                "status": latest.status.value,
                "anomaly": latest.anomaly,
                "expected": latest.expected,
                "message": latest.message,
                "at": latest.observed_at.isoformat(),
                "better": better,
                "trend_24h": trend(history, timedelta(hours=24), better, now),
                "trend_7d": trend(history, timedelta(days=7), better, now),
                "thresholds": _thresholds(monitors, latest),
                "details": latest.details,
                "history": [
                    [o.observed_at.isoformat(), o.value, o.anomaly, o.status.value]
                    for o in history
                    if o.observed_at >= now - CHART_WINDOW
                ],
            }
        )
        anomalies += [
            {
                "monitor": o.monitor,
                "metric": o.metric,
                "labels": o.labels,
                "value": o.value,
                "expected": o.expected,
                "score": o.score,
                "at": o.observed_at.isoformat(),
            }
            for o in history
            if o.anomaly and o.observed_at >= now - window
        ]
    anomalies.sort(key=lambda a: str(a["at"]), reverse=True)
    latest_anomalies = sum(1 for m in metrics if m["anomaly"])
    by_severity: dict[str, list[dict[str, Any]]] = {s: [] for s in SEVERITIES}
    for alert in alerts:
        severity = str(alert.get("severity", "info"))
        by_severity.setdefault(severity, []).append(dict(alert))
    failing = counts["fail"] + counts["error"]
    health = (
        "fail"
        if failing
        else "warn"
        if counts["warn"] or latest_anomalies or any(by_severity[s] for s in SEVERITIES[:2])
        else "ok"
        if metrics
        else "unknown"
    )
    total = len(metrics)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "window_h": window.total_seconds() / 3600,
        "health": {
            "status": health,
            "series": total,
            "healthy_pct": round(100.0 * counts["ok"] / total, 1) if total else None,
            **counts,
            "anomalies": latest_anomalies,
        },
        "recent_checks": recent_checks(store, now - window),
        "alerts": {
            "total": sum(len(v) for v in by_severity.values()),
            "by_severity": {k: v for k, v in by_severity.items() if v},
        },
        "metrics": metrics,
        "anomalies": anomalies,
        "recommendations": recommendations(metrics, anomalies, window),
    }


def recent_checks(store: Store, since: datetime, limit: int = 10) -> list[dict[str, Any]]:
    jobs, _ = store.list_jobs(JobFilter(kind="monitor", created_after=since), limit=limit)
    return [
        {
            "job": j.id,
            "at": j.created_at.isoformat(timespec="seconds") if j.created_at else None,
            "status": j.status.value,
            "monitors": j.total,
            "failed": j.failed,
        }
        for j in jobs
    ]


def _name(m: Mapping[str, Any]) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(m["labels"].items()))
    return f"{m['monitor']}/{m['metric']}" + (f"{{{labels}}}" if labels else "")


def recommendations(
    metrics: Sequence[Mapping[str, Any]], anomalies: Sequence[Mapping[str, Any]], window: timedelta
) -> list[str]:
    """What to look at first, most pressing first."""
    out: list[str] = []
    if not metrics:
        hours = window.total_seconds() / 3600
        return [
            f"No monitor was checked in the last {hours:g} h: run `batchyard monitor run` "
            "(or schedule it) so there is something to report."
        ]
    for m in sorted(metrics, key=lambda m: ("error", "fail", "warn", "ok").index(m["status"])):
        name = _name(m)
        metric = m["metric"]
        if m["status"] == "error":
            out.append(f"{name} could not be measured: {m['message']}. Fix the source, then rerun.")
        elif m["status"] in ("fail", "warn"):
            if metric.endswith(".valid_pct"):
                named = [n["path"] for n in m["details"].get("named", [])][:3]
                out.append(
                    f"{name} is {m['value']:.4g}% valid ({m['message']}): look at "
                    f"{', '.join(named) or 'the invalid files'} and the collector that wrote them."
                )
            elif metric.endswith("age_s"):
                out.append(
                    f"{name}: nothing new for {_age(m['value'])} ({m['message']}): check that the "
                    "collector or pipeline that feeds it still runs."
                )
            elif metric.endswith((".success_rate", ".failures")):
                kind = m["labels"].get("kind", "")
                out.append(
                    f"{name} {m['message']}: see `batchyard jobs list --kind {kind} --status "
                    "failed` and retry with `batchyard jobs retry ID`."
                )
            else:
                out.append(f"{name} is {m['value']:g}: {m['message']}.")
    seen = set()
    for a in anomalies:
        key = (a["monitor"], a["metric"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            f"{_name(a)} was unusual at {a['at'][:16]} ({a['value']:g}, expected about "
            f"{(a['expected'] or 0):g}): compare with the source before trusting that data."
        )
    for m in metrics:
        t = m["trend_24h"]
        if t["verdict"] == "worse" and t["change_pct"] is not None and abs(t["change_pct"]) >= 20:
            out.append(f"{_name(m)} went {t['direction']} {abs(t['change_pct']):g}% in 24 h.")
    return out or ["All monitored metrics are within their thresholds: nothing to do."]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
