"""--missing lists the dates with no rows; --incremental fetches only those; a collect pipeline in
pipelines/*.yaml runs and reports gaps the same way; the request rate holds with 8 workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from collect_feed import GAMES, Feed, days, serving
from collect_helpers import as_json, by, query, sqlite_project

DATES = days("2024-06-01", 15)


@pytest.fixture
def proj(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project(tmp_path)


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serving() as running:
        yield running


def args(feed: Feed, start: str, end: str, *extra: str) -> list[str]:
    return [
        "collect",
        feed.url + "/games?date={date}&per_page=10",
        "--start",
        start,
        "--end",
        end,
        "--records",
        "games",
        "--table",
        "games",
        "--upsert-key",
        "id",
        *extra,
    ]


def test_missing_lists_dates_without_rows_and_incremental_fetches_only_them(
    proj: Path, feed: Feed
) -> None:
    wh = f"sqlite:///{proj / 'wh.db'}"
    by(proj, *args(feed, DATES[0], DATES[9]))
    feed.hits.clear()
    # A gap in the middle: rows of one date lost; and a range that goes on past what was fetched.
    import sqlite3

    with sqlite3.connect(proj / "wh.db") as con:
        con.execute("DELETE FROM games WHERE _item_key = ?", (DATES[3],))
    expected = [DATES[3], *DATES[10:]]

    report = by(proj, *args(feed, DATES[0], DATES[-1], "--missing", "--json"))
    assert as_json(report) == {"table": "games", "total": 15, "missing": expected}
    text = by(proj, *args(feed, DATES[0], DATES[-1], "--missing"))
    assert text.stdout.split() == expected
    assert "6 of 15 item(s) have no rows in table 'games'" in text.stderr
    assert feed.hits == {}  # --missing fetches nothing

    run = by(proj, *args(feed, DATES[0], DATES[-1], "--incremental"))
    assert "6 item(s)" in run.stderr.splitlines()[0]
    assert sorted({day for day, _page in feed.hits}) == expected
    assert query(wh, "SELECT count(*), count(DISTINCT id) FROM games") == [(15 * GAMES, 15 * GAMES)]
    after = as_json(by(proj, *args(feed, DATES[0], DATES[-1], "--missing", "--json")))
    assert after["missing"] == []


def test_a_collect_pipeline_runs_and_reports_its_gaps(proj: Path, feed: Feed) -> None:
    (proj / "pipelines").mkdir()
    (proj / "pipelines" / "june.yaml").write_text(
        "kind: collect\n"
        "description: June games\n"
        "workers: 3\n"
        "params:\n"
        f"  url: {feed.url}/games\n"
        "  start: 2024-06-01\n"
        "  end: 2024-06-05\n"
        "  query: {date: '{date}'}\n"
        "  records: games\n"
        "  fields: {game_id: id, home: home, runs: runs}\n"
        "  add_columns: {day: '{date}'}\n"
        "  table: june_games\n"
        "  key: [game_id]\n"
        "  paginate: page\n"
        "  page_size: 4\n"
        "  size_param: per_page\n"
        "  rate: 50\n",
        encoding="utf-8",
    )
    missing = as_json(by(proj, "collect", "june", "--missing", "--json"))
    assert missing["missing"] == days("2024-06-01", 5)
    by(proj, "run", "june")
    wh = f"sqlite:///{proj / 'wh.db'}"
    assert query(wh, "SELECT count(*), count(DISTINCT game_id), min(day) FROM june_games") == [
        (5 * GAMES, 5 * GAMES, "2024-06-01")
    ]
    # Flags beat the pipeline's params: a wider range has the new dates missing.
    wider = as_json(by(proj, "collect", "june", "--end", "2024-06-07", "--missing", "--json"))
    assert wider["missing"] == ["2024-06-06", "2024-06-07"]
    by(proj, "collect", "june", "--end", "2024-06-07", "--incremental")
    assert query(wh, "SELECT count(*) FROM june_games") == [(7 * GAMES,)]


@pytest.mark.slow
def test_the_request_rate_holds_with_8_workers(proj: Path, feed: Feed) -> None:
    rate = 25.0
    dates = days("2024-04-01", 60)
    t0 = time.monotonic()
    by(proj, *args(feed, dates[0], dates[-1], "--rate", str(rate), "--workers", "8"))
    elapsed = time.monotonic() - t0
    times = sorted(feed.times)
    assert len(times) == 60
    measured = (len(times) - 1) / (times[-1] - times[0])
    print(f"measured {measured:.2f} requests/s, limit {rate}")
    assert measured <= rate * 1.05, f"{measured:.1f} requests/s against a limit of {rate}"
    assert measured >= rate * 0.8, f"{measured:.1f} requests/s: the workers held back"
    # Over any two seconds, never more than the limit allows (plus the one that opens the
    # window, and one for arrivals that a loaded machine delays and bunches: the feed sees when
    # a request arrives, not when the limiter let it go).
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 2.0) <= 2 * rate + 2
    assert elapsed < 10
    jobs = as_json(by(proj, "jobs", "list", "--json"))["jobs"]
    assert jobs[0]["options"]["workers"] == 8 and jobs[0]["options"]["executor"] == "threads"


def test_the_pipeline_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    import re

    from batchyard import pipelines
    from batchyard.collect.spec import Spec
    from batchyard.kinds.collect import kind

    text = (Path(__file__).parents[2] / "docs" / "collect.md").read_text(encoding="utf-8")
    example = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0]
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "season.yaml").write_text(example, encoding="utf-8")
    loaded = pipelines.load(tmp_path, "season")
    params = kind.dump_params(kind.parse_params(loaded.params))
    spec = Spec.from_params(params)
    assert spec.header_env == {"X-Api-Key": "SCORES_API_KEY"}
    assert spec.pages.query({"page": 3, "offset": 0, "cursor": None}) == {
        "page": 3,
        "per_page": 100,
    }
