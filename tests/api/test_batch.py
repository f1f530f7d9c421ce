"""``/api/batch``: bulk-execute pipelines, bulk-generate data, multi-validate, bulk-extract."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from apihelp import Client, finished
from fastapi import FastAPI

from batchyard.errors import KindMissing


def test_bulk_execute_runs_pipelines_as_one_batch_job(client: Client) -> None:
    response = client.post(
        "/api/batch/pipelines/bulk-execute",
        json={"pipelines": ["quick", "other"], "mode": "sequential", "tags": ["bulk"]},
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["kind"] == "batch" and batch["total"] == 2
    assert batch["params"]["parallel"] == 1
    done = client.wait_job(batch["id"], finished)
    assert done["status"] == "completed", done
    children = client.get("/api/jobs", params={"parent_id": batch["id"]}).json()
    assert children["total"] == 2
    assert sorted(j["done"] for j in children["jobs"]) == [2, 3]
    parallel = client.post(
        "/api/batch/pipelines/bulk-execute",
        json={"pipelines": ["quick", "other"], "max_parallel": 2, "stop_on_error": True},
    ).json()
    assert parallel["params"] == {
        "pipelines": ["quick", "other"],
        "parallel": 2,
        "stop_on_error": True,
    }
    client.wait_job(parallel["id"], finished)


def test_bulk_execute_checks_its_input(client: Client) -> None:
    missing = client.post("/api/batch/pipelines/bulk-execute", json={"pipelines": ["quick", "x"]})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.pipelines.1"
    for body, field in [
        ({"pipelines": []}, "body.pipelines"),
        ({"pipelines": ["quick"], "max_parallel": 11}, "body.max_parallel"),
        ({"pipelines": ["quick"], "max_parallel": 0}, "body.max_parallel"),
        ({"pipelines": ["quick"], "mode": "sideways"}, "body.mode"),
    ]:
        response = client.post("/api/batch/pipelines/bulk-execute", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    assert client.get("/api/jobs").json()["total"] == 0


def test_bulk_generate_makes_one_generate_job_per_item(client: Client, api_project: Path) -> None:
    response = client.post(
        "/api/batch/data/bulk-generate",
        json={"items": [{"schema": "retail", "rows": 300}, {"schema": "sports", "rows": 200}]},
    )
    assert response.status_code == 201, response.text
    jobs = response.json()["jobs"]
    assert [j["kind"] for j in jobs] == ["generate", "generate"]
    assert jobs[0]["params"]["to"] == str(api_project.resolve() / "retail-1.db")
    for job in jobs:
        assert client.wait_job(job["id"], finished, timeout=60)["status"] == "completed"
    with sqlite3.connect(api_project / "retail-1.db") as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
    assert tables and (api_project / "sports-2.db").is_file()


def test_bulk_generate_keeps_files_inside_the_project(client: Client) -> None:
    for to in ("../outside.db", "/tmp/outside.db", "sqlite:////tmp/outside.db"):
        response = client.post(
            "/api/batch/data/bulk-generate",
            json={
                "items": [
                    {"schema": "retail", "rows": 10},
                    {"schema": "retail", "rows": 10, "to": to},
                ]
            },
        )
        assert response.status_code == 422, (to, response.text)
        assert response.json()["errors"][0]["field"] == "body.items.1.params.to"
        assert "outside the project" in response.json()["detail"]
    unknown = client.post(
        "/api/batch/data/bulk-generate", json={"items": [{"schema": "weather", "rows": 10}]}
    )
    assert unknown.status_code == 422  # the schema names the datasets there are
    assert unknown.json()["errors"][0]["field"] == "body.items.0.schema"
    assert client.get("/api/jobs").json()["total"] == 0  # all or nothing


def test_multi_validate_runs_the_validate_kind_per_item(
    client: Client, api_app: FastAPI, api_project: Path
) -> None:
    registry = api_app.state.service.app.registry
    body = {
        "items": [
            {"params": {"target": "a.db", "rules": "rules.yaml"}},
            {"params": {"target": "b.db", "rules": "rules.yaml"}},
        ]
    }
    if "validate" not in registry:
        response = client.post("/api/batch/projects/multi-validate", json=body)
        assert response.status_code == 404 and "'validate'" in response.json()["detail"]
        return
    for name, names in (("a", ["x", "y"]), ("b", ["x", None])):
        with sqlite3.connect(api_project / f"{name}.db") as con:
            con.execute("create table people (name text)")
            con.executemany("insert into people values (?)", [(n,) for n in names])
    (api_project / "rules.yaml").write_text(
        "suite: people\ntables:\n  people:\n    - {rule: not_null, column: name}\n"
    )
    response = client.post("/api/batch/projects/multi-validate", json=body)
    assert response.status_code == 201, response.text
    jobs = [client.wait_job(j["id"], finished) for j in response.json()["jobs"]]
    assert [j["kind"] for j in jobs] == ["validate", "validate"]
    # Both jobs ran to their end; the second one's data fails its rules.
    assert [j["status"] for j in jobs] == ["completed", "completed"]
    assert [j["metadata"]["result"]["passed"] for j in jobs] == [True, False]
    outside = client.post(
        "/api/batch/projects/multi-validate",
        json={"items": [{"params": {"target": "a.db", "rules": "../../rules.yaml"}}]},
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.items.0.params.rules"


def test_bulk_extract_runs_the_inspect_kind_per_item(client: Client, api_project: Path) -> None:
    for name in ("a", "b"):
        with sqlite3.connect(api_project / f"{name}.db") as con:
            con.execute(f"create table t_{name} (id integer primary key, v text)")
    response = client.post(
        "/api/batch/metadata/bulk-extract",
        json={
            "items": [{"params": {"sources": ["a.db"]}}, {"params": {"sources": ["b.db"]}}],
            "tags": ["meta"],
        },
    )
    assert response.status_code == 201, response.text
    jobs = [client.wait_job(j["id"], finished) for j in response.json()["jobs"]]
    assert [(j["kind"], j["status"], j["tags"]) for j in jobs] == [
        ("inspect", "completed", ["meta"])
    ] * 2
    assert jobs[0]["params"]["sources"] == [str(api_project.resolve() / "a.db")]
    assert jobs[0]["metadata"]["bulk_request"] == jobs[1]["metadata"]["bulk_request"]
    outside = client.post(
        "/api/batch/metadata/bulk-extract",
        json={"items": [{"params": {"sources": ["a.db"]}}, {"params": {"sources": ["/etc/x.db"]}}]},
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.items.1.params.sources"
    bad = client.post("/api/batch/metadata/bulk-extract", json={"items": [{"params": {"nope": 1}}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.items.0.params.nope"
    assert client.get("/api/jobs").json()["total"] == 2  # the bad requests made nothing


def test_a_kind_this_server_lacks_is_a_clear_problem(api_app: FastAPI) -> None:
    service = api_app.state.service
    with pytest.raises(KindMissing, match="no 'nope' job kind") as caught:
        service.kind_named("nope")
    assert caught.value.http_status == 404
    assert service.kind_named("inspect").name == "inspect"
