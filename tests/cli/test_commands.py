"""Every ``batchyard`` command, run for real against a project with a small custom kind.

Most tests use ``CliRunner`` on a SQLite store; ``test_broad_flow`` runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_helpers import (
    as_json,
    invoke,
    ok,
    run_job,
    sqlite_project_at,
    store_file,
    write_project,
)

from batchyard.db import ENGINES
from batchyard.store import Store


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def runs_of(warehouse_url: str, job_id: str) -> list[int]:
    """The items of ``job_id`` that ran (one row per attempt, from the kind's ``runs`` table)."""
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text('SELECT i FROM runs WHERE "_job_id" = :j ORDER BY i'), {"j": job_id}
            ).scalars()
            return list(rows)
    finally:
        engine.dispose()


def warehouse(project: Path) -> str:
    return f"sqlite:///{project / 'warehouse.db'}"


# -- init ------------------------------------------------------------------------------------------


def test_init_writes_a_project_that_runs(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    result = ok(None, "init", str(folder))
    for name in (
        "batchyard.toml",
        "jobs.py",
        "pipelines/june.yaml",
        "pipelines/season.yaml",
        ".gitignore",
    ):
        assert (folder / name).is_file(), name
        assert f"wrote {folder / name}" in result.stdout
    assert "batchyard run daily-scores" in result.stdout  # says what to do next

    kinds = {k["name"]: k["builtin"] for k in as_json(ok(folder, "kinds", "--json"))}
    assert kinds["daily-scores"] is False and kinds["batch"] is True
    assert [p["name"] for p in as_json(ok(folder, "pipelines", "--json"))] == ["june", "season"]
    run_job(
        folder, "daily-scores", "-p", "start=2024-04-01", "-p", "end=2024-04-03", "-p", "latency=0"
    )
    assert store_file(folder).is_file()


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    ok(None, "init", str(folder))
    (folder / "jobs.py").write_text("# mine\n")

    result = ok(None, "init", str(folder), code=2)
    assert result.stderr.startswith("error: ")
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (folder / "jobs.py").read_text() == "# mine\n"  # untouched

    ok(None, "init", str(folder), "--force")
    assert "@by.job" in (folder / "jobs.py").read_text()


def test_init_uses_the_project_flag(tmp_path: Path) -> None:
    folder = tmp_path / "here"
    folder.mkdir()
    ok(folder, "init")
    assert (folder / "batchyard.toml").is_file()


# -- run -------------------------------------------------------------------------------------------


def test_run_completed_exits_0(sqlite_project: Path) -> None:
    result = ok(sqlite_project, "run", "nums", "-p", "n=4", "--name", "four", "--tag", "t1")
    assert "completed: 4 done, 0 failed, 0 skipped of 4" in result.stderr
    assert "retry" not in result.stderr  # no hint when nothing failed
    job = as_json(ok(sqlite_project, "jobs", "list", "--json"))["jobs"][0]
    assert (job["name"], job["tags"], job["status"], job["done"]) == (
        "four",
        ["t1"],
        "completed",
        4,
    )
    assert runs_of(warehouse(sqlite_project), job["id"]) == [0, 1, 2, 3]


def test_run_with_a_failing_item_is_partial_and_exits_1(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=4", code=1, env={"NUMS_FAIL": "2"})
    result = ok(sqlite_project, "jobs", "show", job_id, "--json")
    assert as_json(result)["status"] == "partial"

    out = invoke(sqlite_project, "run", "nums", "-p", "n=3", env={"NUMS_FAIL": "1"})
    assert out.exit_code == 1
    assert "partial: 2 done, 1 failed" in out.stderr
    assert "ValueError: boom on 1" in out.stderr
    # The exact commands to see and rerun the failures, with the -C this run was given.
    assert f"batchyard -C {sqlite_project} jobs items " in out.stderr
    assert "jobs retry " in out.stderr and "--failed-only" in out.stderr


def test_run_options_reach_the_job(sqlite_project: Path) -> None:
    job_id = run_job(
        sqlite_project,
        "nums",
        "-p",
        "n=2",
        "--workers",
        "3",
        "--retries",
        "2",
        "--timeout",
        "30",
        "--stop-on-error",
        "--executor",
        "threads",
    )
    options = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))["options"]
    assert options == {
        "workers": 3,
        "executor": "threads",
        "retries": 2,
        "retry": {"attempts": 3, "delay": 1.0, "backoff": 2.0, "max_delay": 300.0, "jitter": True},
        "timeout": 30.0,
        "stop_on_error": True,
        "lease_ttl": 30.0,
    }


