"""Bad input gets one clear line on stderr, exit 2, no traceback, and writes nothing.

"Writes nothing" is checked on disk: the project's files are the same before and after (so no
``.batchyard/store.db`` appears), and where a store already exists its jobs and items are unchanged.
A few cases also run through the real ``python -m batchyard`` subprocess, which is what users see.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import (
    invoke,
    run_job,
    sqlite_project_at,
    store_file,
    write_project,
)
from typer.testing import Result

from batchyard.db import ENGINES
from batchyard.store import Store
from conftest import cli


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (Python's bytecode caches aside)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line, checking there is nothing else on stderr."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def refused(
    project: Path | None,
    *args: str,
    match: str,
    env: dict[str, str] | None = None,
) -> str:
    """Run in-process; check exit 2, one error line matching ``match``, nothing on stdout."""
    result: Result = invoke(project, *args, env=env)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    line = one_error_line(result.stderr)
    assert re.search(match, line), f"{match!r} not in {line!r}"
    assert result.stdout == ""
    return line


def store_counts(project: Path) -> tuple[int, int, int]:
    """How many jobs, items and events the project's SQLite store holds."""
    ENGINES.dispose()
    with Store.open(f"sqlite:///{store_file(project)}", create=False) as store:
        jobs, total = store.list_jobs(limit=10_000)
        items = sum(store.list_items(j.id, limit=1)[1] for j in jobs)
        events = sum(len(store.events(j.id)) for j in jobs)
        return total, items, events


# -- params and targets ----------------------------------------------------------------------------

RUN_CASES = {
    "unknown kind": (
        ["run", "nope"],
        r"unknown job kind or pipeline 'nope' \(kinds: .*\bbatch\b.*\bnums\b.*\)",
    ),
    "wrong param type": (["run", "nums", "-p", "n=abc"], r"param 'n': .*integer.*\(got 'abc'\)"),
    "wrong param type, not first": (
        ["run", "nums", "-p", "n=1", "-p", "pause_at=soon"],
        r"param 'pause_at': .*integer",
    ),
    "missing param": (["run", "nums"], r"kind 'nums' needs param 'n' \(--param n=\.\.\.\)"),
    "unknown param": (
        ["run", "nums", "-p", "n=1", "-p", "colour=red"],
        r"kind 'nums' has no param 'colour' \(it takes: n, pause_at, password, url\)",
    ),
    "param without =": (["run", "nums", "-p", "n"], r"--param 'n': write it as NAME=VALUE"),
    "param without a name": (
        ["run", "nums", "--param", "=3"],
        r"--param '=3': write it as NAME=VALUE",
    ),
    "no target": (["run"], r"give a job kind or pipeline to run"),
    "unknown executor": (
        ["run", "nums", "-p", "n=1", "--executor", "frob"],
        r"--executor 'frob': use one of threads, processes, dask, or dask://HOST:PORT",
    ),
    "scheduler address with credentials, masked": (
        ["run", "nums", "-p", "n=1", "--executor", "dask://user:hunter2@127.0.0.1:1"],
        r"--executor 'dask://user:\*\*\*@127.0.0.1:1': give the scheduler as HOST:PORT",
    ),
    "scheduler port out of range": (
        ["run", "nums", "-p", "n=1", "--executor", "dask://[::1]:99999"],
        r"--executor 'dask://\[::1\]:99999': the port must be a number from 1 to 65535",
    ),
    "scheduler port zero": (
        ["run", "nums", "-p", "n=1", "--executor", "dask://127.0.0.1:0"],
        r"the port must be a number from 1 to 65535",
    ),
    "scheduler host with a space": (
        ["run", "nums", "-p", "n=1", "--executor", "dask:// 127.0.0.1:1"],
        r"--executor 'dask:// 127.0.0.1:1': give the scheduler as HOST:PORT",
    ),
    "unknown pipeline in a batch": (
        ["run", "--batch", "small", "nope"],
        r"no pipeline 'nope' in .*pipelines",
    ),
    "param with a batch": (
        ["run", "--batch", "small", "large", "-p", "n=1"],
        r"--param does not apply to a batch",
    ),
    "extra argument after a kind": (
        ["run", "nums", "n=1"],
        r"unexpected argument 'n=1': 'nums' is a job kind",
    ),
    "unset variable in a param": (
        ["run", "nums", "-p", "n=1", "-p", "password=${NO_SUCH_VAR}"],
        r"param 'password': environment variable NO_SUCH_VAR is not set",
    ),
}

