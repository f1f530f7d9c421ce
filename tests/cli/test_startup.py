"""Start-up: the commands that only look load only what they use, and Ctrl+C at any moment of a
command's start exits 130 with one line and no traceback.

Each command runs as users run it, a ``python -m batchyard`` process; ``-X importtime`` reports
every module it imported, which is what these tests read.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import ok, run_job, sqlite_project_at

#: What no looking command may load: the store's SQLAlchemy and its migrations, the data plane's
#: DuckDB and Arrow, HTTP, the API server, and the engine and kinds above the store.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "duckdb",
    "pyarrow",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "sqlglot",
    "batchyard.app",
    "batchyard.kinds",
    "batchyard.check",
    "batchyard.move",
    "batchyard.engine.runner",
    "batchyard.store.store",
)
#: Nor, for the commands that read jobs, the settings' models (pydantic) or YAML.
MODELS = ("pydantic", "yaml", "batchyard.config")


@pytest.fixture(scope="module")
def looked_at(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A project whose SQLite store holds a finished job (and its items and log)."""
    for root in sqlite_project_at(tmp_path_factory.mktemp("startup")):
        job_id = run_job(root, "nums", "-p", "n=3")
        yield root, job_id


def imports(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``batchyard ARGS`` in ``root``; its result and every module it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "batchyard", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = set(re.findall(r"^import time:.*\|\s+(\S+)$", done.stderr, re.M))
    return done, modules


def loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


LOOKING = [
    ("--help",),
    ("--version",),
    ("jobs", "--help"),
    ("jobs", "list"),
    ("jobs", "list", "--json", "--status", "completed", "-n", "5"),
    ("jobs", "show", "{id}"),
    ("jobs", "progress", "{id}"),
    ("jobs", "items", "{id}", "--failed"),
    ("jobs", "log", "{id}"),
    ("jobs", "show", "--help"),
]


@pytest.mark.parametrize("args", LOOKING, ids=" ".join)
def test_looking_commands_load_only_what_they_use(
    looked_at: tuple[Path, str], args: tuple[str, ...]
) -> None:
    root, job_id = looked_at
    done, modules = imports(root, *(a.replace("{id}", job_id) for a in args))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "typer" in modules and "batchyard.cli" in modules  # the report was read
    assert loaded(modules, HEAVY + MODELS) == [], " ".join(args)
    if args[0] == "jobs":
        assert "batchyard.cli.jobs" in modules and "batchyard.cli.migrate" not in modules
    if args[0] == "jobs" and args[1] != "--help":
        assert "batchyard.store.reader" in modules  # read through sqlite3 alone
    if args[0] != "jobs":
        assert "batchyard.cli.jobs" not in modules  # no command's module for the top help


def test_pipelines_loads_no_engine(looked_at: tuple[Path, str]) -> None:
    root, _ = looked_at
    done, modules = imports(root, "pipelines")
    assert done.returncode == 0 and "small" in done.stdout, done.stderr[-2000:]
    assert loaded(modules, HEAVY) == []
    assert "batchyard.config" not in modules  # the files' own models, not the settings'


#: What listing kinds loads of them: their declarations and params models, not their code.
KIND_LISTING = {"batchyard.kinds", "batchyard.kinds.params"}


@pytest.mark.parametrize(
    "args", [("kinds",), ("kinds", "migrate"), ("kinds", "nums", "--json")], ids=" ".join
)
def test_kinds_loads_their_params_but_not_their_code(
    looked_at: tuple[Path, str], args: tuple[str, ...]
) -> None:
    root, _ = looked_at
    done, modules = imports(root, *args)
    assert done.returncode == 0 and args[-1].strip("-") in done.stdout + "json", done.stderr
    if args == ("kinds",):
        assert "nums" in done.stdout and "migrate" in done.stdout  # the project's, the built-in
    assert set(loaded(modules, ("batchyard.kinds",))) == KIND_LISTING
    others = tuple(h for h in HEAVY if h != "batchyard.kinds")
    assert loaded(modules, (*others, "yaml", "batchyard.config", "batchyard.engine.context")) == []
    assert "pydantic" in modules  # (the params' schemas)


def completing(line: str) -> dict[str, str]:
    """The environment bash's completion script gives ``batchyard`` at a TAB after ``line``."""
    return {
        "_BATCHYARD_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split(" ")) - 1),
    }


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("batchyard run ", {"small", "large", "nums", "migrate"}),
        ("batchyard kinds nu", {"nums"}),
        ("batchyard run --batch ", {"small", "large"}),
        ("batchyard migrate ", {"warehouse"}),
        ("batchyard verify sqlite.db ware", {"warehouse"}),
    ],
)
def test_completing_names_loads_only_what_they_use(
    looked_at: tuple[Path, str], line: str, offered: set[str]
) -> None:
    root, _ = looked_at
    (root / ".batchyard" / "kinds.json").unlink(missing_ok=True)
    first, _ = imports(root, env=completing(line))
    done, modules = imports(root, env=completing(line))  # after the first TAB, as users TAB
    for result in (first, done):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert offered <= set(result.stdout.split()), result.stdout
    assert loaded(modules, HEAVY + MODELS + ("batchyard.engine.registry",)) == [], line


