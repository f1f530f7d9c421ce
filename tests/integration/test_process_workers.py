"""Job code behaves the same in process workers as on threads: a project's own exception classes,
param types and item functions from its ``jobs.py``, run through the real CLI."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import cli

JOBS = '''
import dataclasses
import enum

import batchyard as by


class Flaky(Exception):
    """The project's own error: worth another attempt."""


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@by.job("points", retries=by.Retry(attempts=3, delay=0, jitter=False, on=(Flaky,)))
def points(n: int, level: Level = Level.LOW):
    return [by.Item(key=str(i), value=Point(i, i * i)) for i in range(n)]


@points.item
def place(point: Point, ctx: by.Context) -> dict:
    assert isinstance(point, Point), type(point)
    if ctx.attempt == 1:
        raise Flaky(f"first attempt at {point.x}")
    ctx.write("points", {"x": point.x, "y": point.y, "level": ctx.params["level"]}, key="x")
    return {"x": point.x, "attempt": ctx.attempt, "via_app": ctx.app.job(ctx.job_id).kind}
'''


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["threads", "processes", "dask"])
def test_project_classes_work_in_every_executor(tmp_path: Path, executor: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    warehouse = f"sqlite:///{root / 'warehouse.db'}"
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "procs"\n\n[defaults]\nconnection = "warehouse"\n\n'
        f'[connections]\nwarehouse = "{warehouse}"\n',
        encoding="utf-8",
    )
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")

    run = cli(
        "run",
        "points",
        "-p",
        "n=4",
        "-p",
        "level=high",
        "--executor",
        executor,
        "--workers",
        "2",
        cwd=root,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    listed = cli("jobs", "list", "--json", cwd=root)
    job = json.loads(listed.stdout)["jobs"][0]
    assert (job["status"], job["done"], job["failed"]) == ("completed", 4, 0)
    items = json.loads(cli("jobs", "items", job["id"], "--json", cwd=root).stdout)["items"]
    assert sorted((i["key"], i["attempts"], i["result"]["attempt"]) for i in items) == [
        (str(i), 2, 2) for i in range(4)
    ]
    # ctx.app (the project's Batchyard) is there in a worker process as on a thread.
    assert {i["result"]["via_app"] for i in items} == {"points"}
    # Each item says where it ran: a thread or process of this machine, or a Dask worker.
    where = {i["worker"] for i in items}
    if executor == "dask":
        assert all(w.startswith("tcp://127.0.0.1:") for w in where), where
    else:
        assert all(w.split(":")[0] == socket.gethostname() for w in where), where
    engine = sa.create_engine(warehouse)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT x, y, level FROM points ORDER BY x").all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(i, i * i, "high") for i in range(4)]
