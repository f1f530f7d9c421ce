"""What API clients rely on: operation ids that stay put, problem titles written for people, one
status (422) for a bad parameter wherever it is, and the server's access log (one line per
request, nothing secret in it, off with --no-access-log)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from apihelp import PASSWORD, Client, Serve, free_port, make_project

from batchyard import errors
from batchyard.api import ServeOptions, create_app
from batchyard.api.access import masked_target

#: Client generators name their functions after these: changing one breaks their code.
OPERATION_IDS = {
    ("get", "/api/events"): "streamAllEvents",
    ("post", "/api/jobs"): "createJob",
    ("get", "/api/jobs"): "listJobs",
    ("get", "/api/jobs/export"): "exportJobs",
    ("get", "/api/jobs/{job_id}"): "getJob",
    ("delete", "/api/jobs/{job_id}"): "deleteJob",
    ("get", "/api/jobs/{job_id}/progress"): "getJobProgress",
    ("get", "/api/jobs/{job_id}/items"): "listJobItems",
    ("get", "/api/jobs/{job_id}/log"): "getJobLog",
    ("get", "/api/jobs/{job_id}/events"): "streamJobEvents",
    ("post", "/api/jobs/{job_id}/cancel"): "cancelJob",
    ("post", "/api/jobs/{job_id}/pause"): "pauseJob",
    ("post", "/api/jobs/{job_id}/resume"): "resumeJob",
    ("post", "/api/jobs/{job_id}/retry"): "retryJob",
    ("get", "/api/jobs/{job_id}/export"): "exportJob",
    ("get", "/api/jobs/{job_id}/report"): "getJobReport",
    ("post", "/api/batch/pipelines/bulk-execute"): "bulkExecutePipelines",
    ("post", "/api/batch/data/bulk-generate"): "bulkGenerateData",
    ("post", "/api/batch/projects/multi-validate"): "multiValidate",
    ("post", "/api/batch/metadata/bulk-extract"): "bulkExtractMetadata",
    ("get", "/api/schedules"): "listSchedules",
    ("get", "/api/schedules/{schedule_id}"): "getSchedule",
    ("get", "/api/schedules/{schedule_id}/next"): "listScheduleTimes",
    ("get", "/api/schedules/{schedule_id}/runs"): "listScheduleRuns",
    ("post", "/api/schedules/{schedule_id}/pause"): "pauseSchedule",
    ("post", "/api/schedules/{schedule_id}/resume"): "resumeSchedule",
    ("get", "/api/statistics"): "getStatistics",
    ("get", "/api/statistics/timeline"): "getStatisticsTimeline",
    ("get", "/api/kinds"): "listKinds",
    ("get", "/api/kinds/{name}"): "getKind",
    ("get", "/api/pipelines"): "listPipelines",
    ("get", "/api/connections"): "listConnections",
    ("get", "/api/health"): "getHealth",
    ("get", "/metrics"): "getMetrics",
    ("get", "/api/monitors"): "listMonitors",
    ("get", "/api/monitors/{name}"): "getMonitor",
    ("get", "/api/metrics"): "getMetricHistory",
    ("get", "/api/alerts"): "listAlerts",
    ("get", "/api/alerts/channels"): "listAlertChannels",
    ("post", "/api/alerts/channels/{name}/check"): "checkAlertChannel",
    ("get", "/api/alerts/{alert_id}"): "getAlert",
    ("post", "/api/alerts/{alert_id}/acknowledge"): "acknowledgeAlert",
    ("post", "/api/alerts/{alert_id}/silence"): "silenceAlert",
    ("post", "/api/alerts/{alert_id}/resolve"): "resolveAlert",
}


def test_every_operation_has_its_stable_camel_case_id(client: Client) -> None:
    spec = client.get("/api/openapi.json").json()
    got = {
        (method, path): op["operationId"]
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert got == OPERATION_IDS
    assert len(set(got.values())) == len(got)
    for name in got.values():
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", name), name


HUMAN = re.compile(r"[A-Z][a-z]*(?: [a-z0-9]+)*")


def test_every_error_class_has_a_title_for_people() -> None:
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.BatchyardError)
    ]
    assert len(classes) > 20
    for cls in classes:
        # "Not found", never "NotFound": no capital inside, so no class name.
        assert HUMAN.fullmatch(cls.title), (cls.__name__, cls.title)


def _is_problem(response: httpx.Response, status: int, title: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["title"] == title, body
    slug = title.lower().replace(" ", "-")
    assert body["type"] == f"https://batchyard.dev/problems/{slug}", body
    return body


def test_problem_titles_are_phrases_not_class_names(client: Client) -> None:
    _is_problem(client.get("/api/jobs/no-such-job"), 404, "Not found")
    _is_problem(client.get("/api/no/such/route"), 404, "Not found")
    _is_problem(client.get("/api/kinds/nope"), 404, "Not found")
    _is_problem(client.request("PUT", "/api/jobs"), 405, "Method not allowed")
    bad = _is_problem(
        client.post("/api/jobs", json={"kind": "slow", "params": {"n": "many"}}),
        422,
        "Bad parameter",
    )
    assert "NotFound" not in str(bad) and "BodyParamError" not in str(bad)


def test_a_bad_parameter_is_422_naming_it_wherever_it_comes_from(client: Client) -> None:
    """Query, path, body field and a kind's params: the same status, title and shape."""
    cases = [
        (client.get("/api/jobs", params={"limit": "lots"}), "query.limit"),
        (client.get("/api/jobs", params={"limit": 0}), "query.limit"),
        (client.get("/api/jobs", params={"sort": "nope"}), "query.sort"),
        (client.get("/api/jobs/x/items", params={"status": "bogus"}), "query.status"),
        (client.post("/api/jobs", json={"kind": "slow", "workers": 0}), "body.workers"),
        (client.post("/api/jobs", json={"kind": "slow", "params": {"n": "x"}}), "body.params.n"),
        (client.post("/api/jobs", json={"kind": "slow", "params": {"m": 1}}), "body.params.m"),
        (client.post("/api/jobs", json={"kind": "no-such-kind"}), "body.kind"),
        (
            client.post("/api/jobs", json={"kind": "slow", "params": {"n": 1, "sleep": "soon"}}),
            "body.params.sleep",
        ),
    ]
    for response, field in cases:
        body = _is_problem(response, 422, "Bad parameter")
        fields = [e["field"] for e in body["errors"]]  # type: ignore[attr-defined]
        assert any(f.startswith(field) for f in fields), (field, body)
    assert client.get("/api/jobs").json()["total"] == 0


