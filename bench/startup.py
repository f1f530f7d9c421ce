"""Start-up benchmark: how long the commands that only look take, whole process.

``batchyard --help``, ``jobs list``, ``jobs show``, ``jobs progress``, ``kinds``, ``pipelines``
and the tab completion of kind, pipeline and connection names, side by side in one run, against
``python -c pass`` and against the floor of any Typer + Rich command line,
``python -c "import typer, rich.console, sqlite3"``. They run in a project whose SQLite store
holds 10,000 jobs, with a custom kind in its ``jobs.py``, two pipelines and a connection. Each
round runs every command once, in turn, so a busy moment of the machine falls on all of them
alike; the figures are the median and the best of the rounds. Goal: ``--help``, ``jobs list``
and the completions within 0.15 s of the floor's median. ``kinds`` needs pydantic for its params'
schemas, so it is shown against the same floor importing pydantic too (no goal).

    python bench/startup.py               # 21 rounds
    python bench/startup.py --rounds 5
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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from batchyard.store import Store

GOAL_S = 0.15
#: A custom kind, as a project's jobs.py declares one (``by.Context`` named at import).
JOBS_PY = """\
from datetime import date

import batchyard as by


@by.job("daily-scores", retries=2)
def daily_scores(start: date, end: date):
    \"\"\"One item per day.\"\"\"
    return by.dates(start, end)


@daily_scores.item
def collect_day(day: date, ctx: by.Context) -> None:
    ctx.write("scores", {"day": day}, key="day")
"""
KINDS = ["generate", "migrate", "verify", "validate", "collect", "export", "daily-scores"]
FLOOR = "floor: import typer, rich.console, sqlite3"
PYDANTIC_FLOOR = "floor + pydantic"
STATUSES = ["completed"] * 14 + ["failed", "partial", "cancelled", "paused"]


def fill(root: Path, n_jobs: int) -> str:
    """A project at ``root`` whose store holds ``n_jobs`` jobs (bulk SQL); the newest job's id."""
    (root / "batchyard.toml").write_text(
        '[project]\nname = "bench"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n\n'
        '[connections]\nwarehouse = "sqlite:///warehouse.db"\n',
        encoding="utf-8",
    )
    (root / "jobs.py").write_text(JOBS_PY, encoding="utf-8")
    (root / "pipelines").mkdir()
    for name in ("june", "season"):
        (root / "pipelines" / f"{name}.yaml").write_text(
            f"kind: daily-scores\nparams:\n  start: 2024-06-01\n  end: 2024-06-30\n# {name}\n",
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


def completing(line: str) -> dict[str, str]:
    """The environment bash's completion script gives ``batchyard`` at a TAB after ``line``."""
    return {
        "_BATCHYARD_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split(" ")) - 1),
    }


def wall(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
    )
    took = time.perf_counter() - began
    if done.returncode != 0 or (env and not done.stdout.strip()):
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
        # name: (argv, environment, held to the goal?)
        commands: dict[str, tuple[list[str], dict[str, str] | None, bool]] = {
            "python -c pass": ([python, "-c", "pass"], None, False),
            FLOOR: ([python, "-c", "import typer, rich.console, sqlite3"], None, False),
            PYDANTIC_FLOOR: (
                [python, "-c", "import typer, rich.console, sqlite3, pydantic; pydantic.BaseModel"],
                None,
                False,
            ),
            "batchyard --help": ([batchyard, "--help"], None, True),
            f"batchyard jobs list ({args.jobs:,} jobs)": ([batchyard, "jobs", "list"], None, True),
            "batchyard jobs show ID": ([batchyard, "jobs", "show", newest], None, False),
            "batchyard jobs progress ID": ([batchyard, "jobs", "progress", newest], None, False),
            "batchyard pipelines": ([batchyard, "pipelines"], None, False),
            "batchyard kinds": ([batchyard, "kinds"], None, False),
            "batchyard run <TAB> (pipelines, kinds)": (
                [batchyard],
                completing("batchyard run "),
                True,
            ),
            "batchyard run --batch <TAB> (pipelines)": (
                [batchyard],
                completing("batchyard run --batch "),
                True,
            ),
            "batchyard migrate <TAB> (connections)": (
                [batchyard],
                completing("batchyard migrate "),
                True,
            ),
        }
        # Once each first: compiled bytecode, a warm disk cache (and the completion's note of
        # the project's kinds, as after the first TAB).
        for argv, env, _ in commands.values():
            wall(argv, root, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, (argv, env, _) in commands.items():
                times[name].append(wall(argv, root, env))
    print(f"start-up, whole process, {args.rounds} rounds (median / best), goal: floor + {GOAL_S}s")
    print(f"{'command':<48} {'median':>8} {'best':>8} {'vs floor':>9}")
    floor = statistics.median(times[FLOOR])
    verdicts = []
    for name, runs in times.items():
        median = statistics.median(runs)
        over = median - floor
        mark = ""
        if commands[name][2]:
            ok = over <= GOAL_S
            verdicts.append(ok)
            mark = "  ok" if ok else "  over the goal"
        elif name == "batchyard kinds":
            mark = (
                f"  ({median - statistics.median(times[PYDANTIC_FLOOR]):+.3f}s vs {PYDANTIC_FLOOR})"
            )
        print(f"{name:<48} {median:>7.3f}s {min(runs):>7.3f}s {over:>+8.3f}s{mark}")
    print("goal met" if all(verdicts) else "goal missed")


if __name__ == "__main__":
    main()
