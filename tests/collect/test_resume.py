"""A collect run killed with SIGKILL mid-run and resumed: the same rows, each exactly once, and no
page fetched twice for the items done before the kill (the server counts every page it serves)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
from byprocs import StoreReader, reap_spawned, spawn, wait_until  # noqa: F401
from collect_feed import GAMES, Feed, days, serving
from collect_helpers import make_project, query

from batchyard.db import ENGINES

DATES = days("2024-04-01", 40)
WORKERS = 4


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serving(latency=0.03) as running:
        yield running


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_same_rows_and_refetches_no_done_page(
    tmp_path: Path, feed: Feed
) -> None:
    root = tmp_path / "proj"
    store_url = f"sqlite:///{root / '.batchyard' / 'store.db'}"
    wh = f"sqlite:///{root / 'wh.db'}"
    make_project(root, store_url, wh)
    args = [
        "collect",
        feed.url + "/games?date={date}",
        "--start",
        DATES[0],
        "--end",
        DATES[-1],
        "--records",
        "games",
        "--table",
        "games",
        "--upsert-key",
        "id",
        "--paginate",
        "page",
        "--page-size",
        "4",
        "--size-param",
        "per_page",
        "--workers",
        str(WORKERS),
    ]
    proc = spawn(root, *args)
    reader = StoreReader(store_url)
    try:

        def done_dates() -> int:
            try:
                ids = reader.job_ids()
            except sa.exc.OperationalError:
                return 0  # the store is being made
            return len(reader.keys_with(ids[0], "done")) if ids else 0

        wait_until(lambda: done_dates() >= 12, timeout=60, what="12 dates done", proc=proc)
        proc.signal(signal.SIGKILL)
        proc.wait()
        job = reader.job_ids()[0]
        done = reader.keys_with(job, "done")
        assert 12 <= len(done) < len(DATES), "the kill landed after the run"
        resumed = spawn(root, "jobs", "resume", job)
        assert resumed.wait(timeout=60) == 0, resumed.describe()
        assert reader.keys_with(job, "done") == set(DATES)
    finally:
        reader.close()
        ENGINES.dispose()

    # Items done before the kill: not one page fetched again.
    for day in done:
        for page in (1, 2, 3):
            assert feed.ok[(day, page)] == 1, (day, page)
    # Items in flight at the kill: at most the one page each was fetching comes again.
    again = sum(n - 1 for n in feed.ok.values() if n > 1)
    assert again <= WORKERS, f"{again} pages fetched twice"
    rows = query(wh, "SELECT count(*), count(DISTINCT id), count(DISTINCT _item_key) FROM games")
    assert rows == [(len(DATES) * GAMES, len(DATES) * GAMES, len(DATES))]