ID_COMMANDS = ["show", "resume", "cancel", "items", "log", "progress", "retry", "delete", "export"]


@pytest.mark.parametrize("case", RUN_CASES)
def test_bad_run_on_a_fresh_project_writes_nothing(sqlite_project: Path, case: str) -> None:
    args, match = RUN_CASES[case]
    before = files(sqlite_project)
    refused(sqlite_project, *args, match=match)
    assert files(sqlite_project) == before
    assert not store_file(sqlite_project).exists()


def test_bad_run_leaves_an_existing_store_as_it_was(sqlite_project: Path) -> None:
    run_job(sqlite_project, "nums", "-p", "n=3")
    counts = store_counts(sqlite_project)
    assert counts[:2] == (1, 3)
    for args, match in RUN_CASES.values():
        refused(sqlite_project, *args, match=match)
    assert store_counts(sqlite_project) == counts


@pytest.mark.parametrize("command", ID_COMMANDS)
def test_unknown_job_id(sqlite_project: Path, command: str) -> None:
    before = files(sqlite_project)
    refused(
        sqlite_project,
        "jobs",
        command,
        "no_such_job",
        match=r"no job 'no_such_job'; `batchyard jobs list` shows the jobs there are",
    )
    assert files(sqlite_project) == before  # no store made just to say "no such job"


@pytest.mark.parametrize("command", ID_COMMANDS)
def test_unknown_job_id_with_a_store(sqlite_project: Path, command: str) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=2")
    counts = store_counts(sqlite_project)
    refused(sqlite_project, "jobs", command, job_id + "x", match=rf"no job '{job_id}x'")
    assert store_counts(sqlite_project) == counts


def test_ambiguous_job_prefix(sqlite_project: Path) -> None:
    run_job(sqlite_project, "nums", "-p", "n=1")
    run_job(sqlite_project, "nums", "-p", "n=1")
    refused(sqlite_project, "jobs", "show", "nums_", match=r"'nums_' matches more than one job")


# -- the store -------------------------------------------------------------------------------------