def test_run_on_processes(sqlite_project: Path) -> None:
    job_id = run_job(
        sqlite_project,
        "nums",
        "-p",
        "n=3",
        "--executor",
        "processes",
        "--workers",
        "2",
        code=1,
        env={"NUMS_FAIL": "1"},
    )
    job = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert (job["options"]["executor"], job["status"], job["done"], job["failed"]) == (
        "processes",
        "partial",
        2,
        1,
    )
    assert runs_of(warehouse(sqlite_project), job_id) == [0, 1, 2]


def test_run_retries_a_failing_item(sqlite_project: Path) -> None:
    # --retries 1: the failing item gets a second attempt (and fails again).
    job_id = run_job(
        sqlite_project, "nums", "-p", "n=2", "--retries", "1", code=1, env={"NUMS_FAIL": "1"}
    )
    items = as_json(ok(sqlite_project, "jobs", "items", job_id, "--failed", "--json"))["items"]
    assert [(i["key"], i["attempts"]) for i in items] == [("1", 2)]


def test_run_a_pipeline(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "small")
    job = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert (job["kind"], job["name"], job["total"], job["tags"]) == (
        "nums",
        "small",
        2,
        ["nightly"],
    )
    assert job["metadata"] == {"pipeline": "small"}


def test_run_several_pipelines_as_a_batch(sqlite_project: Path) -> None:
    result = ok(sqlite_project, "run", "--batch", "small", "large", "--parallel", "2")
    batch_id = result.stderr.split()[1].rstrip(":")
    batch = as_json(ok(sqlite_project, "jobs", "show", batch_id, "--json"))
    assert (batch["kind"], batch["status"], batch["total"]) == ("batch", "completed", 2)
    assert batch["params"]["pipelines"] == ["small", "large"]
    assert batch["options"]["workers"] == 2  # --parallel 2: both pipelines at once

    # Each item is a pipeline, run as a child job of the batch.
    items = as_json(ok(sqlite_project, "jobs", "items", batch_id, "--json"))["items"]
    assert [i["key"] for i in items] == ["small", "large"]
    children = {i["key"]: i["result"]["job_id"] for i in items}
    for name, total in (("small", 2), ("large", 3)):
        child = as_json(ok(sqlite_project, "jobs", "show", children[name], "--json"))
        assert (child["parent_id"], child["name"], child["status"], child["done"]) == (
            batch_id,
            name,
            "completed",
            total,
        )

    # Children stay out of the default list, and come in with --children.
    top = as_json(ok(sqlite_project, "jobs", "list", "--json"))
    assert [j["id"] for j in top["jobs"]] == [batch_id]
    every = as_json(ok(sqlite_project, "jobs", "list", "--children", "--json"))
    assert {j["id"] for j in every["jobs"]} == {batch_id, *children.values()}


def test_batch_forms(sqlite_project: Path) -> None:
    # Repeated --batch, or several names after the first: the same batch.
    for args in (["--batch", "small", "--batch", "large"], ["small", "large"]):
        job_id = run_job(sqlite_project, *args)
        params = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))["params"]
        assert params["pipelines"] == ["small", "large"]
    result = ok(sqlite_project, "run", "--batch", "small", "nope", code=2)
    assert "no pipeline 'nope'" in result.stderr


