"""What the dashboard needs from the API: the page at ``/`` with its own routes, the live list of
unfinished jobs, a validation job's report, and statistics over time."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelp import Client, finished, live_server
from fastapi import FastAPI

from batchyard.api import ServeOptions, create_app, dashboard


def test_without_a_build_every_page_says_how_to_build_it(
    api_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "STATIC", tmp_path / "no-build")
    client = Client(create_app(root=api_project))
    for path in ("/", "/jobs/some_job", "/history"):
        page = client.get(path)
        assert page.status_code == 503
        assert "The dashboard is not built" in page.text and "make frontend" in page.text
    assert client.get("/api/health").status_code == 200


def test_the_page_and_its_routes_load_index_html_and_the_api_keeps_its_answers(
    api_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = tmp_path / "build"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text("<!doctype html><title>batchyard</title><div id=root>")
    (build / "assets" / "app-1a2b.js").write_text("console.log(1)")
    monkeypatch.setattr(dashboard, "STATIC", build)
    client = Client(create_app(root=api_project, options=ServeOptions(token="t" * 20)))
    for path in ("/", "/jobs/generate_dev_20240101_000000_abcdef", "/history?status=failed"):
        page = client.get(path)
        assert page.status_code == 200, path  # the page itself needs no token
        assert "<div id=root>" in page.text and page.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/app-1a2b.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    # The API is not shadowed: its 401, 404 and 405 stay problem documents.
    assert client.get("/api/jobs").status_code == 401
    headers = {"Authorization": "Bearer " + "t" * 20}
    missing = client.get("/api/no-such-route", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.request("PUT", "/api/jobs", headers=headers).status_code == 405
    assert client.get("/metrics/x").status_code == 404
    assert client.get("/metrics", headers=headers).status_code == 200
    assert client.post("/jobs/x").status_code in (404, 405)
    docs = client.get("/docs")
    assert docs.status_code == 307 and docs.headers["location"] == "/api/docs"


def read_events(url: str, stop: threading.Event, out: list[tuple[str, Any]]) -> None:
    name = ""
    with httpx.stream("GET", f"{url}/api/events", timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[len("data: ") :])))
            if stop.is_set():
                return


@pytest.mark.slow
def test_the_live_list_follows_unfinished_jobs_until_they_end(api_app: FastAPI) -> None:
    got: list[tuple[str, Any]] = []
    stop = threading.Event()
    with live_server(api_app) as url:
        reader = threading.Thread(target=read_events, args=(url, stop, got), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not got:  # the stream is open and has said what is active before the job exists
            assert time.monotonic() < deadline, "no event from /api/events"
            time.sleep(0.02)
        job = httpx.post(
            f"{url}/api/jobs", json={"kind": "slow", "params": {"n": 12, "sleep": 0.1}}
        ).json()
        deadline = time.monotonic() + 30
        while not any(n == "finished" and d["id"] == job["id"] for n, d in got):
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
        stop.set()
    assert got[0] == ("active", {"jobs": []})
    seen = [
        j for name, data in got if name == "active" for j in data["jobs"] if j["id"] == job["id"]
    ]
    assert seen and {j["status"] for j in seen} >= {"running"}
    done = [j["live"]["done"] for j in seen]
    assert done == sorted(done) and len(set(done)) >= 2  # progress moved while we watched
    assert all(j["live"]["job_id"] == job["id"] for j in seen)
    ended = [d for n, d in got if n == "finished"]
    assert [d["id"] for d in ended] == [job["id"]] and ended[0]["status"] == "completed"


def test_a_validate_job_has_a_report_with_its_suite_history(
    client: Client, api_app: FastAPI, api_project: Path
) -> None:
    if "validate" not in api_app.state.service.app.registry:
        pytest.skip("this batchyard has no validate kind")
    with sqlite3.connect(api_project / "people.db") as con:
        con.execute("create table people (name text, age int)")
        con.executemany("insert into people values (?, ?)", [("x", 1), (None, 2), ("z", 300)])
    (api_project / "rules.yaml").write_text(
        "suite: people\ntables:\n  people:\n"
        "    - {rule: not_null, column: name}\n"
        "    - {rule: between, column: age, min: 0, max: 120, fix: Check the birth year.}\n"
    )
    ids = []
    for _ in range(2):
        job = client.post(
            "/api/jobs",
            json={"kind": "validate", "params": {"target": "people.db", "rules": "rules.yaml"}},
        ).json()
        ids.append(client.wait_job(job["id"], finished)["id"])
    report = client.get(f"/api/jobs/{ids[1]}/report")
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["suite"] == "people" and data["status"] == "completed"
    assert data["score"] == 0.0 and data["counts"]["fail"] == 2
    rules = {r["rule"]: r for r in data["tables"][0]["rules"]}
    assert rules["between"]["failing"] == 1 and rules["between"]["fix"] == "Check the birth year."
    assert rules["between"]["samples"]  # the failing row, to show
    assert data["result"]["passed"] is False
    assert data["trend"]["job"] == ids[0] and data["trend"]["delta"] == 0.0
    assert [p["job"] for p in data["history"]] == ids
    other = client.post("/api/jobs", json={"kind": "slow", "params": {"n": 1}}).json()
    refused = client.get(f"/api/jobs/{other['id']}/report")
    assert refused.status_code == 404 and "only validate jobs" in refused.json()["detail"]


def test_statistics_over_time_sum_finished_jobs_per_bucket_kind_and_env(client: Client) -> None:
    made = [
        client.post(
            "/api/jobs",
            json={"kind": "slow", "params": {"n": n, "sleep": 0.01, "fail": fail}, "env": env},
        ).json()
        for n, fail, env in ((3, [], "dev"), (4, [1], "dev"), (2, [], "prod"))
    ]
    for job in made:
        client.wait_job(job["id"], finished)
    answer = client.get("/api/statistics/timeline", params={"window_h": 1, "buckets": 4})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["bucket_s"] == 900
    points = {(p["kind"], p["env"]): p for p in data["points"]}
    assert set(points) == {("slow", "dev"), ("slow", "prod")}
    dev = points[("slow", "dev")]
    assert (dev["jobs"], dev["completed"], dev["partial"]) == (2, 1, 1)
    assert dev["success_rate"] == 0.5 and dev["items_done"] == 6
    assert dev["duration_p50_s"] is not None and dev["items_per_s"] > 0
    only_prod = client.get("/api/statistics/timeline", params={"window_h": 1, "env": "prod"})
    assert [p["env"] for p in only_prod.json()["points"]] == ["prod"]
    assert client.get("/api/statistics/timeline", params={"buckets": 0}).status_code == 422


def test_bulk_generate_plants_defects_when_asked(client: Client, api_project: Path) -> None:
    response = client.post(
        "/api/batch/data/bulk-generate",
        json={"items": [{"schema": "retail", "rows": 300, "inject_errors": 0.05}]},
    )
    assert response.status_code == 201, response.text
    job = response.json()["jobs"][0]
    assert job["params"]["inject_errors"] == 0.05
    assert client.wait_job(job["id"], finished, timeout=60)["status"] == "completed"
    assert list(api_project.glob("retail*manifest*")), list(api_project.iterdir())
    too_many = client.post(
        "/api/batch/data/bulk-generate",
        json={"items": [{"schema": "retail", "rows": 300, "inject_errors": 0.9}]},
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "body.items.0.inject_errors"


THRESHOLDS = """\
metrics:
  - name: bets
    type: row_count
    connection: warehouse
    table: bets
    thresholds:
      - {below: 10, level: fail}
      - {outside: [1, 1000], level: warn}
      - {compare: change_pct, below: -50, level: fail}
  - name: stakes
    type: null_rate
    connection: warehouse
    table: bets
    columns: [stake]
    thresholds:
      - {above: 5, level: warn}
  - name: landing
    type: file_count
    path: landing
    thresholds:
      - {below: 1, level: fail, value: bytes}
