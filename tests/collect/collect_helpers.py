"""Helpers for the collect tests: a SQLite project, the CLI in-process, and target reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from batchyard.cli import app as cli_app
from batchyard.db import ENGINES

RUNNER = CliRunner()


def make_project(root: Path, store_url: str, warehouse_url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "collect-test"\n\n[store]\nurl = "{store_url}"\n\n'
        f'[defaults]\nconnection = "warehouse"\n\n[connections]\nwarehouse = "{warehouse_url}"\n',
        encoding="utf-8",
    )
    return root


def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "proj"
    yield make_project(
        root, f"sqlite:///{root / '.batchyard' / 'store.db'}", f"sqlite:///{root / 'wh.db'}"
    )
    ENGINES.dispose()


def by(
    project: Path, *args: str, code: int | None = 0, env: dict[str, str] | None = None
) -> Result:
    """``batchyard -C project ARGS`` in-process, checking the exit code."""
    result = RUNNER.invoke(cli_app, ["-C", str(project), *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.stderr, result.stderr
    if code is not None:
        assert result.exit_code == code, (
            f"batchyard {' '.join(args)} exited {result.exit_code}, not {code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def job_id(result: Result) -> str:
    first = result.stderr.splitlines()[0]
    assert first.startswith("job ") and "item(s)" in first, result.stderr
    return first.split()[1].rstrip(":")


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()
