"""The pieces of collect against the real test server: every pagination style, the public HTTP
client with Retry-After, templates and secret masking."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from collect_feed import Feed, games_of, serving
from collect_helpers import by, query, sqlite_project

import batchyard
from batchyard.collect import templates
from batchyard.collect.client import HttpClient
from batchyard.collect.ratelimit import RateLimit
from batchyard.errors import HttpError, ParamError


@pytest.fixture
def proj(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project(tmp_path)


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serving(retry_after="0.3") as running:
        yield running


STYLES = {
    "offset": ["--paginate", "offset", "--page-size", "4"],
    "cursor": ["--paginate", "cursor", "--page-param", "after", "--cursor-path", "paging.after"],
    "linked": ["--paginate", "next"],
    "nextbody": ["--paginate", "next", "--next-path", "next"],
}


@pytest.mark.parametrize("style", list(STYLES))
def test_every_pagination_style_fetches_each_page_once(proj: Path, feed: Feed, style: str) -> None:
    by(
        proj,
        "collect",
        f"{feed.url}/{style}?date={{date}}",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-02",
        "--records",
        "data.rows",
        "--table",
        "rows",
        "--upsert-key",
        "id",
        *STYLES[style],
    )
    wh = f"sqlite:///{proj / 'wh.db'}"
    ids = sorted(r[0] for r in query(wh, "SELECT id FROM rows"))
    assert ids == sorted(str(g["id"]) for d in ("2024-06-01", "2024-06-02") for g in games_of(d))
    assert dict(feed.ok) == {(d, p): 1 for d in ("2024-06-01", "2024-06-02") for p in (1, 2, 3)}


def test_a_key_the_next_link_repeats_is_not_kept_in_the_checkpoint(proj: Path, feed: Feed) -> None:
    key = "k3y-0f-the-feed"
    feed.broken.add(("2024-06-01", 2))
    by(
        proj,
        "collect",
        f"{feed.url}/nextbody?date={{date}}",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-01",
        "--query-env",
        "key=FEED_KEY",
        "--records",
        "data.rows",
        "--table",
        "rows",
        "--upsert-key",
        "id",
        *STYLES["nextbody"],
        "--retries",
        "0",
        env={"FEED_KEY": key},
        code=1,
    )
    with batchyard.Batchyard(root=proj) as app:
        (job,), _ = app.jobs()
        (item,), _ = app.items(job.id)
        assert item.status.value == "failed" and item.cursor["pages"] == 1
        assert key not in str(item.cursor)
        feed.fix()
        by(proj, "jobs", "retry", job.id, env={"FEED_KEY": key})
    # The retry (a new job: page 1 again) sends the key, from the environment, on every page.
    assert dict(feed.ok) == {("2024-06-01", 1): 2, ("2024-06-01", 2): 1, ("2024-06-01", 3): 1}
    assert feed.keys == [key] * 4


def test_http_client_honours_retry_after_and_shares_its_rate(feed: Feed) -> None:
    feed.faults[("d", 1)] = ["429", "503"]
    with batchyard.http_client(rate=20, retries=3, backoff=0.01) as client:
        t0 = time.monotonic()
        response = client.get(feed.url + "/games", params={"date": "d", "page": 1})
        waited = time.monotonic() - t0
        assert response.status_code == 200 and response.json()["page"] == 1
        assert waited >= 0.3  # the Retry-After of the 429
        assert (client.requests, client.retried) == (3, 2)

        with pytest.raises(HttpError) as info:
            client.get(feed.url + "/missing/x", params={"token": "abcdef123"})
        assert info.value.status == 404
        assert "token=***" in str(info.value) and "abcdef123" not in str(info.value)

        feed.times.clear()
        threads = [
            threading.Thread(target=client.get, args=(feed.url + f"/games?date=t{i}",))
            for i in range(8)
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        times = sorted(feed.times)
        assert (len(times) - 1) / (times[-1] - times[0]) <= 20 * 1.05


def test_network_errors_are_retried_then_fail_with_the_url() -> None:
    client = HttpClient(retries=2, backoff=0.01, timeout=0.5, secrets=["s3cr3t-value"])
    with pytest.raises(HttpError) as info:
        client.get("http://127.0.0.1:9/feed?key=s3cr3t-value")
    assert "after 3 attempt(s)" in str(info.value)
    assert "http://127.0.0.1:9/feed?key=***" in str(info.value)
    assert client.requests == 3


def test_rate_limit_spaces_requests_and_defers_for_everyone() -> None:
    limit = RateLimit(100)
    t0 = time.monotonic()
    for _ in range(11):
        limit.acquire()
    assert time.monotonic() - t0 >= 0.099
    limit.defer(0.2)
    t1 = time.monotonic()
    limit.acquire()
    assert time.monotonic() - t1 >= 0.19


def test_a_thread_that_wakes_late_does_not_bunch_requests() -> None:
    # A slot is granted when a thread is ready to send, not reserved before it sleeps: a
    # thread held up past its slot must not send alongside one that came later.
    read: dict[int, float] = {}

    def clock() -> float:
        # The last reading a thread made when acquire() returns is the moment of its grant.
        read[threading.get_ident()] = now = time.monotonic()
        return now

    limit = RateLimit(10, clock=clock)
    granted: list[float] = []
    stalling, other_sent = threading.Event(), threading.Event()

    def stalled() -> bool:
        stalling.set()
        other_sent.wait(30)  # as if descheduled while it waited, until another thread has sent
        return False

    def late() -> None:
        limit.acquire(stalled)
        granted.append(read[threading.get_ident()])

    limit.acquire()
    granted.append(read[threading.get_ident()])
    thread = threading.Thread(target=late)
    thread.start()
    assert stalling.wait(30)  # the late thread waits for its slot, and stalls
    limit.acquire()  # this thread takes the slot the late one slept through
    granted.append(read[threading.get_ident()])
    other_sent.set()
    thread.join(30)
    assert len(granted) == 3
    gaps = [b - a for a, b in zip(sorted(granted), sorted(granted)[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-6, gaps


def test_secret_headers_do_not_follow_a_redirect_to_another_host() -> None:
    # As httpx drops Authorization, a header carrying a secret is not sent to another origin.
    with serving() as first, serving() as other:
        secrets = ["k3y-s3cr3t", "t0ken-s3cr3t"]
        headers = {"X-RapidAPI-Key": secrets[0], "X-Api-Key": secrets[1], "X-Trace": "on"}
        with HttpClient(headers=headers, secrets=secrets) as client:
            same = client.get(f"{first.url}/redirect?to=/games%3Fdate%3D2024-06-01")
            away = client.get(f"{first.url}/redirect?to={other.url}/games%3Fdate%3D2024-06-02")
        assert same.json()["date"] == "2024-06-01" and away.json()["date"] == "2024-06-02"
        sent = {k.lower(): v for k, v in other.headers[-1].items()}
        assert "x-rapidapi-key" not in sent and "x-api-key" not in sent
        assert sent["x-trace"] == "on"
        assert {k.lower(): v for k, v in first.headers[-1].items()}["x-rapidapi-key"] == secrets[0]


def test_templates_format_dates_and_keep_types() -> None:
    variables = {"date": date(2024, 6, 1), "season": 2024, "page": 2}
    assert templates.render("/{date:%Y%m%d}/p{page}", variables) == "/20240601/p2"
    body = {"season": "{season}", "day": "{date}", "q": ["s{season}"]}
    assert templates.render_value(body, variables) == {
        "season": 2024,
        "day": "2024-06-01",
        "q": ["s2024"],
    }
    with pytest.raises(ParamError, match=r"body\.q\[0\]: unknown template variable \{team\}"):
        templates.check({"body": {"q": ["{team}"]}}, {"season"})
    with pytest.raises(ParamError, match="literal brace"):
        templates.check({"url": "/x/{"}, {"season"})


def test_keys_from_a_file_and_a_grid(proj: Path, feed: Feed) -> None:
    keys = proj / "players.txt"
    keys.write_text("# players\nd1\n\nd2\n", encoding="utf-8")
    by(
        proj,
        "collect",
        feed.url + "/games?date={key}-{season}-{team}&per_page=10",
        "--keys-file",
        str(keys),
        "--grid",
        "season=2023,2024",
        "--grid",
        "team=NYY,BOS",
        "--records",
        "games",
        "--table",
        "g",
        "--add",
        "season={season}",
    )
    wh = f"sqlite:///{proj / 'wh.db'}"
    items = sorted(r[0] for r in query(wh, "SELECT DISTINCT _item_key FROM g"))
    assert items == sorted(
        f"{k}/season={s}/team={t}"
        for k in ("d1", "d2")
        for s in (2023, 2024)
        for t in ("NYY", "BOS")
    )
    assert ("d1-2023-NYY", 1) in feed.hits
    assert query(wh, "SELECT count(*), count(DISTINCT season) FROM g") == [(80, 2)]


def test_a_request_that_cannot_be_sent_is_not_retried(feed: Feed) -> None:
    """A URL httpx cannot fetch, or a header it cannot send, fails at once: no retry can fix it."""
    with HttpClient(retries=5, backoff=60) as client:
        for url, headers in (
            ("file:///etc/hostname", None),
            ("ftp://127.0.0.1/x", None),
            (feed.url + "/games?date=2024-06-01", {"X-Key": "a\r\nX-Injected: 1"}),
        ):
            with pytest.raises(HttpError, match="not retried"):
                client.get(url, headers=headers)
        assert client.retried == 0
    assert feed.hits == {}
