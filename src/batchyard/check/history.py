"""Runs of a suite kept in the store: each ``validate`` job's items hold its tables' results, and its
metadata the suite's name, so a report can show the trend against the run before."""

from __future__ import annotations

from typing import Any

from batchyard.check.results import TableResult, score
from batchyard.store import JobFilter, Store
from batchyard.store.models import Job

KIND = "validate"


def suite_of(store: Store, job: Job) -> str | None:
    """The suite a validate job ran: from its metadata, else (``batchyard run validate``) from
    its items, which carry it."""
    name = job.metadata.get("suite") if isinstance(job.metadata, dict) else None
    if not name:
        items, _ = store.list_items(job.id, limit=1)
        value = items[0].value if items else None
        name = value.get("suite") if isinstance(value, dict) else None
    return str(name) if name else None


def tables_of(store: Store, job: Job) -> list[TableResult]:
    items, _ = store.list_items(job.id, limit=None)
    return [TableResult.from_dict(i.result) for i in items if isinstance(i.result, dict)]


def runs(store: Store, *, suite: str | None = None, limit: int = 200) -> list[Job]:
    """Finished validate jobs, newest first (of one suite, when given)."""
    jobs, _ = store.list_jobs(JobFilter(kind=KIND), limit=limit)
    return [
        j
        for j in jobs
        if j.status.finished and j.done and (suite is None or suite_of(store, j) == suite)
    ]


def previous(store: Store, job: Job) -> Job | None:
    """The run of the same suite on the same target before ``job``."""
    suite = suite_of(store, job)
    if suite is None:
        return None
    for other in runs(store, suite=suite):
        if other.id == job.id or other.params.get("target") != job.params.get("target"):
            continue
        if other.created_at and job.created_at and other.created_at >= job.created_at:
            continue
        return other
    return None


def trend(
    now: list[TableResult], before: list[TableResult] | None, job: Job | None
) -> dict[str, Any] | None:
    """Score and failing-row changes since the previous run (None: no previous run)."""
    if before is None or job is None:
        return None
    old = {t.table: t for t in before}
    tables = {}
    for t in now:
        prev = old.get(t.table)
        if prev is None:
            continue
        rules = {r.name: r for r in prev.rules}
        tables[t.table] = {
            "score": prev.score,
            "delta": round(t.score - prev.score, 1),
            "rules": {
                r.name: {
                    "failing": rules[r.name].failing,
                    "delta": r.failing - rules[r.name].failing,
                    "status": rules[r.name].status.value,
                }
                for r in t.rules
                if r.name in rules
            },
        }
    prev_score = score([r for t in before for r in t.rules])
    now_score = score([r for t in now for r in t.rules])
    return {
        "job": job.id,
        "at": job.created_at.isoformat(timespec="seconds") if job.created_at else None,
        "score": prev_score,
        "delta": round(now_score - prev_score, 1),
        "tables": tables,
    }


def scores(store: Store, job: Job, *, limit: int = 30) -> list[dict[str, Any]]:
    """The scores of the runs of ``job``'s suite on its target up to ``job`` (itself included),
    oldest first, for a trend chart: ``{job, at, score, rows, failing, tables}`` each, where
    ``failing`` counts the rules that did not pass and ``tables`` holds each table's ``score``
    and ``failing``."""
    suite = suite_of(store, job)
    if suite is None:
        return []
    target = job.params.get("target")
    out = []
    for run in runs(store, suite=suite):
        if run.params.get("target") != target:
            continue
        if run.created_at and job.created_at and run.created_at > job.created_at:
            continue
        tables = tables_of(store, run)
        out.append(
            {
                "job": run.id,
                "at": run.created_at.isoformat(timespec="seconds") if run.created_at else None,
                "score": score([r for t in tables for r in t.rules]),
                "rows": sum(t.rows for t in tables),
                "failing": sum(not r.passed for t in tables for r in t.rules),
                "tables": {
                    t.table: {"score": t.score, "failing": sum(not r.passed for r in t.rules)}
                    for t in tables
                },
            }
        )
        if len(out) >= limit:
            break
    return out[::-1]
