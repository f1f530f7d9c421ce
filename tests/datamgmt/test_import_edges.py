"""import at its edges: rows of the wrong shape, inferred types, empty and odd files, full disks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.files import readers
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


@pytest.mark.slow
@pytest.mark.parametrize("shape", WRONG_SHAPE)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_of_another_field_count_is_refused_in_atomic_mode(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, shape: str
) -> None:
    (tmp_path / "scores.csv").write_text(WRONG_SHAPE[shape])
    url = target_of(backend, tmp_path, request)
    result = cli("data", "import", "scores.csv", url, "--table", "t", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "scores.csv:4: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert table_of(url, "t") is None


@pytest.mark.slow
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


@pytest.mark.slow
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


def refused(result: object, *needles: str) -> str:
    """The one-line error of a refused command, checked to name each of ``needles``."""
    assert result.returncode == 2, result.stderr
    stderr = str(result.stderr)
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# -- refused up front: nothing is written ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "text", "args", "needles"),
    [
        ("empty.csv", "", (), ("empty.csv", "empty", "header")),
        ("dup.csv", "a,a\n1,2\n", (), ("dup.csv:1", "'a'", "twice")),
        ("dupcase.csv", "Id,ID\n1,2\n", (), ("dupcase.csv:1", "'ID'", "'Id'")),
        ("t.csv", "a,b\n1,2\n", ("--type", "a=frob"), ("'frob'", "integer", "decimal", "uuid")),
        ("empty.jsonl", "", (), ("empty.jsonl", "no records")),
        ("blank.jsonl", "\n\n", (), ("blank.jsonl", "no records")),
        ("nul.jsonl", '{"a": 1}\n{"a\\u0000b": 1}\n', (), ("nul.jsonl:2", "NUL")),
        ("nul.csv", "a,b\u0000c\n1,2\n", (), ("nul.csv:1", "NUL")),
        ("t.csv", "a,b\n1,2\n", ("--quarantine", "/proc/q.jsonl"), ("/proc/q.jsonl",)),
        ("t.csv", "a,b\n1,2\n", ("--quarantine", "/proc/no/q.jsonl"), ("/proc/no/q.jsonl",)),
    ],
)
def test_bad_files_and_options_are_refused_before_anything_is_written(
    tmp_path: Path, name: str, text: str, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    (tmp_path / name).write_text(text)
    result = cli("data", "import", name, "out.db", "--no-atomic", *args, cwd=tmp_path)
    refused(result, *needles)
    assert not (tmp_path / "out.db").exists()


@pytest.mark.slow
def test_an_export_to_a_place_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "src.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    for to in ("/proc/e.csv", "/proc/no/folder"):
        result = cli("data", "export", "src.db", "--to", to, "--format", "csv", cwd=tmp_path)
        refused(result, to)
    (tmp_path / "file").write_text("")
    result = cli("data", "export", "src.db", "--to", "file/e.csv", "-f", "csv", cwd=tmp_path)
    refused(result, "file", "not a folder")


@pytest.mark.slow
def test_a_refused_atomic_folder_import_leaves_no_target_file(tmp_path: Path) -> None:
    db = tmp_path / "src.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for name in ("a", "b"):
            conn.exec_driver_sql(f"CREATE TABLE {name} (n INTEGER)")
            conn.exec_driver_sql(f"INSERT INTO {name} VALUES (1), (2)")
    engine.dispose()
    assert cli("data", "export", "src.db", "--to", "out", "-f", "csv", cwd=tmp_path).returncode == 0
    with (tmp_path / "out" / "b.csv").open("a") as f:
        f.write("three\n")
    result = cli("data", "import", "out", "new.db", cwd=tmp_path)
    refused(result, "b.csv:4")
    assert not (tmp_path / "new.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_single_table_export_imports_back_with_its_types(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, fmt: str
) -> None:
    url = target_of(backend, tmp_path, request)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE money (id INTEGER PRIMARY KEY, amount NUMERIC(12,2))")
        conn.exec_driver_sql("INSERT INTO money VALUES (1, 1129660.12), (2, 0.5)")
    engine.dispose()
    out = tmp_path / f"money.{fmt}"
    result = cli(
        "data", "export", url, "--tables", "money", "--to", str(out), "-f", fmt, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    result = cli("data", "import", str(out), url, "--table", "back", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(url)
    try:
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("back")}
        assert str(columns["amount"]).upper() == "NUMERIC(12, 2)", columns
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT id, amount FROM back ORDER BY id").all()
        assert [(i, str(a)) for i, a in rows] == [
            (1, "1129660.12"),
            (2, "0.5" if backend == "sqlite" else "0.50"),
        ]
    finally:
        engine.dispose()


# -- a full disk -----------------------------------------------------------------------------------


def test_a_full_disk_shows_its_cause_and_a_retry_loads_each_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target's connection may grow the file to 40 pages (``PRAGMA max_page_count``: SQLite
    itself answers SQLITE_FULL, as on a full disk), then gets its room back for the retry."""
    data = tmp_path / "wide.csv"
    rows = [f"{i},{'x' * 200},{i * 3}" for i in range(1000)]
    rows[900] = "10,a repeat of ten,0"  # its first row commits before the disk fills
    data.write_text("id,pad,n\n" + "\n".join(rows) + "\n")
    target = tmp_path / "t.db"
    monkeypatch.setattr(readers, "BATCH", 100)
    real = sqlite3.connect

    def limited(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        con = real(database, *args, **kwargs)  # type: ignore[arg-type]
        if str(database) == str(target):
            con.execute("PRAGMA max_page_count = 40")
        return con

    monkeypatch.setattr(sqlite3, "connect", limited)
    params = {"file": str(data), "target": str(target), "key": ["id"], "atomic": False}
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("import", params, install_signals=False)
        assert job.status is by.JobStatus.FAILED
        (item,) = app.items(job.id)[0]
        assert "database or disk is full" in str(item.error), item.error
        assert "rollback" not in str(item.error) and "retry" in str(item.error)
        con = real(target)
        committed = con.execute("SELECT count(*) FROM wide").fetchone()[0]
        assert 0 < committed < 900, committed
        monkeypatch.setattr(sqlite3, "connect", real)  # space freed
        again = app.retry(job.id, failed_only=True)
        again = app.execute(again.id, install_signals=False)
        assert again.status is by.JobStatus.COMPLETED, again.error
    assert con.execute("SELECT count(*), count(DISTINCT id), sum(n) FROM wide").fetchone() == (
        999,
        999,
        sum(i * 3 for i in range(1000)) - 900 * 3,
    )
    bad = [json.loads(x) for x in (tmp_path / "wide.csv.quarantine.jsonl").read_text().splitlines()]
    assert [(b["line"], b["reason"][:17]) for b in bad] == [(902, "duplicate key id=")]


# -- inferred types --------------------------------------------------------------------------------

MOSTLY = {
    "csv": "id,score,note\n1,10,a\n2,20,b\n3,n/a,c\n4,40,d\n5,-,e\n6,60,f\n",
    "jsonl": "".join(
        json.dumps({"id": i, "score": s, "note": n}) + "\n"
        for i, s, n in [
            (1, 10, "a"),
            (2, 20, "b"),
            (3, "n/a", "c"),
            (4, 40, "d"),
            (5, "-", "e"),
            (6, 60, "f"),
        ]
    ),
}
#: Where 'n/a' and '-' are: CSV has a header line.
BAD_LINES = {"csv": (4, 6), "jsonl": (3, 5)}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_summary_says_what_was_inferred_and_why_a_column_fell_back_to_text(
    tmp_path: Path, fmt: str
) -> None:
    (tmp_path / f"s.{fmt}").write_text(MOSTLY[fmt])
    result = cli("data", "import", f"s.{fmt}", "out.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert table_of(f"sqlite:///{tmp_path / 'out.db'}", "s") is not None
    text = " ".join(result.stderr.split())
    assert "id integer" in text and "score text" in text and "note text" in text, text
    first, second = BAD_LINES[fmt]
    assert f"'n/a' (line {first}), '-' (line {second})" in text, text
    assert "4 of 6" in text and "--strict-types" in text, text
    assert "note fell back" not in text and "id fell back" not in text, text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_strict_types_keep_the_type_and_quarantine_the_rows_that_do_not_fit(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, fmt: str
) -> None:
    (tmp_path / f"s.{fmt}").write_text(MOSTLY[fmt])
    url = target_of(backend, tmp_path, request)
    first, second = BAD_LINES[fmt]
    result = cli("data", "import", f"s.{fmt}", url, "--strict-types", cwd=tmp_path)
    refused(result, f"s.{fmt}:{first}", "'score'", "n/a", "(and 1 more bad row(s))")
    assert table_of(url, "s") is None
    result = cli("data", "import", f"s.{fmt}", url, "--strict-types", "--no-atomic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert table_of(url, "s") == (
        ["id", "score", "note"],
        [(1, 10, "a"), (2, 20, "b"), (4, 40, "d"), (6, 60, "f")],
    )
    bad = [json.loads(x) for x in (tmp_path / f"s.{fmt}.quarantine.jsonl").read_text().splitlines()]
    assert [b["line"] for b in bad] == [first, second], bad
    assert all("'score'" in b["reason"] for b in bad), bad


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_nul_in_a_value_is_a_bad_row_for_postgresql(
    tmp_path: Path, pg_database: str, fmt: str
) -> None:
    text = {
        "csv": "a,b\n1,x\u0000y\n2,z\n",
        "jsonl": '{"a": 1, "b": "x\\u0000y"}\n{"a": 2, "b": "z"}\n',
    }[fmt]
    (tmp_path / f"n.{fmt}").write_text(text)
    result = cli("data", "import", f"n.{fmt}", pg_database, cwd=tmp_path)
    refused(result, f"n.{fmt}:{2 if fmt == 'csv' else 1}", "'b'", "NUL")
    result = cli("data", "import", f"n.{fmt}", pg_database, "--no-atomic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert table_of(pg_database, "n") == (["a", "b"], [(2, "z")])