def test_pause_exits_130_then_resume_and_cancel(sqlite_project: Path) -> None:
    # The item at pause_at stops the job as a first Ctrl+C does: the job pauses, exit 130.
    result = ok(
        sqlite_project, "run", "nums", "-p", "n=5", "-p", "pause_at=1", "--workers", "1", code=130
    )
    job_id = result.stderr.split()[1].rstrip(":")
    assert f"Resume with: batchyard -C {sqlite_project} jobs resume {job_id}" in result.stderr
    job = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert (job["status"], job["done"]) == ("paused", 2)
    assert [
        j["id"] for j in as_json(ok(sqlite_project, "jobs", "list", "--active", "--json"))["jobs"]
    ] == [job_id]

    # Resume runs only what was left.
    result = ok(sqlite_project, "jobs", "resume", job_id)
    assert "3 of 5 item(s) to go" in result.stderr
    assert as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))["status"] == "completed"
    assert runs_of(warehouse(sqlite_project), job_id) == [0, 1, 2, 3, 4]

    # A paused job can be cancelled: its items that did not run are cancelled too.
    result = ok(
        sqlite_project, "run", "nums", "-p", "n=4", "-p", "pause_at=0", "--workers", "1", code=130
    )
    paused = result.stderr.split()[1].rstrip(":")
    result = ok(sqlite_project, "jobs", "cancel", paused)
    assert result.stdout.strip() == f"job {paused} cancelled"
    job = as_json(ok(sqlite_project, "jobs", "show", paused, "--json"))
    assert (job["status"], job["done"], job["cancelled"]) == ("cancelled", 1, 3)
    # ... and then it is finished: neither cancel nor resume applies.
    assert "already cancelled" in ok(sqlite_project, "jobs", "cancel", paused, code=2).stderr
    refused = ok(sqlite_project, "jobs", "resume", paused, code=2).stderr
    assert refused == f"error: job {paused} is cancelled; nothing is left to run\n"  # that only


# -- kinds and pipelines ---------------------------------------------------------------------------


def test_kinds(sqlite_project: Path) -> None:
    table = ok(sqlite_project, "kinds").stdout
    assert "nums" in table and "n: integer" in table and "pause_at?: integer" in table
    assert "One item per number below n." in table

    kinds = {k["name"]: k for k in as_json(ok(sqlite_project, "kinds", "--json"))}
    assert {name for name, k in kinds.items() if not k["builtin"]} == {"nums"}  # jobs.py's
    assert kinds["batch"]["builtin"] is True
    assert kinds["nums"]["params"]["required"] == ["n"]
    assert kinds["nums"]["params"]["properties"]["n"]["type"] == "integer"

    one = as_json(ok(sqlite_project, "kinds", "nums", "--json"))
    assert [k["name"] for k in one] == ["nums"]
    assert "unknown job kind" in ok(sqlite_project, "kinds", "nope", code=2).stderr


def test_pipelines(sqlite_project: Path) -> None:
    table = ok(sqlite_project, "pipelines").stdout
    assert "2 pipeline(s)" in table and "Three numbers" in table and "n=3" in table
    found = as_json(ok(sqlite_project, "pipelines", "--json"))
    assert [(p["name"], p["kind"], p["params"], p["tags"]) for p in found] == [
        ("large", "nums", {"n": 3}, ["nightly"]),
        ("small", "nums", {"n": 2}, ["nightly"]),
    ]


# -- jobs list -------------------------------------------------------------------------------------


