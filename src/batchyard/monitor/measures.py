"""Measuring a metric: what each metric type reads, and the values it gives.

``probe`` runs before anything is recorded (a folder or bucket that is not there, a table or
column that does not exist: a :class:`~batchyard.errors.UsageError`); ``measure`` reads the data
and returns one :class:`Reading` per value (and per label: a column, a kind and env).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchyard.check import expr
from batchyard.check.engine import check_plan, check_table
from batchyard.check.results import score
from batchyard.check.run import find_rules
from batchyard.check.sources import Source, open_source
from batchyard.check.suite import Suite
from batchyard.config import Settings
from batchyard.db import quote_identifier as qi
from batchyard.errors import UsageError
from batchyard.monitor import jsonscan
from batchyard.monitor.files import FileSource, partition_date, render
from batchyard.monitor.spec import (
    Duplicates,
    FileCount,
    Freshness,
    JobHealth,
    JsonValidity,
    MetricSpec,
    NullRate,
    RowCount,
    Sql,
    SuiteScore,
)
from batchyard.store import JobFilter, Store
from batchyard.store.models import JobStatus


@dataclass
class Reading:
    """One measured value of a metric (``files``, ``null_pct``...), with its labels."""

    value: str
    number: float | None
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _files(metric: FileCount | JsonValidity | Freshness, settings: Settings) -> FileSource:
    assert metric.path is not None
    url = render(metric.path, partition_date(metric.date))
    return FileSource(url, root=settings.root, storage_options=metric.storage_options)


@contextmanager
def _source(connection: str, settings: Settings) -> Iterator[Source]:
    source = open_source(connection, settings)
    try:
        yield source
    finally:
        source.close()


def _where(source: Source, table: str, where: str | None, what: str) -> str:
    if not where:
        return ""
    cols = list(source.table(table, what).columns)
    return " WHERE " + expr.sql_condition(where, cols, f"{what}: where", source.dialect)


def probe(metric: MetricSpec, settings: Settings) -> None:
    """Raise a :class:`UsageError` if the metric cannot be measured as declared; its message
    starts with the field at fault (``path: ...``, ``table: ...``)."""
    with _field("path"):
        if isinstance(metric, FileCount | JsonValidity) or (
            isinstance(metric, Freshness) and metric.path
        ):
            assert metric.path is not None
            _files(metric, settings).check(metric.path)
            return
    if isinstance(metric, SuiteScore):
        with _field("rules"):
            suite = Suite.load(find_rules(settings.root, metric.rules))
            if metric.tables:
                suite = suite.only(metric.tables)
        with _field("target"), _source(metric.target, settings) as source:
            check_plan(source, suite, None)
        return
    if isinstance(metric, Sql):
        with _field("connection"), _source(metric.connection, settings):
            return
    if isinstance(metric, NullRate | RowCount | Duplicates | Freshness):
        assert metric.table is not None
        with _field("connection"):
            source = open_source(metric.connection, settings)
        try:
            with _field("table"):
                info = source.table(metric.table, "table")
            name = {NullRate: "columns", Duplicates: "key", Freshness: "column"}.get(type(metric))
            for column in _columns(metric):
                with _field(name or "column"):
                    info.column(column, metric.table)
            with _field("where"):
                _where(source, metric.table, metric.where, metric.table)
        finally:
            source.close()


@contextmanager
def _field(name: str) -> Iterator[None]:
    try:
        yield
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _columns(metric: MetricSpec) -> list[str]:
    if isinstance(metric, NullRate):
        return list(metric.columns)
    if isinstance(metric, Duplicates):
        return list(metric.key)
    if isinstance(metric, Freshness) and metric.column:
        return [metric.column]
    return []


def measure(
    metric: MetricSpec, settings: Settings, store: Store, now: datetime | None = None
) -> list[Reading]:
    """Read the data and return the metric's values."""
    now = now or datetime.now(UTC)
    if isinstance(metric, FileCount):
        summary = _files(metric, settings).summary(metric.glob, recursive=metric.recursive)
        return [Reading("files", float(summary.files)), Reading("bytes", float(summary.bytes))]
    if isinstance(metric, JsonValidity):
        return _json_validity(metric, settings)
    if isinstance(metric, Freshness):
        return [_freshness(metric, settings, now)]
    if isinstance(metric, NullRate):
        return _null_rate(metric, settings)
    if isinstance(metric, RowCount):
        with _source(metric.connection, settings) as source:
            where = _where(source, metric.table, metric.where, metric.table)
            rows = source.fetch(f"SELECT count(*) FROM {qi(metric.table)}{where}")[1]
        return [Reading("rows", float(rows[0][0] or 0))]
    if isinstance(metric, Duplicates):
        with _source(metric.connection, settings) as source:
            where = _where(source, metric.table, metric.where, metric.table)
            key = ", ".join(qi(c) for c in metric.key)
            sql = (
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM "
                f"{qi(metric.table)}{where} GROUP BY {key}) AS groups WHERE n > 1"
            )
            rows = source.fetch(sql)[1]
        return [Reading("duplicates", float(rows[0][0] or 0))]
    if isinstance(metric, Sql):
        with _source(metric.connection, settings) as source:
            _, rows = source.fetch(metric.query)
        if not rows or not rows[0]:
            raise UsageError("query: returned no rows; it must return one number")
        value = rows[0][0]
        try:
            number = float(value) if value is not None else None
        except (TypeError, ValueError):
            raise UsageError(f"query: returned {value!r}, which is not a number") from None
        return [Reading("value", number)]
    if isinstance(metric, SuiteScore):
        return [_suite_score(metric, settings)]
    return _job_health(metric, store, now)


