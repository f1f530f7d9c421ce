"""``--where`` is one boolean condition, never SQL pasted into a statement; reads are read-only.

The issue's two examples on SQLite and PostgreSQL: an export whose ``--where`` calls ``setval``
must not move the sequence, and validate's ``--where "1=1; DROP TABLE odds"`` must be refused with
the table still there. Bad SQL in ``--where`` is exit 2 naming the option, before any job.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from batchyard.cli import app as cli_app
from batchyard.db import ENGINES, Database
from batchyard.move.migrate import connect

RULES = "suite: s\ntables:\n  odds:\n    - {rule: not_null, column: price}\n"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "rules.yaml").write_text(RULES)
    yield root
    ENGINES.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, project: Path) -> str:
    """A database with a ``players`` table fed by a sequence (SQLite: by AUTOINCREMENT) and an
    ``odds`` table."""
    if request.param == "sqlite":
        path = project / "sports.db"
        with sqlite3.connect(path) as con:
            con.execute(
                "create table players (player_id integer primary key autoincrement, n text)"
            )
            con.execute("create table odds (id integer primary key, price real)")
            con.executemany("insert into players (n) values (?)", [("a",), ("b",)])
            con.executemany("insert into odds values (?, ?)", [(1, 1.5), (2, 2.5)])
        return f"sqlite:///{path}"
    url = str(request.getfixturevalue("pg_database"))
    with psycopg.connect(_dsn(url), autocommit=True) as pg:
        pg.execute("create table players (player_id serial primary key, n text)")
        pg.execute("create table odds (id integer primary key, price real)")
        pg.execute("insert into players (n) values ('a'), ('b')")
        pg.execute("insert into odds values (1, 1.5), (2, 2.5)")
    return url


def _dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sequence(url: str) -> int:
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        with sqlite3.connect(str(path)) as con:
            found = con.execute("select seq from sqlite_sequence where name='players'").fetchone()
            return int(found[0])
    with psycopg.connect(_dsn(url)) as pg:
        row = pg.execute("select last_value from players_player_id_seq").fetchone()
        assert row is not None
        return int(row[0])


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def by(project: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli_app, ["-C", str(project), *args])
    assert "Traceback" not in result.output, result.output
    return result


def test_export_where_cannot_move_a_sequence(project: Path, database: str) -> None:
    before = sequence(database)
    for where in (
        "setval('players_player_id_seq', 888888) > 0",
        "nextval('players_player_id_seq') > 0",
        "pg_sleep(0) IS NULL",
        "n = 'a' OR setval('players_player_id_seq', 888888) > 0",
        "player_id IN (SELECT setval('players_player_id_seq', 888888))",
        "lo_import('/etc/hostname') > 0",
        "pg_read_file('/etc/hostname') <> ''",
        "load_extension('x') IS NULL",
    ):
        out = project / "out.csv"
        result = by(project, "data", "export", database, "-t", "players", "-f", "csv", "--to", str(out),
                    "--where", where)  # fmt: skip
        assert result.exit_code == 2, (where, result.output)
        assert "--where" in result.output, (where, result.output)
        assert not out.exists()
    assert sequence(database) == before
    assert json.loads(by(project, "jobs", "list", "--json").stdout)["total"] == 0


def test_export_where_keeps_working_for_plain_conditions(project: Path, database: str) -> None:
    out = project / "out.csv"
    where = "n = 'b' AND lower(n) LIKE 'b%' AND coalesce(player_id, 0) > 1"
    result = by(project, "data", "export", database, "-t", "players", "-f", "csv", "--to", str(out),
                "--where", where)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == ['"player_id","n"', '2,"b"']


def test_bad_sql_in_export_where_is_exit_2_naming_the_option(project: Path, database: str) -> None:
    for where, says in (
        ("nosuch > 1", "no column 'nosuch'"),
        ("n >", "not valid SQL"),
        ("1=1; DROP TABLE odds", "one condition"),
        ("n = 'a'; --", "one condition"),
        ("SELECT 1", "a query"),
    ):
        result = by(project, "data", "export", database, "-t", "players", "-f", "csv", "--to",
                    str(project / "o.csv"), "--where", where)  # fmt: skip
        assert result.exit_code == 2, (where, result.output)
        assert "--where" in result.output and says in result.output, (where, result.output)
    assert {"players", "odds"} <= tables(database)


def test_validate_where_with_a_second_statement_is_refused(project: Path, database: str) -> None:
    for where in ("1=1; DROP TABLE odds", "price > 0; DELETE FROM odds", "price > nextval('x')"):
        result = by(project, "validate", database, "--rules", str(project / "rules.yaml"),
                    "--where", where)  # fmt: skip
        assert result.exit_code == 2, (where, result.output)
        assert "where" in result.output, result.output
    assert {"players", "odds"} <= tables(database)
    ok = by(project, "validate", database, "--rules", str(project / "rules.yaml"),
            "--where", "price > 2")  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_reads_run_in_read_only_transactions(project: Path, database: str) -> None:
    """What export, summary, catalogue and verify read through cannot write, whatever it is sent."""
    engine = connect(database, "source")
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql("DELETE FROM odds")
    finally:
        engine.dispose()
    raw = Database.of(database).connect(readonly=True)
    try:
        with pytest.raises(Exception, match=r"read-only|readonly"):
            raw.execute("DELETE FROM odds")
    finally:
        raw.close()
    before = sequence(database)
    if database.startswith("postgresql"):
        # A --query is a whole SELECT by design: the read-only transaction is what stops it.
        result = by(project, "data", "export", database, "-f", "csv", "--to", str(project / "q.csv"),
                    "--query", "SELECT setval('players_player_id_seq', 777777) AS v")  # fmt: skip
        assert result.exit_code != 0, result.output
        assert "read-only" in result.output, result.output
    assert sequence(database) == before
    assert {"players", "odds"} <= tables(database)
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select count(*) from odds").scalar() == 2
    finally:
        engine.dispose()