def test_jobs_list_filters(sqlite_project: Path) -> None:
    done = run_job(sqlite_project, "nums", "-p", "n=1", "--name", "alpha-load", "--tag", "daily")
    partial = run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "0"})
    prod = run_job(sqlite_project, "small", "--name", "beta-load")  # pipeline: tagged nightly
    ok(sqlite_project, "--env", "prod", "run", "nums", "-p", "n=1", "--name", "in-prod")
    paused = run_job(
        sqlite_project, "nums", "-p", "n=3", "-p", "pause_at=0", "--workers", "1", code=130
    )
    listed = as_json(ok(sqlite_project, "jobs", "list", "--json"))
    assert listed["total"] == 5 and len(listed["jobs"]) == 5
    in_prod = listed["jobs"][1]["id"]
    assert listed["jobs"][1]["env"] == "prod"

    def ids(*args: str) -> list[str]:
        data = as_json(ok(sqlite_project, "jobs", "list", *args, "--json"))
        assert data["total"] >= len(data["jobs"])
        return [j["id"] for j in data["jobs"]]

    assert ids() == [paused, in_prod, prod, partial, done]  # newest first
    assert ids("--active") == [paused]
    assert ids("--status", "partial") == [partial]
    assert ids("--status", "partial", "--status", "paused") == [paused, partial]
    assert ids("--kind", "nums") == [paused, in_prod, prod, partial, done]
    assert ids("--kind", "batch") == []
    assert ids("--env", "prod") == [in_prod]
    assert ids("--search", "load") == [prod, done]
    assert ids("-s", "ALPHA") == [done]
    assert ids("--search", partial[-6:]) == [partial]  # the id too
    assert ids("--tag", "nightly") == [prod]
    assert ids("--limit", "2") == [paused, in_prod]
    assert ids("--limit", "2", "--offset", "2") == [prod, partial]
    page = as_json(ok(sqlite_project, "jobs", "list", "--limit", "2", "--json"))
    assert page["total"] == 5

    table = ok(sqlite_project, "jobs", "list").stdout
    assert "5 of 5 job(s)" in table
    for job_id in (done, partial, prod, paused):
        assert job_id in table  # ids in full, never cut, even when piped
    assert (
        "--status 'bogus'" in ok(sqlite_project, "jobs", "list", "--status", "bogus", code=2).stderr
    )


def test_jobs_list_on_a_fresh_project_writes_nothing(sqlite_project: Path) -> None:
    data = as_json(ok(sqlite_project, "jobs", "list", "--json"))
    assert data == {"total": 0, "jobs": []}
    assert "0 of 0 job(s)" in ok(sqlite_project, "jobs", "list").stdout
    for args in (
        ["jobs", "stats", "--json"],
        ["jobs", "export"],
        ["kinds"],
        ["pipelines"],
        ["jobs", "cleanup", "--older-than", "1d"],
    ):
        ok(sqlite_project, *args)
    assert not store_file(sqlite_project).exists()  # reading never creates a store


# -- show, progress, items, log --------------------------------------------------------------------


def test_show(sqlite_project: Path) -> None:
    job_id = run_job(
        sqlite_project, "nums", "-p", "n=3", "--tag", "x", code=1, env={"NUMS_FAIL": "2"}
    )
    text = ok(sqlite_project, "jobs", "show", job_id).stdout
    for expected in (
        job_id,
        "partial",
        "3 total, 2 done, 1 failed, 0 skipped, 0 cancelled",
        "n=3",
        "workers=2",
        "tags",
        "first failures",
        "2 (attempt 1): ValueError: boom on 2",
    ):
        assert expected in text, expected
    data = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert (data["id"], data["status"], data["total"], data["done"], data["failed"]) == (
        job_id,
        "partial",
        3,
        2,
        1,
    )
    assert data["params"] == {"n": 3, "pause_at": -1, "password": "", "url": ""}
    assert data["failures"] == [{"key": "2", "error": "ValueError: boom on 2", "attempts": 1}]
    assert data["percent"] == 100.0
    # A unique prefix of the id will do.
    assert as_json(ok(sqlite_project, "jobs", "show", job_id[:-2], "--json"))["id"] == job_id


