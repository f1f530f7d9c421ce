"""Migration benchmark on the sports dataset (5 tables, 2,959,920 rows), side by side in one run.

  1. SQLite → SQLite: batchyard vs a plain Python fetchmany(25,000)/executemany loop
     (goals: >= 1,000,000 rows/s and >= 4x the loop);
  2. SQLite → PostgreSQL: batchyard vs pgloader (Debian package ``pgloader``) into the same server
     (goal: >= 3x pgloader);
  3. peak RSS of each (goal for batchyard: <= 150 MB).

Every tool runs in its own process; wall time includes everything it does (schema, data, indexes).

    python bench/migrate.py [--scale 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from pgserver import PostgresServer  # noqa: E402

MEASURE = (
    "import resource, subprocess, sys, time, json\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "print(json.dumps({'seconds': time.perf_counter() - t, 'code': p.returncode,\n"
    "  'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,\n"
    "  'stderr': p.stderr[-2000:]}))\n"
)

PLAIN_LOOP = """
import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
for (name, ddl) in src.execute("SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'").fetchall():
    dst.execute(ddl)
    cur = src.execute(f'SELECT * FROM "{name}"')
    marks = ",".join("?" * len(cur.description))
    while True:
        rows = cur.fetchmany(25000)
        if not rows:
            break
        dst.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    dst.commit()
# The same end state as a migration: the secondary indexes too.
for (ddl,) in src.execute("SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL").fetchall():
    dst.execute(ddl)
dst.commit()
"""


def measure(cmd: list[str], cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], cwd=cwd, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{result['stderr']}")
    return result


def total_rows(path: Path) -> int:
    con = sqlite3.connect(path)
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    n = sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in names)
    con.close()
    return n


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def by(*args: str) -> list[str]:
    return [sys.executable, "-m", "batchyard", *args]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--only", choices=("sqlite", "postgresql"), help="run one of the two comparisons"
    )
    parser.add_argument("--source", type=Path, help="an existing sports database to reuse")
    parser.add_argument("--repeat", type=int, default=1, help="SQLite -> PostgreSQL runs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="batchyard-bench-"))
    pg = PostgresServer()
    url = pg.start()
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        src = work / "sports.db"
        if args.source:
            shutil.copy(args.source, src)
        else:
            print(f"generating sports --scale {args.scale} ...", flush=True)
            subprocess.run(
                by("generate", "sports", "--to", str(src), "--scale", args.scale),
                cwd=work,
                check=True,
                capture_output=True,
            )
        rows = total_rows(src)
        print(f"source: {rows:,} rows, {src.stat().st_size / 1e6:.0f} MB\n", flush=True)

        def row(name: str, r: dict[str, float]) -> str:
            return (
                f"  {name:<34} {r['seconds']:7.2f} s  {rows / r['seconds']:>11,.0f} rows/s  "
                f"peak RSS {r['rss_mb']:6.0f} MB"
            )

        worst = 0.0
        if args.only != "postgresql":
            print("1. SQLite -> SQLite")
            ours = measure(by("-C", str(work), "migrate", str(src), str(work / "by.db")), work)
            plain = measure(
                [sys.executable, "-c", PLAIN_LOOP, str(src), str(work / "plain.db")], work
            )
            print(row("batchyard migrate", ours))
            print(row("fetchmany(25,000)/executemany loop", plain))
            speed = rows / ours["seconds"]
            ratio = plain["seconds"] / ours["seconds"]
            print(
                f"  ratio {ratio:.1f}x the plain loop (goal >= 4x: {verdict(ratio >= 4)}); "
                f"{speed:,.0f} rows/s (goal >= 1,000,000: {verdict(speed >= 1e6)})\n"
            )
            worst = max(worst, ours["rss_mb"])

        if args.only != "sqlite":
            print("2. SQLite -> PostgreSQL")
            loader_exe = shutil.which("pgloader")
            for n in range(args.repeat):
                ours_db, loader_db = f"by_bench_{n}", f"pgloader_bench_{n}"
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE {ours_db}")
                    conn.exec_driver_sql(f"CREATE DATABASE {loader_db}")
                target = (
                    sa.make_url(url).set(database=ours_db).render_as_string(hide_password=False)
                )
                cmd = by(
                    "-C", str(work), "migrate", str(src), target, "--workers", str(args.workers)
                )
                ours_pg = measure(cmd, work)
                print(row(f"batchyard migrate ({args.workers} workers)", ours_pg))
                worst = max(worst, ours_pg["rss_mb"])
                if loader_exe:
                    loader_url = f"postgresql://postgres@127.0.0.1:{pg.port}/{loader_db}"
                    loader = measure([loader_exe, f"sqlite:///{src}", loader_url], work)
                    print(row("pgloader", loader))
                    ratio = loader["seconds"] / ours_pg["seconds"]
                    print(f"  ratio {ratio:.1f}x pgloader (goal >= 3x: {verdict(ratio >= 3)})")
                else:
                    print("  pgloader is not installed (apt-get install pgloader): no comparison")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE {ours_db}")
                    conn.exec_driver_sql(f"DROP DATABASE {loader_db}")
        print(f"\n3. batchyard peak RSS {worst:.0f} MB (goal <= 150 MB: {verdict(worst <= 150)})")
    finally:
        admin.dispose()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
