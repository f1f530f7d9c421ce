"""Monitors on schedules: a monitor's ``schedule:`` fires like a pipeline's (the same fields, each
run recorded before it starts, none lost or doubled across schedulers), shows in ``schedules`` and
``/api/schedules``, and bad schedule input in a monitor file is refused naming the file, line and
field. The active scheduler also sends alert reminders and failed deliveries when no monitor runs.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import batchyard as by
from batchyard.monitor.alerts import Observation
from batchyard.schedule.scheduler import Scheduler, SchedulerOptions
from batchyard.store.models import JobStatus
from batchyard.store.schedules import RunStatus, ScheduleBook

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import invoke, wait_for

sys.path.insert(0, str(Path(__file__).parent.parent / "monitor"))
from alert_servers import HookServer

T0 = datetime(2031, 1, 1, 0, 0, 5, tzinfo=UTC)


def monitor(root: Path, name: str, schedule: Any, files: int = 3) -> Path:
    """``monitors/NAME.yaml`` counting the JSON files of ``landing/`` (``files`` of them)."""
    (root / "landing").mkdir(exist_ok=True)
    for i in range(files):
        (root / "landing" / f"{i}.json").write_text("{}")
    (root / "monitors").mkdir(exist_ok=True)
    path = root / "monitors" / f"{name}.yaml"
    data = {
        "schedule": schedule,
        "metrics": [{"name": "games", "type": "file_count", "path": "landing", "glob": "*.json"}],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def start(s: Scheduler, now: datetime) -> None:
    """Take the lease as of ``now`` (the times before it are the missed ones)."""
    s.clock = lambda: now
    assert s.acquire()


def test_a_monitor_schedule_fires_monitor_jobs_and_loses_or_doubles_no_run(
    project: Path, app: by.Batchyard
) -> None:
    monitor(project, "landing", {"cron": "*/10 * * * * *", "missed": "catch_up"})
    (listed,) = app.schedule_overview()
    assert listed.schedule.id == "monitor:landing"
    assert listed.schedule.target.to_dict() == {
        "kind": "monitor",
        "params": {"monitors": ["landing"]},
        "env": None,
    }
    first = app.scheduler()
    start(first, T0)
    assert first.tick(T0) == []  # a new schedule fires from now on
    (on_time,) = first.tick(T0 + timedelta(seconds=10))
    assert (on_time.schedule_id, on_time.job_id.split("_")[0]) == ("monitor:landing", "monitor")
    first.release()  # stopped at 00:00:15, before its run started ...
    second = app.scheduler()
    later = T0 + timedelta(seconds=30)  # ... and the next one started at 00:00:35: catch up
    start(second, later)
    caught = second.tick(later)
    assert [r.scheduled_at.second for r in caught] == [20, 30]
    assert second.tick(later) == []  # nothing twice

    thread = threading.Thread(target=second.run, daemon=True)
    thread.start()  # finishes the recorded runs, the one the first scheduler left included
    book = ScheduleBook(app.store)
    wait_for(
        lambda: all(r.status.finished for r in book.runs("test/dev", limit=None)),
        60,
        "the three runs to end",
    )
    second.stop()
    thread.join(60)
    runs = sorted(book.runs("test/dev", limit=None), key=lambda r: r.scheduled_at)
    assert [r.scheduled_at.second for r in runs] == [10, 20, 30]
    assert [r.status for r in runs] == [RunStatus.COMPLETED] * 3
    assert len({r.job_id for r in runs}) == 3  # a job each
    for run in runs:
        job = app.job(run.job_id)
        assert (job.kind, job.status, job.name) == (
            "monitor",
            JobStatus.COMPLETED,
            "monitor:landing",
        )
        assert job.params["monitors"] == ["landing"] and job.tags == ["scheduled"]
        assert job.metadata["scheduled_for"] == run.scheduled_at.isoformat()
        found = app.metric_history(monitor="landing", job_id=run.job_id)
        assert {(o.metric, o.value) for o in found} == {("games.files", 3.0), ("games.bytes", 6.0)}
    (shown,) = app.schedule_overview()
    assert shown.last_run is not None and shown.last_run.scheduled_at == runs[-1].scheduled_at


@pytest.fixture
def local(tmp_path: Path) -> Path:
    """A SQLite project (the scheduler below runs on the real clock)."""
    root = tmp_path / "local"
    root.mkdir()
    (root / "batchyard.toml").write_text('[project]\nname = "mon"\n')
    return root


@pytest.mark.slow
def test_a_seconds_cron_fires_on_the_real_clock_and_the_commands_show_it(local: Path) -> None:
    monitor(local, "landing", "* * * * * *", files=2)
    with by.Batchyard(root=local) as app:
        s = app.scheduler(SchedulerOptions(lease_ttl=5))
        thread = threading.Thread(target=s.run, daemon=True)
        thread.start()
        book = ScheduleBook(app.store)
        try:
            done = wait_for(
                lambda: [r for r in book.runs("mon/dev") if r.status is RunStatus.COMPLETED][1:],
                60,
                "two completed runs",
            )
        finally:
            s.stop()
            thread.join(60)
        for run in done:
            found = app.metric_history(monitor="landing", job_id=run.job_id)
            assert [(o.metric, o.value) for o in found if o.metric == "games.files"] == [
                ("games.files", 2.0)
            ]
    listed = invoke(local, "schedules", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["cron"], row["timezone"], row["missed"]) == (
        "monitor:landing",
        "* * * * * *",
        "UTC",
        "once",
    )
    assert row["source"].endswith("monitors/landing.yaml") and row["last_run"] is not None
    runs = json.loads(invoke(local, "schedules", "runs", "monitor:landing", "--json").stdout)
    assert len(runs) >= 2 and {r["schedule_id"] for r in runs} == {"monitor:landing"}
    nxt = json.loads(
        invoke(local, "schedules", "next", "monitor:landing", "-n", "3", "--json").stdout
    )
    assert len(nxt["monitor:landing"]) == 3
    assert invoke(local, "schedules", "pause", "monitor:landing").exit_code == 0
    assert json.loads(invoke(local, "schedules", "list", "--json").stdout)[0]["paused"]
    shown = json.loads(invoke(local, "monitor", "list", "--json").stdout)
    assert shown[0]["schedule"] == "* * * * * *"


def test_the_api_shows_a_monitor_schedule(api_project: Path, client: Any) -> None:
    monitor(api_project, "landing", {"cron": "0 6 * * *", "timezone": "Europe/Paris"})
    listed = client.get("/api/schedules", params={"count": 2})
    assert listed.status_code == 200, listed.text
    (one,) = [s for s in listed.json() if s["id"] == "monitor:landing"]
    assert one["source"] == "monitors/landing.yaml" and one["timezone"] == "Europe/Paris"
    assert one["target"] == {"kind": "monitor", "params": {"monitors": ["landing"]}, "env": None}
    assert len(one["next_at"]) == 2
    assert client.post("/api/schedules/monitor:landing/pause").json()["paused"]
    assert client.get("/api/schedules/monitor:landing/runs").json() == []
    shown = client.get("/api/monitors/landing").json()
    assert shown["schedule"] == "0 6 * * *"


BAD = [
    ({"cron": "61 * * * *"}, "cron", "schedule.cron: cron expression '61 * * * *' is not valid"),
    ("* * *", "schedule", "schedule.cron: cron expression '* * *' has 3 fields"),
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
    ({"cron": "0 3 * * *", "every": "day"}, "every", "schedule.every: unknown field"),
    ({"timezone": "UTC"}, "timezone", "schedule.cron: missing"),  # the mapping's first line
]


@pytest.mark.parametrize(("schedule", "field", "message"), BAD)
@pytest.mark.parametrize("command", [["scheduler"], ["schedules", "list"], ["schedules", "next"]])
def test_bad_schedule_input_in_a_monitor_file_names_file_line_and_field(
    local: Path, schedule: Any, field: str, message: str, command: list[str]
) -> None:
    path = monitor(local, "landing", schedule)
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith(f"{field}:"))
    result = invoke(local, *command)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: {message}" in " ".join(result.stderr.split())
    assert not (local / ".batchyard").exists()  # nothing written: not even a store


@pytest.mark.slow
def test_the_scheduler_sends_reminders_and_failed_deliveries_with_no_monitor_running(
    local: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret-hook")
    with HookServer(secret="s3cret-hook") as hook:
        (local / "batchyard.toml").write_text(
            '[project]\nname = "mon"\n\n[alerts]\nremind_every = "2s"\n\n'
            f'[channels.ops]\ntype = "webhook"\nurl = "{hook.url}"\nsecret_env = "HOOK_SECRET"\n'
            "retries = 0\n"
        )
        with by.Batchyard(root=local) as app:
            hook.fail(500)  # the receiver is down when the alert opens
            opened = app.alerts.observe(
                Observation(monitor="landing", metric="games.files", value=0, status="fail")
            )
            assert opened.action == "opened" and opened.alert is not None
            assert len(hook.refused) == 1 and hook.received == []
            hook.fail(None)  # back up; no monitor runs from here on, and none is scheduled
            s = app.scheduler(SchedulerOptions(chore_every=0.05))
            assert s.schedules == {}
            thread = threading.Thread(target=s.run, daemon=True)
            thread.start()
            try:
                wait_for(lambda: hook.received, 30, "the notice that failed")
                wait_for(lambda: len(hook.received) >= 3, 30, "two reminders")
            finally:
                s.stop()
                thread.join(30)
            events = [r.json()["event"] for r in hook.received]
            assert events[0] == "opened" and set(events[1:]) == {"reminder"}, events
            alert = app.alerts.get(opened.alert.id)
            assert alert.reminders >= 2
            tries = app.alerts.show(alert.id)["deliveries"]
            opened_tries = [d["status"] for d in tries if d["event"] == "opened"]
            assert sorted(opened_tries) == ["failed", "ok"]  # recorded, then sent by the scheduler


def test_a_failing_chore_is_told_once_and_the_others_still_run(app: by.Batchyard) -> None:
    told: list[str] = []
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the channel config is gone")

    s = Scheduler(
        app,
        lambda: [],
        on_message=told.append,
        chores={"broken": broken, "fine": lambda: ran.append("x")},
    )
    for _ in range(3):
        s.run_chores()
    assert ran == ["x", "x", "x"]
    assert [t for t in told if "broken" in t] == [
        "broken failed (tried again in 30s): the channel config is gone"
    ]


DECLARED = """
from batchyard.monitor import FileCount, Monitor, add

add(Monitor(name="declared", schedule={SCHEDULE!r}, metrics=[FileCount(path="landing")]))
"""


def test_a_monitor_declared_in_python_is_scheduled_and_named_when_bad(local: Path) -> None:
    from batchyard.monitor import spec

    (local / "landing").mkdir()
    try:
        (local / "jobs.py").write_text(DECLARED.replace("{SCHEDULE!r}", repr("0 4 * * *")))
        listed = invoke(local, "schedules", "list", "--json")
        assert listed.exit_code == 0, listed.stderr
        (row,) = json.loads(listed.stdout)
        assert (row["id"], row["cron"], row["source"]) == (
            "monitor:declared",
            "0 4 * * *",
            "monitor declared",
        )
        spec.DECLARED.clear()
        (local / "jobs.py").write_text(DECLARED.replace("{SCHEDULE!r}", repr("0 4 * *")))
        bad = invoke(local, "schedules", "list")
        assert bad.exit_code == 2
        assert bad.stderr.startswith(
            "error: monitor declared (declared in Python): schedule.cron: cron expression "
            "'0 4 * *' has 4 fields"
        ), bad.stderr
    finally:
        spec.DECLARED.clear()
