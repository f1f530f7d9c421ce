"""summary: every figure checked against the same figure computed here from the rows themselves."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

import batchyard as by
from batchyard.cli import app as cli_app

COLUMNS = ("id", "name", "age", "score", "born", "city", "active")
ROWS: list[tuple[Any, ...]] = [
    (1, "ann", 34, 1.5, date(1990, 1, 31), "Oslo", True),
    (2, "bo", None, 2.25, date(1985, 6, 1), "Rome", False),
    (3, "cy", 41, None, None, "Oslo", True),
    (4, "di", 29, -3.0, date(2001, 12, 24), None, True),
    (5, None, 29, 10.125, date(1999, 2, 28), "Lima", None),
    (6, "ed", 57, 0.0, date(1970, 1, 1), "Oslo", False),
    (7, "fay", 18, 7.75, date(2006, 7, 4), "Rome", True),
    (8, "gus", None, None, date(1990, 1, 31), "Kyiv", True),
    (9, "hal", 63, 4.5, date(1962, 3, 15), "Oslo", False),
    (10, "ivy", 29, 1.5, None, "Lima", True),
]


def make_people(url: str) -> None:
    pg = url.startswith("postgresql")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score "
            f"{'double precision' if pg else 'REAL'}, born DATE, city TEXT, active BOOLEAN)"
        )
        rows = [
            dict(
                zip(COLUMNS, r if pg else [*r[:4], r[4] and r[4].isoformat(), *r[5:]], strict=True)
            )
            for r in ROWS
        ]
        conn.execute(
            sa.text("INSERT INTO people VALUES (:id, :name, :age, :score, :born, :city, :active)"),
            rows,
        )
    engine.dispose()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'people.db'}"
    return str(request.getfixturevalue("pg_database"))


def expected(column: str) -> dict[str, Any]:
    """The figures of one column, worked out in Python from ROWS."""
    values = [r[COLUMNS.index(column)] for r in ROWS]
    present = [v for v in values if v is not None]
    out: dict[str, Any] = {
        "nulls": len(values) - len(present),
        "null_pct": round(100 * (len(values) - len(present)) / len(values), 2),
        "distinct": len(set(present)),
    }
    if column in ("age", "score", "id"):
        out |= {"min": min(present), "max": max(present), "mean": statistics.fmean(present)}
    if column == "born":
        epoch = date(1970, 1, 1)
        mean_days = statistics.fmean((d - epoch).days for d in present)
        out |= {
            "min": min(present).isoformat(),
            "max": max(present).isoformat(),
            "mean": (epoch + timedelta(days=mean_days)).isoformat(),
        }
    if column in ("name", "city", "active"):
        counts = Counter(present)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        out["top"] = [{"value": v, "count": k} for v, k in ordered]
    return out


def run(tmp_path: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("summary", params, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
        items, _ = app.items(job.id)
    return [i.result for i in items]


def test_every_figure_matches_one_computed_from_the_rows(tmp_path: Path, db_url: str) -> None:
    make_people(db_url)
    (table,) = run(tmp_path, {"target": db_url})
    assert table["table"] == "people" and table["rows"] == len(ROWS)
    assert table["estimated"] is False
    got = {c["name"]: c for c in table["columns"]}
    assert list(got) == list(COLUMNS)
    for column in COLUMNS:
        want = expected(column)
        have = got[column]
        for key in ("nulls", "null_pct", "distinct", "min", "max"):
            if key in want:
                assert have[key] == want[key], (column, key)
        if "mean" in want:
            if column == "born":
                assert have["mean"] == want["mean"]
            else:
                assert have["mean"] == pytest.approx(want["mean"]), column
        if "top" in want:
            # SQLite keeps booleans as 0 and 1: compare them as booleans.
            norm = bool if column == "active" else str
            assert [(norm(t["value"]), t["count"]) for t in have["top"]] == [
                (norm(t["value"]), t["count"]) for t in want["top"]
            ], column
        assert have["distinct_estimated"] is False


def test_large_tables_estimate_from_a_sample(tmp_path: Path, db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE big (id INTEGER PRIMARY KEY, k INTEGER, t TEXT)")
        conn.execute(
            sa.text("INSERT INTO big VALUES (:i, :k, :t)"),
            [{"i": i, "k": i % 500, "t": f"v{i % 7}"} for i in range(6000)],
        )
    engine.dispose()
    (table,) = run(tmp_path, {"target": db_url, "exact_below": 1000, "sample_rows": 2000})
    assert table["estimated"] is True and 1200 < table["sample_rows"] < 2800
    got = {c["name"]: c for c in table["columns"]}
    assert got["k"]["distinct_estimated"] is True
    assert 400 <= got["k"]["distinct"] <= 600  # 500 really
    assert 4500 <= got["id"]["distinct"] <= 6000  # every row differs
    assert got["t"]["distinct"] == 7
    assert {t["value"] for t in got["t"]["top"]} <= {f"v{n}" for n in range(7)}
    assert all(600 <= t["count"] <= 1100 for t in got["t"]["top"])  # 857 each really
    # The aggregate figures are exact even so: they come from the full scan.
    assert got["k"]["min"] == 0 and got["k"]["max"] == 499 and got["id"]["mean"] == 2999.5


def data(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["-C", str(tmp_path), "data", *args])


def test_the_command_prints_json_markdown_and_a_table(tmp_path: Path) -> None:
    db = tmp_path / "people.db"
    make_people(f"sqlite:///{db}")
    as_json = data(tmp_path, "summary", str(db), "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    (table,) = json.loads(as_json.stdout)["tables"]
    assert {c["name"]: c["nulls"] for c in table["columns"]}["age"] == 2
    md = data(tmp_path, "summary", str(db), "-f", "md", "-t", "people")
    assert md.exit_code == 0
    assert "| age | integer | 20 | 6 | 18 | 63 | 37.5 |  |" in md.stdout
    assert "| city | text | 10 | 4 |" in md.stdout and "Oslo (4)" in md.stdout
    shown = data(tmp_path, "summary", str(db))
    assert shown.exit_code == 0 and "people: 10 rows" in shown.stdout
    out = tmp_path / "summary.md"
    assert data(tmp_path, "summary", str(db), "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("# Summary of sqlite:///")


def test_bad_input_names_the_table_or_source(tmp_path: Path) -> None:
    db = tmp_path / "people.db"
    make_people(f"sqlite:///{db}")
    unknown = data(tmp_path, "summary", str(db), "--tables", "persons")
    assert unknown.exit_code == 2 and "'persons'" in unknown.stderr
    assert "people" in unknown.stderr
    missing = data(tmp_path, "summary", str(tmp_path / "nope.db"))
    assert missing.exit_code == 2 and "nope.db" in missing.stderr
    fmt = data(tmp_path, "summary", str(db), "--format", "xml")
    assert fmt.exit_code == 2 and "xml" in fmt.stderr


def test_every_type_of_the_fidelity_table_is_summarised(tmp_path: Path, db_url: str) -> None:
    from fidelity import ROWS as ODD_ROWS
    from fidelity import make_postgres, make_sqlite

    if db_url.startswith("sqlite"):
        make_sqlite(Path(sa.make_url(db_url).database or ""))
    else:
        make_postgres(db_url)
    tables = {t["table"]: t for t in run(tmp_path, {"target": db_url, "tables": ["odd table"]})}
    got = {c["name"]: c for c in tables["odd table"]["columns"]}
    assert got["b"]["nulls"] == sum(1 for r in ODD_ROWS if r[6] is None) and "min" not in got["b"]
    assert got["big"]["min"] == -(2**63) and got["big"]["max"] == 2**63 - 1
    assert got["ts"]["min"] == "2000-01-01 00:00:00" and got["d"]["max"] == "2024-02-29"
    assert got['we"ird']["distinct"] == 5  # "" and "NULL" are values; NULL is not
    assert got["amount"]["min"] == 0.1 and got["amount"]["max"] == 99.99


def test_a_file_that_is_not_a_database_gets_one_clear_message(tmp_path: Path) -> None:
    fake = tmp_path / "notes.db"
    fake.write_text("day,score\n2024-06-01,3\n")
    result = data(tmp_path, "summary", str(fake))
    assert result.exit_code == 2
    assert "notes.db is not a SQLite database" in result.stderr
    assert "sqlalche.me" not in result.stderr and "[SQL:" not in result.stderr


def test_json_is_there_as_on_every_read_command(tmp_path: Path) -> None:
    db = tmp_path / "people.db"
    make_people(f"sqlite:///{db}")
    result = data(tmp_path, "summary", str(db), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tables"][0]["table"] == "people"
    both = data(tmp_path, "summary", str(db), "--json", "--format", "md")
    assert both.exit_code == 2 and "--json" in both.stderr


@pytest.mark.parametrize("fmt", ["table", "md"])
def test_decimals_and_booleans_print_as_the_values_they_are(
    tmp_path: Path, db_url: str, fmt: str
) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pay (amount NUMERIC(12,2), paid BOOLEAN)")
        conn.exec_driver_sql("INSERT INTO pay VALUES (1129660.12, true), (0.5, false), (7, true)")
    engine.dispose()
    shown = data(tmp_path, "summary", db_url, "--format", fmt)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert "1129660.12" in text and "e+06" not in text, text
    assert "true (2), false (1)" in text, text
    (table,) = json.loads(data(tmp_path, "summary", db_url, "--json").stdout)["tables"]
    got = {c["name"]: c for c in table["columns"]}
    assert got["amount"]["max"] == 1129660.12 and got["amount"]["min"] == 0.5
    assert [t["value"] for t in got["paid"]["top"]] == [True, False]