def test_store_that_is_a_folder(sqlite_project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    before = files(tmp_path)
    for args in (["run", "nums", "-p", "n=1"], ["jobs", "list"], ["jobs", "show", "x"]):
        line = refused(
            sqlite_project,
            "--store",
            f"sqlite:///{folder}",
            *args,
            match=rf"cannot open sqlite:///{folder}: {folder} is a folder, not a file",
        )
        assert "planning failed" not in line
    assert files(tmp_path) == before


def test_store_under_a_file(sqlite_project: Path, tmp_path: Path) -> None:
    # The store's folder would have to be made where a file (jobs.py) is.
    url = f"sqlite:///{sqlite_project / 'jobs.py' / 'store.db'}"
    before = files(tmp_path)
    refused(
        sqlite_project,
        "--store",
        url,
        "run",
        "nums",
        "-p",
        "n=1",
        match=rf"cannot open sqlite:///{sqlite_project}/jobs.py/store.db: .*jobs.py",
    )
    assert files(tmp_path) == before


def test_store_from_the_environment(sqlite_project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    refused(
        sqlite_project,
        "run",
        "nums",
        "-p",
        "n=1",
        env={"BATCHYARD_STORE": str(folder)},
        match=r"is not a database URL",
    )
    refused(
        sqlite_project,
        "jobs",
        "list",
        env={"BATCHYARD_STORE": f"sqlite:///{folder}"},
        match=r"is a folder, not a file",
    )
    assert not store_file(sqlite_project).exists()


@pytest.mark.parametrize("url", ["nonsense", "mysql://u@h/db"])
def test_store_url_batchyard_does_not_speak(sqlite_project: Path, url: str) -> None:
    before = files(sqlite_project)
    refused(sqlite_project, "--store", url, "run", "nums", "-p", "n=1", match=re.escape(repr(url)))
    assert files(sqlite_project) == before


def test_store_password_is_masked_in_errors(sqlite_project: Path) -> None:
    line = refused(
        sqlite_project,
        "--store",
        "mysql://scott:tiger-pw@h/db",
        "jobs",
        "list",
        match=r"mysql://scott:\*\*\*@h/db",
    )
    assert "tiger-pw" not in line


def test_project_folder_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    refused(missing, "jobs", "list", match=rf"-C {missing}: no such folder")
    refused(missing, "run", "batch", "-p", "pipelines=a", match=r"no such folder")
    assert not missing.exists()


# -- batchyard.toml, pipelines, jobs.py ------------------------------------------------------------


def test_toml_syntax_error(sqlite_project: Path) -> None:
    toml = sqlite_project / "batchyard.toml"
    toml.write_text('[project]\nname = "x"\n\n[defaults]\nworkers = \n')
    before = files(sqlite_project)
    for args in (["run", "nums", "-p", "n=1"], ["jobs", "list"], ["kinds"]):
        refused(
            sqlite_project,
            *args,
            match=rf"^error: {re.escape(str(toml))}: invalid TOML: .*line 5, column \d+",
        )
    assert files(sqlite_project) == before


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            '[project]\nname = "x"\n\n[defaults]\nworkers = "many"\n',
            r"batchyard\.toml:5: defaults\.workers: .*integer",
        ),
        (
            '[project]\nname = "x"\n\n[defaults]\nworkers = 0\n',
            r"batchyard\.toml:5: defaults\.workers: .*greater than or equal to 1",
        ),
        (
            '[project]\nname = "x"\n\n[defaults]\nexecutor = "frob"\n',
            r"batchyard\.toml:5: defaults\.executor",
        ),
        (
            '[project]\nname = "x"\n[defaults]\nenv = "dev"\ncolour = "red"\n',
            r"batchyard\.toml:5: defaults\.colour: Extra inputs are not permitted",
        ),
        (
            '[project]\nname = "x"\n\n[store]\nsynchronous = "sometimes"\n',
            r"batchyard\.toml:5: store\.synchronous",
        ),
        (
            '[project]\nname = "x"\n[connections]\nwarehouse = 3\n',
            r"batchyard\.toml:4: connections\.warehouse: .*string",
        ),
        (
            '[project]\nname = "x"\n\n[stores]\nurl = "sqlite:///x.db"\n',
            r"batchyard\.toml:4: stores: Extra inputs are not permitted",
        ),
    ],
)
def test_toml_wrong_value(sqlite_project: Path, text: str, match: str) -> None:
    (sqlite_project / "batchyard.toml").write_text(text)
    before = files(sqlite_project)
    refused(sqlite_project, "run", "nums", "-p", "n=1", match=match)
    assert files(sqlite_project) == before


def test_toml_unset_variable(sqlite_project: Path) -> None:
    (sqlite_project / "batchyard.toml").write_text('[store]\nurl = "${NO_SUCH_STORE_VAR}"\n')
    refused(
        sqlite_project,
        "jobs",
        "list",
        match=r"store url: environment variable NO_SUCH_STORE_VAR is not set",
    )


