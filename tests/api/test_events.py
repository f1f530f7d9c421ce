"""Server-sent events on a real uvicorn: progress within 1 s, and CLI-started jobs live too."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelp import live_server
from fastapi import FastAPI


def events(url: str, job_id: str, timeout: float = 60) -> list[tuple[str, Any, datetime]]:
    """Every event of the stream until it ends, each with the moment it was received."""
    out: list[tuple[str, Any, datetime]] = []
    name = ""
    with httpx.stream("GET", f"{url}/api/jobs/{job_id}/events", timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[len("data: ") :]), datetime.now(UTC)))
    return out


def test_progress_reaches_a_client_within_a_second_of_being_recorded(api_app: FastAPI) -> None:
    with live_server(api_app) as url:
        job = httpx.post(
            f"{url}/api/jobs",
            json={"kind": "slow", "params": {"n": 24, "sleep": 0.1}, "workers": 1},
        ).json()
        connected = datetime.now(UTC)
        stream = events(url, job["id"])
    names = [name for name, _, _ in stream]
    assert names[0] == "status" and names[-1] == "end"
    assert stream[-1][1]["status"] == "completed"
    statuses = [data["status"] for name, data, _ in stream if name == "status"]
    assert statuses[-1] == "completed" and "running" in statuses
    lags = []
    for name, data, received in stream:
        if name != "progress" or data["recorded_at"] is None:
            continue
        recorded = datetime.fromisoformat(data["recorded_at"])
        if recorded > connected and data["status"] == "running":
            lags.append((received - recorded).total_seconds())
    assert len(lags) >= 2, stream  # a 2.4 s job has a heartbeat a second
    assert max(lags) < 1.0, lags
    progress = [data for name, data, _ in stream if name == "progress"]
    assert progress[-1]["done"] == 24 and progress[-1]["percent"] == 100.0
    done = [data["done"] for data in progress]
    assert done == sorted(done) and len(set(done)) >= 3
    logs = [data["message"] for name, data, _ in stream if name == "log"]
    assert any("runner" in m and "started" in m for m in logs)
    assert any(m.startswith("completed: 24 done") for m in logs)


@pytest.mark.slow
def test_jobs_run_from_the_cli_show_up_live(api_app: FastAPI, api_project: Path) -> None:
    with live_server(api_app) as url:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchyard",
                "-C",
                str(api_project),
                "run",
                "slow",
                "-p",
                "n=20",
                "-p",
                "sleep=0.1",
                "--workers",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            running: list[dict[str, Any]] = []
            while not running and time.monotonic() < deadline:
                running = httpx.get(f"{url}/api/jobs", params={"status": "running"}).json()["jobs"]
                time.sleep(0.05)
            assert running, "the CLI's job never showed up as running"
            assert running[0]["runner"] and running[0]["metadata"] == {}
            stream = events(url, running[0]["id"])
        finally:
            proc.wait(60)
    progress = [data for name, data, _ in stream if name == "progress"]
    assert progress[-1]["done"] == 20
    assert len({p["done"] for p in progress}) >= 3
    assert stream[-1][1]["status"] == "completed"
