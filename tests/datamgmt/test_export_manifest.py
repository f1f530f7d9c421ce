"""Exports into one folder add to its manifest.json rather than replace it: a second export keeps
the first's entries, a table exported again replaces its own entry, and an import of the folder
takes back every table the manifest lists."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import batchyard as by
from conftest import cli


def _source(path: Path) -> Path:
    with sqlite3.connect(path) as con:
        for name, n in (("teams", 3), ("players", 5), ("games", 2)):
            con.execute(f"create table {name} (id integer primary key, label text not null)")
            con.executemany(
                f"insert into {name} values (?, ?)", [(i, f"{name}-{i}") for i in range(n)]
            )
    return path


def _export(app: by.Batchyard, params: dict[str, Any]) -> by.Job:
    job = app.run("export", params, install_signals=False)
    assert job.status is by.JobStatus.COMPLETED, job.error
    return job


def _manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


def test_a_second_export_into_a_folder_keeps_the_first_ones_entries(tmp_path: Path) -> None:
    src, out = _source(tmp_path / "src.db"), tmp_path / "out"
    with by.Batchyard(root=tmp_path) as app:
        first = _export(app, {"source": str(src), "to": str(out), "tables": ["teams"]})
        teams = _manifest(out)["tables"][0]
        second = _export(
            app, {"source": str(src), "to": str(out), "tables": ["players"], "format": "csv"}
        )
        manifest = _manifest(out)
        assert [t["table"] for t in manifest["tables"]] == ["teams", "players"]
        kept, added = manifest["tables"]
        # The first export's entry is as it wrote it, with its own format and job.
        assert {k: kept[k] for k in ("file", "rows", "sha256", "columns")} == {
            k: teams[k] for k in ("file", "rows", "sha256", "columns")
        }
        assert (kept["format"], kept["job_id"]) == ("parquet", first.id)
        assert (added["file"], added["rows"], added["format"]) == ("players.csv", 5, "csv")
        assert added["job_id"] == second.id
        assert (manifest["job_id"], manifest["format"]) == (second.id, "csv")

        # The same table again replaces its entry, in place; a file that is gone loses its own.
        (out / "players.csv").unlink()
        with sqlite3.connect(src) as con:
            con.execute("insert into teams values (3, 'teams-3')")
        third = _export(
            app,
            {"source": str(src), "to": str(out), "tables": ["teams", "games"], "overwrite": True},
        )
        manifest = _manifest(out)
        assert [(t["table"], t["rows"]) for t in manifest["tables"]] == [("teams", 4), ("games", 2)]
        assert {t["job_id"] for t in manifest["tables"]} == {third.id}

        # The folder imports back whole, as its manifest now says.
        back = tmp_path / "back.db"
        job = app.run("import", {"file": str(out), "target": str(back)}, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
    with sqlite3.connect(back) as con:
        assert con.execute("select count(*) from teams").fetchone() == (4,)
        assert con.execute("select count(*) from games").fetchone() == (2,)


@pytest.mark.slow
def test_a_folder_whose_manifest_is_not_one_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    src, out = _source(tmp_path / "src.db"), tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{not json")
    result = cli("data", "export", str(src), "--to", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "manifest.json" in result.stderr and "not a readable manifest" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "{not json"
