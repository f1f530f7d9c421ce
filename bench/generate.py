"""``generate`` benchmark: rows/s per table and overall, through the real job (goal: >= 300,000 rows/s
into SQLite).

Runs ``generate sports`` as a job (chunks checkpointed in the store, indexes built at the end) into
a fresh SQLite file, and optionally into PostgreSQL and files. Per table: the rows of its chunks
over the time its chunks took. Overall: every row over the job's whole wall time (planning,
creating tables, every chunk, indexes and foreign keys included).

    python bench/generate.py                          # sports --scale 1 into SQLite
    python bench/generate.py --scale small            # a smaller run
    python bench/generate.py --postgres URL           # also into PostgreSQL (a server URL)
    python bench/generate.py --files                  # also into CSV and JSONL
    python bench/generate.py --postgres auto          # start a throwaway server (tests/pgserver.py)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import batchyard as by
from batchyard.generate.spec import Spec

GOAL = 300_000


def run(app: by.Batchyard, label: str, params: dict[str, Any]) -> float:
    """Run one generate job; print rows/s per table and overall; return the overall rows/s."""
    spec = Spec.from_params(params["dataset"], scale=params.get("scale", "1"))
    t0 = time.perf_counter()
    job = app.run("generate", params, install_signals=False)
    wall = time.perf_counter() - t0
    if job.status.value != "completed":
        sys.exit(f"{label}: the job ended {job.status.value}: {job.error}")
    per_table: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for item in app.store.iter_items(job.id):
        table = item.value["table"]
        per_table[table][0] += item.rows_written
        per_table[table][1] += item.duration_s or 0.0
    print(
        f"\n{label}: {params['dataset']} --scale {params.get('scale', '1')}, "
        f"{spec.total_rows:,} rows, {job.total} chunks"
    )
    print(f"  {'table':<12} {'rows':>12} {'seconds':>9} {'rows/s':>12}")
    for table in spec.counts:
        rows, seconds = per_table[table]
        rate = rows / seconds if seconds else float("nan")
        print(f"  {table:<12} {int(rows):>12,} {seconds:>9.2f} {rate:>12,.0f}")
    overall = job.rows_written / wall
    print(
        f"  {'overall':<12} {job.rows_written:>12,} {wall:>9.2f} {overall:>12,.0f}"
        "   (wall time of the whole job, indexes included)"
    )
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1")
    parser.add_argument("--dataset", default="sports")
    parser.add_argument("--postgres", help="a PostgreSQL server URL, or 'auto' to start one")
    parser.add_argument("--files", action="store_true", help="also write CSV and JSONL")
    parser.add_argument("--repeat", type=int, default=1, help="SQLite runs (the best is kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="by-bench-generate-") as tmp:
        root = Path(tmp)
        with by.Batchyard(root=root) as app:
            base = {"dataset": args.dataset, "scale": args.scale}
            best = 0.0
            for i in range(args.repeat):
                best = max(
                    best,
                    run(app, f"SQLite (run {i + 1})", {**base, "to": str(root / f"bench-{i}.db")}),
                )
            print(
                f"\nSQLite: {best:,.0f} rows/s overall "
                f"({'meets' if best >= GOAL else 'MISSES'} the goal of {GOAL:,})"
            )
            if args.files:
                for fmt in ("csv", "jsonl"):
                    run(app, fmt.upper(), {**base, "to": str(root / fmt), "format": fmt})
            if args.postgres:
                postgres(app, base, args.postgres)


def postgres(app: by.Batchyard, base: dict[str, Any], url: str) -> None:
    import sqlalchemy as sa

    server = None
    if url == "auto":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pgserver import PostgresServer

        server = PostgresServer()
        url = server.start()
    name = f"by_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        target = sa.make_url(url).set(database=name).render_as_string(hide_password=False)
        run(app, "PostgreSQL", {**base, "to": target})
    finally:
        from batchyard.db import ENGINES

        ENGINES.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
