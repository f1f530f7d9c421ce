"""The README's examples run as written."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from conftest import REPO, cli

README = (REPO / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first = blocks("sh")[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text()


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
