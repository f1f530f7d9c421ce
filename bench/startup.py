"""Start-up benchmark: how long ``batchyard --help`` and ``batchyard jobs list`` take, whole process.

Side by side in one run, against ``python -c pass`` and against the floor of any Typer + Rich
command line, ``python -c "import typer, rich.console, sqlite3"``. ``jobs list`` runs in a project
whose SQLite store holds 10,000 jobs. Each round runs every command once, in turn, so a busy
moment of the machine falls on all of them alike; the figures are the median and the best of the
rounds. Goal: each command within 0.15 s of the floor's median.

    python bench/startup.py               # 21 rounds
    python bench/startup.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from batchyard.store import Store

GOAL_S = 0.15
KINDS = ["generate", "migrate", "verify", "validate", "collect", "export", "daily-scores"]
STATUSES = ["completed"] * 14 + ["failed", "partial", "cancelled", "paused"]


def fill(root: Path, n_jobs: int) -> str:
    """A project at ``root`` whose store holds ``n_jobs`` jobs (bulk SQL); the newest job's id."""
    (root / "batchyard.toml").write_text(
        '[project]\nname = "bench"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n',
        encoding="utf-8",
    )
    url = f"sqlite:///{root / '.batchyard' / 'store.db'}"
    (root / ".batchyard").mkdir()
    Store.open(url).close()  # the schema, migrated
    con = sqlite3.connect(root / ".batchyard" / "store.db")
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(n_jobs):
        kind, status = rng.choice(KINDS), rng.choice(STATUSES)
        created = start + timedelta(minutes=5 * n)
        finished = created + timedelta(seconds=rng.randint(5, 900))
        total = rng.randint(1, 400)
        failed = rng.randint(1, 5) if status in ("failed", "partial") else 0
        rows.append(
            (
                f"{kind}_dev_{created:%Y%m%d_%H%M%S}_{n:06x}",
                f"{kind} run {n}",
                kind,
                "dev",
                status,
                json.dumps({"to": "sports.db"}),
                total,
                total - failed,
                failed,
                rng.randint(0, 10**7),
                *(_ts(t) for t in (created, created, finished, finished)),
            )
        )
    con.executemany(
        "INSERT INTO by_jobs (id, name, kind, env, status, params, total, done, failed, "
        "rows_written, created_at, started_at, finished_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return str(rows[-1][0])


def _ts(value: datetime) -> str:
    # As the store writes timestamps into SQLite.
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def wall(argv: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    python = sys.executable
    batchyard = str(Path(python).parent / "batchyard")
    with tempfile.TemporaryDirectory(prefix="by-startup-") as tmp:
        root = Path(tmp)
        newest = fill(root, args.jobs)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "floor: import typer, rich.console, sqlite3": [
                python,
                "-c",
                "import typer, rich.console, sqlite3",
            ],
            "batchyard --help": [batchyard, "--help"],
            f"batchyard jobs list ({args.jobs:,} jobs)": [batchyard, "jobs", "list"],
            "batchyard jobs show ID": [batchyard, "jobs", "show", newest],
            "batchyard jobs progress ID": [batchyard, "jobs", "progress", newest],
        }
        for argv in commands.values():  # once each first: compiled bytecode, a warm disk cache
            wall(argv, root)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                times[name].append(wall(argv, root))
    floor = statistics.median(times["floor: import typer, rich.console, sqlite3"])
    print(f"start-up, whole process, {args.rounds} rounds (median / best), goal: floor + {GOAL_S}s")
    print(f"{'command':<44} {'median':>8} {'best':>8} {'vs floor':>9}")
    verdicts = []
    for name, runs in times.items():
        median = statistics.median(runs)
        over = median - floor
        mark = ""
        if name.startswith(("batchyard --help", "batchyard jobs list")):
            ok = over <= GOAL_S
            verdicts.append(ok)
            mark = "  ok" if ok else "  over the goal"
        print(f"{name:<44} {median:>7.3f}s {min(runs):>7.3f}s {over:>+8.3f}s{mark}")
    print("goal met" if all(verdicts) else "goal missed")


if __name__ == "__main__":
    main()
