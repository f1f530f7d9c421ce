"""docs/schedule.md tells the truth: its jobs.py and pipelines make a project whose commands do
what the page shows, and its bad-schedule messages are the ones users get."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import invoke

PAGE = (REPO / "docs" / "schedule.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGE, flags=re.S)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "jobs.py").write_text(blocks("python")[0])
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "monitors").mkdir()
    for text in blocks("yaml"):
        name = re.match(r"# ((?:pipelines|monitors)/\S+)", text)
        assert name, text
        (tmp_path / name.group(1)).write_text(text)
    return tmp_path


def test_the_pages_project_lists_its_schedules(project: Path) -> None:
    listed = invoke(project, "schedules", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["rosters"]["timezone"] == "America/New_York"
    assert rows["lineups"]["cron"] == "0 6 * * *" and rows["lineups"]["missed"] == "once"
    shown = invoke(project, "schedules", "next", "rosters", "-n", "3")
    assert shown.stdout.startswith("rosters  (0 6 * * *, America/New_York)")
    assert shown.stdout.count("06:00:00 E") == 3  # EDT or EST
    for command in ("pause", "resume"):
        assert invoke(project, "schedules", command, "lineups").exit_code == 0
    assert invoke(project, "schedules", "runs", "rosters").exit_code == 0


def test_the_pages_monitor_is_scheduled_as_it_says(project: Path) -> None:
    listed = invoke(project, "schedules", "list", "--json")
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    landed = rows["monitor:rosters-landed"]
    assert landed["target"] == {
        "kind": "monitor",
        "params": {"monitors": ["rosters-landed"]},
        "env": None,
    }
    assert (landed["cron"], landed["timezone"]) == ("30 6 * * *", "America/New_York")
    (shown_block,) = [b for b in blocks("console") if "next monitor:" in b]
    for line in shown_block.strip().splitlines():  # the page's own commands
        args = line.removeprefix("$ batchyard ").split()
        result = invoke(project, *args)
        assert result.exit_code == 0, (line, result.stderr)
    shown = invoke(project, "schedules", "next", "monitor:rosters-landed", "-n", "3").stdout
    assert shown.count("06:30:00 E") == 3  # EDT or EST


def test_the_pages_batch_runs_in_order(project: Path) -> None:
    ran = invoke(project, "run", "--batch", "lineups", "rosters")
    assert ran.exit_code == 0, ran.stderr
    job = re.search(r"job (\S+):", ran.stderr).group(1)  # type: ignore[union-attr]
    items = json.loads(invoke(project, "jobs", "items", job, "--json").stdout)["items"]
    assert [i["key"] for i in items] == ["rosters", "lineups"]


@pytest.mark.parametrize(
    ("file", "field", "value"),
    [
        ("pipelines/rosters.yaml", "cron", '"61 * * * *"'),
        ("pipelines/rosters.yaml", "timezone", "Mars/Olympus"),
        ("pipelines/rosters.yaml", "missed", "sometimes"),
        ("monitors/rosters-landed.yaml", "timezone", "Mars/Olympus"),
    ],
)
def test_the_pages_bad_schedules_say_what_it_shows(
    project: Path, file: str, field: str, value: str
) -> None:
    path = project / file
    text = re.sub(rf"(?m)^(  {field}:) \S+(?: \S+)*?(\s+#|$)", rf"\1 {value}\2", path.read_text())
    path.write_text(text)
    result = invoke(project, "schedules", "list")
    assert result.exit_code == 2
    said = result.stderr.strip().replace(str(project) + "/", "")
    assert said in blocks("text")[0].splitlines()