def test_environment_variable_that_is_not_a_number(sqlite_project: Path) -> None:
    before = files(sqlite_project)
    refused(
        sqlite_project,
        "run",
        "nums",
        "-p",
        "n=1",
        env={"BATCHYARD_WORKERS": "many"},
        match=r"environment variable BATCHYARD_WORKERS='many' is not an integer",
    )
    assert files(sqlite_project) == before


def test_unknown_executor_from_the_environment_or_a_pipeline(sqlite_project: Path) -> None:
    # Found before the job is recorded (the runner would only find out once it exists).
    before = files(sqlite_project)
    refused(
        sqlite_project,
        "run",
        "nums",
        "-p",
        "n=1",
        env={"BATCHYARD_EXECUTOR": "frob"},
        match=r"executor \(BATCHYARD_EXECUTOR or \[defaults\] executor\) 'frob': use one of",
    )
    path = sqlite_project / "pipelines" / "x.yaml"
    path.write_text("kind: nums\nexecutor: frob\nparams:\n  n: 1\n")
    for args in (["run", "x"], ["run", "--batch", "small", "x"]):
        refused(
            sqlite_project,
            *args,
            match=rf"{re.escape(str(path))}:2: executor: 'frob': use one of threads",
        )
    path.unlink()
    assert files(sqlite_project) == before


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kind: nums\nparams:\n  n: [1, 2\n", r"x\.yaml:4:1: invalid YAML: "),
        ("kind: nums\nparams:\n\tn: 1\n", r"x\.yaml:3:1: invalid YAML: "),
        ("kind: nums\nparams: 3\n", r"x\.yaml:2: params: .*dictionary"),
        ("kind: nums\nworkers: lots\n", r"x\.yaml:2: workers: .*integer"),
        ("params:\n  n: 1\n", r"x\.yaml: kind: Field required"),
        ("kind: nums\ncolour: red\n", r"x\.yaml:2: colour: Extra inputs are not permitted"),
        ("- just\n- a list\n", r"x\.yaml: expected a mapping"),
    ],
)
def test_broken_pipeline(sqlite_project: Path, text: str, match: str) -> None:
    path = sqlite_project / "pipelines" / "x.yaml"
    path.write_text(text)
    before = files(sqlite_project)
    refused(sqlite_project, "run", "x", match=rf"^error: {re.escape(str(path.parent))}/{match}")
    refused(sqlite_project, "pipelines", match=match)
    refused(sqlite_project, "run", "--batch", "small", "x", match=match)
    assert files(sqlite_project) == before


def test_kinds_of_a_pipeline_name_says_it_is_a_pipeline(sqlite_project: Path) -> None:
    refused(
        sqlite_project,
        "kinds",
        "small",
        match=r"'small' is a pipeline, not a job kind: .*`batchyard kinds nums` its kind",
    )
    refused(sqlite_project, "kinds", "nope", match=r"unknown job kind or pipeline 'nope'")


def test_pipeline_of_an_unknown_kind(sqlite_project: Path) -> None:
    (sqlite_project / "pipelines" / "x.yaml").write_text("kind: nope\n")
    refused(sqlite_project, "run", "x", match=r"unknown job kind or pipeline 'nope'")
    refused(sqlite_project, "run", "--batch", "small", "x", match=r"unknown job kind")
    assert not store_file(sqlite_project).exists()


def test_pipeline_with_a_bad_param(sqlite_project: Path) -> None:
    (sqlite_project / "pipelines" / "x.yaml").write_text("kind: nums\nparams:\n  n: many\n")
    refused(sqlite_project, "run", "x", match=r"param 'n': .*integer.*\(got 'many'\)")
    assert not store_file(sqlite_project).exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "import batchyard as by\n\n@by.job('a')\ndef a(n: int)\n    return range(n)\n",
            r"jobs\.py:4:\d+: expected ':'",
        ),
        ("import batchyard as by\n\nx = (\n", r"jobs\.py:3:\d+: '\(' was never closed"),
        (
            "import batchyard as by\n\nx = 1 / 0\n",
            r"jobs\.py:3: ZeroDivisionError: division by zero",
        ),
        ("import no_such_module_here\n", r"jobs\.py:1: ModuleNotFoundError: .*no_such_module_here"),
    ],
)
def test_broken_jobs_file(sqlite_project: Path, text: str, match: str) -> None:
    (sqlite_project / "jobs.py").write_text(text)
    before = files(sqlite_project)
    for args in (["run", "nums", "-p", "n=1"], ["kinds"]):
        refused(sqlite_project, *args, match=rf"^error: {re.escape(str(sqlite_project))}/{match}")
    assert files(sqlite_project) == before