def test_progress(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=4", code=1, env={"NUMS_FAIL": "3"})
    snap = as_json(ok(sqlite_project, "jobs", "progress", job_id, "--json"))
    assert {k: snap[k] for k in ("job_id", "status", "total", "done", "failed", "percent")} == {
        "job_id": job_id,
        "status": "partial",
        "total": 4,
        "done": 3,
        "failed": 1,
        "percent": 100.0,
    }
    assert snap["eta_s"] is None and snap["current"] == []
    assert {"items_per_s", "rows_per_s", "elapsed_s"} <= set(snap)
    line = ok(sqlite_project, "jobs", "progress", job_id).stdout
    assert "partial" in line and "100.0%" in line and "4/4 items" in line and "failed 1" in line
    # --watch on a job that is not running prints once and returns.
    watched = ok(sqlite_project, "jobs", "progress", job_id, "--watch", "--json").stdout
    assert json.loads(watched)["status"] == "partial"


def test_items(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=5", code=1, env={"NUMS_FAIL": "1,3"})
    data = as_json(ok(sqlite_project, "jobs", "items", job_id, "--json"))
    assert data["total"] == 5
    assert [(i["key"], i["status"], i["result"]) for i in data["items"]] == [
        ("0", "done", 0),
        ("1", "failed", None),
        ("2", "done", 4),
        ("3", "failed", None),
        ("4", "done", 16),
    ]
    failed = as_json(ok(sqlite_project, "jobs", "items", job_id, "--failed", "--json"))
    assert failed["total"] == 2
    assert [(i["key"], i["error"]) for i in failed["items"]] == [
        ("1", "ValueError: boom on 1"),
        ("3", "ValueError: boom on 3"),
    ]
    assert "Traceback" in failed["items"][0]["traceback"]  # kept for the JSON reader
    done = as_json(
        ok(sqlite_project, "jobs", "items", job_id, "--status", "done", "--limit", "2", "--json")
    )
    assert done["total"] == 3 and [i["key"] for i in done["items"]] == ["0", "2"]

    table = ok(sqlite_project, "jobs", "items", job_id, "--failed").stdout
    assert "2 of 2 item(s)" in table and "ValueError: boom on 3" in table
    assert (
        "--status 'bogus'"
        in ok(sqlite_project, "jobs", "items", job_id, "--status", "bogus", code=2).stderr
    )


def test_log(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "1"})
    text = ok(sqlite_project, "jobs", "log", job_id).stdout
    assert "runner " in text and "started" in text
    assert "[0] squaring 0" in text and "[1] squaring 1" in text
    assert "partial: 1 done, 1 failed" in text
    only = ok(sqlite_project, "jobs", "log", job_id, "--item", "1").stdout
    assert only.strip().endswith("[1] squaring 1") and "squaring 0" not in only
    lines = ok(sqlite_project, "jobs", "log", job_id, "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]  # JSON lines: one event a line
    assert {e["message"] for e in events} >= {"squaring 0", "squaring 1"}
    assert all(e["job_id"] == job_id for e in events)
    # --follow on a finished job prints the log and returns.
    assert "squaring 1" in ok(sqlite_project, "jobs", "log", job_id, "--follow").stdout


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_never_shown(sqlite_project: Path) -> None:
    """A param named password, or a URL with a password, is masked in every output and the store."""
    secret, url_secret = "hunter2-pw", "s3cret-in-url"
    url = f"postgresql://scott:{url_secret}@db.example.com/sales"
    run = ok(
        sqlite_project,
        "run",
        "nums",
        "-p",
        "n=2",
        "-p",
        f"password={secret}",
        "-p",
        f"url={url}",
        code=1,
        env={"NUMS_FAIL": "1"},
    )
    job_id = run.stderr.split()[1].rstrip(":")
    outputs = [run.stdout, run.stderr]
    for args in (
        ["jobs", "list"],
        ["jobs", "list", "--json"],
        ["jobs", "show", job_id],
        ["jobs", "show", job_id, "--json"],
        ["jobs", "items", job_id, "--json"],
        ["jobs", "items", job_id],
        ["jobs", "log", job_id],
        ["jobs", "log", job_id, "--json"],
        ["jobs", "progress", job_id, "--json"],
        ["jobs", "export", "--format", "json"],
        ["jobs", "export", "--format", "csv"],
        ["jobs", "stats", "--json"],
    ):
        result = ok(sqlite_project, *args)
        outputs += [result.stdout, result.stderr]
    for text in outputs:
        assert secret not in text and url_secret not in text
    shown = as_json(ok(sqlite_project, "jobs", "show", job_id, "--json"))
    assert shown["params"]["password"] == "***"
    assert shown["params"]["url"] == "postgresql://scott:***@db.example.com/sales"
    # The item's own error and log line still say what happened, with the secrets masked.
    assert shown["failures"][0]["error"] == (
        "ValueError: boom on 1 (postgresql://scott:***@db.example.com/sales, ***)"
    )
    assert (
        "connecting to postgresql://scott:***@db.example.com/sales as ***"
        in ok(sqlite_project, "jobs", "log", job_id).stdout
    )
    # Nor is either written to the store.
    ENGINES.dispose()
    for path in store_file(sqlite_project).parent.iterdir():
        data = path.read_bytes()
        assert secret.encode() not in data and url_secret.encode() not in data, path


def test_secret_from_the_environment_is_kept_as_a_reference(sqlite_project: Path) -> None:
    job_id = run_job(
        sqlite_project,
        "nums",
        "-p",
        "n=1",
        "-p",
        "password=${NUMS_PW}",
        env={"NUMS_PW": "from-env-123"},
    )
    result = ok(sqlite_project, "jobs", "show", job_id, "--json")
    assert as_json(result)["params"]["password"] == "${NUMS_PW}"
    assert "from-env-123" not in result.stdout


# -- retry, cancel, delete, cleanup ----------------------------------------------------------------


def test_retry_failed_only(sqlite_project: Path) -> None:
    old = run_job(sqlite_project, "nums", "-p", "n=5", code=1, env={"NUMS_FAIL": "1,3"})
    result = ok(sqlite_project, "jobs", "retry", old, "--failed-only")  # no longer failing
    new = result.stderr.split()[1]
    assert f"job {new} retries {old}: 2 item(s)" in result.stderr
    job = as_json(ok(sqlite_project, "jobs", "show", new, "--json"))
    assert (job["retry_of"], job["status"], job["total"], job["done"]) == (old, "completed", 2, 2)
    items = as_json(ok(sqlite_project, "jobs", "items", new, "--json"))["items"]
    assert [i["key"] for i in items] == ["1", "3"]
    # Only the failed items ran again.
    assert runs_of(warehouse(sqlite_project), new) == [1, 3]
    assert runs_of(warehouse(sqlite_project), old) == [0, 1, 2, 3, 4]
    assert "retry of" in ok(sqlite_project, "jobs", "show", new).stdout

    # --all runs every item again, as a new job.
    result = ok(sqlite_project, "jobs", "retry", old, "--all")
    assert runs_of(warehouse(sqlite_project), result.stderr.split()[1]) == [0, 1, 2, 3, 4]


def test_retry_of_an_unfinished_job_is_refused(sqlite_project: Path) -> None:
    paused = run_job(
        sqlite_project, "nums", "-p", "n=3", "-p", "pause_at=0", "--workers", "1", code=130
    )
    result = ok(sqlite_project, "jobs", "retry", paused, code=2)
    assert "resume it instead" in result.stderr
    assert as_json(ok(sqlite_project, "jobs", "list", "--json"))["total"] == 1


def test_retry_needs_a_secret_that_was_never_stored(sqlite_project: Path) -> None:
    # A literal password lives only in the process that ran the job: a retry from another
    # command cannot have it, says so, and leaves no half-made job behind.
    old = run_job(
        sqlite_project,
        "nums",
        "-p",
        "n=2",
        "-p",
        "password=hunter2",
        code=1,
        env={"NUMS_FAIL": "0"},
    )
    result = ok(sqlite_project, "jobs", "retry", old, code=2)
    assert "${ENV_VAR}" in result.stderr and "hunter2" not in result.output
    assert [j["id"] for j in as_json(ok(sqlite_project, "jobs", "list", "--json"))["jobs"]] == [old]


def test_cancel_a_pending_job(sqlite_project: Path) -> None:
    import batchyard as by

    with by.Batchyard(root=sqlite_project) as api:
        job = api.submit("nums", {"n": 3})
    result = ok(sqlite_project, "jobs", "cancel", job.id)
    assert result.stdout.strip() == f"job {job.id} cancelled"
    data = as_json(ok(sqlite_project, "jobs", "show", job.id, "--json"))
    assert (data["status"], data["cancelled"]) == ("cancelled", 3)


def test_delete(sqlite_project: Path) -> None:
    first = run_job(sqlite_project, "nums", "-p", "n=1")
    second = run_job(sqlite_project, "nums", "-p", "n=1")
    paused = run_job(
        sqlite_project, "nums", "-p", "n=3", "-p", "pause_at=0", "--workers", "1", code=130
    )

    result = ok(sqlite_project, "jobs", "delete", first, second)
    assert result.stdout.splitlines() == [f"deleted {first}", f"deleted {second}"]
    assert ok(sqlite_project, "jobs", "show", first, code=2).stderr.startswith("error: no job")

    # An unfinished job is kept unless --force.
    result = ok(sqlite_project, "jobs", "delete", paused, code=2)
    assert "paused" in result.stderr and "--force" in result.stderr
    assert as_json(ok(sqlite_project, "jobs", "show", paused, "--json"))["status"] == "paused"
    ok(sqlite_project, "jobs", "delete", paused, "--force")
    assert as_json(ok(sqlite_project, "jobs", "list", "--json"))["total"] == 0
    # Its items and log went with it.
    ENGINES.dispose()
    with Store.open(f"sqlite:///{store_file(sqlite_project)}") as store:
        assert store.list_items(paused)[1] == 0 and store.events(paused) == []


def test_delete_checks_every_id_first(sqlite_project: Path) -> None:
    job = run_job(sqlite_project, "nums", "-p", "n=1")
    result = ok(sqlite_project, "jobs", "delete", job, "nope", code=2)
    assert "no job 'nope'" in result.stderr
    assert as_json(ok(sqlite_project, "jobs", "list", "--json"))["total"] == 1


def test_cleanup(sqlite_project: Path) -> None:
    done = run_job(sqlite_project, "nums", "-p", "n=1")
    partial = run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "0"})
    paused = run_job(
        sqlite_project, "nums", "-p", "n=3", "-p", "pause_at=0", "--workers", "1", code=130
    )

    result = ok(sqlite_project, "jobs", "cleanup", "--older-than", "7d")
    assert result.stdout.strip() == "deleted 0 job(s) older than 7d"
    result = ok(sqlite_project, "jobs", "cleanup", "--older-than", "0s", "--status", "partial")
    assert result.stdout.strip() == "deleted 1 job(s) older than 0s"
    ids = [j["id"] for j in as_json(ok(sqlite_project, "jobs", "list", "--json"))["jobs"]]
    assert ids == [paused, done] and partial not in ids
    ok(sqlite_project, "jobs", "cleanup", "--older-than", "0s")
    # Unfinished jobs are never cleaned up.
    ids = [j["id"] for j in as_json(ok(sqlite_project, "jobs", "list", "--json"))["jobs"]]
    assert ids == [paused]


