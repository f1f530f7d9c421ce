"""Each rule type counts the same failing rows on SQLite, PostgreSQL and Parquet (DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from batchyard.check.engine import check_table
from batchyard.check.sources import Source, open_source
from batchyard.check.suite import Suite
from batchyard.db import ENGINES

COLUMNS = ["id", "day", "code", "qty", "price", "status", "amount"]
ROWS: list[tuple[Any, ...]] = [
    (1, "2024-04-01", "AB12", "3", 1.5, "won", "10"),
    (2, "2024-04-02", "AB1", "x", 2.0, "lost", "1e3"),
    (3, "2024-04-02", "ABCDEFGHIJKL", "4", 2.0, "lost", "-.5"),
    (4, "2024-04-05", "ab12", "5.5", None, "void", "1,5"),
    (5, "2024-04-05", None, None, 3.0, "pending", None),
    (6, "2024-04-09", "AB12", "3", 1.5, "won", "10"),
    (7, "2024-04-10", "CD34", "-7", 9.0, "cancelled", "abc"),
]

SUITE = """\
suite: types
tables:
  t:
    - {rule: coverage, column: day, start: 2024-04-01, end: 2024-04-10}
    - {rule: coverage, column: day, name: weeks, every: week, start: 2024-04-01, end: 2024-04-21}
    - {rule: duplicates, columns: [code, qty, price, status]}
    - {rule: length, column: code, min: 4, max: 10}
    - {rule: type, column: qty, as: integer}
    - {rule: type, column: amount, as: number}
    - {rule: type, column: day, as: date, name: day is a date}
    - {rule: in, column: status, values: [won, lost, pending, void]}
    - {rule: in, column: status, values: [won, lost, null], name: settled}
    - {rule: regex, column: code, pattern: '^[A-Z]{2}[0-9]{2}$'}
    - {rule: regex, column: code, pattern: '^[A-Z]+[0-9]*$', name: letters then digits}
    - {rule: sql, sql: "SELECT id FROM t WHERE price > 5"}
    - {rule: expression, expression: "price * 2 < 10 OR status = 'cancelled'"}
    - {rule: between, column: price, min: 1.5, max: 3, inclusive: false}
    - {rule: unique, columns: [code, status], threshold: 1}
    - {rule: row_count, max: 5, severity: info}
"""

EXPECTED = {
    "coverage(day)": 5,  # 04-03, 04-04, 04-06, 04-07 and 04-08 of ten days
    "weeks": 1,  # the week from 04-15 has no rows
    "duplicates(code, qty, price, status)": 1,
    "length(code)": 2,
    "type(qty)": 2,
    "type(amount)": 2,
    "day is a date": 0,
    "in(status)": 1,
    "settled": 3,
    "regex(code)": 3,
    "letters then digits": 1,
    "sql": 1,
    "expression(price * 2 < 10 OR status = 'cancelled')": 0,
    "between(price)": 4,
    "unique(code, status)": 1,
    "row_count": 1,
}


@pytest.fixture(params=["sqlite", "postgresql", "parquet"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    kind = request.param
    if kind == "parquet":
        table = pa.table({c: pa.array([r[i] for r in ROWS]) for i, c in enumerate(COLUMNS)})
        pq.write_table(table, tmp_path / "t.parquet")
        src = open_source(str(tmp_path / "t.parquet"))
    else:
        url = (
            f"sqlite:///{tmp_path / 't.db'}"
            if kind == "sqlite"
            else str(request.getfixturevalue("pg_database"))
        )
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, day TEXT, code TEXT, qty TEXT, "
                "price REAL, status TEXT, amount TEXT)"
            )
            conn.execute(
                sa.text(f"INSERT INTO t VALUES ({', '.join(':' + c for c in COLUMNS)})"),
                [dict(zip(COLUMNS, r, strict=True)) for r in ROWS],
            )
        engine.dispose()
        src = open_source(url)
    yield src
    src.close()
    ENGINES.dispose()


def test_every_rule_type_counts_the_same_everywhere(source: Source) -> None:
    result = check_table(source, Suite.from_yaml(SUITE), "t")
    assert {r.name: r.failing for r in result.rules} == EXPECTED
    by_name = {r.name: r for r in result.rules}
    assert [s["missing"] for s in by_name["coverage(day)"].samples] == [
        "2024-04-03",
        "2024-04-04",
        "2024-04-06",
        "2024-04-07",
        "2024-04-08",
    ]
    assert by_name["coverage(day)"].checked == 10 and by_name["weeks"].checked == 3
    assert by_name["unique(code, status)"].status.value == "pass"  # within its threshold
    assert by_name["row_count"].status.value == "warn" and by_name["row_count"].observed == 7
    assert by_name["sql"].samples == [{"id": 7}]
    sample = by_name["in(status)"].samples
    if source.dialect == "duckdb":  # a file has no key: the sample is the whole row
        assert sample == [dict(zip(COLUMNS, ROWS[6], strict=True))]
    else:  # the key and the rule's column
        assert sample == [{"id": 7, "status": "cancelled"}]
