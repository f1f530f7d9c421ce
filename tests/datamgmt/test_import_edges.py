"""import at its edges: rows of the wrong shape, inferred types, empty and odd files, full disks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import cli

HEADER = "id,name,score\n"
#: Files whose header has three columns and whose third data line (line 4) is not a row of three:
#: each must load the other rows into three columns, never the whole file as one text column.
WRONG_SHAPE = {
    "short": HEADER + "1,a,10\n2,b,20\n3,c\n4,d,40\n",
    "long": HEADER + "1,a,10\n2,b,20\n3,c,30,extra\n4,d,40\n",
    "quote": HEADER + '1,a,10\n2,b,20\n150,"x,1\n',
}
GOOD = {"short": [(1, "a", 10), (2, "b", 20), (4, "d", 40)], "quote": [(1, "a", 10), (2, "b", 20)]}
GOOD["long"] = GOOD["short"]


def target_of(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'out.db'}"
    return str(request.getfixturevalue("pg_database"))


def table_of(url: str, table: str) -> tuple[list[str], list[tuple[object, ...]]] | None:
    """The table's columns and rows in id order, or None where it does not exist."""
    engine = sa.create_engine(url)
    try:
        if table not in sa.inspect(engine).get_table_names():
            return None
        with engine.connect() as conn:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY 1')
            return list(result.keys()), [tuple(r) for r in result]
    finally:
        engine.dispose()


@pytest.mark.parametrize("shape", WRONG_SHAPE)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_of_another_field_count_is_refused_in_atomic_mode(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, shape: str
) -> None:
    (tmp_path / "scores.csv").write_text(WRONG_SHAPE[shape])
    url = target_of(backend, tmp_path, request)
    result = cli("data", "import", "scores.csv", url, "--table", "t", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"scores.csv:4: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert table_of(url, "t") is None


@pytest.mark.parametrize("shape", WRONG_SHAPE)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_of_another_field_count_is_quarantined_with_its_line(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, shape: str
) -> None:
    (tmp_path / "scores.csv").write_text(WRONG_SHAPE[shape])
    url = target_of(backend, tmp_path, request)
    result = cli("data", "import", "scores.csv", url, "--table", "t", "--no-atomic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert table_of(url, "t") == (["id", "name", "score"], GOOD[shape])
    bad = [
        json.loads(line)
        for line in (tmp_path / "scores.csv.quarantine.jsonl").read_text().splitlines()
    ]
    assert [b["line"] for b in bad] == [4], bad
    reason = bad[0]["reason"].lower()
    assert ("quote" in reason) if shape == "quote" else ("3 columns" in reason), reason


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("a;b;c\n1,5;2;x\n3;4;y\n5;6\n", ["a", "b", "c"]),  # decimal commas, a short row
        ("a\tb\n1,2\tx\n3\ty\n4\n5\n6\n", ["a", "b"]),  # commas in values, most rows short
        ('"x, y",z\n"1,2",3\n4\n5\n', ["x, y", "z"]),  # a quoted header name
        ("\ufeffid|name\r\n1|a\r\n\r\n2|b\r\n", ["id", "name"]),  # BOM, CRLF, a blank line
        ("name\nSmith\nJones\n", ["name"]),
    ],
)
def test_the_header_decides_the_columns(tmp_path: Path, text: str, columns: list[str]) -> None:
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'out.db'}"
    result = cli("data", "import", "f.csv", url, "--no-atomic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = table_of(url, "f")
    assert found is not None and found[0] == columns
