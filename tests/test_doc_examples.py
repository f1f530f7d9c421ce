"""The docs' examples run: every shell and YAML block of README.md and docs/*.md, in order per
page, in a fresh project of the page's own (``batchyard init``), against the data the page's
commands (or its ``<!-- setup: -->``) generate. Outputs the docs show are compared; a block that
cannot run says why in the page (``<!-- not run: REASON -->``). The conventions are in
``tests/docrun.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import REPO
from docrun import Block, PageRun, file_of, pages, parse_page, runnable, uses_postgres

PAGES = {name: parse_page(path, name) for name, path in pages(REPO)}
RUNNABLE = [name for name, steps in PAGES.items() if runnable(steps)]
ON_POSTGRES = {name for name in RUNNABLE if uses_postgres(PAGES[name])}

#: Users the docs' PostgreSQL URLs name (``postgresql://app:${PGPASSWORD}@localhost/sports``).
PG_USERS = ("app", "etl")


@pytest.fixture
def postgres_env(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, str], sa.Engine]]:
    """The environment that points the docs' PostgreSQL URLs at the test's server.

    The URLs name hosts such as ``localhost`` or ``db`` and no port: ``PGHOSTADDR`` and ``PGPORT``
    (read by libpq, so by psycopg and pg_dump alike) send them to the server the tests started.
    Its users are trusted, so any ``PGPASSWORD`` will do.
    """
    admin_url = sa.make_url(request.getfixturevalue("pg_admin_url"))
    admin = request.getfixturevalue("pg_admin")
    with admin.connect() as conn:
        for user in PG_USERS:
            exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
            if exists.first() is None:
                conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN SUPERUSER')
    env = {
        "PGHOSTADDR": admin_url.host or "127.0.0.1",
        "PGPORT": str(admin_url.port or 5432),
        "PGPASSWORD": "docs-example-password",
    }
    yield env, admin


def params() -> Iterator[object]:
    for name in RUNNABLE:
        marks = [pytest.mark.postgres] if name in ON_POSTGRES else []
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("page", list(params()))
def test_page_examples_run(
    page: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "me"
    folder.mkdir()
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    createdb = None
    if page in ON_POSTGRES:
        pg_env, admin = request.getfixturevalue("postgres_env")
        env.update(pg_env)

        def createdb(name: str) -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # for the libraries that read it at import or connect time
    try:
        run = PageRun(folder, env, createdb)
        init = run.batchyard({}, ["init"], f"{page}: batchyard init")
        assert init.code == 0, init.err
        run.run(PAGES[page])
    finally:
        if os.environ.get("DOCS_VERBOSE"):
            with capsys.disabled():
                for seconds, where in sorted(run.timings, reverse=True)[:15]:
                    print(f"\n  {seconds:6.2f} s  {where}", end="")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with capsys.disabled():
        for line in run.not_run:
            print(f"\n  not run: {line}", end="")


def test_every_shell_and_yaml_block_is_run_or_says_why() -> None:
    """A YAML block is a file (it names its path) or says why not; directives have reasons."""
    for _name, steps in PAGES.items():
        for step in steps:
            if not isinstance(step, Block):
                continue
            if step.lang in {"yaml", "yml"} and step.not_run is None:
                assert file_of(step), f"{step.where}: a YAML block names no file (# path/NAME.yaml)"
            if step.not_run is not None:
                assert len(step.not_run.split()) >= 3, f"{step.where}: say why it is not run"
    assert {"README.md", "docs/cli.md", "docs/validate.md"} <= set(RUNNABLE)
