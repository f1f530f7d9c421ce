"""``/api/jobs``: create, list, read, steer, delete and export, in process over ASGITransport."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from datetime import datetime
from pathlib import Path

from apihelp import Client, finished


def create(client: Client, **body: object) -> dict[str, object]:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_runs_the_job_on_the_server_and_writes_its_rows(
    client: Client, api_project: Path
) -> None:
    response = client.post(
        "/api/jobs",
        json={"kind": "slow", "params": {"n": 4, "sleep": 0.01}, "tags": ["t1"], "env": "test"},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert (job["kind"], job["env"], job["total"], job["tags"]) == ("slow", "test", 4, ["t1"])
    assert job["metadata"]["submitted_via"] == "api"
    done = client.wait_job(job["id"], finished)
    assert (done["status"], done["done"], done["rows_written"]) == ("completed", 4, 4)
    with sqlite3.connect(api_project / "warehouse.db") as con:
        rows = con.execute("select i, square from rows order by i").fetchall()
    assert rows == [(0, 0), (1, 1), (2, 4), (3, 9)]
    progress = client.get(f"/api/jobs/{job['id']}/progress").json()
    assert (progress["done"], progress["percent"], progress["status"]) == (4, 100.0, "completed")
    log = client.get(f"/api/jobs/{job['id']}/log").json()
    assert any("completed: 4 done" in e["message"] for e in log["events"])
    assert log["next_after"] == log["events"][-1]["id"]


def test_a_pipeline_runs_with_its_saved_params(client: Client) -> None:
    job = create(client, pipeline="quick")
    assert (job["kind"], job["total"], job["name"]) == ("slow", 3, "quick")
    assert client.wait_job(str(job["id"]), finished)["status"] == "completed"


def test_bad_params_name_the_field_and_record_nothing(client: Client) -> None:
    response = client.post("/api/jobs", json={"kind": "slow", "params": {"n": "many"}})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Bad parameter"
    assert problem["errors"][0]["field"] == "body.params.n"
    assert "valid integer" in problem["detail"]
    response = client.post("/api/jobs", json={"kind": "slow", "params": {"m": 1}})
    assert response.status_code == 422 and "has no param 'm'" in response.json()["detail"]
    response = client.post("/api/jobs", json={"kind": "nope"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.kind"
    assert client.get("/api/jobs").json()["total"] == 0


def test_bodies_that_do_not_fit_the_api_are_422_naming_the_field(client: Client) -> None:
    cases = {
        "body": {"kind": "slow", "pipeline": "quick"},
        "body.workers": {"kind": "slow", "workers": 0},
        "body.tags.0": {"kind": "slow", "tags": [5]},
        "body.colour": {"kind": "slow", "colour": "red"},
    }
    for field, body in cases.items():
        response = client.post("/api/jobs", json=body)
        assert response.status_code == 422, (field, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (field, fields)
    response = client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    response = client.get("/api/jobs", params={"limit": 0, "status": "sleeping"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"query.limit", "query.status.0"}


def test_list_filters_sorts_pages_and_counts(client: Client) -> None:
    ids = []
    for n, (env, tag) in enumerate([("a", "x"), ("b", "x"), ("a", "y"), ("a", "x")]):
        job = create(
            client, kind="slow", params={"n": 1, "sleep": 0}, env=env, tags=[tag], name=f"job{n}"
        )
        ids.append(job["id"])
    for job_id in ids:
        client.wait_job(job_id, finished)
    page = client.get("/api/jobs", params={"limit": 2}).json()
    assert page["total"] == 4 and len(page["jobs"]) == 2
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    rest = client.get("/api/jobs", params={"limit": 2, "offset": 2}).json()
    assert [j["id"] for j in rest["jobs"]] == ids[::-1][2:]
    found = client.get("/api/jobs", params={"env": "a", "tag": "x"}).json()
    assert found["total"] == 2 and {j["id"] for j in found["jobs"]} == {ids[0], ids[3]}
    by_name = client.get("/api/jobs", params={"q": "JOB2"}).json()
    assert [j["id"] for j in by_name["jobs"]] == [ids[2]]
    ascending = client.get("/api/jobs", params={"sort": "name", "order": "asc"}).json()
    assert [j["name"] for j in ascending["jobs"]] == ["job0", "job1", "job2", "job3"]
    done = client.get("/api/jobs", params=[("status", "completed"), ("status", "failed")]).json()
    assert done["total"] == 4
    assert client.get("/api/jobs", params={"status": "running"}).json()["total"] == 0
    assert (
        client.get("/api/jobs", params={"kind": "slow", "project": "apitest"}).json()["total"] == 4
    )
    later = client.get("/api/jobs", params={"created_after": "2999-01-01T00:00:00Z"}).json()
    assert later["total"] == 0
    earlier = client.get("/api/jobs", params={"created_before": "2999-01-01T00:00:00Z"}).json()
    assert earlier["total"] == 4
    one = client.get(f"/api/jobs/{str(ids[1])[:-2]}").json()  # a unique prefix works too
    assert one["id"] == ids[1]


def test_items_filter_by_status_and_page(client: Client) -> None:
    job = create(client, kind="slow", params={"n": 6, "sleep": 0, "fail": [1, 4]})
    ended = client.wait_job(str(job["id"]), finished)
    assert (ended["status"], ended["done"], ended["failed"]) == ("partial", 4, 2)
    assert "item 1 was told to fail" in ended["error"]
    failed = client.get(f"/api/jobs/{job['id']}/items", params={"status": "failed"}).json()
    assert failed["total"] == 2 and [i["key"] for i in failed["items"]] == ["1", "4"]
    assert "ValueError" in failed["items"][0]["error"]
    page = client.get(f"/api/jobs/{job['id']}/items", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 6 and [i["key"] for i in page["items"]] == ["2", "3"]
    assert page["items"][0]["result"] == 4


def test_retry_runs_only_the_failed_items_by_default(client: Client) -> None:
    job = create(client, kind="slow", params={"n": 5, "sleep": 0, "fail": [2]})
    client.wait_job(str(job["id"]), finished)
    response = client.post(f"/api/jobs/{job['id']}/retry")
    assert response.status_code == 201, response.text
    retry = response.json()
    assert (retry["retry_of"], retry["total"]) == (job["id"], 1)
    assert client.wait_job(retry["id"], finished)["status"] == "failed"  # item 2 still fails
    items = client.get(f"/api/jobs/{retry['id']}/items").json()
    assert (items["total"], [i["key"] for i in items["items"]]) == (1, ["2"])
    whole = client.post(f"/api/jobs/{job['id']}/retry", json={"failed_only": False}).json()
    assert whole["total"] == 5


def test_pause_resume_cancel_and_delete(client: Client) -> None:
    job = create(client, kind="slow", params={"n": 400, "sleep": 0.05}, workers=1)
    job_id = str(job["id"])
    client.wait_job(job_id, lambda j: j["status"] == "running" and j["done"] >= 1)
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 409 and "cancel it first" in response.json()["detail"]
    assert client.post(f"/api/jobs/{job_id}/pause").status_code == 202
    paused = client.wait_job(job_id, lambda j: j["status"] == "paused")
    assert paused["done"] < 400
    # Its duration stands still while it is paused; the pause is counted apart.
    time.sleep(0.3)
    still = client.get(f"/api/jobs/{job_id}").json()
    assert still["duration_s"] == paused["duration_s"]
    assert still["paused_s"] >= 0.3 and still["queued_s"] is not None
    assert client.post(f"/api/jobs/{job_id}/pause").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 202
    client.wait_job(job_id, lambda j: j["status"] == "running" and j["done"] > paused["done"])
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
    cancelled = client.wait_job(job_id, finished)
    assert cancelled["status"] == "cancelled" and cancelled["cancelled"] > 0
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 409
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    missing = client.get(f"/api/jobs/{job_id}")
    assert missing.status_code == 404 and missing.json()["title"] == "Not found"


def test_export_jobs_and_one_job(client: Client) -> None:
    job = create(client, kind="slow", params={"n": 2, "sleep": 0}, tags=["e"])
    client.wait_job(str(job["id"]), finished)
    as_json = client.get("/api/jobs/export", params={"tag": "e"})
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert [j["id"] for j in as_json.json()] == [job["id"]]
    as_csv = client.get("/api/jobs/export", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["id"] for r in rows] == [job["id"]] and rows[0]["tags"] == '["e"]'
    one = client.get(f"/api/jobs/{job['id']}/export").json()
    assert one["job"]["id"] == job["id"] and [i["key"] for i in one["items"]] == ["0", "1"]
    items_csv = client.get(f"/api/jobs/{job['id']}/export", params={"format": "csv"}).text
    assert [r["key"] for r in csv.DictReader(io.StringIO(items_csv))] == ["0", "1"]
    assert client.get("/api/jobs/export", params={"format": "xml"}).status_code == 422


def test_the_server_runs_no_more_than_max_jobs_at_once(client: Client) -> None:
    ids = [
        str(create(client, kind="slow", params={"n": 6, "sleep": 0.05}, workers=1)["id"])
        for _ in range(3)
    ]
    jobs = [client.wait_job(i, finished, timeout=120) for i in ids]
    assert [j["status"] for j in jobs] == ["completed"] * 3
    # The most jobs that ran at one time, from when each started and finished (reading their
    # statuses one by one could see one finish and the next start between two reads).
    edges = sorted(
        [(datetime.fromisoformat(j["started_at"]), 1) for j in jobs]
        + [(datetime.fromisoformat(j["finished_at"]), -1) for j in jobs]
    )
    running = most = 0
    for _, step in edges:  # at a tie, an end (-1) sorts before a start
        running += step
        most = max(most, running)
    assert 1 <= most <= 2


def test_progress_has_the_figures_per_part_the_cli_shows(client: Client, api_project: Path) -> None:
    # A migrate job reports per table; /progress (and the events stream) carry the same `parts`
    # as `batchyard jobs progress --json`.
    with sqlite3.connect(api_project / "small.db") as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(50)])
    job = create(client, kind="migrate", params={"source": "small.db", "target": "copy.db"})
    assert client.wait_job(str(job["id"]), finished)["status"] == "completed"
    progress = client.get(f"/api/jobs/{job['id']}/progress").json()
    assert [(p["name"], p["total"]) for p in progress["parts"]] == [("t", 50)]


def test_progress_out_has_every_figure_of_a_snapshot() -> None:
    from batchyard.api.models import ProgressOut
    from batchyard.engine.progress import Snapshot

    snap = Snapshot("j", "running", 1, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, None)
    assert set(ProgressOut.model_fields) == {*snap.to_dict(), "recorded_at"}
