"""Params over the API never name a file outside the project, in any form a driver would read.

Each form below reaches ``elsewhere/x.db`` (a real SQLite file outside the project) through a
different door: a driver suffix, upper case, a SQLite ``file:`` URI, percent-encoding (which SQLite
decodes in URIs), a ``file://`` URL, a ``${VAR:-default}`` reference, a libpq param that names a
file. Each is refused with a 4xx naming the param, whichever param carries it, and nothing is made.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from apihelp import Client, finished

from batchyard.api.paths import confine
from batchyard.db import Database
from batchyard.errors import ParamError


@pytest.fixture
def elsewhere(api_project: Path) -> Path:
    folder = api_project.parent / "elsewhere"
    folder.mkdir()
    with sqlite3.connect(folder / "x.db") as con:
        con.execute("create table t (id integer primary key, v text)")
        con.execute("insert into t values (1, 'outside')")
    return folder


FORMS = {
    "driver": "sqlite+pysqlite:///{out}/x.db",
    "upper": "SQLITE:///{out}/x.db",
    "mixed-driver": "Sqlite+PySqlite:///{out}/x.db",
    "absolute": "sqlite:///{out}/x.db",
    "dotdot": "sqlite:///inside/../../elsewhere/x.db",
    "uri-relative": "sqlite:///file:../elsewhere/x.db?uri=true",
    "uri-absolute": "sqlite:///file:{out}/x.db?mode=ro&uri=true",
    "uri-authority": "sqlite:///file://localhost{out}/x.db?uri=true",
    "uri-encoded": "sqlite:///file:{quoted}/x.db?uri=true",
    "encoded-dotdot": "sqlite:///%252E%252E/elsewhere/x.db",
    "duckdb": "duckdb:///{out}/x.db",
    "file-url": "file://{out}/x.db",
    "env-default": "${{BATCHYARD_TEST_UNSET_VAR:-sqlite:///{out}/x.db}}",
    "libpq-file": "postgresql://u@127.0.0.1:9/db?sslkey={out}/x.db",
}


def _requests(value: object) -> list[tuple[str, dict[str, object], str]]:
    """(kind, params, the param that carries ``value``) for every param name the issue names."""
    return [
        ("generate", {"dataset": "retail", "scale": "0.001", "to": value}, "to"),
        ("import", {"file": "in.csv", "target": value}, "target"),
        ("validate", {"target": value, "rules": "rules.yaml"}, "target"),
        (
            "collect",
            {"url": "http://127.0.0.1:9/x", "keys": ["a"], "table": "t", "connection": value},
            "connection",
        ),
        ("export", {"source": value, "to": "out"}, "source"),
        ("inspect", {"sources": ["warehouse", value]}, "sources"),
        # A name that does not look like a path: the value is what gives it away.
        ("secretive", {"url": value}, "url"),
    ]


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_of_a_file_outside_the_project_is_refused(
    client: Client, elsewhere: Path, form: str
) -> None:
    value = FORMS[form].format(out=elsewhere, quoted=quote(str(elsewhere)))
    for kind, params, name in _requests(value):
        response = client.post("/api/jobs", json={"kind": kind, "params": params})
        assert 400 <= response.status_code < 500, (kind, value, response.text)
        body = response.json()
        assert "outside the project" in body["detail"], (kind, value, body)
        assert body["errors"][0]["field"] == f"body.params.{name}", (kind, value, body)
        assert "Traceback" not in response.text
    assert client.get("/api/jobs").json()["total"] == 0
    with sqlite3.connect(elsewhere / "x.db") as con:
        assert con.execute("select v from t").fetchall() == [("outside",)]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["x.db"]


def test_bulk_routes_refuse_them_too_naming_the_item(client: Client, elsewhere: Path) -> None:
    value = f"sqlite+pysqlite:///{elsewhere}/x.db"
    response = client.post(
        "/api/batch/data/bulk-generate",
        json={
            "items": [
                {"schema": "retail", "rows": 10},
                {"schema": "retail", "rows": 10, "to": value},
            ]
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.items.1.params.to"
    response = client.post(
        "/api/batch/metadata/bulk-extract",
        json={"items": [{"params": {"sources": [f"sqlite:///file:{elsewhere}/x.db?uri=true"]}}]},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.items.0.params.sources"
    assert client.get("/api/jobs").json()["total"] == 0


def test_files_inside_the_project_still_work_in_each_form(
    client: Client, api_project: Path
) -> None:
    project = api_project.resolve()
    with sqlite3.connect(project / "warehouse.db") as con:
        con.execute("create table t (id integer primary key, v text)")
        con.execute("insert into t values (1, 'inside')")
    cases = [
        ("export", {"source": "warehouse", "to": "by-name"}),  # a connection of batchyard.toml
        ("export", {"source": "sqlite+pysqlite:///warehouse.db", "to": "by-driver"}),
        ("export", {"source": f"sqlite:///{project}/sub/../warehouse.db", "to": "by-abs"}),
        ("generate", {"dataset": "retail", "scale": "0.001", "to": "sqlite:///gen.db"}),
    ]
    for kind, params in cases:
        response = client.post("/api/jobs", json={"kind": kind, "params": params})
        assert response.status_code == 201, (params, response.text)
        job = response.json()
        done = client.wait_job(job["id"], finished, timeout=60)
        assert done["status"] == "completed", (params, done)
    for folder in ("by-name", "by-driver", "by-abs"):
        assert (project / folder / "t.parquet").is_file(), folder
    assert (project / "gen.db").is_file()
    # Relative database URLs are made absolute against the project, not the server's folder.
    stored = client.get("/api/jobs", params={"kind": "generate"}).json()["jobs"][0]["params"]
    assert stored["to"] == f"sqlite:///{project / 'gen.db'}"


def test_jmespath_params_are_not_taken_for_paths(client: Client) -> None:
    params = {
        "url": "http://127.0.0.1:9/x",
        "keys": ["a"],
        "landing": "landing",
        "paginate": "cursor",
        "page_param": "after",
        "cursor_path": "meta.next",
        "next_path": "links.next",
    }
    response = client.post("/api/jobs", json={"kind": "collect", "params": params})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["params"]["cursor_path"] == "meta.next"
    assert job["params"]["next_path"] == "links.next"
    client.post(f"/api/jobs/{job['id']}/cancel")
    client.wait_job(job["id"], finished)


def test_relative_database_files_are_made_absolute_against_the_project(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    base = root.resolve()
    given = {
        "to": "sqlite+pysqlite:///sub/w.db",
        "target": "sqlite:///file:w.db?mode=ro&uri=true",
        "source": "warehouse",
        "sources": ["a.csv", "duckdb:///d.duckdb"],
        "memory": "sqlite:///:memory:",
        "url": "https://example.com/x?date={date}",
        "cursor_path": "meta.next",
    }
    assert confine(given, root, {"warehouse": "sqlite:///w.db"}) == {
        "to": f"sqlite+pysqlite:///{base}/sub/w.db",
        "target": f"sqlite:///file:{base}/w.db?mode=ro&uri=true",
        "source": "warehouse",
        "sources": [str(base / "a.csv"), f"duckdb:///{base}/d.duckdb"],
        "memory": "sqlite:///:memory:",
        "url": "https://example.com/x?date={date}",
        "cursor_path": "meta.next",
    }


def test_a_database_named_with_url_characters_is_kept_as_the_file_that_was_checked(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    confined = confine({"to": "sqlite:///odd%25 name%3F%23.db"}, root, {})
    # The URL kept opens the very file that was confined, not one cut off at "?" or "#".
    assert Database.of(confined["to"]).path == root.resolve() / "odd% name?#.db"
    with pytest.raises(ParamError, match="outside the project"):
        confine({"to": "sqlite:///x%3F/../../../elsewhere.db"}, root, {})