@pytest.mark.parametrize("age", ["7", "7x", "d", "-1d", "soon"])
def test_cleanup_bad_age(sqlite_project: Path, age: str) -> None:
    run_job(sqlite_project, "nums", "-p", "n=1")
    result = ok(sqlite_project, "jobs", "cleanup", "--older-than", age, code=2)
    assert result.stderr == f"error: --older-than {age!r}: write it like 30m, 12h, 7d or 2w\n"
    assert as_json(ok(sqlite_project, "jobs", "list", "--json"))["total"] == 1


def test_cleanup_status_must_be_a_finished_one(sqlite_project: Path) -> None:
    result = ok(
        sqlite_project, "jobs", "cleanup", "--older-than", "1d", "--status", "running", code=2
    )
    assert "finished jobs only" in result.stderr


# -- stats, export ---------------------------------------------------------------------------------


def test_stats(sqlite_project: Path) -> None:
    run_job(sqlite_project, "nums", "-p", "n=2")
    run_job(sqlite_project, "nums", "-p", "n=2")
    run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "1"})
    run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "0,1"})
    ok(sqlite_project, "--env", "prod", "run", "nums", "-p", "n=1")

    data = as_json(ok(sqlite_project, "jobs", "stats", "--json"))
    assert data["total"] == 5
    assert data["by_status"] == {"completed": 3, "failed": 1, "partial": 1}
    assert data["success_rate"] == 0.6
    assert data["duration_p50_s"] is not None
    groups = {(g["kind"], g["env"]): g for g in data["by_kind_env"]}
    assert set(groups) == {("nums", "dev"), ("nums", "prod")}
    dev = groups[("nums", "dev")]
    assert (dev["jobs"], dev["completed"], dev["partial"], dev["failed"], dev["items_done"]) == (
        4,
        2,
        1,
        1,
        5,
    )
    assert dev["success_rate"] == 0.5

    only_prod = as_json(ok(sqlite_project, "jobs", "stats", "--env", "prod", "--json"))
    assert (only_prod["total"], only_prod["success_rate"]) == (1, 1.0)
    assert as_json(ok(sqlite_project, "jobs", "stats", "--kind", "batch", "--json"))["total"] == 0

    text = ok(sqlite_project, "jobs", "stats").stdout
    assert "5 job(s): 3 completed, 1 failed, 1 partial; success rate 60.0%" in text
    assert "by kind and env" in text and "prod" in text


