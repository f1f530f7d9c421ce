"""Helpers for the scheduler tests: a jobs.py whose items log when they start and end, and
pipelines written from keyword arguments."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

JOBS = r'''
import os
import time

import batchyard as by


def _log(path, line):
    """One line, one write (O_APPEND): concurrent writers never interleave."""
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@by.job("mark")
def mark(name: str = "x", log: str = "", fail: bool = False, gate: str = "", sleep: float = 0.0):
    """One item that logs its start and end (with the time), waits while `gate` exists, and
    fails when told to."""
    return [name]


@mark.item
def one(name: str, ctx: by.Context):
    p = ctx.params
    _log(p["log"], f"start {name} {ctx.job_id} {time.time():.6f}")
    deadline = time.monotonic() + 60
    while p["gate"] and os.path.exists(p["gate"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(p["sleep"])
    if p["fail"]:
        raise RuntimeError(f"{name} was told to fail")
    _log(p["log"], f"end {name} {ctx.job_id} {time.time():.6f}")
    return name
'''


def write_jobs(root: Path) -> None:
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")


def pipeline(root: Path, name: str, **fields: Any) -> Path:
    """``pipelines/NAME.yaml`` of kind ``mark`` (params from ``params=``), other fields as given."""
    folder = root / "pipelines"
    folder.mkdir(exist_ok=True)
    data = {"kind": "mark", **fields}
    data["params"] = {"name": name, **fields.get("params", {})}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def log_lines(path: Path) -> list[tuple[str, str, str, float]]:
    """The log as (event, name, job id, time) tuples."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        event, name, job, at = line.split()
        out.append((event, name, job, float(at)))
    return out


def wait_for(cond: Any, timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``cond`` (a state the test observes) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or cond}")


def invoke(project: Path, *args: str) -> Any:
    """The CLI in process (Typer's CliRunner), in ``project``: ``.stdout``, ``.stderr``,
    ``.exit_code``. (A subprocess costs seconds on a busy machine.)"""
    from typer.testing import CliRunner

    from batchyard.cli import app
    from batchyard.db import ENGINES

    try:
        return CliRunner().invoke(app, ["-C", str(project), *args])
    finally:
        ENGINES.dispose()


def dump(value: Any) -> str:
    return json.dumps(value, default=str, indent=1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
