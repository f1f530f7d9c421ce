"""On data made by ``generate --inject-errors``, every rule fails exactly the rows the manifest lists:
on SQLite, on PostgreSQL, and on Parquet and CSV exports of the same data (through DuckDB)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from check_rulesets import RULESETS, failing, rule_name

import batchyard as by
from batchyard.db import ENGINES

SCALE = {"sports": "0.01", "retail": "0.03", "finance": "0.01"}


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    yield
    ENGINES.dispose()


def generate(app: by.Batchyard, name: str, to: str, manifest: Path) -> dict[str, Any]:
    job = app.run(
        "generate",
        {
            "dataset": name,
            "to": to,
            "scale": SCALE[name],
            "inject_errors": 0.03,
            "manifest": str(manifest),
        },
        install_signals=False,
    )
    assert job.status.value == "completed", job.error
    data: dict[str, Any] = json.loads(manifest.read_text())
    return data


def assert_exact(report: Any, manifest: dict[str, Any]) -> None:
    found = failing(report)
    assert manifest["checks"]
    for check in manifest["checks"]:
        assert check["rows"] > 0
        assert found[(check["table"], rule_name(check))] == check["rows"], check
    checked = {(c["table"], rule_name(c)) for c in manifest["checks"]}
    # Rules the manifest has no defect for find nothing: no false positives.
    assert {k: v for k, v in found.items() if k not in checked and v} == {}


def rules_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(RULESETS[name])
    return path


@pytest.mark.parametrize("name", ["sports", "retail", "finance"])
def test_failing_counts_equal_the_manifest(
    app: by.Batchyard, target_url: str, tmp_path: Path, name: str
) -> None:
    manifest = generate(app, name, target_url, tmp_path / "m.json")
    report = app.validate(target_url, rules_file(tmp_path, name), install_signals=False)
    assert_exact(report, manifest)
    assert report.failed("error") and report.score < 100


def export(db: Path, folder: Path) -> None:
    """Every table of ``db`` as Parquet and as CSV, written with pyarrow."""
    (folder / "parquet").mkdir(parents=True)
    (folder / "csv").mkdir()
    conn = sqlite3.connect(db)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cur = conn.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cur.description]
        columns = list(zip(*cur.fetchall(), strict=True))
        arrays = {}
        for i, n in enumerate(names):
            values = list(columns[i])
            if any(isinstance(v, float) for v in values):
                values = [float(v) if v is not None else None for v in values]
            arrays[n] = pa.array(values)
        data = pa.table(arrays)
        pq.write_table(data, folder / "parquet" / f"{table}.parquet")
        pacsv.write_csv(data, folder / "csv" / f"{table}.csv")
    conn.close()


@pytest.fixture(scope="module")
def sports_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The sports data with its defects, exported once for the module's tests, which only read it."""
    root = tmp_path_factory.mktemp("sports")
    with by.Batchyard(root=root) as app:
        manifest = generate(app, "sports", str(root / "sports.db"), root / "m.json")
    ENGINES.dispose()
    export(root / "sports.db", root / "files")
    return root / "files", manifest


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_failing_counts_equal_the_manifest_on_files(
    tmp_path: Path, fmt: str, sports_files: tuple[Path, dict[str, Any]]
) -> None:
    files, manifest = sports_files
    with by.Batchyard(root=tmp_path) as app:
        report = app.validate(
            str(files / fmt), rules_file(tmp_path, "sports"), install_signals=False
        )
        assert_exact(report, manifest)
        # A glob of one table's files is one table, named by the pattern.
        one = tmp_path / "one"
        one.mkdir()
        (one / "rules.yaml").write_text(
            "suite: one\ntables:\n  statcast:\n    - {rule: not_null, column: pitcher_id}\n"
        )
        glob = str(files / fmt / f"stat*.{fmt}")
        only = app.validate(glob, one / "rules.yaml", install_signals=False)
        pitcher = next(c for c in manifest["checks"] if c["column"] == "pitcher_id")
        assert failing(only) == {("statcast", "not_null(pitcher_id)"): pitcher["rows"]}