def test_export(sqlite_project: Path, tmp_path: Path) -> None:
    done = run_job(sqlite_project, "nums", "-p", "n=2", "--tag", "a")
    partial = run_job(sqlite_project, "nums", "-p", "n=2", code=1, env={"NUMS_FAIL": "1"})

    rows = json.loads(ok(sqlite_project, "jobs", "export").stdout)
    assert [r["id"] for r in rows] == [partial, done]
    assert rows[1]["tags"] == ["a"] and rows[0]["error"].startswith("1 item(s) failed")
    assert "lease_owner" not in rows[0]

    out = tmp_path / "jobs.csv"
    result = ok(sqlite_project, "jobs", "export", "--format", "csv", "-o", str(out))
    assert result.stdout == "" and f"wrote 2 job(s) to {out}" in result.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["id"], r["status"], r["done"]) for r in table] == [
        (partial, "partial", "1"),
        (done, "completed", "2"),
    ]
    assert json.loads(table[1]["params"])["n"] == 2

    out = tmp_path / "one.json"
    ok(sqlite_project, "jobs", "export", done, "-f", "json", "--output", str(out))
    assert [r["id"] for r in json.loads(out.read_text())] == [done]
    only = json.loads(ok(sqlite_project, "jobs", "export", "--status", "partial").stdout)
    assert [r["id"] for r in only] == [partial]
    assert (
        "use json or csv" in ok(sqlite_project, "jobs", "export", "--format", "xml", code=2).stderr
    )
    result = ok(
        sqlite_project, "jobs", "export", "-o", str(tmp_path / "no" / "such" / "x.json"), code=2
    )
    assert result.stderr.startswith("error: --output ") and "cannot write" in result.stderr


