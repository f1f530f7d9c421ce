"""Shared fixtures. Engine tests run twice: on a SQLite store and on a real PostgreSQL server.

PostgreSQL: ``BATCHYARD_TEST_PG_URL`` (a server URL whose user may create databases), or else a
server that these fixtures start on 127.0.0.1 from the machine's PostgreSQL binaries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.db import ENGINES

sys.path.insert(0, str(Path(__file__).parent))
from pgserver import PostgresServer

REPO = Path(__file__).resolve().parent.parent


def _on_postgresql(value: object) -> bool:
    """A parameter naming PostgreSQL: ``"postgresql"``, or one side of ``"sqlite-postgresql"``."""
    return isinstance(value, str) and "postgresql" in value.split("-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the PostgreSQL server, so ``make test-fast`` can leave them out.

    Such a test asks for ``pg_admin_url`` (through ``pg_database`` or ``pg_admin``), or is the
    PostgreSQL case of a parameter (``backend``, ``target_kind``, a fixture's ``params``) whose
    fixture asks for ``pg_database`` only then. Tests that decide otherwise mark themselves.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and any(map(_on_postgresql, callspec.params.values()))
        if on_pg or "pg_admin_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("BATCHYARD_TEST_PG_URL")
    if url:
        yield url
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_admin(pg_admin_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_database(pg_admin: sa.Engine, pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"by_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = sa.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    ENGINES.dispose()
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store URL on the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def target_url(backend: str, tmp_path: Path, store_url: str) -> str:
    """Where ctx.write writes in a test: a SQLite file, or the same PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return store_url


@pytest.fixture
def project(tmp_path: Path, store_url: str, target_url: str) -> Path:
    """A project folder whose store and warehouse are on the backend under test."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "test"\n\n[store]\nurl = "{store_url}"\n\n'
        f'[defaults]\nconnection = "warehouse"\n\n[connections]\nwarehouse = "{target_url}"\n'
    )
    return root


@pytest.fixture
def app(project: Path) -> Iterator[by.Batchyard]:
    """The Python API for ``project``; its store is closed after the test."""
    with by.Batchyard(root=project) as instance:
        yield instance
    ENGINES.dispose()


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar() or 0)
    finally:
        engine.dispose()


def cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``batchyard`` command in a subprocess."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "batchyard", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- the REST API (tests/api): a SQLite project with the test kinds, and the app over it ------------
# (Here rather than in tests/api/conftest.py: two modules named conftest would shadow each other
# for the tests that import helpers from this one.)


@pytest.fixture
def api_project(tmp_path: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent / "api"))
    from apihelp import make_project

    return make_project(tmp_path / "project")  # type: ignore[no-any-return]


@pytest.fixture
def api_app(api_project: Path) -> Iterator[Any]:
    from batchyard.api import ServeOptions, create_app

    app = create_app(root=api_project, options=ServeOptions(max_jobs=2))
    try:
        yield app
    finally:
        app.state.service.close()
        ENGINES.dispose()


@pytest.fixture
def client(api_app: Any) -> Any:
    from apihelp import Client

    return Client(api_app)
