"""docs/monitor.md runs as written: its Python, batchyard.toml and monitors/*.yaml blocks and its
`batchyard` commands, in order, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from batchyard.db import ENGINES
from conftest import REPO

DOC = (REPO / "docs" / "monitor.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(python|toml|yaml|sh)\n(.*?)```", re.S)


@pytest.mark.slow
def test_monitor_docs_run(tmp_path: Path) -> None:
    ran = {"python": 0, "file": 0, "command": 0}
    said: dict[str, str] = {}
    for lang, code in BLOCK.findall(DOC):
        first = code.splitlines()[0]
        if lang in ("toml", "yaml"):
            if not first.startswith("# ") or ("/" not in first and "." not in first):
                continue  # a fragment, not a file
            path = tmp_path / first[2:].strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code, encoding="utf-8")
            ran["file"] += 1
        elif lang == "python":
            done = subprocess.run(
                [sys.executable, "-c", code],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO / "src")},
            )
            assert done.returncode == 0, f"{code}\n{done.stderr}"
            ran["python"] += 1
        else:
            for line in code.strip().splitlines():
                assert line.startswith("batchyard "), line
                done = subprocess.run(
                    [sys.executable, "-m", "batchyard", *line.split()[1:]],
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                )
                assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                said[line] = done.stdout
                ran["command"] += 1
    ENGINES.dispose()
    assert ran == {"python": 3, "file": 3, "command": 7}
    assert (tmp_path / "report.html").read_text().count('<svg class="chart"') >= 5
    assert "monitor:landing" in said["batchyard schedules list"]  # its schedule: fields
