"""A job's run options resolve one way (request > pipeline > kind > settings > default), whether
it comes from the command line, the REST API or the Python API."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))

from apihelp import Client
from cli_helpers import ok

import batchyard as by
from batchyard.api import ServeOptions, create_app
from batchyard.db import ENGINES
from batchyard.engine.options import RunOptions
from batchyard.errors import ParamError

JOBS = """
import batchyard as by


@by.job("plain")
def plain(n: int = 2):
    return range(n)


@plain.item
def plain_item(i: int) -> int:
    return i


@by.job("tuned", workers=3, retries=by.Retry(attempts=3, delay=0.25, jitter=False), timeout=9,
        stop_on_error=True)
def tuned(n: int = 2):
    return range(n)


@tuned.item
def tuned_item(i: int) -> int:
    return i
"""

#: What a job records when nothing but the built-in defaults speak.
DEFAULTS = {
    "workers": 4,
    "executor": "threads",
    "retries": 0,
    "retry": {"attempts": 1, "delay": 1.0, "backoff": 2.0, "max_delay": 300.0, "jitter": True},
    "timeout": None,
    "stop_on_error": False,
    "lease_ttl": 30.0,
}


def make_project(root: Path, defaults: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "batchyard.toml").write_text(
        '[project]\nname = "options"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n\n'
        f"[defaults]\n{defaults}\n"
    )
    (root / "jobs.py").write_text(JOBS)
    (root / "pipelines").mkdir()
    (root / "pipelines" / "tuned-pipeline.yaml").write_text(
        "kind: tuned\nworkers: 2\nexecutor: processes\ntimeout: 4\nstop_on_error: false\n"
        "env: nightly\n"
    )
    with sqlite3.connect(root / "src.db") as con:
        con.execute("create table games (id integer primary key, home text)")
        con.executemany("insert into games values (?, ?)", [(i, f"t{i}") for i in range(10)])
    con.close()
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BATCHYARD_WORKERS", "BATCHYARD_EXECUTOR", "BATCHYARD_ENV", "BATCHYARD_STORE"):
        monkeypatch.delenv(name, raising=False)
    return make_project(
        tmp_path / "project", 'workers = 5\nretries = 1\nlease_ttl = 45\nenv = "qa"'
    )


@pytest.fixture
def client(project: Path) -> Iterator[Client]:
    app = create_app(root=project, options=ServeOptions(max_jobs=1))
    try:
        yield Client(app)
    finally:
        app.state.service.close()
        ENGINES.dispose()


def recorded(project: Path, job_id: str) -> tuple[str, dict[str, Any]]:
    """The env and options a job recorded, as the store has them."""
    with by.Batchyard(root=project) as app:
        job = app.job(job_id)
        return job.env, job.options


def via_cli(project: Path, *args: str) -> tuple[str, dict[str, Any]]:
    result = ok(project, *args)
    return recorded(project, result.stderr.split()[1].rstrip(":"))


def via_api(client: Client, project: Path, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    assert client.wait_job(job["id"], lambda j: j["status"] == "completed")
    return recorded(project, job["id"])


def via_python(project: Path, target: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
    with by.Batchyard(root=project) as app:
        job = app.submit(target, params, **kw)
    return recorded(project, job.id)


# -- the same job through every interface ---------------------------------------------------------


def test_a_migrate_gets_the_same_options_from_the_cli_the_api_and_python(
    project: Path, client: Client
) -> None:
    # The kind's say (one worker into SQLite) reaches every interface, not only the CLI's.
    src, out = str(project / "src.db"), project / "out-{}.db"
    cli = via_cli(project, "migrate", src, str(out).format("cli"))
    api = via_api(
        client,
        project,
        {"kind": "migrate", "params": {"source": src, "target": str(out).format("api")}},
    )
    python = via_python(project, "migrate", {"source": src, "target": str(out).format("py")})
    assert cli == api == python
    assert cli == ("qa", {**DEFAULTS, "workers": 1, "retries": 1, "lease_ttl": 45.0} | _tries(2))


def test_a_pipeline_with_flags_gets_the_same_options_everywhere(
    project: Path, client: Client
) -> None:
    cli = via_cli(
        project, "--env", "prod", "run", "tuned-pipeline", "--workers", "6", "--retries", "4",
        "--executor", "threads", "--timeout", "2.5", "--stop-on-error",
    )  # fmt: skip
    request = {
        "workers": 6, "retries": 4, "executor": "threads", "timeout": 2.5,
        "stop_on_error": True, "env": "prod",
    }  # fmt: skip
    api = via_api(client, project, {"pipeline": "tuned-pipeline", **request})
    python = via_python(project, "tuned-pipeline", **request)
    assert cli == api == python
    # Four retries of the kind's policy: its delay and backoff stay.
    policy = {"attempts": 5, "delay": 0.25, "backoff": 2.0, "max_delay": 300.0, "jitter": False}
    expected = {
        **DEFAULTS, "workers": 6, "executor": "threads", "retries": 4, "retry": policy,
        "timeout": 2.5, "stop_on_error": True, "lease_ttl": 45.0,
    }  # fmt: skip
    assert cli == ("prod", expected)


# -- one level at a time --------------------------------------------------------------------------


def test_the_built_in_defaults_come_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATCHYARD_WORKERS", "BATCHYARD_EXECUTOR", "BATCHYARD_ENV", "BATCHYARD_STORE"):
        monkeypatch.delenv(name, raising=False)
    bare = make_project(tmp_path / "bare")
    assert via_python(bare, "plain") == ("dev", DEFAULTS)
    assert RunOptions() == RunOptions.resolve()


def test_settings_beat_the_defaults(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, options = via_python(project, "plain")
    assert env == "qa"
    assert options == {**DEFAULTS, "workers": 5, "retries": 1, "lease_ttl": 45.0} | _tries(2)
    # BATCHYARD_* variables are settings too: over batchyard.toml, under everything else.
    monkeypatch.setenv("BATCHYARD_WORKERS", "7")
    monkeypatch.setenv("BATCHYARD_EXECUTOR", "processes")
    _, options = via_python(project, "plain")
    assert (options["workers"], options["executor"]) == (7, "processes")


def test_the_kind_beats_the_settings(project: Path) -> None:
    _, options = via_python(project, "tuned")
    policy = {"attempts": 3, "delay": 0.25, "backoff": 2.0, "max_delay": 300.0, "jitter": False}
    assert options == {
        **DEFAULTS, "workers": 3, "retries": 2, "retry": policy, "timeout": 9.0,
        "stop_on_error": True, "lease_ttl": 45.0,
    }  # fmt: skip
    # What a kind derives from the job's params is the kind's say too: a migrate into SQLite
    # runs one worker, whatever [defaults] workers says.
    _, options = via_python(
        project, "migrate", {"source": str(project / "src.db"), "target": str(project / "o.db")}
    )
    assert (options["workers"], options["executor"]) == (1, "threads")


def test_the_pipeline_beats_the_kind(project: Path) -> None:
    env, options = via_python(project, "tuned-pipeline")
    assert env == "nightly"
    assert (options["workers"], options["timeout"], options["stop_on_error"]) == (2, 4.0, False)
    assert options["executor"] == "processes"
    assert options["retries"] == 2  # the pipeline says nothing of retries: the kind's


def test_the_request_beats_the_pipeline(project: Path) -> None:
    env, options = via_python(
        project, "tuned-pipeline", workers=8, timeout=1.5, stop_on_error=True, env="adhoc"
    )
    assert env == "adhoc"
    assert (options["workers"], options["timeout"], options["stop_on_error"]) == (8, 1.5, True)
    # A whole Retry replaces the kind's policy, not only its number of attempts.
    _, options = via_python(project, "tuned", retries=by.Retry(attempts=2, delay=3, jitter=False))
    assert options["retry"] == {
        "attempts": 2, "delay": 3, "backoff": 2.0, "max_delay": 300.0, "jitter": False,
    }  # fmt: skip


def test_a_resume_runs_with_what_the_job_recorded_unless_told_otherwise(project: Path) -> None:
    with by.Batchyard(root=project) as app:
        job = app.submit("tuned", {"n": 3}, workers=2)
        done = app.execute(job.id, install_signals=False)
    assert done.status is by.JobStatus.COMPLETED and done.options["workers"] == 2
    with by.Batchyard(root=project) as app:
        log = [e.message for e in app.log(job.id)]
    assert any("(2 threads workers)" in line for line in log), log


def test_a_bad_value_names_the_level_it_came_from(project: Path) -> None:
    (project / "jobs.py").write_text(
        JOBS + '\n\n@by.job("greedy", workers=500)\ndef greedy():\n    return [1]\n'
    )
    with by.Batchyard(root=project) as app, pytest.raises(ParamError, match=r"from the kind"):
        app.submit("greedy")
    with by.Batchyard(root=project) as app, pytest.raises(ParamError, match=r"executor 'frob'"):
        app.submit("plain", executor="frob")


def _tries(attempts: int) -> dict[str, Any]:
    return {"retry": {**DEFAULTS["retry"], "attempts": attempts}}
