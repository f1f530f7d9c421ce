"""Dask executor benchmark: no-op items with durable per-item outcomes through a Dask cluster.

Prints, in one run on this machine:
  1. items/s of a 1,000,000-item no-op job on a LocalCluster of two single-threaded worker
     processes (``--executor dask --workers 2``; goal: >= 2,000 items/s), the cluster's start-up
     included and apart;
  2. the same job on the threads executor (2 workers), and the overhead per item of Dask against
     threads: (Dask's seconds - threads' seconds) / items.

Every outcome is committed to the SQLite store, as in any job: the figure is durable items/s.

    python bench/dask.py                  # 1,000,000 items
    python bench/dask.py --items 100000   # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# This file's name would hide the dask package from `python bench/dask.py`: drop its folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import batchyard as by  # noqa: E402
from batchyard.store.models import ItemStatus  # noqa: E402

NOOP_JOBS = """
import batchyard as by

@by.job("noop")
def noop(n: int):
    return range(n)

@noop.item
def run(i: int) -> None:
    return None
"""


def run(n: int, executor: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "jobs.py").write_text(NOOP_JOBS)
        with by.Batchyard(root=root) as app:
            job = app.submit("noop", {"n": n}, workers=2, executor=executor)
            first: list[float] = []

            def seen(snap: object) -> None:
                if not first and getattr(snap, "done", 0) > 0:
                    first.append(time.perf_counter())

            t0 = time.perf_counter()
            done = app.execute(job.id, install_signals=False, on_progress=seen)
            t1 = time.perf_counter()
            assert done.status is by.JobStatus.COMPLETED and done.done == n, done
            counts = app.store.item_counts(job.id)
            assert counts == {ItemStatus.DONE.value: n}, counts
            workers = {i.worker for i in app.store.items_at(job.id, 0, 2000)}
    started = (first[0] - t0) if first else 0.0
    return {
        "seconds": t1 - t0,
        "items_per_s": n / (t1 - t0),
        "first_s": started,
        "steady_items_per_s": n / max(t1 - t0 - started, 1e-9),
        "workers": float(len(workers)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.items
    print(f"{n:,} no-op items, durable outcomes in a SQLite store, 2 workers")
    dask = run(n, "dask")
    print(
        f"  dask (LocalCluster, 2 processes): {dask['items_per_s']:,.0f} items/s over "
        f"{dask['seconds']:.1f}s ({dask['steady_items_per_s']:,.0f}/s after the cluster's start-up "
        f"of {dask['first_s']:.1f}s; items ran on {dask['workers']:.0f} workers)  "
        f"goal >= 2,000: {'ok' if dask['items_per_s'] >= 2000 else 'MISSED'}"
    )
    threads = run(n, "threads")
    print(
        f"  threads:                          {threads['items_per_s']:,.0f} items/s over {threads['seconds']:.1f}s"
    )
    overhead = (dask["seconds"] - threads["seconds"]) / n * 1e6
    print(
        f"  overhead of Dask per item: {overhead:,.1f} us "
        f"({dask['items_per_s'] / threads['items_per_s']:.2f}x the threads executor's rate)"
    )


if __name__ == "__main__":
    main()