# -- what users see: the real command in a subprocess ----------------------------------------------

SUBPROCESS_CASES = {
    "unknown kind": (["run", "nope"], None, r"unknown job kind or pipeline 'nope'"),
    "wrong param type": (["run", "nums", "--param", "n=abc"], None, r"param 'n': .*\(got 'abc'\)"),
    "unknown job id": (["jobs", "show", "nope"], None, r"no job 'nope'"),
    "store is a folder": (
        ["--store", "sqlite:///{root}", "run", "nums", "-p", "n=1"],
        None,
        r"is a folder, not a file",
    ),
    "broken toml": (
        ["jobs", "list"],
        ("batchyard.toml", '[project]\nname = "x\n'),
        r"batchyard\.toml: invalid TOML: .*line 2, column \d+",
    ),
    "toml wrong type": (
        ["run", "nums", "-p", "n=1"],
        ("batchyard.toml", '[project]\nname = "x"\n[defaults]\nworkers = "many"\n'),
        r"batchyard\.toml:4: defaults\.workers",
    ),
    "broken pipeline": (
        ["run", "x"],
        ("pipelines/x.yaml", "kind: nums\nparams: [\n"),
        r"x\.yaml:3:1: invalid YAML",
    ),
    "jobs.py syntax error": (
        ["kinds"],
        ("jobs.py", "def f(:\n    pass\n"),
        r"jobs\.py:1:\d+: invalid syntax",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_in_a_subprocess(tmp_path: Path, case: str) -> None:
    args, broken, match = SUBPROCESS_CASES[case]
    root = write_project(
        tmp_path / "proj",
        f"sqlite:///{tmp_path / 'proj/.batchyard/store.db'}",
        f"sqlite:///{tmp_path / 'proj/warehouse.db'}",
    )
    if broken:
        (root / broken[0]).write_text(broken[1])
    before = files(root)
    proc = cli(*[a.format(root=root) for a in args], cwd=root)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    line = one_error_line(proc.stderr)
    assert re.search(match, line), f"{match!r} not in {line!r}"
    assert proc.stdout == ""
    assert files(root) == before
    assert not store_file(root).exists()


@pytest.mark.slow
@pytest.mark.parametrize("args", [["jobs", "list"], ["run", "nums", "-p", "n=1"]])
def test_a_store_in_a_folder_that_cannot_be_read(tmp_path: Path, args: list[str]) -> None:
    root = write_project(
        tmp_path / "proj",
        f"sqlite:///{tmp_path / 'proj/.batchyard/store.db'}",
        f"sqlite:///{tmp_path / 'proj/warehouse.db'}",
    )
    assert cli("run", "nums", "-p", "n=1", cwd=root).returncode == 0
    state = store_file(root).parent
    state.chmod(0)
    try:
        if os.geteuid() == 0:  # root reads any folder, but for these capabilities
            if shutil.which("setpriv") is None:
                pytest.skip("no setpriv(1) to run without them")
            drop = "-dac_override,-dac_read_search"
            prefix = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"]
        else:
            prefix = []
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "batchyard", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        state.chmod(0o755)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    line = one_error_line(proc.stderr)
    assert re.search(rf"cannot open .*store\.db: Permission denied: {re.escape(str(state))}", line)