"""


def test_a_monitors_series_carry_the_thresholds_its_chart_draws(
    client: Client, api_project: Path
) -> None:
    with sqlite3.connect(api_project / "warehouse.db") as con:
        con.execute("CREATE TABLE bets (stake REAL)")
        con.executemany("INSERT INTO bets VALUES (?)", [(1.0,), (None,), (2.0,)])
    con.close()
    (api_project / "landing").mkdir()
    (api_project / "landing" / "a.json").write_text("{}")
    (api_project / "monitors").mkdir()
    (api_project / "monitors" / "bets.yaml").write_text(THRESHOLDS)
    job = client.post("/api/jobs", json={"kind": "monitor", "params": {"monitors": ["bets"]}})
    assert job.status_code == 201, job.text
    client.wait_job(job.json()["id"], finished)

    (monitor,) = client.get("/api/monitors").json()
    series = {(o["metric"], json.dumps(o["labels"])): o for o in monitor["latest"]}
    bets = series[("bets.rows", "{}")]
    assert bets["value"] == 3 and bets["status"] == "fail"
    # The change threshold judges no line of the chart; the others do, with their words.
    assert [(t["level"], t["below"], t["outside"]) for t in bets["thresholds"]] == [
        ("fail", 10.0, None),
        ("warn", None, [1.0, 1000.0]),
    ]
    assert bets["thresholds"][0]["text"] == "fail: below 10"
    stake = series[("stakes.null_pct", json.dumps({"column": "stake"}))]
    assert [(t["level"], t["above"]) for t in stake["thresholds"]] == [("warn", 5.0)]
    # A threshold on another value than the main one goes with that value's series only.
    assert series[("landing.files", "{}")]["thresholds"] == []
    assert [t["below"] for t in series[("landing.bytes", "{}")]["thresholds"]] == [1.0]
    assert client.get("/api/monitors/bets").json()["latest"] == monitor["latest"]
