"""Helpers for the CLI tests: a small custom kind, a project on disk, and ``invoke``.

(A module rather than a ``conftest.py``: a second module named ``conftest`` would shadow the root
one, which ``from conftest import cli`` reads.)

Most CLI tests run in-process with Typer's ``CliRunner`` on a SQLite store (fast); the broad flow in
``test_commands.py`` also runs on PostgreSQL, and ``test_bad_input.py`` runs some cases through the
real ``python -m batchyard`` subprocess, which is what users see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from batchyard.cli import app as cli_app
from batchyard.db import ENGINES

#: A custom kind: one item per number below ``n``. Items named in the NUMS_FAIL environment variable
#: (comma-separated) raise, those in NUMS_BAD raise ``BadData`` (which stops the whole job); the item
#: at ``pause_at`` stops the job as a first Ctrl+C would. Each attempt appends a row to ``runs``
#: (with ``_job_id``), so a test can see which items ran. Given a ``password`` or ``url``, it logs
#: them and puts them in its errors, as careless code would.
JOBS = '''\
import os

import batchyard as by
from batchyard.errors import BadData


@by.job("nums")
def nums(n: int, pause_at: int = -1, password: str = "", url: str = ""):
    """One item per number below n."""
    return range(n)


@nums.item
def square(i: int, ctx: by.Context) -> int:
    ctx.log.info("squaring %s", i)
    if ctx.params["password"] or ctx.params["url"]:
        # Careless code: secrets in a log line and an error. batchyard must mask them.
        ctx.log.info("connecting to %s as %s", ctx.params["url"], ctx.params["password"])
    ctx.write("runs", {"i": i}, mode="append")
    if str(i) in os.environ.get("NUMS_BAD", "").split(","):
        raise BadData(f"item {i} holds a value that cannot be moved")
    if str(i) in os.environ.get("NUMS_FAIL", "").split(","):
        where = f" ({ctx.params['url']}, {ctx.params['password']})" if ctx.params["url"] else ""
        raise ValueError(f"boom on {i}{where}")
    if i == ctx.params["pause_at"]:
        ctx.stop_flag.set()  # as if Ctrl+C came while this item ran
    ctx.write("squares", {"i": i, "sq": i * i}, key="i")
    return i * i
'''

PIPELINE = "kind: nums\ndescription: {description}\nparams:\n  n: {n}\ntags: [nightly]\n"

RUNNER = CliRunner()


def write_project(root: Path, store_url: str, warehouse_url: str) -> Path:
    """A project at ``root`` with the ``nums`` kind and two pipelines, ``small`` and ``large``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "cli-test"\n\n[store]\nurl = "{store_url}"\n\n'
        f'[defaults]\nworkers = 2\nconnection = "warehouse"\n\n'
        f'[connections]\nwarehouse = "{warehouse_url}"\n',
        encoding="utf-8",
    )
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "pipelines" / "small.yaml").write_text(
        PIPELINE.format(description="Two numbers", n=2), encoding="utf-8"
    )
    (root / "pipelines" / "large.yaml").write_text(
        PIPELINE.format(description="Three numbers", n=3), encoding="utf-8"
    )
    return root


def sqlite_project_at(tmp_path: Path) -> Iterator[Path]:
    """A project on a SQLite store (``.batchyard/store.db``, the default place) and warehouse;
    the body of each test module's ``sqlite_project`` fixture."""
    root = tmp_path / "proj"
    store = root / ".batchyard" / "store.db"
    yield write_project(root, f"sqlite:///{store}", f"sqlite:///{root / 'warehouse.db'}")
    ENGINES.dispose()


def store_file(project: Path) -> Path:
    return project / ".batchyard" / "store.db"


def invoke(project: Path | None, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``batchyard [-C project] ARGS`` in-process; an unexpected exception fails the test."""
    full = ["-C", str(project), *args] if project is not None else list(args)
    result = RUNNER.invoke(cli_app, full, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(project: Path | None, *args: str, code: int = 0, **kw: Any) -> Result:
    """``invoke`` and check the exit code, showing the output when it is not the one expected."""
    result = invoke(project, *args, **kw)
    assert result.exit_code == code, (
        f"batchyard {' '.join(args)} exited {result.exit_code}, not {code}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def run_job(project: Path, *args: str, code: int = 0, **kw: Any) -> str:
    """``batchyard run ARGS``; return the new job's id (from the line ``job ID: N item(s)``)."""
    result = ok(project, "run", *args, code=code, **kw)
    first = result.stderr.splitlines()[0]
    assert first.startswith("job ") and first.endswith("item(s)"), result.stderr
    return first.split()[1].rstrip(":")
