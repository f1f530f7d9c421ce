"""Auth off loopback, hostile strings as data, and no password in any response or log line."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from apihelp import PASSWORD, Client, finished, live_server
from fastapi import FastAPI
from typer.testing import CliRunner

from batchyard.api import ServeOptions, create_app
from batchyard.api.options import is_loopback
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.errors import UsageError

TOKEN = "t0ken-for-the-tests-0123456789"

HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE by_jobs; --",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "${HOME}",
    "𝔘ñí©ødé ✓",
    "a\x00b",
    "\r\nX-Injected: 1",
    "null",
    "[]",
    "x" * 200,
    "x" * 201,
]


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, if it has one we can bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent; it picks the outgoing address
            address = str(sock.getsockname()[0])
        except OSError:
            return None
    return None if is_loopback(address) else address


def test_a_non_loopback_server_refuses_to_start_without_a_token(
    api_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATCHYARD_TOKEN", raising=False)
    with pytest.raises(UsageError, match="set BATCHYARD_TOKEN"):
        ServeOptions(host="0.0.0.0").checked()
    with pytest.raises(UsageError, match="too short"):
        ServeOptions(host="0.0.0.0", token="short").checked()
    result = CliRunner().invoke(cli_app, ["-C", str(api_project), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "set BATCHYARD_TOKEN" in result.output
    assert ServeOptions(host="127.0.0.1").checked().token is None
    assert ServeOptions(host="localhost").checked().token is None


def test_requests_without_the_token_are_refused_off_loopback(api_project: Path) -> None:
    host = non_loopback_address()
    # Without such an address, the same dependency is tested with a configured host and token.
    options = ServeOptions(host=host or "0.0.0.0", token=TOKEN)
    app = create_app(root=api_project, options=options)
    try:
        if host is None:
            check_token(Client(app), Client(app, {"Authorization": f"Bearer {TOKEN}"}))
            return
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        with (
            live_server(app, host=host) as url,
            httpx.Client(base_url=url) as anonymous,
            httpx.Client(base_url=url, headers=bearer) as authorised,
        ):
            check_token(anonymous, authorised)
            with pytest.raises(httpx.ConnectError):
                httpx.get(url.replace(host, "127.0.0.1") + "/api/health", timeout=2)
    finally:
        app.state.service.close()
        ENGINES.dispose()


def check_token(anonymous: Client | httpx.Client, authorised: Client | httpx.Client) -> None:
    for method, path in [
        ("GET", "/api/jobs"),
        ("GET", "/api/statistics"),
        ("GET", "/api/connections"),
        ("GET", "/api/kinds"),
        ("GET", "/metrics"),
        ("POST", "/api/jobs"),
        ("DELETE", "/api/jobs/x"),
        ("POST", "/api/batch/pipelines/bulk-execute"),
    ]:
        response = anonymous.request(method, path, json={"kind": "slow"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        wrong = anonymous.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert anonymous.get("/api/health").status_code == 200
    assert authorised.get("/api/jobs").json()["total"] == 0  # the POST above made no job
    assert authorised.get("/api/connections").status_code == 200


@pytest.mark.parametrize("name", ["kind", "env", "project", "tag", "q", "parent_id"])
def test_hostile_strings_in_filters_are_data(client: Client, name: str) -> None:
    job = client.post("/api/jobs", json={"kind": "slow", "params": {"n": 1, "sleep": 0}}).json()
    client.wait_job(job["id"], finished)
    for text in HOSTILE:
        for path in ("/api/jobs", "/api/jobs/export", "/api/statistics"):
            response = client.get(path, params={name: text})
            if len(text) > 200 or "\x00" in text:
                assert response.status_code == 422, (path, text)
                assert response.json()["errors"][0]["field"] == f"query.{name}"
                continue
            assert response.status_code == 200, (path, name, text, response.text)
            if path == "/api/jobs":
                # Only a search for text that is really in the id (such as "_") finds the job.
                literal = name == "q" and text.lower() in job["id"].lower()
                assert response.json()["total"] == int(literal), (name, text)
    assert client.get("/api/jobs").json()["total"] == 1  # nothing was dropped


def test_hostile_strings_in_enums_and_dates_are_422(client: Client) -> None:
    for name in ("status", "sort", "order", "created_after", "created_before", "limit"):
        for text in HOSTILE[:6]:
            response = client.get("/api/jobs", params={name: text})
            assert response.status_code == 422, (name, text)
            assert response.json()["errors"][0]["field"].startswith(f"query.{name}")


def test_hostile_strings_in_path_parameters_are_data(client: Client) -> None:
    paths = [
        ("GET", "/api/jobs/{}"),
        ("GET", "/api/jobs/{}/progress"),
        ("GET", "/api/jobs/{}/items"),
        ("GET", "/api/jobs/{}/log"),
        ("GET", "/api/jobs/{}/events"),
        ("GET", "/api/jobs/{}/export"),
        ("POST", "/api/jobs/{}/cancel"),
        ("POST", "/api/jobs/{}/pause"),
        ("POST", "/api/jobs/{}/resume"),
        ("POST", "/api/jobs/{}/retry"),
        ("DELETE", "/api/jobs/{}"),
        ("GET", "/api/kinds/{}"),
    ]
    for method, template in paths:
        for text in HOSTILE:
            response = client.request(method, template.format(quote(text, safe="")))
            assert response.status_code in (404, 422), (method, template, text, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_passwords_never_appear_in_responses_or_logs(
    client: Client, api_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://app:{PASSWORD}@db.invalid/sales"
    response = client.post(
        "/api/jobs",
        json={"kind": "secretive", "params": {"url": url, "password": PASSWORD}},
    )
    assert response.status_code == 201, response.text
    job = client.wait_job(response.json()["id"], finished)
    assert job["status"] == "completed"
    bad = client.post("/api/jobs", json={"kind": "secretive", "params": {"url": 5, "x": url}})
    assert bad.status_code == 422
    echoed = client.post(
        "/api/jobs", json={"kind": "secretive", "params": {"url": url, "api_key": PASSWORD}}
    )
    assert echoed.status_code == 422 and "param 'api_key'" in echoed.json()["detail"]
    seen = [response.text, bad.text, echoed.text]
    for path in [
        f"/api/jobs/{job['id']}",
        f"/api/jobs/{job['id']}/items",
        f"/api/jobs/{job['id']}/log",
        f"/api/jobs/{job['id']}/export",
        f"/api/jobs/{job['id']}/export?format=csv",
        "/api/jobs",
        "/api/jobs/export",
        "/api/connections",
        "/api/pipelines",
        "/metrics",
    ]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        seen.append(reply.text)
    everything = "\n".join(seen)
    assert "db.invalid" in everything and "***" in everything  # the URLs are there, masked
    assert PASSWORD not in everything
    assert PASSWORD not in caplog.text
    connections = client.get("/api/connections").json()
    assert {c["name"]: c["url"] for c in connections}["reporting"] == (
        "postgresql://report:***@db.invalid/reporting"
    )


@pytest.mark.parametrize(
    ("kind", "params", "name"),
    [
        (
            "collect",
            {"url": "http://127.0.0.1:9/x", "landing": "../outside"},
            "landing",
        ),
        (
            "collect",
            {"url": "http://127.0.0.1:9/x", "table": "t", "connection": "../outside.db"},
            "connection",
        ),
        (
            "import",
            {"file": "in.csv", "target": "w.db", "quarantine": "/tmp/q.jsonl"},
            "quarantine",
        ),
        ("restore", {"backup": "/var/backups/sports-20240101", "target": "w.db"}, "backup"),
        ("restore", {"backup": "../other/.batchyard/backups/x", "target": "w.db"}, "backup"),
    ],
)
def test_every_param_that_writes_a_file_stays_inside_the_project(
    client: Client, kind: str, params: dict[str, object], name: str
) -> None:
    response = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 422, response.text
    assert "outside the project" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == f"body.params.{name}"
    assert client.get("/api/jobs").json()["total"] == 0


def test_a_backup_named_by_a_bare_name_is_looked_up_not_confined(client: Client) -> None:
    response = client.post(
        "/api/jobs", json={"kind": "restore", "params": {"backup": "nightly", "target": "w.db"}}
    )
    assert 400 <= response.status_code < 500, response.text
    assert "outside the project" not in response.text
    assert "nightly" in response.json()["detail"]
