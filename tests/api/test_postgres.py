"""The API over a PostgreSQL store behaves as over SQLite: jobs run, list, page and stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apihelp import Client, finished, live_server, make_project
from fastapi import FastAPI
from test_events import events

from batchyard.api import ServeOptions, create_app
from batchyard.db import ENGINES


@pytest.fixture
def pg_app(tmp_path: Path, pg_database: str) -> Iterator[FastAPI]:
    root = make_project(tmp_path / "project")
    toml = (root / "batchyard.toml").read_text()
    (root / "batchyard.toml").write_text(
        toml.replace('url = "sqlite:///.batchyard/store.db"', f'url = "{pg_database}"')
    )
    app = create_app(root=root, options=ServeOptions(max_jobs=2))
    try:
        yield app
    finally:
        app.state.service.close()
        ENGINES.dispose()


def test_jobs_on_a_postgresql_store(pg_app: FastAPI) -> None:
    client = Client(pg_app)
    ids = []
    for env, fail in (("a", []), ("b", [1])):
        response = client.post(
            "/api/jobs",
            json={
                "kind": "slow",
                "params": {"n": 4, "sleep": 0, "fail": fail},
                "env": env,
                "tags": ["pg"],
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    assert [client.wait_job(i, finished)["status"] for i in ids] == ["completed", "partial"]
    page = client.get("/api/jobs", params={"tag": "pg", "q": "%", "limit": 1}).json()
    assert page["total"] == 0
    page = client.get("/api/jobs", params={"tag": "pg", "limit": 1}).json()
    assert page["total"] == 2 and page["jobs"][0]["id"] == ids[1]
    failed = client.get(f"/api/jobs/{ids[1]}/items", params={"status": "failed"}).json()
    assert [i["key"] for i in failed["items"]] == ["1"]
    items = client.get(f"/api/jobs/{ids[0]}/items", params={"limit": 2, "offset": 2}).json()
    assert (items["total"], [i["key"] for i in items["items"]]) == (4, ["2", "3"])
    stats = client.get("/api/statistics").json()
    assert stats["by_env"] == {"a": 1, "b": 1} and stats["throughput"]["jobs_finished"] == 2
    assert client.get(f"/api/jobs/{ids[0]}/items", params={"status": "x\x00"}).status_code == 422
    for name in ("kind", "env", "project", "tag", "q", "parent_id"):
        assert client.get("/api/jobs", params={name: "a\x00b"}).status_code == 422
    assert client.get("/api/jobs/a%00b").status_code == 422
    with live_server(pg_app) as url:
        job = httpx.post(
            f"{url}/api/jobs",
            json={"kind": "slow", "params": {"n": 12, "sleep": 0.1}, "workers": 1},
        ).json()
        stream = events(url, job["id"])
    progress = [data for name, data, _ in stream if name == "progress"]
    assert progress[-1]["done"] == 12 and stream[-1][1]["status"] == "completed"
