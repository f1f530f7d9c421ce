"""``batchyard schedules`` and ``/api/schedules``, and the bad input they refuse: an invalid
cron, an unknown time zone or policy give exit 2 (or 400) naming the file, line and field, and
nothing is written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from batchyard.db import ENGINES
from batchyard.store import Store
from batchyard.store.schedules import RunStatus, ScheduleBook
from conftest import cli

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import invoke, pipeline, wait_for, write_jobs

sys.path.insert(0, str(Path(__file__).parent.parent / "api"))
from apihelp import free_port

BAD = [
    (
        {"cron": "61 * * * *"},
        "cron",
        "schedule.cron: cron expression '61 * * * *' is not valid",
    ),
    ({"cron": "* * *"}, "cron", "schedule.cron: cron expression '* * *' has 3 fields"),
    (
        {"cron": "0 3 * * *", "timezone": "Mars/Olympus"},
        "timezone",
        "schedule.timezone: unknown time zone 'Mars/Olympus'",
    ),
    (
        {"cron": "0 3 * * *", "missed": "sometimes"},
        "missed",
        "schedule.missed: Input should be 'skip', 'once' or 'catch_up'",
    ),
    ({"cron": "0 3 * * *", "every": "day"}, "every", "schedule.every: Extra inputs"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text('[project]\nname = "edges"\n')
    write_jobs(root)
    pipeline(root, "fine", schedule="30 2 * * *")
    return root


@pytest.mark.parametrize(("schedule", "field", "message"), BAD)
@pytest.mark.parametrize("command", [["scheduler"], ["schedules", "list"], ["schedules", "next"]])
def test_a_bad_schedule_is_refused_naming_file_line_and_field(
    project: Path, schedule: dict[str, Any], field: str, message: str, command: list[str]
) -> None:
    path = pipeline(project, "broken", schedule=schedule)
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith(f"{field}:"))
    result = invoke(project, *command)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: {message}" in " ".join(result.stderr.split())
    assert not (project / ".batchyard").exists()  # nothing written: not even a store


def test_the_real_command_says_it_in_one_line(project: Path) -> None:
    path = pipeline(project, "broken", schedule={"cron": "0 3 * * *", "timezone": "Nowhere/Land"})
    result = cli("scheduler", cwd=project, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {path}:4: schedule.timezone: unknown time zone 'Nowhere/Land': give an IANA "
        "name such as UTC or Europe/Paris"
    )


def test_a_cycle_stops_the_scheduler(project: Path) -> None:
    pipeline(project, "a", schedule="0 3 * * *", depends_on=["b"])
    pipeline(project, "b", depends_on=["a"])
    result = invoke(project, "scheduler")
    assert result.exit_code == 2
    assert "depends_on makes a cycle: a -> b -> a" in result.stderr


def test_schedules_commands(project: Path) -> None:
    pipeline(project, "paris", schedule={"cron": "0 3 * * *", "timezone": "Europe/Paris"})
    listed = invoke(project, "schedules", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"fine", "paris"}
    assert rows["paris"]["timezone"] == "Europe/Paris" and rows["paris"]["missed"] == "once"
    assert not rows["paris"]["paused"] and rows["paris"]["last_run"] is None
    shown = invoke(project, "schedules", "next", "paris", "-n", "3", "--json")
    times = json.loads(shown.stdout)["paris"]
    assert len(times) == 3 and all(
        t.endswith(("T01:00:00+00:00", "T02:00:00+00:00")) for t in times
    )
    text = invoke(project, "schedules", "next", "paris", "-n", "1").stdout
    assert "03:00:00 CE" in text  # 03:00 in Paris (CET or CEST)
    assert invoke(project, "schedules", "pause", "paris").exit_code == 0
    assert json.loads(invoke(project, "schedules", "list", "--json").stdout)[1]["paused"]
    resumed = invoke(project, "schedules", "resume", "paris")
    assert resumed.exit_code == 0 and "resumed; next at" in resumed.stdout
    unknown = invoke(project, "schedules", "pause", "nope")
    assert unknown.exit_code == 2
    assert "no schedule 'nope' (schedules: fine, paris)" in unknown.stderr
    assert invoke(project, "schedules", "runs", "--json").stdout.strip() == "[]"


def test_the_api_lists_pauses_and_resumes_schedules(api_project: Path, client: Any) -> None:
    pipeline(api_project, "nightly", schedule={"cron": "0 3 * * *", "timezone": "Europe/Paris"})
    (api_project / "pipelines" / "nightly.yaml").write_text(
        "kind: slow\nschedule:\n  cron: '0 3 * * *'\n  timezone: Europe/Paris\n"
    )
    listed = client.get("/api/schedules", params={"count": 2})
    assert listed.status_code == 200, listed.text
    (one,) = listed.json()
    assert one["id"] == "nightly" and one["source"] == "pipelines/nightly.yaml"
    assert one["target"] == {"pipeline": "nightly", "env": None}
    assert len(one["next_at"]) == 2 and not one["paused"]
    assert len(client.get("/api/schedules/nightly/next", params={"count": 4}).json()) == 4
    paused = client.post("/api/schedules/nightly/pause")
    assert paused.status_code == 200 and paused.json()["paused"] and paused.json()["next_at"] == []
    assert client.get("/api/schedules/nightly").json()["paused"]
    resumed = client.post("/api/schedules/nightly/resume")
    assert resumed.status_code == 200 and not resumed.json()["paused"]
    assert client.get("/api/schedules/nightly/runs").json() == []
    missing = client.post("/api/schedules/nope/pause")
    assert missing.status_code == 404 and "no schedule 'nope'" in missing.json()["detail"]
    (api_project / "pipelines" / "bad.yaml").write_text("kind: slow\nschedule: '0 25 * * *'\n")
    bad = client.get("/api/schedules")
    assert bad.status_code == 400
    assert (
        "bad.yaml:2: schedule.cron: cron expression '0 25 * * *' is not valid"
        in bad.json()["detail"]
    )


@pytest.mark.slow
def test_serve_with_the_scheduler_runs_schedules(project: Path) -> None:
    pipeline(project, "tick", schedule="* * * * * *")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "batchyard", "serve", "--port", str(port), "--scheduler"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    store = None
    try:
        url = f"sqlite:///{project / '.batchyard' / 'store.db'}"
        wait_for(lambda: (project / ".batchyard" / "store.db").exists(), 30, "the store")
        store = Store.open(url)
        book = ScheduleBook(store)
        wait_for(
            lambda: any(r.status is RunStatus.COMPLETED for r in book.runs("edges/dev")),
            30,
            "a scheduled run to complete",
        )
        listed = httpx.get(f"http://127.0.0.1:{port}/api/schedules", timeout=10).json()
        tick = next(s for s in listed if s["id"] == "tick")
        assert tick["last_run"] is not None
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        if store is not None:
            store.close()
        ENGINES.dispose()
