"""API benchmark: list pages under concurrent load with 10,000 jobs and 1,000,000 items.

Fills a SQLite store (bulk SQL: 10,000 jobs, 1,000,000 items, one job of ~100,000 of them), starts a
real ``batchyard serve`` (uvicorn) on 127.0.0.1, and drives it with a load client of threads, each
with its own httpx connection. For each request it prints p50/p95/p99 latency and requests/s,
first with the server idle, then while the server runs a job whose runners write to the same
store. The peer is the floor: the same queries as plain sqlite3 on one connection.

    python bench/api.py                 # the full run (goal: p95 < 100 ms for the list pages)
    python bench/api.py --quick         # 1,000 jobs and 100,000 items, fewer requests
    python bench/api.py --only q=       # only the requests whose name holds this text
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from batchyard.store import Store

JOBS_PY = """
import time
import batchyard as by

@by.job("tick")
def tick(n: int, sleep: float = 0.002):
    return range(n)

@tick.item
def one(i: int, ctx: by.Context):
    time.sleep(ctx.params["sleep"])
    return i
"""

KINDS = ["generate", "migrate", "verify", "validate", "collect", "export", "daily-scores"]
ENVS = ["dev", "test", "prod"]
STATUSES = ["completed"] * 14 + ["failed", "partial", "cancelled", "paused"]


def fill(db: Path, n_jobs: int, n_items: int) -> tuple[list[str], str]:
    """Insert the jobs and items with bulk SQL; return the job ids and the id of the big job."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    big_share = n_items // 10
    per_job = (n_items - big_share) // n_jobs
    ids: list[str] = []
    job_rows = []
    for n in range(n_jobs):
        kind, env = rng.choice(KINDS), rng.choice(ENVS)
        created = start + timedelta(minutes=5 * n)
        stamp = created.strftime("%Y%m%d_%H%M%S")
        job_id = f"{kind}_{env}_{stamp}_{n:06x}"
        ids.append(job_id)
        total = per_job + (big_share + (n_items - big_share) % n_jobs if n == 0 else 0)
        status = rng.choice(STATUSES)
        failed = rng.randint(1, 5) if status in ("failed", "partial") else 0
        finished = created + timedelta(seconds=rng.randint(5, 900))
        job_rows.append(
            (
                job_id,
                f"{kind} run {n}",
                kind,
                env,
                "bench",
                status,
                json.dumps({"to": "sports.db", "scale": "0.1"}),
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
        job_rows,
    )
    batch: list[tuple[object, ...]] = []
    for job_id, row in zip(ids, job_rows, strict=True):
        total, failed = int(row[8]), int(row[10])  # type: ignore[call-overload]
        for position in range(total):
            status = "failed" if position < failed else "done"
            batch.append(
                (
                    job_id,
                    f"{position:07d}",
                    position,
                    status,
                    json.dumps({"day": position}),
                    1,
                    "ValueError: boom" if status == "failed" else None,
                    0.01,
                )
            )
            if len(batch) >= 100_000:
                con.executemany(
                    "INSERT INTO by_items (job_id, key, position, status, value, attempts, error,"
                    " duration_s) VALUES (?,?,?,?,?,?,?,?)",
                    batch,
                )
                batch = []
    if batch:
        con.executemany(
            "INSERT INTO by_items (job_id, key, position, status, value, attempts, error,"
            " duration_s) VALUES (?,?,?,?,?,?,?,?)",
            batch,
        )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return ids, ids[0]


def load(
    base: str, make_url: Callable[[random.Random], str], requests: int, threads: int
) -> dict[str, float]:
    """``requests`` GETs from ``threads`` threads at once; latency percentiles in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_thread = requests // threads

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(per_thread):
                url = make_url(rng)
                t0 = time.perf_counter()
                response = client.get(url)
                mine.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    errors.append(f"{url}: {response.status_code}")
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    q = statistics.quantiles(latencies, n=100)
    return {"p50": q[49], "p95": q[94], "p99": q[98], "rps": len(latencies) / wall}


def floor(db: Path, queries: list[tuple[str, tuple[object, ...]]], repeat: int) -> float:
    """The p95 in ms of the page's own SQL (count and page) on one plain sqlite3 connection."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for sql, args in queries:
            con.execute(sql, args).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    con.close()
    return statistics.quantiles(times, n=100)[94]


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("batchyard serve exited")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("batchyard serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--threads", type=int, default=8, help="Load client threads.")
    parser.add_argument("--port", type=int, default=8765, help="Port for the server.")
    parser.add_argument(
        "--only", default="", help="Run only the requests whose name holds this text."
    )
    args = parser.parse_args()
    n_jobs, n_items, requests = (1_000, 100_000, 400) if args.quick else (10_000, 1_000_000, 2_000)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "jobs.py").write_text(JOBS_PY)
        db = root / ".batchyard" / "store.db"
        Store.open(f"sqlite:///{db}").close()
        t0 = time.perf_counter()
        ids, big = fill(db, n_jobs, n_items)
        print(
            f"store: {n_jobs:,} jobs, {n_items:,} items (one job of "
            f"{n_items // 10:,}) in {time.perf_counter() - t0:.1f}s, "
            f"{db.stat().st_size / 1e6:.0f} MB"
        )

        base = f"http://127.0.0.1:{args.port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchyard",
                "-C",
                str(root),
                "serve",
                "--port",
                str(args.port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_ready(base, proc)
            scenarios: list[
                tuple[str, Callable[[random.Random], str], list[tuple[str, tuple[object, ...]]]]
            ] = [
                (
                    "GET /api/jobs?limit=50",
                    lambda r: "/api/jobs?limit=50",
                    [
                        ("SELECT count(*) FROM by_jobs", ()),
                        ("SELECT * FROM by_jobs ORDER BY created_at DESC, id DESC LIMIT 50", ()),
                    ],
                ),
                (
                    "GET /api/jobs?limit=50&status=failed&kind=K&env=E",
                    lambda r: (
                        f"/api/jobs?limit=50&status=failed&kind={r.choice(KINDS)}&env={r.choice(ENVS)}"
                    ),
                    [
                        (
                            "SELECT count(*) FROM by_jobs WHERE status IN ('failed') AND kind=? AND env=?",
                            ("migrate", "prod"),
                        ),
                        (
                            "SELECT * FROM by_jobs WHERE status IN ('failed') AND kind=? AND env=? ORDER BY created_at DESC, id DESC LIMIT 50",
                            ("migrate", "prod"),
                        ),
                    ],
                ),
                (
                    "GET /api/jobs?limit=50&q=TEXT&offset=N",
                    lambda r: (
                        f"/api/jobs?limit=50&q=run%20{r.randint(1, 99)}&offset={r.choice([0, 50])}"
                    ),
                    [
                        # One scan counts the matches and picks the page; then its rows by id.
                        (
                            "WITH m AS (SELECT id, created_at AS k FROM by_jobs"
                            " WHERE id LIKE ? ESCAPE '/' OR name LIKE ? ESCAPE '/' LIMIT 1001)"
                            " SELECT t.n, p.id FROM (SELECT count(*) AS n FROM m) AS t LEFT JOIN"
                            " (SELECT id, k FROM m ORDER BY k DESC, id DESC LIMIT 50) AS p ON 1"
                            " ORDER BY p.k DESC, p.id DESC",
                            ("%run 42%", "%run 42%"),
                        ),
                        (
                            f"SELECT * FROM by_jobs WHERE id IN ({','.join('?' * 50)})",
                            tuple(ids[:50]),
                        ),
                    ],
                ),
                (
                    "GET /api/jobs/{id}/items?limit=100",
                    lambda r: f"/api/jobs/{r.choice(ids)}/items?limit=100",
                    [
                        ("SELECT * FROM by_jobs WHERE id=?", (ids[5],)),
                        (
                            "SELECT * FROM by_items WHERE job_id=? AND position >= 0"
                            " ORDER BY position LIMIT 100",
                            (ids[5],),
                        ),
                    ],
                ),
                (
                    f"GET /api/jobs/{{big}}/items?limit=100&offset=N ({n_items // 10:,} items)",
                    lambda r: f"/api/jobs/{big}/items?limit=100&offset={r.randint(0, 900) * 100}",
                    [
                        ("SELECT * FROM by_jobs WHERE id=?", (big,)),
                        (
                            "SELECT * FROM by_items WHERE job_id=? AND position >= 50000"
                            " ORDER BY position LIMIT 100",
                            (big,),
                        ),
                    ],
                ),
            ]
            for phase in ("idle server", "while a job runs on the server"):
                if phase != "idle server":
                    job = httpx.post(
                        f"{base}/api/jobs",
                        json={
                            "kind": "tick",
                            "params": {"n": 100_000, "sleep": 0.002},
                            "workers": 4,
                        },
                        timeout=120,
                    ).json()
                    time.sleep(1.0)
                print(f"\n{phase}: {args.threads} client threads, {requests:,} requests each")
                print(
                    f"{'request':<62} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7}  sqlite3 p95"
                )
                for name, make, sql in scenarios:
                    if args.only not in name:
                        continue
                    load(base, make, args.threads * 5, args.threads)  # warm up
                    r = load(base, make, requests, args.threads)
                    peer = floor(db, sql, 50)
                    goal = "ok" if r["p95"] < 100 else "OVER 100 ms"
                    print(
                        f"{name:<62} {r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f} "
                        f"{r['rps']:7.0f}  {peer:6.1f} ms  ({goal})"
                    )
                if phase != "idle server":
                    done = httpx.get(f"{base}/api/jobs/{job['id']}").json()["done"]
                    httpx.post(f"{base}/api/jobs/{job['id']}/cancel")
                    print(f"(the job ran {done:,} items meanwhile)")
        finally:
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    main()
