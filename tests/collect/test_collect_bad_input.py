"""Bad input to collect: caught before any request (exit 2), or failing just its item."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from collect_feed import Feed, serving
from collect_helpers import as_json, by, job_id, query, sqlite_project


@pytest.fixture
def proj(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project(tmp_path)


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serving() as running:
        yield running


def test_a_bad_template_variable_stops_before_any_request(proj: Path, feed: Feed) -> None:
    result = by(
        proj,
        "collect",
        feed.url + "/games?date={dat}",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-03",
        "--table",
        "games",
        code=2,
    )
    assert "unknown template variable {dat}" in result.stderr
    assert "{date}" in result.stderr and "{year}" in result.stderr
    assert feed.hits == {}
    assert not (proj / ".batchyard").exists()  # nothing recorded

    page = by(
        proj,
        "collect",
        feed.url + "/games",
        "--keys",
        "a,b",
        "-q",
        "p={page}",
        "--table",
        "t",
        code=2,
    )
    assert "unknown template variable {page}" in page.stderr  # no pagination, no {page}
    bad_path = by(
        proj, "collect", feed.url, "--keys", "a", "--records", "games[", "--table", "t", code=2
    )
    assert "records 'games[' is not a valid JMESPath expression" in bad_path.stderr
    body = by(proj, "collect", feed.url, "--keys", "a", "-X", "POST", "--body", "{x", code=2)
    assert "--body is not valid JSON" in body.stderr
    unset = by(
        proj,
        "collect",
        feed.url,
        "--keys",
        "a",
        "--bearer-env",
        "NOPE_VAR",
        "--table",
        "t",
        code=2,
    )
    assert "NOPE_VAR, which is not set" in unset.stderr
    assert feed.hits == {}


def test_4xx_and_empty_paths_fail_their_item_with_masked_url_and_snippet(
    proj: Path, feed: Feed
) -> None:
    env = {"FEED_KEY": "sup3r-secret-key", "FEED_TOKEN": "t0ken-value-xyz"}
    result = by(
        proj,
        "collect",
        feed.url + "/missing/{key}",
        "--keys",
        "a,b",
        "--query-env",
        "api_key=FEED_KEY",
        "--bearer-env",
        "FEED_TOKEN",
        "--table",
        "t",
        code=1,
        env=env,
    )
    job = job_id(result)
    items = as_json(by(proj, "jobs", "items", job, "--failed", "--json"))["items"]
    assert [i["key"] for i in items] == ["a", "b"]
    error = items[0]["error"]
    assert f"GET {feed.url}/missing/a?api_key=***: HTTP 404" in error
    assert "no such feed" in error
    assert feed.hits[("", 1)] == 0  # 404s are not retried
    shown = by(proj, "jobs", "show", job, "--json").stdout
    log = by(proj, "jobs", "log", job).stdout
    for text in (error, shown, log, result.stderr):
        assert "sup3r-secret-key" not in text and "t0ken-value-xyz" not in text
    # The secrets were sent, read from the environment at run time.
    assert feed.headers[-1]["Authorization"] == "Bearer t0ken-value-xyz"
    assert as_json(by(proj, "jobs", "show", job, "--json"))["params"]["bearer_env"] == "FEED_TOKEN"

    nothing = by(
        proj,
        "collect",
        feed.url + "/games?date={date}",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-02",
        "--records",
        "matches",
        "--table",
        "games",
        code=1,
    )
    failed = as_json(by(proj, "jobs", "items", job_id(nothing), "--failed", "--json"))["items"]
    assert len(failed) == 2
    assert "the records path matches selects nothing" in failed[0]["error"]
    assert "HTTP 200" in failed[0]["error"] and "date=2024-06-0" in failed[0]["error"]


def test_landing_zone_and_default_key(proj: Path, feed: Feed) -> None:
    land = proj / "landing"
    args = [
        "collect",
        feed.url + "/games",
        "-q",
        "date={date}",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-02",
        "--records",
        "games",
        "--field",
        "game=id",
        "--field",
        "score=runs",
        "--table",
        "scores",
        "--landing",
        str(land),
        "--paginate",
        "page",
        "--page-size",
        "4",
        "--size-param",
        "per_page",
    ]
    by(proj, *args)
    by(proj, *args)  # a rerun rewrites the same rows
    wh = f"sqlite:///{proj / 'wh.db'}"
    assert query(wh, "SELECT count(*), count(DISTINCT game) FROM scores") == [(20, 20)]
    assert query(wh, "SELECT min(_row), max(_row) FROM scores WHERE _item_key='2024-06-01'") == [
        (0, 9)
    ]
    lines = (land / "2024-06-01.jsonl").read_text().splitlines()
    assert len(lines) == 3  # one a page, rewritten (not appended to) by the rerun
    assert '"page":2' in lines[1] and '"games":[' in lines[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens


def test_targets_and_urls_that_cannot_work_are_refused_before_any_request(
    proj: Path, feed: Feed
) -> None:
    base = [feed.url + "/games?date={date}", "--start", "2024-06-01", "--end", "2024-06-02"]
    cases = [
        (["--table", "games", "--to", "mysql://x/y"], "mysql://x/y"),
        (
            ["--table", "games", "--to", f"postgresql://u@127.0.0.1:{_closed_port()}/db"],
            "cannot connect",
        ),
        (["--table", "games", "--to", "postgresql://u@127.0.0.1:1/db", "-w", "65"], "--workers"),
        (["--table", "games", "-H", "X-A=1\r\nX-Injected: 2"], "line break"),
        (["--table", "games", "-H", "X A=1"], "header name"),
    ]
    for extra, says in cases:
        result = by(proj, "collect", *base, *extra, code=2)
        assert says in result.stderr, (extra, result.stderr)
        assert "--to" in result.stderr or "--to" not in extra or says == "--workers", result.stderr
    for url, says in (
        ("127.0.0.1/games?date={date}", "http:// or https://"),
        ("file:///etc/hostname?d={date}", "http:// or https://"),
        ("ftp://127.0.0.1/games?date={date}", "http:// or https://"),
        ("http:///games?date={date}", "no host"),
    ):
        result = by(proj, "collect", url, "--start", "2024-06-01", "--end", "2024-06-02",
                    "--table", "games", code=2)  # fmt: skip
        assert says in result.stderr and "url" in result.stderr, (url, result.stderr)
    assert feed.hits == {}
    assert not (proj / ".batchyard").exists()  # no job was recorded
    assert not (proj / "wh.db").exists()


def test_collect_params_out_of_range_are_refused_up_front(proj: Path, feed: Feed) -> None:
    (proj / "pipelines").mkdir()
    base = f"kind: collect\nparams:\n  url: {feed.url}/games?date={{key}}\n  keys: [a]\n"
    for name, value, says in (
        ("rate", "-1", "greater than 0"),
        ("timeout", "0", "greater than 0"),
        ("concurrency", "2000", "less than or equal to 64"),
        ("request_retries", "-1", "greater than or equal to 0"),
        ("max_pages", "0", "greater than or equal to 1"),
    ):
        (proj / "pipelines" / "bad.yaml").write_text(
            base + f"  table: games\n  {name}: {value}\n", encoding="utf-8"
        )
        result = by(proj, "collect", "bad", code=2)
        assert f"param '{name}'" in result.stderr and says in result.stderr, result.stderr
    assert feed.hits == {}


def test_a_keys_query_reads_and_never_writes(proj: Path, feed: Feed) -> None:
    source = proj / "keys.db"
    with sqlite3.connect(source) as con:
        con.execute("create table players (k text)")
        con.executemany("insert into players values (?)", [("a",), ("b",)])
    url = feed.url + "/games?date={key}"
    found = by(proj, "collect", url, "--keys-query", "SELECT k FROM players ORDER BY k",
               "--keys-from", str(source), "--table", "games", "--missing", "--json")  # fmt: skip
    assert as_json(found)["missing"] == ["a", "b"]
    for sql in ("DELETE FROM players RETURNING k", "UPDATE players SET k = 'x' RETURNING k"):
        result = by(proj, "collect", url, "--keys-query", sql, "--keys-from", str(source),
                    "--table", "games", code=2)  # fmt: skip
        assert "keys_query" in result.stderr and "readonly" in result.stderr, result.stderr
    with sqlite3.connect(source) as con:
        assert con.execute("select k from players order by k").fetchall() == [("a",), ("b",)]
    assert feed.hits == {}
