"""docs/alerts.md tells the truth: its Python examples run as written, its batchyard.toml is a valid
file, and the errors it shows are the ones batchyard gives. (Its commands run in
tests/test_doc_examples.py, with every page's.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from batchyard.config import load_file
from batchyard.errors import ConfigError
from conftest import REPO

DOC = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)


RUNNER = """
import os, sys, traceback
from pathlib import Path
code, folder = sys.argv[1], Path(sys.argv[2])
os.chdir(folder)
exec(compile(code, "<docs/alerts.md>", "exec"), {"__name__": "__main__"})
"""


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int, tmp_path: Path) -> None:
    code = blocks("python")[index]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_toml_example_is_a_valid_file(tmp_path: Path) -> None:
    (example,) = blocks("toml")
    (tmp_path / "batchyard.toml").write_text(example)
    config = load_file(tmp_path / "batchyard.toml")
    assert set(config.channels) == {"ops-hook", "team", "oncall"}
    assert config.alerts.channels == ["ops-hook", "team", "oncall"]


@pytest.mark.parametrize(
    ("line", "replace"),
    [
        ("channels.ops-hook.secret:", ('secret_env = "BATCHYARD_HOOK_SECRET"', 'secret = "x"')),
        ("channels.team.url:", ('url_env = "SLACK_WEBHOOK_URL"', 'url = "https://h/s/T/B/X"')),
        ("channels.oncall.to:", ('to = ["oncall@example.com"]', 'to = ["oncall"]')),
        ("channels.pager.type:", ("[channels.team]", '[channels.pager]\ntype = "pager"\n[x]')),
    ],
)
def test_the_errors_shown_are_the_ones_given(
    tmp_path: Path, line: str, replace: tuple[str, str]
) -> None:
    (example,) = blocks("toml")
    (shown,) = [e for e in blocks("text")[0].splitlines() if line in e]
    (tmp_path / "batchyard.toml").write_text(example.replace(*replace))
    with pytest.raises(ConfigError) as caught:
        load_file(tmp_path / "batchyard.toml")
    assert shown == "error: " + str(caught.value).replace(f"{tmp_path}/", "")
