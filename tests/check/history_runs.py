"""A project whose suite has run five times on data that gets better between runs: for the tests
of the report's history chart and of `data quality`'s sparkline."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import batchyard as by
from batchyard.check.run import report_for
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.store import JobFilter

RULES = """\
suite: club
tables:
  members:
    - {rule: not_null, column: name}
    - {rule: between, column: age, min: 0, max: 120, fix: Check the birth year.}
    - {rule: regex, column: email, format: email, severity: warning}
  teams:
    - {rule: not_null, column: city}
"""

#: Per run, the defects still in the data: rows with no name, ages out of range, bad emails,
#: teams with no city. Each run fixes some; the last has none.
DEFECTS = [(3, 2, 2, 1), (2, 2, 0, 1), (0, 2, 0, 1), (0, 1, 0, 0), (0, 0, 0, 0)]


def _write(db: Path, defects: tuple[int, int, int, int]) -> None:
    no_name, bad_age, bad_email, no_city = defects
    with sqlite3.connect(db) as con:
        con.execute("drop table if exists members")
        con.execute("drop table if exists teams")
        con.execute("create table members (id integer primary key, name text, age int, email text)")
        con.execute("create table teams (id integer primary key, city text)")
        rows = []
        for i in range(40):
            name = None if i < no_name else f"member {i}"
            age = 300 if 10 <= i < 10 + bad_age else 20 + i
            email = "nope" if 20 <= i < 20 + bad_email else f"m{i}@club.example"
            rows.append((i, name, age, email))
        con.executemany("insert into members values (?, ?, ?, ?)", rows)
        con.executemany(
            "insert into teams values (?, ?)",
            [(i, None if i < no_city else f"city {i}") for i in range(6)],
        )


def run_history(root: Path) -> dict[str, Any]:
    """Five runs of the suite, the last written as HTML (``validate --output report.html``);
    returns the last run's JSON report, with ``html``: the path of its HTML."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        '[project]\nname = "club"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n'
    )
    (root / "rules.yaml").write_text(RULES)
    db = root / "club.db"
    html = root / "report.html"
    runner = CliRunner()
    for n, defects in enumerate(DEFECTS):
        _write(db, defects)
        args = ["-C", str(root), "validate", str(db), "--rules", str(root / "rules.yaml")]
        out = ["--output", str(html)] if n == len(DEFECTS) - 1 else ["-f", "json"]
        result = runner.invoke(cli_app, [*args, *out], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
    with by.Batchyard(root=root) as app:
        jobs, _ = app.jobs(JobFilter(kind="validate"), limit=1)
        report = report_for(app.store, jobs[0]).to_dict()
    ENGINES.dispose()
    return {**report, "html": str(html)}
