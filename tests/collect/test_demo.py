"""The README's demo: `batchyard init`, the scores feed it serves on 127.0.0.1, `run season` with
progress, and `collect season --missing` naming the All-Star break, all as real processes."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
from byprocs import reap_spawned, spawn, wait_until  # noqa: F401

from conftest import cli


@pytest.mark.slow
def test_the_demo_collects_a_season_from_its_own_feed_and_reports_the_gaps(
    tmp_path: Path,
) -> None:
    assert cli("init", "demo", cwd=tmp_path).returncode == 0
    demo = tmp_path / "demo"
    url_file = demo / "feed.url"
    feed = spawn(demo, "demo-feed", "--url-file", str(url_file))
    wait_until(url_file.exists, timeout=30, what="the feed to listen", proc=feed)
    env = {"SCORES_FEED": url_file.read_text().strip()}

    run = cli("run", "season", "-p", "start=2024-07-10", "-p", "end=2024-07-21", cwd=demo, env=env)
    assert run.returncode == 0, run.stderr
    assert "completed 100.0%  12/12 items" in run.stderr
    with sqlite3.connect(demo / "warehouse.db") as con:
        found = con.execute(
            "SELECT count(*), count(DISTINCT game_id), count(DISTINCT day) FROM games"
        ).fetchone()
    assert found == (8 * 8, 8 * 8, 8)  # 8 games a day, none in the 4 days of the break

    gaps = cli(
        "collect", "season", "--start", "2024-07-10", "--end", "2024-07-21", "--missing", "--json",
        cwd=demo,
        env=env,
    )  # fmt: skip
    assert gaps.returncode == 0, gaps.stderr
    assert json.loads(gaps.stdout)["missing"] == [f"2024-07-{d}" for d in (15, 16, 17, 18)]

    feed.signal(signal.SIGTERM)
    assert feed.wait(timeout=10) == 0
    assert not url_file.exists()