def test_the_first_kind_completion_reads_the_registry(looked_at: tuple[Path, str]) -> None:
    """The other side of the guard above: with no note of the kinds, they are loaded."""
    root, _ = looked_at
    (root / ".batchyard" / "kinds.json").unlink(missing_ok=True)
    done, modules = imports(root, env=completing("batchyard kinds "))
    assert "nums" in done.stdout.split()
    assert {"batchyard.engine.registry", "pydantic"} <= modules


def test_a_command_that_runs_jobs_loads_the_engine(looked_at: tuple[Path, str]) -> None:
    """The other side of the guard: the report shows what a command does load."""
    root, _ = looked_at
    done, modules = imports(root, "jobs", "stats")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sqlalchemy" in modules and "batchyard.app" in modules


def test_a_job_that_sends_nothing_loads_no_http_client(tmp_path: Path) -> None:
    """A built-in kind's code loads when a job of that kind runs; httpx waits for a kind that
    sends a request (collect, a monitor's alerts)."""
    for root in sqlite_project_at(tmp_path):
        done, modules = imports(root, "run", "nums", "-p", "n=2")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "batchyard.kinds" in modules
        assert "batchyard.kinds.monitor" not in modules
        assert "batchyard.kinds.collect" not in modules
        assert loaded(modules, ("httpx",)) == []


def test_the_quick_reader_and_the_store_agree(looked_at: tuple[Path, str]) -> None:
    """Through sqlite3 or through SQLAlchemy, the same jobs, items and log (one SQL)."""
    from batchyard.store import JobFilter, Store
    from batchyard.store.reader import StoreReader

    root, job_id = looked_at
    url = f"sqlite:///{root / '.batchyard' / 'store.db'}"
    quick = StoreReader.open(url)
    assert quick is not None
    with quick, Store.open(url, create=False) as store:
        for filt in (JobFilter(), JobFilter(search="NUMS"), JobFilter(status=["completed"])):
            assert quick.list_jobs(filt) == store.list_jobs(filt)
        assert quick.find_job(job_id[:12]) == store.find_job(job_id[:12])
        assert quick.list_items(job_id, limit=None, offset=1) == store.list_items(
            job_id, limit=None, offset=1
        )
        assert quick.events(job_id) == store.events(job_id)


def test_the_quick_reader_leaves_what_it_cannot_read_to_the_store(tmp_path: Path) -> None:
    from batchyard.store.reader import StoreReader

    assert StoreReader.open(f"sqlite:///{tmp_path / 'none.db'}") is None  # no such file
    (tmp_path / "text.db").write_text("not a database")
    assert StoreReader.open(f"sqlite:///{tmp_path / 'text.db'}") is None
    assert StoreReader.open("postgresql://x@localhost/y") is None