def test_the_openapi_document_says_which_status_a_bad_parameter_gets(client: Client) -> None:
    spec = client.get("/api/openapi.json").json()
    create = spec["paths"]["/api/jobs"]["post"]["responses"]
    assert "bad parameter" in create["422"]["description"].lower()
    listing = spec["paths"]["/api/jobs"]["get"]["responses"]
    assert "422" in listing


# -- the access log --------------------------------------------------------------------------------

TOKEN = "tok-" + "9" * 24


def test_access_lines_mask_secrets_in_queries() -> None:
    line = masked_target(
        "/api/jobs",
        f"q=abc&token={TOKEN}&api_key=k3y-value&connection=postgresql%3A%2F%2Fu%3A{PASSWORD}%40h%2Fdb",
        TOKEN,
    )
    assert TOKEN not in line and "k3y-value" not in line and PASSWORD not in line, line
    assert line.startswith("/api/jobs?q=abc&token=***&api_key=***&connection=postgresql"), line
    assert masked_target(f"/api/jobs/{TOKEN}", "", TOKEN) == "/api/jobs/***"
    # A line break sent in the query stays escaped: it cannot start a second log line.
    assert "\n" not in masked_target("/api/jobs", "q=a%0AINFO%20forged", None)


def test_the_access_log_has_one_line_per_request(
    api_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(root=api_project, options=ServeOptions(max_jobs=1, token=TOKEN))
    client = Client(app, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with caplog.at_level(logging.INFO, logger="batchyard.access"):
            client.get("/api/jobs", params={"status": "running", "token": TOKEN})
            client.get("/api/jobs/nope")
            client.post("/api/jobs", json={"kind": "slow", "params": {"password": PASSWORD}})
    finally:
        app.state.service.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "batchyard.access"]
    assert len(lines) == 3, lines
    assert re.fullmatch(
        r'127\.0\.0\.1 "GET /api/jobs\?status=running&token=\*\*\* HTTP/1\.1" 200 \d+B [\d.]+ms',
        lines[0],
    ), lines[0]
    assert '"GET /api/jobs/nope HTTP/1.1" 404 ' in lines[1], lines[1]
    assert '"POST /api/jobs HTTP/1.1" 422 ' in lines[2], lines[2]
    text = "\n".join(lines)
    assert TOKEN not in text and PASSWORD not in text and "Bearer" not in text


@pytest.mark.slow
def test_serve_writes_the_access_log_unless_told_not_to(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    outputs = {}
    for flags in ((), ("--no-access-log",)):
        server = Serve(root, free_port(), *flags, env={"BATCHYARD_TOKEN": TOKEN})
        try:
            server.wait_ready()
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert httpx.get(f"{server.url}/api/kinds", headers=auth).status_code == 200
            query = {"q": "x", "token": TOKEN, "password": PASSWORD}
            httpx.get(f"{server.url}/api/jobs", params=query, headers=auth)
        finally:
            server.stop()
        outputs[flags] = server.output()
    logged = outputs[()]
    lines = [line for line in logged.splitlines() if "batchyard.access" in line]
    # wait_ready's polls of /api/health are requests too: one line each.
    assert any('"GET /api/kinds HTTP/1.1" 200' in line for line in lines), logged
    assert any('"GET /api/jobs?q=x&token=***&password=*** HTTP/1.1" 200' in line for line in lines)
    assert sum('"GET /api/jobs?' in line for line in lines) == 1, lines
    assert TOKEN not in logged and PASSWORD not in logged
    assert "uvicorn.access" not in logged and '- "GET' not in logged  # not uvicorn's lines too
    quiet = outputs[("--no-access-log",)]
    assert "batchyard.access" not in quiet and "/api/kinds" not in quiet, quiet
