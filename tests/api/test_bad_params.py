"""Params that cannot work are a 4xx naming them, before any job is made (and so before any
request, thread or write): collect's rate, timeout, URL, headers, target and concurrency, the
workers of a job, and every item of a bulk request."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from apihelp import Client, finished

COLLECT = {"url": "http://127.0.0.1:9/x?d={key}", "keys": ["a"], "table": "t"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"rate": -1}, "rate", "greater than 0"),
        ({"rate": 0}, "rate", "greater than 0"),
        ({"timeout": 0}, "timeout", "greater than 0"),
        ({"concurrency": 2000}, "concurrency", "less than or equal to 64"),
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
        ({"request_retries": -1}, "request_retries", "greater than or equal to 0"),
        ({"url": "file://{project}/x.json"}, "url", "http:// or https://"),
        ({"url": "127.0.0.1/x?d={key}"}, "url", "http:// or https://"),
        ({"headers": {"X-A": "1\r\nX-Injected: 2"}}, "headers", "line break"),
        ({"connection": "mysql://x/y"}, "connection", "batchyard speaks"),
        ({"connection": f"postgresql://u@127.0.0.1:{_closed_port()}/db"}, "connection", "connect"),
    ],
)
def test_collect_params_that_cannot_work_are_refused_up_front(
    client: Client, api_project: Path, change: dict[str, object], field: str, says: str
) -> None:
    if change.get("url") == "file://{project}/x.json":  # a file inside the project, even so
        change = {"url": f"file://{api_project.resolve()}/x.json"}
    response = client.post("/api/jobs", json={"kind": "collect", "params": {**COLLECT, **change}})
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert says in body["detail"], body
    assert body["errors"][0]["field"] == f"body.params.{field}", body
    assert client.get("/api/jobs").json()["total"] == 0


def test_workers_past_the_limit_are_422(client: Client) -> None:
    for workers in (0, 65, 100_000):
        response = client.post(
            "/api/jobs", json={"kind": "slow", "params": {"n": 1}, "workers": workers}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body.workers"
    ok = client.post("/api/jobs", json={"kind": "slow", "params": {"n": 1}, "workers": 64})
    assert ok.status_code == 201, ok.text
    client.wait_job(ok.json()["id"], finished)


def test_multi_validate_checks_every_item_before_making_any_job(
    client: Client, api_project: Path
) -> None:
    with sqlite3.connect(api_project / "a.db") as con:
        con.execute("create table people (name text)")
        con.execute("insert into people values ('x')")
    (api_project / "rules.yaml").write_text(
        "suite: people\ntables:\n  people:\n    - {rule: not_null, column: name}\n"
    )
    for second, says in (
        ({"target": "a.db", "rules": "missing.yaml"}, "missing.yaml"),
        ({"target": "nothing-here.db", "rules": "rules.yaml"}, "nothing-here.db"),
        ({"target": "a.db", "rules": "rules.yaml", "where": "1=1; DROP TABLE people"}, "where"),
        ({"target": "a.db", "rules": "rules.yaml", "tables": ["nope"]}, "nope"),
    ):
        body = {
            "items": [{"params": {"target": "a.db", "rules": "rules.yaml"}}, {"params": second}]
        }
        response = client.post("/api/batch/projects/multi-validate", json=body)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert says in problem["detail"], problem
        assert problem["errors"], problem
        assert problem["errors"][0]["field"].startswith("body.items.1.params"), problem
        assert client.get("/api/jobs").json()["total"] == 0, second
    with sqlite3.connect(api_project / "a.db") as con:
        assert con.execute("select count(*) from people").fetchone() == (1,)


@pytest.mark.parametrize(
    ("executor", "says"),
    [
        ("dask://[::1]:99999", "the port must be a number from 1 to 65535"),
        ("dask://user:hunter2@127.0.0.1:1", "String should match pattern"),
        ("dask://", "String should match pattern"),
    ],
)
def test_a_scheduler_address_that_cannot_work_is_422(
    client: Client, executor: str, says: str
) -> None:
    response = client.post(
        "/api/jobs", json={"kind": "slow", "params": {"n": 1}, "executor": executor}
    )
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"] and "hunter2" not in response.text
    assert response.json()["errors"][0]["field"] == "body.executor"
    assert client.get("/api/jobs").json()["total"] == 0


def test_a_scheduler_that_does_not_answer_is_the_executor_field(
    client: Client, api_project: Path
) -> None:
    config = api_project / "batchyard.toml"
    config.write_text(config.read_text() + "\n[executor]\nconnect_timeout = 0.5\n")
    executor = f"dask://127.0.0.1:{_closed_port()}"
    response = client.post(
        "/api/jobs", json={"kind": "slow", "params": {"n": 1}, "executor": executor}
    )
    assert response.status_code == 422, response.text
    assert "does not answer" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body.executor"
    assert client.get("/api/jobs").json()["total"] == 0
