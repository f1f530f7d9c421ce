"""Engine benchmark: no-op items with durable per-item checkpoints on the SQLite store.

Prints, in one run on this machine:
  1. items/s for a 20,000-item no-op job, 4 thread workers (goal: >= 5,000 items/s), with the median
     per-item overhead (each item's own claim-to-commit time is not observable from outside, so the
     median is taken over each checkpoint transaction's wall time divided by the items it commits);
  2. the same figure for a hand-written baseline: a 4-thread pool whose workers mark each item done
     in its own SQLite transaction (what people write before they use a job tool), and the ratio;
  3. peak RSS of a 1,000,000-item job run in a fresh process (goal: < 300 MB).

    python bench/engine.py            # all three
    python bench/engine.py --quick    # smaller sizes, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import batchyard as by
from batchyard.store.store import Store

NOOP_JOBS = """
import batchyard as by

@by.job("noop")
def noop(n: int):
    return range(n)

@noop.item
def run(i: int) -> None:
    return None
"""


def engine_run(n: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "jobs.py").write_text(NOOP_JOBS)
        app = by.Batchyard(root=root)
        t0 = time.perf_counter()
        job = app.submit("noop", {"n": n}, workers=workers)
        planned = time.perf_counter()
        # Time each commit: the runner's group commit is what a durable checkpoint costs.
        durations: list[float] = []
        original = Store.step

        def timed(self: Store, job_id: str, outcomes=(), **kw):  # type: ignore[no-untyped-def]
            s = time.perf_counter()
            claimed = original(self, job_id, outcomes, **kw)
            if outcomes:
                durations.append((time.perf_counter() - s) / len(outcomes))
            return claimed

        Store.step = timed  # type: ignore[method-assign]
        try:
            t1 = time.perf_counter()
            done = app.execute(job.id, install_signals=False)
            t2 = time.perf_counter()
        finally:
            Store.step = original  # type: ignore[method-assign]
        assert done.status is by.JobStatus.COMPLETED and done.done == n, done
        app.close()
        return {
            "items": n,
            "plan_s": planned - t0,
            "run_s": t2 - t1,
            "items_per_s": n / (t2 - t1),
            "median_commit_us_per_item": statistics.median(durations) * 1e6,
            "overhead_us_per_item": (t2 - t1) / n * 1e6,
        }


def baseline_run(n: int, workers: int = 4) -> dict[str, float]:
    """What people write before a job tool: a thread pool whose workers mark each item done in
    its own SQLite transaction (WAL, synchronous=NORMAL: the same durability as the store)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.db"
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE items (key TEXT PRIMARY KEY, status TEXT)")
        con.executemany("INSERT INTO items VALUES (?, 'pending')", ((str(i),) for i in range(n)))
        local = threading.local()

        def work(i: int) -> None:
            c = getattr(local, "con", None)
            if c is None:
                c = local.con = sqlite3.connect(path, isolation_level=None, timeout=60)
                c.execute("PRAGMA synchronous=NORMAL")
            c.execute("BEGIN IMMEDIATE")
            c.execute("UPDATE items SET status='done' WHERE key=?", (str(i),))
            c.execute("COMMIT")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(n)))
        t1 = time.perf_counter()
        done = con.execute("SELECT count(*) FROM items WHERE status='done'").fetchone()[0]
        assert done == n
        con.close()
        return {"items": n, "run_s": t1 - t0, "items_per_s": n / (t1 - t0)}


def big_job_child(n: int) -> None:
    result = engine_run(n, 4)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**result, "peak_rss_mb": rss_mb}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        big_job_child(args.child)
        return
    n = 5_000 if args.quick else 20_000
    big = 50_000 if args.quick else 1_000_000
    print(f"batchyard engine benchmark, {os.cpu_count()} cores, Python {sys.version.split()[0]}")

    ours = engine_run(n, 4)
    base = baseline_run(n)
    print(f"\n1. no-op items, durable checkpoints, SQLite store, 4 thread workers, {n:,} items")
    print(
        f"   batchyard: {ours['items_per_s']:,.0f} items/s "
        f"(run {ours['run_s']:.2f}s, plan {ours['plan_s']:.2f}s); "
        f"per-item overhead {ours['overhead_us_per_item']:.0f} us, "
        f"median checkpoint transaction cost {ours['median_commit_us_per_item']:.0f} us/item"
    )
    print(f"   goal >= 5,000 items/s: {'PASS' if ours['items_per_s'] >= 5000 else 'FAIL'}")
    print(
        f"2. hand-written 4-thread pool, one transaction per item: {base['items_per_s']:,.0f} items/s; "
        f"ratio batchyard/hand-written = {ours['items_per_s'] / base['items_per_s']:.2f}x"
    )

    out = subprocess.run(
        [sys.executable, __file__, "--child", str(big)], capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"3. {big:,}-item job: plan {res['plan_s']:.1f}s, run {res['run_s']:.1f}s "
        f"({res['items_per_s']:,.0f} items/s), peak RSS {res['peak_rss_mb']:.0f} MB "
        f"(goal < 300 MB: {'PASS' if res['peak_rss_mb'] < 300 else 'FAIL'})"
    )


if __name__ == "__main__":
    main()
