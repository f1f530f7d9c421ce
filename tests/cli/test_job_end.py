"""How a job's end is told: one printer for every command that runs a job (its counts, what went
wrong, the command to go on with) and the exit code of each end (``Job.exit_code``), through real
runs of the CLI on a SQLite store."""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import as_json, ok, sqlite_project_at

from batchyard import Batchyard
from batchyard.store.models import Job, JobStatus


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def job_in_store(project: Path, job_id: str) -> Job:
    with Batchyard(root=project) as app:
        return app.job(job_id)


def ended(stderr: str) -> tuple[str, list[str]]:
    """The job's id (from ``job ID: N item(s)``) and the lines from its end line on."""
    lines = stderr.splitlines()
    job_id = lines[0].split()[1].rstrip(":")
    start = max(i for i, line in enumerate(lines) if line.startswith(f"job {job_id} "))
    return job_id, lines[start:]


def hint_args(line: str, prefix: str) -> list[str]:
    """The arguments of the command a hint line prints after ``prefix`` (``batchyard`` dropped)."""
    argv = shlex.split(line.split(prefix, 1)[1])
    assert argv[0] == "batchyard", line
    return argv[1:]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (JobStatus.COMPLETED, 0),
        (JobStatus.PARTIAL, 1),
        (JobStatus.FAILED, 1),
        (JobStatus.CANCELLED, 1),
        (JobStatus.PAUSED, 130),
        (JobStatus.PENDING, 1),
        (JobStatus.RUNNING, 1),
    ],
)
def test_exit_code_of_each_status(status: JobStatus, expected: int) -> None:
    assert Job("j", "nums", "dev", status).exit_code == expected


def test_exit_code_of_a_result_that_fails_and_of_bad_data() -> None:
    failing = {"result": {"passed": False}}
    assert Job("j", "validate", "dev", JobStatus.COMPLETED, metadata=failing).exit_code == 1
    passing = {"result": {"passed": True}}
    assert Job("j", "validate", "dev", JobStatus.COMPLETED, metadata=passing).exit_code == 0
    # A result without a verdict is no failure.
    assert Job("j", "nums", "dev", JobStatus.COMPLETED, metadata={"result": 9}).exit_code == 0
    bad = {"bad_data": True}
    assert Job("j", "migrate", "dev", JobStatus.FAILED, metadata=bad).exit_code == 2


def test_a_completed_job_ends_with_its_counts_only(sqlite_project: Path) -> None:
    result = ok(sqlite_project, "run", "nums", "-p", "n=3", code=0)
    job_id, lines = ended(result.stderr)
    assert lines == [f"job {job_id} completed: 3 done, 0 failed, 0 skipped of 3; 6 rows written"]
    assert job_in_store(sqlite_project, job_id).exit_code == 0


def test_failed_items_end_with_the_commands_that_show_and_retry_them(
    sqlite_project: Path,
) -> None:
    result = ok(sqlite_project, "run", "nums", "-p", "n=3", code=1, env={"NUMS_FAIL": "1"})
    job_id, lines = ended(result.stderr)
    prefix = f"batchyard -C {sqlite_project}"
    assert lines == [
        # (The failed item's write to `runs` counts: it was committed.)
        f"job {job_id} partial: 2 done, 1 failed, 0 skipped of 3; 5 rows written",
        "1 item(s) failed; first: item 1: ValueError: boom on 1",
        f"See them with: {prefix} jobs items {job_id} --failed; "
        f"run them again with: {prefix} jobs retry {job_id} --failed-only",
    ]
    assert job_in_store(sqlite_project, job_id).exit_code == 1

    # The printed commands run as printed.
    shown = ok(None, *hint_args(lines[2].split(";")[0], "See them with:"), "--json")
    assert [i["key"] for i in as_json(shown)["items"]] == ["1"]
    retried = ok(None, *hint_args(lines[2], "run them again with:"), code=0)
    new_id, new_lines = ended(retried.stderr)
    assert new_lines[0].startswith(f"job {new_id} completed: 1 done, 0 failed")
    assert job_in_store(sqlite_project, new_id).retry_of == job_id


def test_a_paused_job_ends_with_the_command_that_resumes_it(sqlite_project: Path) -> None:
    result = ok(
        sqlite_project, "run", "nums", "-p", "n=4", "-p", "pause_at=1", "--workers", "1", code=130
    )
    job_id, lines = ended(result.stderr)
    assert lines == [
        f"job {job_id} paused: 2 done, 0 failed, 0 skipped of 4; 4 rows written",
        f"Paused. Resume with: batchyard -C {sqlite_project} jobs resume {job_id}",
    ]
    assert job_in_store(sqlite_project, job_id).exit_code == 130

    resumed = ok(None, *hint_args(lines[1], "Resume with:"), code=0)
    assert f"job {job_id} completed: 4 done, 0 failed, 0 skipped of 4" in resumed.stderr
    assert "Resume with" not in resumed.stderr
    assert job_in_store(sqlite_project, job_id).exit_code == 0


def test_bad_data_ends_the_job_with_exit_2_and_its_message(sqlite_project: Path) -> None:
    result = ok(
        sqlite_project, "run", "nums", "-p", "n=3", "--workers", "1", code=2, env={"NUMS_BAD": "0"}
    )
    job_id, lines = ended(result.stderr)
    assert lines[0].startswith(f"job {job_id} failed: ")
    assert lines[1:] == ["item 0 holds a value that cannot be moved"]
    assert job_in_store(sqlite_project, job_id).exit_code == 2


def test_a_validate_run_whose_rules_fail_ends_with_the_failing_rules(
    sqlite_project: Path, tmp_path: Path
) -> None:
    db = tmp_path / "scores.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE scores (id INTEGER PRIMARY KEY, points INTEGER)")
        conn.executemany("INSERT INTO scores VALUES (?, ?)", [(1, 3), (2, None)])
    conn.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "suite: scores\ntables:\n  scores:\n    - {rule: not_null, column: points}\n",
        encoding="utf-8",
    )
    result = ok(
        sqlite_project, "run", "validate", "-p", f"target={db}", "-p", f"rules={rules}", code=1
    )
    job_id, lines = ended(result.stderr)
    assert lines[0] == f"job {job_id} completed: 1 done, 0 failed, 0 skipped of 1; 0 rows written"
    assert len(lines) == 2 and "not_null(points)" in lines[1], lines
    assert job_in_store(sqlite_project, job_id).exit_code == 1

    # `batchyard validate` exits the same way, with its own report before the code.
    checked = ok(sqlite_project, "validate", str(db), "--rules", str(rules), code=1)
    assert "failing at error: scores.not_null(points)" in checked.stderr
    assert "Resume with" not in checked.stderr and "jobs retry" not in checked.stderr