def _json_validity(metric: JsonValidity, settings: Settings) -> list[Reading]:
    source = _files(metric, settings)
    found = source.list(metric.glob, recursive=metric.recursive)
    picked = jsonscan.sample([f.path for f in found], metric.sample, metric.seed)
    tally = jsonscan.check(source.read(picked), lines=metric.lines, show=metric.show)
    details = {"files": len(found), "named": tally.named}
    return [
        Reading("valid_pct", tally.valid_pct, details=details),
        Reading("invalid", float(tally.invalid)),
        Reading("empty", float(tally.empty)),
        Reading("checked", float(tally.checked)),
    ]


def _freshness(metric: Freshness, settings: Settings, now: datetime) -> Reading:
    if metric.path:
        newest = _files(metric, settings).summary(metric.glob, recursive=metric.recursive).newest
        if newest is None:
            return Reading("age_s", None, details={"why": "no files"})
        return Reading(
            "age_s",
            round(now.timestamp() - newest.mtime, 3),
            details={"newest": newest.path},
        )
    assert metric.table is not None and metric.column is not None
    with _source(metric.connection, settings) as source:
        where = _where(source, metric.table, metric.where, metric.table)
        rows = source.fetch(f"SELECT max({qi(metric.column)}) FROM {qi(metric.table)}{where}")[1]
    newest_value = rows[0][0] if rows else None
    if newest_value is None:
        return Reading("age_s", None, details={"why": "no rows"})
    stamp = _as_datetime(newest_value, f"{metric.table}.{metric.column}")
    return Reading(
        "age_s", round((now - stamp).total_seconds(), 3), details={"newest": stamp.isoformat()}
    )


def _as_datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, int | float):
        stamp = datetime.fromtimestamp(float(value), UTC)
    else:
        try:
            stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"{where}: {value!r} is not a timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _null_rate(metric: NullRate, settings: Settings) -> list[Reading]:
    with _source(metric.connection, settings) as source:
        where = _where(source, metric.table, metric.where, metric.table)
        counts = ", ".join(f"count({qi(c)})" for c in metric.columns)
        row = source.fetch(f"SELECT count(*), {counts} FROM {qi(metric.table)}{where}")[1][0]
    total = int(row[0] or 0)
    out = []
    for column, present in zip(metric.columns, row[1:], strict=True):
        pct = round(100.0 * (total - int(present or 0)) / total, 4) if total else 0.0
        out.append(Reading("null_pct", pct, labels={"column": column}, details={"rows": total}))
    return out


def _suite_score(metric: SuiteScore, settings: Settings) -> Reading:
    suite = Suite.load(find_rules(settings.root, metric.rules))
    if metric.tables:
        suite = suite.only(metric.tables)
    results = []
    failing = []
    with _source(metric.target, settings) as source:
        for table in suite.tables:
            result = check_table(source, suite, table)
            results += result.rules
            failing += [f"{table}.{r.name}" for r in result.rules if not r.passed]
    return Reading("score", score(results), details={"suite": suite.name, "failing": failing[:20]})


ENDED = (JobStatus.COMPLETED.value, JobStatus.PARTIAL.value, JobStatus.FAILED.value)


def _job_health(metric: JobHealth, store: Store, now: datetime) -> list[Reading]:
    """Per kind and env: success rate and failures in the window, age of the last success,
    p50/p95 duration and rows written per second of the jobs that ended in it."""
    since = now - metric.window
    groups: dict[tuple[str, str], list[Any]] = {}
    last_ok: dict[tuple[str, str], datetime] = {}
    filt = JobFilter(status=ENDED)
    offset = 0
    while True:
        jobs, _ = store.list_jobs(filt, limit=2000, offset=offset)
        for job in jobs:
            name = job.metadata.get("pipeline") or job.kind
            if metric.kinds and job.kind not in metric.kinds and name not in metric.kinds:
                continue
            if metric.envs and job.env not in metric.envs:
                continue
            key = (job.kind, job.env)
            ended = job.finished_at or job.updated_at
            if job.status is JobStatus.COMPLETED and ended is not None:
                last_ok[key] = max(last_ok.get(key, ended), ended)
            if ended is not None and ended >= since:
                groups.setdefault(key, []).append(job)
            else:
                groups.setdefault(key, [])
        if len(jobs) < 2000:
            break
        offset += len(jobs)
    out: list[Reading] = []
    for (kind, env), jobs in sorted(groups.items()):
        labels = {"kind": kind, "env": env}
        ok = sum(1 for j in jobs if j.status is JobStatus.COMPLETED)
        failed = sum(1 for j in jobs if j.status is not JobStatus.COMPLETED)
        durations = sorted(j.duration for j in jobs if j.duration is not None)
        seconds = sum(durations)
        rows = sum(j.rows_written for j in jobs)
        success = last_ok.get((kind, env))
        out += [
            Reading("success_rate", round(ok / len(jobs), 4) if jobs else None, dict(labels)),
            Reading("failures", float(failed), dict(labels), {"jobs": len(jobs)}),
            Reading(
                "last_success_age_s",
                round((now - success).total_seconds(), 3) if success else None,
                dict(labels),
            ),
            Reading("p50_s", _quantile(durations, 0.5), dict(labels)),
            Reading("p95_s", _quantile(durations, 0.95), dict(labels)),
            Reading("rows_per_s", round(rows / seconds, 3) if seconds else None, dict(labels)),
        ]
    return out


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 3)
