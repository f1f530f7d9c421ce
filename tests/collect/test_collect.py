"""collect against a real HTTP server on 127.0.0.1 that rate limits, fails and answers slowly.

60 dates of paginated JSON (3 pages each); the server answers some pages first with 429 and a
Retry-After, some with 503, some too slowly for the timeout, and one page with a malformed body
until it is fixed. The job ends partial with exactly that item failed; `jobs retry` completes it
after the fix; the target holds every game exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from collect_feed import GAMES, Feed, days, serving
from collect_helpers import as_json, by, job_id, query

START, N = "2024-04-01", 60
DATES = days(START, N)
BROKEN = DATES[16]


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serving(slow=0.6, retry_after="0.2") as running:
        yield running


def collect_args(feed: Feed, *extra: str) -> list[str]:
    return [
        "collect",
        feed.url + "/games",
        "--start",
        DATES[0],
        "--end",
        DATES[-1],
        "--query",
        "date={date}",
        "--records",
        "games",
        "--table",
        "games",
        "--upsert-key",
        "id",
        "--add",
        "day={date}",
        "--paginate",
        "page",
        "--page-size",
        "4",
        "--size-param",
        "per_page",
        "--timeout",
        "0.4",
        "--backoff",
        "0.05",
        *extra,
    ]


def test_collect_partial_then_retry_completes_without_duplicates(
    project: Path, feed: Feed, target_url: str
) -> None:
    for day in DATES[2:7]:
        feed.faults[(day, 1)] = ["429"]
    feed.faults[(DATES[8], 2)] = ["503", "503"]
    feed.faults[(DATES[9], 3)] = ["503"]
    feed.faults[(DATES[20], 1)] = ["slow"]
    feed.faults[(DATES[30], 2)] = ["slow", "429"]
    feed.broken.add((BROKEN, 2))

    first = by(project, *collect_args(feed, "--workers", "4"), code=1)
    job = job_id(first)
    assert "partial" in first.stderr

    failed = as_json(by(project, "jobs", "items", job, "--failed", "--json"))
    assert [i["key"] for i in failed["items"]] == [BROKEN]
    error = failed["items"][0]["error"]
    assert f"/games?date={BROKEN}&page=2&per_page=4" in error
    assert "HTTP 200" in error and "not JSON" in error
    assert '{"date": "' + BROKEN + '", "games": [{"id":' in error  # a snippet of the body
    shown = as_json(by(project, "jobs", "show", job, "--json"))
    assert (shown["status"], shown["done"], shown["failed"]) == ("partial", N - 1, 1)

    # Every fault was got past: the 429s waited and were asked again, as were the 503s and the
    # slow answers that hit the timeout.
    for day in DATES[2:7]:
        assert feed.hits[(day, 1)] == 2
    assert feed.hits[(DATES[8], 2)] == 3 and feed.hits[(DATES[30], 2)] == 3
    # The broken item wrote its first page; the others all of theirs.
    assert query(target_url, "SELECT count(*), count(DISTINCT id) FROM games") == [
        ((N - 1) * GAMES + 4, (N - 1) * GAMES + 4)
    ]

    feed.fix()
    again = by(project, "jobs", "retry", job, "--failed-only")
    retry_job = job_id(again)
    assert as_json(by(project, "jobs", "show", retry_job, "--json"))["total"] == 1
    assert feed.ok[(BROKEN, 2)] == 1 and feed.ok[(BROKEN, 3)] == 1

    rows = query(target_url, "SELECT count(*), count(DISTINCT id), count(DISTINCT day) FROM games")
    assert rows == [(N * GAMES, N * GAMES, N)]
    per_day = query(target_url, "SELECT day, count(*) FROM games GROUP BY day")
    assert sorted(per_day) == [(d, GAMES) for d in DATES]
    lineage = query(target_url, f"SELECT DISTINCT _job_id FROM games WHERE _item_key = '{BROKEN}'")
    assert lineage == [(retry_job,)]
    assert query(target_url, "SELECT count(*) FROM games WHERE _collected_at IS NULL") == [(0,)]
