"""Helpers for the dashboard's browser tests: the project they serve, accessibility checks with
axe-core, screenshots, and a store seeded with bulk SQL for the performance checks."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BATCHYARD_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
BUILD = ROOT / "src" / "batchyard" / "web" / "static" / "index.html"
SHOTS = ROOT / "test-artifacts" / "screenshots"

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

JOBS = r'''
import time

import batchyard as by


@by.job("slow")
def slow(n: int = 5, sleep: float = 0.05, fail: list[int] = []):
    """Items 0..n-1; each sleeps, then writes one row (those in `fail` raise instead)."""
    return range(n)


@slow.item
def one(i: int, ctx: by.Context):
    time.sleep(ctx.params["sleep"])
    if i in ctx.params["fail"]:
        raise ValueError(f"item {i} was told to fail")
    ctx.log.info("item %s done", i)
    ctx.write("rows", {"job": ctx.job_id, "i": i, "square": i * i}, key=["job", "i"])
    return {"i": i, "square": i * i}
'''

RULES = """\
suite: people
tables:
  people:
    - {rule: not_null, column: name}
    - {rule: between, column: age, min: 0, max: 120, fix: Check the birth year.}
"""


def make_project(root: Path) -> Path:
    """A project with the `slow` kind, two pipelines of it, and a database to validate."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        '[project]\nname = "webtest"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n\n'
        '[defaults]\nworkers = 2\n\n[connections]\nwarehouse = "sqlite:///warehouse.db"\n'
    )
    (root / "jobs.py").write_text(JOBS)
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "pipelines" / "alpha.yaml").write_text(
        "kind: slow\ndescription: alpha backfill\nparams:\n  n: 80\n  sleep: 0.1\n"
    )
    (root / "pipelines" / "beta.yaml").write_text(
        "kind: slow\ndescription: beta backfill\nparams:\n  n: 70\n  sleep: 0.1\n"
    )
    with sqlite3.connect(root / "people.db") as con:
        con.execute("create table people (name text, age int)")
        con.executemany(
            "insert into people values (?, ?)", [("ann", 31), (None, 40), ("cy", 300), ("di", 7)]
        )
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "people.yaml").write_text(RULES)
    return root


def axe(page: Page, where: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    for v in bad:
        v["where"] = where
    return bad


def shoot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(cond: Any, timeout: float = 30, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come about in {timeout}s")
        time.sleep(0.05)


def seed(db: Path, n_jobs: int, n_items: int, big: int) -> str:
    """``n_jobs`` finished jobs and ``n_items`` items in the store at ``db`` by bulk SQL (one job
    holds ``big`` of them); returns the big job's id. About 5 s for 10,000 jobs and 1M items."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    start = datetime.now(UTC) - timedelta(days=30)
    kinds, envs = ["generate", "migrate", "validate", "collect", "export"], ["dev", "prod"]
    statuses = ["completed"] * 7 + ["partial", "failed", "cancelled"]
    per_job = (n_items - big) // (n_jobs - 1)
    rows = []
    for n in range(n_jobs):
        kind, env, status = kinds[n % 5], envs[n % 2], statuses[n % 10]
        created = start + timedelta(seconds=250 * n)
        total = big if n == n_jobs - 1 else per_job
        failed = 3 if status in ("partial", "failed") else 0
        finished = created + timedelta(seconds=5 + n % 600)
        rows.append(
            (
                f"{kind}_{env}_{created:%Y%m%d_%H%M%S}_{n:06x}",
                f"{kind} run {n}",
                kind,
                env,
                "webtest",
                status,
                json.dumps({"to": "out.db", "scale": "0.1"}),
                json.dumps({"workers": 4}),
                total,
                total - failed,
                failed,
                created.isoformat(),
                created.isoformat(),
                finished.isoformat(),
                finished.isoformat(),
                json.dumps(["nightly"] if n % 3 else []),
            )
        )
    con.executemany(
        "INSERT INTO by_jobs (id, name, kind, env, project, status, params, options, total, done,"
        " failed, created_at, started_at, finished_at, updated_at, tags) VALUES"
        " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.execute("CREATE TEMP TABLE seq (n INTEGER PRIMARY KEY)")
    con.execute(
        "INSERT INTO seq WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s"
        " WHERE n + 1 < ?) SELECT n FROM s",
        (max(big, per_job),),
    )
    con.execute(
        "INSERT INTO by_items (job_id, key, position, status, value, attempts, error, result,"
        " duration_s) SELECT j.id, printf('%07d', s.n), s.n,"
        " CASE WHEN s.n < j.failed THEN 'failed' ELSE 'done' END, json_object('day', s.n), 1,"
        " CASE WHEN s.n < j.failed THEN 'ValueError: boom' END,"
        " CASE WHEN s.n < j.failed THEN NULL ELSE json_object('rows', s.n % 7) END, 0.01"
        " FROM by_jobs j JOIN seq s ON s.n < j.total"
    )
    con.commit()
    con.execute("ANALYZE")
    (count,) = con.execute("SELECT count(*) FROM by_items").fetchone()
    con.close()
    assert count == (n_jobs - 1) * per_job + big
    return str(rows[-1][0])