# -- one broad flow, on both stores ----------------------------------------------------------------


def test_broad_flow(project: Path, store_url: str, target_url: str) -> None:
    """run → partial → list → show → items → retry → stats → export → cleanup, on each backend."""
    write_project(project, store_url, target_url)
    try:
        old = run_job(
            project, "nums", "-p", "n=6", "--workers", "3", code=1, env={"NUMS_FAIL": "2,5"}
        )
        listed = as_json(ok(project, "jobs", "list", "--status", "partial", "--json"))
        assert [j["id"] for j in listed["jobs"]] == [old] and listed["total"] == 1
        failed = as_json(ok(project, "jobs", "items", old, "--failed", "--json"))
        assert [i["key"] for i in failed["items"]] == ["2", "5"]

        new = ok(project, "jobs", "retry", old).stderr.split()[1]
        job = as_json(ok(project, "jobs", "show", new, "--json"))
        assert (job["retry_of"], job["status"], job["total"]) == (old, "completed", 2)
        assert runs_of(target_url, new) == [2, 5]

        batch = run_job(project, "--batch", "small", "large", "--parallel", "2")
        assert as_json(ok(project, "jobs", "show", batch, "--json"))["status"] == "completed"
        # Stats count every job, the batch's two children too.
        stats = as_json(ok(project, "jobs", "stats", "--json"))
        assert stats["by_status"] == {"completed": 4, "partial": 1}
        assert stats["success_rate"] == 0.8

        exported = json.loads(ok(project, "jobs", "export", "--format", "json").stdout)
        assert {j["id"] for j in exported} >= {old, new, batch}
        ok(project, "jobs", "cleanup", "--older-than", "0s", "--status", "partial")
        assert [j["id"] for j in as_json(ok(project, "jobs", "list", "--json"))["jobs"]] == [
            batch,
            new,
        ]
    finally:
        ENGINES.dispose()
