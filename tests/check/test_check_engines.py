"""The engine's paths that small tests would not take by themselves: SQLite scans split in rowid
ranges, DuckDB's bitmap for unique integers, JSON Lines files, and the REGEXP function."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batchyard.check.engine import check_table
from batchyard.check.sources import DuckDBSource, SQLiteSource, open_source
from batchyard.check.suite import Suite
from batchyard.db.files import file_tables
from batchyard.errors import UsageError

SUITE = """\
suite: t
tables:
  t:
    - {rule: unique, column: n}
    - {rule: between, column: x, min: 0, max: 10}
    - {rule: regex, column: s, pattern: '^a+b?$'}
    - {rule: regex, column: d, format: date}
    - {rule: not_null, column: x, where: n > 2}
    - {rule: freshness, column: d, max_age: 1d}
    - {rule: row_count, min: 1, max: 5}
"""
ROWS = [
    (1, 5.0, "aab", "2024-01-31"),
    (2, 11.0, "b", "2024-02-30"),
    (2, None, "aa", "2024-13-01"),
    (3, -1.0, None, None),
    (5, None, "ab ", "2024-03-01"),
    (5, 3.0, "a", "2024-03-02"),
    (5, 2.0, "ab", "2024-03-03"),
]
EXPECTED = {
    "unique(n)": 3,
    "between(x)": 2,
    "regex(s)": 2,
    "date(d)": 2,
    "not_null(x)": 1,
    "freshness(d)": 1,
    "row_count": 1,
}


def failing(source: object) -> dict[str, int]:
    suite = Suite.from_yaml(SUITE)
    result = check_table(source, suite, "t")  # type: ignore[arg-type]
    return {r.name: r.failing for r in result.rules}


def make_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (n INTEGER, x REAL, s TEXT, d TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", ROWS)
    conn.commit()
    conn.close()
    return path


def test_sqlite_split_scans_find_what_one_scan_finds(tmp_path: Path) -> None:
    db = make_sqlite(tmp_path / "t.db")
    whole = SQLiteSource(str(db), threads=1)
    split = SQLiteSource(str(db), threads=2)
    split.split_rows = 2  # a table of 7 rows is read in two rowid ranges
    assert split._ranges(split.table("t")) == [(1, 4), (5, 7)]
    assert failing(whole) == failing(split) == EXPECTED
    # regex(s) has no GLOB form ('b?'): it ran through the registered REGEXP function.
    assert split.fetch("SELECT 'aab' REGEXP '^a+b?$', 'x' REGEXP 'y'")[1] == [(1, 0)]


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "csv"])
def test_files_find_the_same(tmp_path: Path, kind: str) -> None:
    names = ["n", "x", "s", "d"]
    data = pa.table({n: pa.array([r[i] for r in ROWS]) for i, n in enumerate(names)})
    path = tmp_path / f"t.{kind}"
    if kind == "parquet":
        pq.write_table(data, path)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(dict(zip(names, r, strict=True))) + "\n" for r in ROWS))
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(data, path)
    source = open_source(str(path))
    assert isinstance(source, DuckDBSource)
    assert failing(source) == EXPECTED


def test_dense_and_sparse_integers_count_duplicates_alike(tmp_path: Path) -> None:
    dense = [1, 2, 2, 3, 5, 5, 5, None]
    sparse = [1, 10**12, 10**12, -(10**12), 7, 7, None, 3]
    for name, values in (("dense", dense), ("sparse", sparse)):
        pq.write_table(pa.table({"n": pa.array(values, pa.int64())}), tmp_path / f"{name}.parquet")
    suite = Suite.from_yaml(
        "suite: u\ntables:\n  dense: [{rule: unique, column: n}]\n  sparse: [{rule: unique, column: n}]\n"
    )
    source = open_source(str(tmp_path))
    assert check_table(source, suite, "dense").rules[0].failing == 3
    assert check_table(source, suite, "sparse").rules[0].failing == 2


def test_globs_folders_and_files_name_their_tables(tmp_path: Path) -> None:
    for name in ("statcast-2024-01", "statcast-2024-02", "bets"):
        pq.write_table(pa.table({"a": [1]}), tmp_path / f"{name}.parquet")
    assert set(file_tables(str(tmp_path / "statcast-*.parquet"))) == {"statcast"}
    assert set(file_tables(str(tmp_path))) == {"statcast-2024-01", "statcast-2024-02", "bets"}
    assert set(file_tables(str(tmp_path / "bets.parquet"))) == {"bets"}
    with pytest.raises(UsageError, match="no file matches"):
        file_tables(str(tmp_path / "nothing-*.csv"))


def test_a_rule_the_engine_refuses_errors_alone(tmp_path: Path) -> None:
    """DuckDB cannot compare 'aab' with a number: that rule is an error, the others still count."""
    names = ["n", "x", "s", "d"]
    pq.write_table(
        pa.table({n: pa.array([r[i] for r in ROWS]) for i, n in enumerate(names)}),
        tmp_path / "t.parquet",
    )
    suite = Suite.from_yaml(SUITE + "    - {rule: between, column: s, min: 0, max: 10}\n")
    result = check_table(open_source(str(tmp_path / "t.parquet")), suite, "t")
    by_name = {r.name: r for r in result.rules}
    assert by_name["between(s)"].status.value == "error"
    assert "Error" in (by_name["between(s)"].message or "") and not by_name["between(s)"].samples
    assert {n: by_name[n].failing for n in EXPECTED} == EXPECTED
    assert result.score < 100


def test_a_python_suite_of_any_name_runs_and_keeps_its_rules_apart(tmp_path: Path) -> None:
    import batchyard as by

    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (n INTEGER)")
        con.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (2,)])
    unique = Suite.from_yaml("suite: team/a b\ntables:\n  t:\n    - {rule: unique, column: n}\n")
    counted = Suite.from_yaml("suite: team/a b\ntables:\n  t:\n    - {rule: row_count, min: 1}\n")
    with by.Batchyard(root=tmp_path) as app:
        first = app.validate(str(db), unique, install_signals=False)
        second = app.validate(str(db), counted, install_signals=False)
        assert first.tables[0].rules[0].rule == "unique" and not first.tables[0].rules[0].passed
        assert second.tables[0].rules[0].rule == "row_count"
        written = {Path(app.job(r.job).params["rules"]) for r in (first, second)}
    assert len(written) == 2 and all(p.parent == tmp_path / ".batchyard" / "rules" for p in written)
    assert {Suite.load(p).name for p in written} == {"team/a b"}
