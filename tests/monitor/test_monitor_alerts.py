"""A monitor's failing checks open one alert, which its passing checks resolve: the monitors and the
alerts meet in ``monitor run``, on a real SQLite project, and the alert reaches a real webhook."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))
from alert_servers import HookServer
from cli_helpers import as_json, ok

MONITOR = """\
metrics:
  - name: landed
    type: file_count
    path: landing
    glob: "*.json"
    thresholds:
      - {below: 3, level: fail}
"""


@pytest.fixture
def project(tmp_path: Path) -> Any:
    root = tmp_path / "proj"
    (root / "monitors").mkdir(parents=True)
    (root / "landing").mkdir()
    (root / "monitors" / "landing.yaml").write_text(MONITOR)
    return root


def alerts_of(root: Path, status: str = "all") -> list[dict[str, Any]]:
    found = as_json(ok(root, "alerts", "list", "--status", status, "--json"))
    return found["alerts"]  # type: ignore[no-any-return]


def test_failing_checks_open_one_alert_and_passing_checks_resolve_it(project: Path) -> None:
    with HookServer(secret="s3cret-hook") as hook:
        (project / "batchyard.toml").write_text(
            '[project]\nname = "mon"\n\n[alerts]\nresolve_after = 2\n\n'
            f'[channels.ops]\ntype = "webhook"\nurl = "{hook.url}"\nsecret_env = "HOOK_SECRET"\n'
        )
        env = {"HOOK_SECRET": "s3cret-hook"}
        for _ in range(4):  # too few files: the threshold fails every time
            ok(project, "monitor", "run", "landing", code=1, env=env)
        found = alerts_of(project)
        assert len(found) == 1, found
        alert = found[0]
        assert (alert["monitor"], alert["metric"], alert["severity"]) == (
            "landing",
            "landed.files",
            "high",
        )
        assert alert["status"] == "open"
        assert [r.json()["event"] for r in hook.received] == ["opened"]
        report = as_json(ok(project, "monitor", "report", "--format", "json"))
        assert [a["id"] for a in report["alerts"]["by_severity"]["high"]] == [alert["id"]]

        for i in range(3):
            (project / "landing" / f"{i}.json").write_text("{}")
        ok(project, "monitor", "run", "landing", env=env)
        assert alerts_of(project)[0]["status"] == "open"  # one pass is not enough (resolve_after)
        ok(project, "monitor", "run", "landing", env=env)
        assert alerts_of(project)[0]["status"] == "resolved"
        assert [r.json()["event"] for r in hook.received] == ["opened", "resolved"]