def test_a_broken_store_file_says_so_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "batchyard.toml").write_text('[store]\nurl = "sqlite:///bad.db"\n')
    (tmp_path / "bad.db").write_text("not a database")
    result = ok(tmp_path, "jobs", "list", code=2)
    assert result.stderr.startswith("error:") and "bad.db" in result.stderr


# -- Ctrl+C while the command starts ----------------------------------------------------------


def _started(err: Path) -> bool:
    """True once the command's Ctrl+C handling is in place: ``batchyard.cli`` installs it and
    then imports ``gc``, which ``-X importtime`` reports."""
    text = err.read_text(errors="replace")
    return re.search(r"\|\s+batchyard$.*?\|\s+gc$", text, re.M | re.S) is not None


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.25])
@pytest.mark.parametrize("args", [("jobs", "list"), ("--help",), ("jobs", "show", "{id}")])
def test_ctrl_c_at_any_moment_of_the_start_exits_130_without_a_traceback(
    looked_at: tuple[Path, str], tmp_path: Path, args: tuple[str, ...], delay: float
) -> None:
    root, job_id = looked_at
    err = tmp_path / "err"
    with err.open("wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "batchyard", *(a.replace("{id}", job_id) for a in args)],
            cwd=root,
            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
            stdout=subprocess.DEVNULL,
            stderr=fe,
        )
    try:
        deadline = time.monotonic() + 60
        while not _started(err) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert _started(err), err.read_text()
        time.sleep(delay)  # varies the moment the signal lands; the trigger is the state above
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    said = [ln for ln in err.read_text().splitlines() if not ln.startswith("import time:")]
    assert not any("Traceback" in ln or "KeyboardInterrupt" in ln for ln in said), said
    if rc == 0:
        return  # it ended before the signal came: nothing to stop
    if rc == -signal.SIGINT:
        # Done and leaving, with Python's own handler back: ended by the signal itself, which a
        # shell reports as 130 too, and silently.
        assert said == [], said
        return
    assert rc == 130, said
    assert said == ["interrupted"], said


@pytest.mark.slow
def test_ctrl_c_right_after_start_is_caught(looked_at: tuple[Path, str], tmp_path: Path) -> None:
    """The guard on the test above: with no delay the command is still starting, so the signal
    does stop it (exit 130), rather than every case passing by ending first."""
    root, _ = looked_at
    stopped = 0
    for _ in range(3):
        err = tmp_path / "err"
        with err.open("wb") as fe:
            proc = subprocess.Popen(
                [sys.executable, "-m", "batchyard", "jobs", "list"],
                cwd=root,
                env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
                stdout=subprocess.DEVNULL,
                stderr=fe,
            )
        while not _started(err) and proc.poll() is None:
            time.sleep(0.001)
        proc.send_signal(signal.SIGINT)
        stopped += proc.wait(60) == 130
    assert stopped >= 2


def test_a_ctrl_c_that_lands_in_a_callback_prints_no_traceback() -> None:
    """Python cannot raise a Ctrl+C's SystemExit from a weakref callback or a destructor (an
    import runs such callbacks); it would print it as "Exception ignored" with a traceback."""
    code = (
        "import weakref, batchyard.cli as cli\n"
        "cli._stopped = True\n"
        "class Thing: pass\n"
        "thing = Thing()\n"
        "def gone(_ref): raise SystemExit(130)\n"
        "ref = weakref.ref(thing, gone)\n"
        "del thing\n"
        "def other(_ref): raise ValueError('a real one')\n"
        "thing = Thing(); ref2 = weakref.ref(thing, other); del thing\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "SystemExit" not in done.stderr, done.stderr
    assert "ValueError: a real one" in done.stderr  # other errors are still shown
