"""The README's examples run as written."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import REPO, cli

sys.path.insert(0, str(REPO / "tests" / "monitor"))
from alert_servers import HookServer

README = (REPO / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first = blocks("sh")[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.slow
def test_readme_job_runs(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(blocks("python")[0])
    run = cli(
        "run",
        "daily-scores",
        "--param",
        "start=2024-04-01",
        "--param",
        "end=2024-04-10",
        "--workers",
        "4",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(tmp_path / "data.db") as con:
        assert con.execute("SELECT count(*), count(DISTINCT _job_id) FROM scores").fetchone() == (
            10,
            1,
        )

    bad = cli(
        "run",
        "daily-scores",
        "--param",
        "start=2024-13-01",
        "--param",
        "end=2024-04-10",
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "param 'start': Input should be a valid date" in bad.stderr


@pytest.mark.slow
def test_readme_monitoring_project_runs(tmp_path: Path) -> None:
    """The monitor, its schedule and its channel: the commands do what the comments say, and the
    alert reaches a real webhook on loopback, signed."""
    for text in blocks("toml") + blocks("yaml"):
        first = text.splitlines()[0]
        if first in ("# batchyard.toml", "# monitors/landing.yaml"):
            path = tmp_path / first[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    assert (tmp_path / "monitors" / "landing.yaml").exists()
    today = tmp_path / "landing" / f"{datetime.now(UTC):%Y/%m/%d}"
    today.mkdir(parents=True)
    for game in range(40):  # fewer than 100, and one of them cut short
        (today / f"game_{game}.json").write_text(json.dumps({"game": game}))
    (today / "game_40.json").write_text('{"game": 40')
    (commands,) = [b for b in blocks("sh") if "batchyard monitor run landing" in b]
    lines = [line.split("#")[0].split() for line in commands.strip().splitlines()]
    assert lines[-1] == ["batchyard", "scheduler"]

    with HookServer(secret="readme-secret") as hook:
        env = {"OPS_HOOK_URL": hook.url, "OPS_HOOK_SECRET": "readme-secret"}
        said = {}
        for args in lines[:-1]:
            done = cli(*args[1:], cwd=tmp_path, env=env)
            expected = 1 if args[1:3] == ["monitor", "run"] else 0
            assert done.returncode == expected, (args, done.stdout, done.stderr)
            said[args[1]] = done.stdout
        opened = sorted(r.json()["alert"]["metric"] for r in hook.received)
        assert opened == ["games.files", "json.valid_pct"]
        assert {r.json()["event"] for r in hook.received} == {"opened"}
        assert hook.refused == []  # each one signed with the secret
        assert "landing" in said["alerts"] and "monitor:landing" in said["schedules"]
        assert (tmp_path / "report.html").exists()

        scheduler = subprocess.Popen(
            [sys.executable, "-m", "batchyard", "scheduler"],
            cwd=tmp_path,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert scheduler.stderr is not None
            first_lines = [scheduler.stderr.readline(), scheduler.stderr.readline()]
            assert "monitor:landing (*/15 * * * *)" in first_lines[0], first_lines
            assert "is the active scheduler for scores/dev" in first_lines[1], first_lines
        finally:
            scheduler.send_signal(signal.SIGINT)
            _, rest = scheduler.communicate(timeout=60)
        assert scheduler.returncode == 0, rest
