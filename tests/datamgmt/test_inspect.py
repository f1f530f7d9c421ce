"""inspect: the catalogue of a schema with every kind of key, index and constraint, on both backends,
and the ``inspect`` batch kind over many sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

import batchyard as by
from batchyard.cli import app as cli_app

SCHEMA = (
    "CREATE TABLE teams (id INTEGER PRIMARY KEY, code VARCHAR(8) NOT NULL UNIQUE, "
    "name TEXT NOT NULL, founded DATE DEFAULT '1900-01-01')",
    "CREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams (id), "
    "name TEXT NOT NULL, shirt INTEGER DEFAULT 0, rating REAL)",
    "CREATE INDEX players_name ON players (name)",
    "CREATE UNIQUE INDEX players_team_shirt ON players (team_id, shirt)",
    "INSERT INTO teams (id, code, name) VALUES (1, 'OSL', 'Oslo'), (2, 'ROM', 'Rome')",
    "INSERT INTO players VALUES (1, 1, 'ann', 9, 7.5), (2, 1, 'bo', 10, NULL), "
    "(3, 2, 'cy', 9, 6.0)",
)


def make_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for sql in SCHEMA:
            conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'league.db'}"
    return str(request.getfixturevalue("pg_database"))


def data(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["-C", str(tmp_path), "data", *args])


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


def test_the_catalogue_holds_keys_indexes_constraints_and_defaults(
    tmp_path: Path, db_url: str, backend: str
) -> None:
    make_schema(db_url)
    result = data(tmp_path, "inspect", db_url)
    assert result.exit_code == 0, result.output
    (cat,) = json.loads(result.stdout)["catalogues"]
    assert cat["backend"] == backend
    # Tables come in dependency order: a table after the tables it refers to.
    assert [t["name"] for t in cat["tables"]] == ["teams", "players"]
    teams, players = (by_name(cat["tables"])[n] for n in ("teams", "players"))
    assert (teams["rows"], players["rows"]) == (2, 3)
    assert teams["primary_key"] == ["id"] and players["primary_key"] == ["id"]
    assert ["code"] in teams["unique"]
    assert players["foreign_keys"] == [
        {"columns": ["team_id"], "ref_table": "teams", "ref_columns": ["id"]}
    ]
    indexes = {i["name"]: i for i in players["indexes"]}
    assert indexes["players_name"] == {"name": "players_name", "columns": ["name"], "unique": False}
    assert indexes["players_team_shirt"]["columns"] == ["team_id", "shirt"]
    assert indexes["players_team_shirt"]["unique"] is True
    cols = by_name(players["columns"])
    assert cols["id"]["primary_key"] is True and cols["name"]["primary_key"] is False
    assert cols["team_id"]["nullable"] is False and cols["rating"]["nullable"] is True
    assert (cols["rating"]["type"], cols["shirt"]["type"]) == ("float", "integer")
    assert "0" in str(cols["shirt"]["default"]) and cols["rating"]["default"] is None
    tcols = by_name(teams["columns"])
    assert "1900-01-01" in str(tcols["founded"]["default"])
    assert tcols["founded"]["type"] == "date" and tcols["code"]["type"] == "text"
    assert "8" in tcols["code"]["declared"]  # VARCHAR(8), as declared
    assert tcols["code"]["nullable"] is False


def test_markdown_describes_the_same_schema(tmp_path: Path, db_url: str) -> None:
    make_schema(db_url)
    out = tmp_path / "catalogue.md"
    result = data(tmp_path, "inspect", db_url, "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "## players" in text and "3 rows." in text and "Primary key: id." in text
    assert "- foreign key (team_id) references teams (id)" in text
    assert "- index players_name (name)" in text
    assert "- unique index players_team_shirt (team_id, shirt)" in text
    assert "| team_id | integer |" in text and "| no |" in text


def test_the_inspect_kind_over_two_sources_gives_both_catalogues(
    tmp_path: Path, pg_database: str
) -> None:
    lite = tmp_path / "league.db"
    make_schema(f"sqlite:///{lite}")
    make_schema(pg_database)
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE only_here (x int)")
    engine.dispose()
    out = tmp_path / "all.json"
    with by.Batchyard(root=tmp_path) as app:
        kind = app.kind("inspect")
        assert "sources" in kind.params_schema()["properties"]
        job = app.run(
            "inspect",
            {"sources": [str(lite), pg_database], "output": str(out)},
            install_signals=False,
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        items, _ = app.items(job.id)
    assert job.total == 2
    results = [i.result for i in items]
    assert [r["backend"] for r in results] == ["sqlite", "postgresql"]
    assert [len(r["tables"]) for r in results] == [2, 3]
    written = json.loads(out.read_text())["catalogues"]
    assert [sorted(t["name"] for t in c["tables"]) for c in written] == [
        ["players", "teams"],
        ["only_here", "players", "teams"],
    ]


def test_bad_input_names_the_source_or_table(tmp_path: Path) -> None:
    lite = tmp_path / "league.db"
    make_schema(f"sqlite:///{lite}")
    missing = data(tmp_path, "inspect", str(lite), str(tmp_path / "nope.db"))
    assert missing.exit_code == 2 and "nope.db" in missing.stderr
    unknown = data(tmp_path, "inspect", "warehouse")
    assert unknown.exit_code == 2 and "'warehouse'" in unknown.stderr
    table = data(tmp_path, "inspect", str(lite), "--tables", "coaches")
    assert table.exit_code == 2 and "'coaches'" in table.stderr
    fmt = data(tmp_path, "inspect", str(lite), "--format", "yaml")
    assert fmt.exit_code == 2 and "yaml" in fmt.stderr


def test_a_file_that_is_not_a_database_is_bad_input(tmp_path: Path) -> None:
    fake = tmp_path / "notes.db"
    fake.write_text("day,score\n2024-06-01,3\n")
    result = data(tmp_path, "inspect", str(fake))
    assert result.exit_code == 2, result.output
    assert "notes.db is not a SQLite database" in result.stderr
    assert "sqlalche.me" not in result.stderr and result.stdout == ""


def test_json_is_there_as_on_every_read_command(tmp_path: Path) -> None:
    lite = tmp_path / "league.db"
    make_schema(f"sqlite:///{lite}")
    result = data(tmp_path, "inspect", str(lite), "--json")
    assert result.exit_code == 0, result.output
    (cat,) = json.loads(result.stdout)["catalogues"]
    assert sorted(t["name"] for t in cat["tables"]) == ["players", "teams"]
    both = data(tmp_path, "inspect", str(lite), "--json", "-f", "md")
    assert both.exit_code == 2 and "--json" in both.stderr
