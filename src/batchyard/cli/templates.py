"""The files ``batchyard init`` writes."""

from __future__ import annotations

from pathlib import Path

from batchyard.errors import UsageError

TOML = """\
# batchyard project settings. Flags beat BATCHYARD_* environment variables, which beat this file.
[project]
name = "{name}"

[store]
# Where jobs, items and events are kept. PostgreSQL for teams:
# url = "postgresql://batchyard:${{PGPASSWORD}}@localhost/batchyard"
url = "sqlite:///.batchyard/store.db"

[defaults]
env = "dev"
workers = 4
executor = "threads"
connection = "warehouse"

[connections]
# Named databases for ctx.write and the built-in kinds; ${{VAR}} reads the environment.
warehouse = "sqlite:///warehouse.db"
"""

JOBS = '''\
"""This project's job kinds. `batchyard kinds` lists them; `batchyard run NAME` runs one."""

from __future__ import annotations

import random
import time
from datetime import date

import batchyard as by

TEAMS = ["Bears", "Cubs", "Dodgers", "Giants", "Mets", "Orioles", "Padres", "Red Sox",
         "Rockies", "Tigers", "Twins", "Yankees"]


@by.job("daily-scores", retries=2)
def daily_scores(start: date, end: date, latency: float = 0.02):
    """One item per day: the day's games, written to the warehouse with lineage."""
    return by.dates(start, end)


@daily_scores.item
def collect_day(day: date, ctx: by.Context) -> dict[str, int]:
    # Stands in for a call to a sports API: same day, same games.
    time.sleep(ctx.params["latency"])
    rng = random.Random(day.toordinal())
    teams = rng.sample(TEAMS, k=8)
    games = [
        {"day": day, "home": home, "away": away,
         "home_runs": rng.randint(0, 12), "away_runs": rng.randint(0, 12)}
        for home, away in zip(teams[::2], teams[1::2], strict=True)
    ]
    ctx.write("scores", games, key=["day", "home"])
    return {"games": len(games)}
'''

PIPELINE = """\
# A saved job: `batchyard run june` runs it; `batchyard run --batch june july` runs several.
kind: daily-scores
description: Scores for June 2024
params:
  start: 2024-06-01
  end: 2024-06-30
"""

SEASON = """\
# Collect a season of daily scores from a JSON API: `batchyard run season`, then
# `batchyard collect season --missing` lists the dates with no rows yet.
# `make demo` serves a local feed (`batchyard demo-feed`) and sets SCORES_FEED to its URL;
# point url at your own API instead.
kind: collect
description: Daily scores of the 2024 season, from the scores feed
workers: 4
params:
  url: ${SCORES_FEED:-http://127.0.0.1:8765}/scores
  query: {date: "{date}"}
  start: 2024-04-01
  end: 2024-09-30
  records: games
  fields: {game_id: game_id, home: home, away: away, home_runs: score.home, away_runs: score.away}
  add_columns: {day: "{date}"}
  table: games
  key: [game_id]
  paginate: next
  next_path: next
  rate: 100
"""

GITIGNORE = """\
.batchyard/
*.db
*.db-wal
*.db-shm
"""


def write_project(folder: Path, *, force: bool = False) -> list[Path]:
    folder = folder.resolve()
    files = {
        folder / "batchyard.toml": TOML.format(name=folder.name),
        folder / "jobs.py": JOBS,
        folder / "pipelines" / "june.yaml": PIPELINE,
        folder / "pipelines" / "season.yaml": SEASON,
        folder / ".gitignore": GITIGNORE,
    }
    existing = [p for p in files if p.exists() and p.name != ".gitignore"]
    if existing and not force:
        raise UsageError(f"{existing[0]} already exists; pass --force to overwrite")
    written = []
    for path, text in files.items():
        if path.name == ".gitignore" and path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
