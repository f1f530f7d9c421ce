"""``batchyard validate`` at its edges: databases it cannot reach and rules files that are not YAML
(exit 2, one line, no traceback, nothing recorded), and rules that fail, which are the data's
failure and not the job's (the job completes, its result fails, the command exits 1)."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from conftest import cli
from pgserver import _free_port

RULES = "suite: s\ntables:\n  t:\n    - {rule: not_null, column: a}\n"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "rules.yaml").write_text(RULES)
    yield root
    ENGINES.dispose()


def run(project: Path, *args: str) -> Any:
    return CliRunner().invoke(cli_app, ["-C", str(project), *args], catch_exceptions=False)


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def refused(project: Path, *args: str, match: str) -> str:
    """In-process and through the real command: exit 2, one error line, no store made."""
    result = run(project, *args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    line = one_error_line(result.stderr)
    assert re.search(match, line), f"{match!r} not in {line!r}"
    proc = cli(*args, cwd=project)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert one_error_line(proc.stderr) == line
    assert proc.stdout == ""
    assert not (project / ".batchyard").exists(), "a refused run left a store behind"
    return line


# -- item 8: a database that is not there ------------------------------------------------------------


def test_a_missing_postgresql_database_is_refused(project: Path, pg_admin_url: str) -> None:
    name = f"by_missing_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(pg_admin_url).set(database=name, password="s3cret")
    line = refused(
        project,
        "validate",
        url.render_as_string(hide_password=False),
        "--rules",
        str(project / "rules.yaml"),
        match=rf'database "{name}" does not exist on .*/{name}: create it first',
    )
    assert "s3cret" not in line


def test_an_unreachable_postgresql_server_is_refused(project: Path) -> None:
    url = f"postgresql://u:pw@127.0.0.1:{_free_port()}/db"
    refused(
        project,
        "validate",
        url,
        "--rules",
        str(project / "rules.yaml"),
        match=r"cannot connect to postgresql://u:\*+@127\.0\.0\.1:\d+/db: .*refused",
    )


# -- item 8: rules files that are not YAML -----------------------------------------------------------

_rng = random.Random(15)
NOT_RULES = {
    "python tag": (
        "suite: !!python/object:os.system\n  x: 1\ntables: {}\n",
        r"bad\.yaml:1:8: not valid rules: the YAML tag !!python/object:os\.system is not allowed",
    ),
    "python tag in a rule": (
        "suite: s\ntables:\n  t:\n    - !!python/object/apply:os.system [echo hi]\n",
        r"bad\.yaml:4:7: not valid rules: the YAML tag !!python/object/apply:os\.system",
    ),
    "custom tag": ("suite: !secret s\ntables: {}\n", r"bad\.yaml:1:8: .*YAML tag !secret"),
    "random bytes": (bytes(_rng.randrange(256) for _ in range(400)), r"bad\.yaml: "),
    "latin-1 text": ("suite: caf\xe9\n".encode("latin-1"), r"bad\.yaml: not UTF-8 text"),
    "control characters": ("suite: s\x07\ntables: {}\n", r"bad\.yaml:1:\d+: not valid YAML"),
    "deep nesting": ("suite: " + "[" * 5000 + "\n", r"bad\.yaml"),
}


@pytest.mark.parametrize("case", NOT_RULES)
def test_a_rules_file_that_is_not_yaml_rules_is_refused(
    project: Path, tmp_path: Path, case: str
) -> None:
    content, match = NOT_RULES[case]
    bad = project / "bad.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    db = tmp_path / "data.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
    refused(project, "validate", str(db), "--rules", str(bad), match=match)


# -- item 16: failing rules fail the data, not the job ----------------------------------------------

MANY = "suite: many\ntables:\n  t:\n" + "".join(
    f"    - {{rule: between, column: a, min: {n}, max: {n}, name: exactly_{n}}}\n"
    for n in range(12)
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    db = tmp_path / "data.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100)])
    return db


def test_failing_rules_complete_the_job_with_a_failing_result(project: Path, data: Path) -> None:
    (project / "many.yaml").write_text(MANY)
    result = run(project, "validate", str(data), "--rules", str(project / "many.yaml"))
    assert result.exit_code == 1, result.output
    # The summary names the first failing rules and says how many it left out.
    summary = result.stderr.strip().splitlines()[-1]
    assert re.search(r"failing at error: (t\.exactly_\d+, ){4}t\.exactly_\d+ and 7 more$", summary)
    with by.Batchyard(root=project) as app:
        (job,), _ = app.jobs()
        assert job.status is by.JobStatus.COMPLETED, job.error
        assert job.error is None
        outcome = job.metadata["result"]
        assert outcome["passed"] is False and outcome["fail_on"] == "error"
        assert outcome["failed"] == 12 and len(outcome["failing"]) == 10
        stats = app.stats()
        assert stats["by_status"] == {"completed": 1} and stats["success_rate"] == 1.0
        # A retry's verdict is its own: it does not start with the old run's.
        again = app.retry(job.id, failed_only=False)
        assert "result" not in again.metadata and again.metadata["suite"] == "many"
    shown = json.loads(run(project, "jobs", "show", job.id, "--json").stdout)
    assert shown["status"] == "completed" and shown["metadata"]["result"]["passed"] is False


def test_a_run_of_the_validate_kind_exits_1_when_its_rules_fail(project: Path, data: Path) -> None:
    (project / "many.yaml").write_text(MANY)
    rules = str(project / "many.yaml")
    result = run(project, "run", "validate", "-p", f"target={data}", "-p", f"rules={rules}")
    assert result.exit_code == 1, result.output
    assert "completed" in result.stderr
    assert re.search(r"12 rule\(s\) failed at error: t\.exactly_0, .* and 2 more", result.stderr)
    with by.Batchyard(root=project) as app:
        (job,), _ = app.jobs()
        assert job.status is by.JobStatus.COMPLETED
        assert job.metadata["result"]["passed"] is False


def test_passing_rules_record_a_passing_result(project: Path, data: Path) -> None:
    (project / "ok.yaml").write_text(
        "suite: ok\ntables:\n  t:\n    - {rule: between, column: a, min: 0, max: 99}\n"
    )
    result = run(project, "validate", str(data), "--rules", str(project / "ok.yaml"))
    assert result.exit_code == 0, result.output
    with by.Batchyard(root=project) as app:
        (job,), _ = app.jobs()
    assert job.status is by.JobStatus.COMPLETED
    assert job.metadata["result"] == {
        "passed": True,
        "fail_on": "error",
        "failed": 0,
        "failing": [],
    }
