"""Helpers for the API tests: a project with slow-ish kinds, an in-process client, live servers.

In-process requests go through ``httpx.ASGITransport``; tests that need a real HTTP server (events,
restarts, binding an address) start uvicorn, in a thread or as a ``batchyard serve`` subprocess.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

JOBS = r'''
import time

import batchyard as by


@by.job("slow")
def slow(n: int = 5, sleep: float = 0.05, fail: list[int] = []):
    """Items 0..n-1; each sleeps, then writes one row (those in `fail` raise instead)."""
    return range(n)


@slow.item
def one(i: int, ctx: by.Context):
    time.sleep(ctx.params["sleep"])
    if i in ctx.params["fail"]:
        raise ValueError(f"item {i} was told to fail")
    ctx.write("rows", {"job": ctx.job_id, "i": i, "square": i * i}, key=["job", "i"])
    return i * i


@by.job("secretive")
def secretive(url: str, password: str = "", api_key: int = 0):
    """One item that logs the connection it was given."""
    return [1]


@secretive.item
def tell(i: int, ctx: by.Context):
    ctx.log.info("connecting to %s", ctx.params["url"])
    return {"url": ctx.params["url"]}
'''

PASSWORD = "s3cr3t-Pa55word"


def make_project(root: Path, *, extra_toml: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        '[project]\nname = "apitest"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n\n'
        '[defaults]\nconnection = "warehouse"\nworkers = 2\n\n[connections]\n'
        'warehouse = "sqlite:///warehouse.db"\n'
        f'reporting = "postgresql://report:{PASSWORD}@db.invalid/reporting"\n' + extra_toml
    )
    (root / "jobs.py").write_text(JOBS)
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "pipelines" / "quick.yaml").write_text("kind: slow\nparams:\n  n: 3\n  sleep: 0.01\n")
    (root / "pipelines" / "other.yaml").write_text("kind: slow\nparams:\n  n: 2\n  sleep: 0.01\n")
    return root


class Client:
    """A synchronous face on ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, app: FastAPI, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = headers or {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", headers=self.headers
            ) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def wait_job(
        self, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.get(f"/api/jobs/{job_id}").json()
            if until(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not get there in {timeout}s: {job}")
            time.sleep(0.05)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("completed", "partial", "failed", "cancelled")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """``app`` on a real uvicorn in a thread of this process; yields its base URL."""
    port = free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


class Serve:
    """A real ``batchyard serve`` subprocess with its output in files."""

    def __init__(self, project: Path, port: int, *args: str, env: dict[str, str] | None = None):
        self.out = project.parent / f"serve-{port}-{time.monotonic_ns()}.log"
        self.url = f"http://127.0.0.1:{port}"
        with self.out.open("wb") as fh:
            self.popen = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "batchyard",
                    "-C",
                    str(project),
                    "serve",
                    "--port",
                    str(port),
                    *args,
                ],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"serve exited {self.popen.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not answer in {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
