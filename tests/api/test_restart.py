"""A ``batchyard serve`` killed with SIGKILL while it runs 3 jobs: its next start finishes them."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelp import Serve, free_port
from fastapi import FastAPI

N = 30
SLEEP = 0.1


@pytest.fixture
def servers() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for server in started:
        server.kill()


def jobs_of(url: str, ids: list[str]) -> list[dict[str, Any]]:
    return [httpx.get(f"{url}/api/jobs/{i}").json() for i in ids]


def wait(url: str, ids: list[str], until: Any, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = jobs_of(url, ids)
        if all(until(j) for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise AssertionError(f"not there after {timeout}s: {jobs}")
        time.sleep(0.1)


def start_three(project: Path, servers: list[Serve]) -> tuple[Serve, list[str]]:
    server = Serve(project, free_port(), "--max-jobs", "3")
    servers.append(server)
    server.wait_ready()
    ids = []
    for n in range(3):
        response = httpx.post(
            f"{server.url}/api/jobs",
            json={"kind": "slow", "params": {"n": N + n, "sleep": SLEEP}, "workers": 2},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    wait(server.url, ids, lambda j: j["status"] == "running" and j["done"] >= 4)
    server.kill()  # SIGKILL: no chance to pause anything
    return server, ids


def check_rows(project: Path, ids: list[str]) -> None:
    with sqlite3.connect(project / "warehouse.db") as con:
        for n, job_id in enumerate(ids):
            count, total = con.execute(
                "select count(*), sum(square) from rows where job = ?", (job_id,)
            ).fetchone()
            assert count == N + n
            assert total == sum(i * i for i in range(N + n))


@pytest.mark.slow
def test_sigkilled_server_resumes_its_jobs_on_start(
    api_project: Path, servers: list[Serve]
) -> None:
    _first, ids = start_three(api_project, servers)
    with sqlite3.connect(api_project / ".batchyard" / "store.db") as con:
        left = con.execute(
            f"select status, done from by_jobs where id in ({','.join('?' * 3)})", ids
        ).fetchall()
    assert [s for s, _ in left] == ["running"] * 3  # the dead server left them mid-run
    assert all(done < N for _, done in left)
    second = Serve(api_project, free_port())
    servers.append(second)
    second.wait_ready()
    jobs = wait(second.url, ids, lambda j: j["status"] == "completed")
    assert [j["done"] for j in jobs] == [N, N + 1, N + 2]
    assert all(j["failed"] == 0 for j in jobs)
    check_rows(api_project, ids)
    assert "resuming 3 job(s)" in second.output()


@pytest.mark.slow
def test_on_start_pause_leaves_them_paused_until_resumed(
    api_project: Path, servers: list[Serve]
) -> None:
    _, ids = start_three(api_project, servers)
    second = Serve(api_project, free_port(), "--on-start", "pause")
    servers.append(second)
    second.wait_ready()
    paused = jobs_of(second.url, ids)
    assert [j["status"] for j in paused] == ["paused"] * 3
    assert all(j["runner"] is None for j in paused)
    # Nothing will move them: the server runs none of them and has none queued.
    health = httpx.get(f"{second.url}/api/health").json()
    assert (health["jobs_running"], health["jobs_queued"]) == (0, 0)
    assert [j["done"] for j in jobs_of(second.url, ids)] == [j["done"] for j in paused]
    for job_id in ids:
        assert httpx.post(f"{second.url}/api/jobs/{job_id}/resume").status_code == 202
    wait(second.url, ids, lambda j: j["status"] == "completed")
    check_rows(api_project, ids)


def test_a_pool_that_was_shut_down_starts_no_job_threads(api_app: FastAPI) -> None:
    # A request that lands while the server stops queues its job for the next start; it does
    # not bring the pool back to run on a store that is closing.
    pool = api_app.state.service.pool
    pool.start()
    pool.shutdown()
    before = {t for t in threading.enumerate() if t.name.startswith("batchyard-job-")}
    pool.submit("slow_dev_20240101_000000_abcdef")
    after = {t for t in threading.enumerate() if t.name.startswith("batchyard-job-")}
    assert after <= before
    assert pool.snapshot()["queued"] == ["slow_dev_20240101_000000_abcdef"]
