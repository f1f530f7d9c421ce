"""export and import: round trips in every format on SQLite and PostgreSQL, bad input, resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fidelity import cells, make_postgres, make_sqlite

import batchyard as by
from batchyard.errors import Interrupted, UsageError
from batchyard.files import export, ingest, readers, streams
from batchyard.files import load as ld
from batchyard.files.resolve import resolve
from batchyard.kinds.export import source_tables
from conftest import cli

FORMATS = ["csv", "jsonl", "json", "parquet", "sqlite"]


def run(app: by.Batchyard, kind: str, params: dict[str, object]) -> by.Job:
    job = app.run(kind, params, install_signals=False)
    assert job.status is by.JobStatus.COMPLETED, job.error
    return job


@pytest.mark.parametrize("fmt", FORMATS)
def test_sqlite_round_trip_keeps_every_value_and_type(tmp_path: Path, fmt: str) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    make_sqlite(src)
    with by.Batchyard(root=tmp_path) as app:
        run(app, "export", {"source": str(src), "to": str(tmp_path / "out"), "format": fmt})
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert {t["table"]: t["rows"] for t in manifest["tables"]} == {"odd table": 6, "pairs": 3}
        run(app, "import", {"file": str(tmp_path / "out"), "target": str(back)})
    for table in ("odd table", "pairs"):
        assert cells(f"sqlite:///{back}", table) == cells(f"sqlite:///{src}", table), table


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_postgres_round_trip_keeps_every_value_and_type(
    tmp_path: Path, fmt: str, pg_database: str, pg_admin: object
) -> None:
    make_postgres(pg_database)
    with by.Batchyard(root=tmp_path) as app:
        run(app, "export", {"source": pg_database, "to": str(tmp_path / "out"), "format": fmt})
        for table in ("odd table", "pairs"):
            # Back into the same server, as new tables of the same schema.
            run(
                app,
                "import",
                {
                    "file": str(tmp_path / "out" / f"{table.replace(' ', '_')}.{fmt}"),
                    "target": pg_database,
                    "table": f"back {table}",
                },
            )
            assert cells(pg_database, f"back {table}") == cells(pg_database, table), table
        # And the verify command agrees, table by table, through a SQLite copy of the files.
        run(app, "import", {"file": str(tmp_path / "out"), "target": str(tmp_path / "b.db")})
        check = app.run(
            "verify",
            {"source": pg_database, "target": str(tmp_path / "b.db"), "tables": ["pairs"]},
            install_signals=False,
        )
        assert check.status is by.JobStatus.COMPLETED, check.error


def test_one_table_with_where_and_columns_into_one_file(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    out = tmp_path / "some.csv"
    with by.Batchyard(root=tmp_path) as app:
        params = {"source": str(src), "to": str(out), "format": "csv", "tables": ["odd table"]}
        run(app, "export", params | {"where": '"select" > 3', "columns": ["select", "label"]})
    assert out.read_text().splitlines() == ['"select","label"', '4,"d"', '5,"e"', '6,""']


def malformed_csv(path: Path, rows: int = 1000) -> list[int]:
    """A CSV with 1% bad rows of three kinds; returns their line numbers."""
    bad_lines = []
    with path.open("wb") as f:
        f.write(b"id,name,score\n")
        for i in range(1, rows + 1):
            line = i + 1
            if i % 100 == 7:
                bad_lines.append(line)
                kind = (i // 100) % 3
                f.write(
                    [b"%d,short\n" % i, b"%d,bad \xff\xfe,1.0\n" % i, b"%d,x,1.0,extra\n" % i][kind]
                )
            else:
                f.write(b"%d,name %d,%d.5\n" % (i, i, i))
    return bad_lines


def test_malformed_rows_are_quarantined_with_their_lines(tmp_path: Path) -> None:
    data = tmp_path / "scores.csv"
    bad = malformed_csv(data)
    target = tmp_path / "t.db"
    with by.Batchyard(root=tmp_path) as app:
        run(app, "import", {"file": str(data), "target": str(target), "atomic": False})
    con = sqlite3.connect(target)
    assert con.execute("SELECT count(*), sum(score) FROM scores").fetchone()[0] == 990
    found = [
        json.loads(line)
        for line in (tmp_path / "scores.csv.quarantine.jsonl").read_text().splitlines()
    ]
    assert [q["line"] for q in found] == bad
    assert all(q["file"] == str(data) and q["reason"] for q in found)


@pytest.mark.slow
def test_atomic_import_of_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "scores.csv"
    bad = malformed_csv(data)
    target = tmp_path / "t.db"
    con = sqlite3.connect(target)
    con.execute("CREATE TABLE scores (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
    con.execute("INSERT INTO scores VALUES (0, 'kept', 1)")
    con.commit()
    result = cli("data", "import", str(data), str(target), "--atomic", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"scores.csv:{bad[0]}" in result.stderr and "nothing was imported" in result.stderr
    assert con.execute("SELECT * FROM scores").fetchall() == [(0, "kept", 1.0)]


@pytest.mark.slow
def test_bad_files_are_refused_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "cut.json").write_text('[\n {"a": 1},\n {"a": 2}, \n {"a": ')
    result = cli("data", "import", "cut.json", "t.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "cut.json:4" in result.stderr and "truncated" in result.stderr

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["x", "y"]}), tmp_path / "ids.parquet")
    con = sqlite3.connect(tmp_path / "t.db")
    con.execute("CREATE TABLE ids (id INTEGER)")
    con.commit()
    result = cli("data", "import", "ids.parquet", "t.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "ids.parquet" in result.stderr and "ids.id is integer" in result.stderr
    assert con.execute("SELECT count(*) FROM ids").fetchone()[0] == 0


def test_keys_upsert_and_duplicates(tmp_path: Path) -> None:
    first = tmp_path / "p.jsonl"
    first.write_text('{"id": 1, "v": "a"}\n{"id": 2, "v": "b"}\n{"id": 1, "v": "again"}\n')
    target = tmp_path / "t.db"
    with by.Batchyard(root=tmp_path) as app:
        params = {"file": str(first), "target": str(target), "key": ["id"], "atomic": False}
        run(app, "import", params)
        dup = [
            json.loads(x) for x in (tmp_path / "p.jsonl.quarantine.jsonl").read_text().splitlines()
        ]
        assert [(d["line"], d["reason"][:16]) for d in dup] == [(3, "duplicate key id")]
        (tmp_path / "q.jsonl").write_text('{"id": 2, "v": "B"}\n{"id": 3, "v": "c"}\n')
        run(
            app,
            "import",
            params | {"file": str(tmp_path / "q.jsonl"), "table": "p", "mode": "upsert"},
        )
    con = sqlite3.connect(target)
    assert con.execute("SELECT id, v FROM p ORDER BY id").fetchall() == [
        (1, "a"),
        (2, "B"),
        (3, "c"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_interrupted_import_resumes_without_loss_or_duplicates(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / f"n.{fmt}"
    if fmt == "csv":
        data.write_text("n,sq\n" + "".join(f"{i},{i * i}\n" for i in range(1000)))
    else:
        data.write_text("".join(json.dumps({"n": i, "sq": i * i}) + "\n" for i in range(1000)))
    monkeypatch.setattr(readers, "BATCH", 100)
    monkeypatch.setattr(ingest, "BATCH_ROWS", 100)
    monkeypatch.setattr(ingest, "COMMIT_ROWS", 100)
    url = f"sqlite:///{tmp_path / 't.db'}"
    spec = resolve(data, url, "n")
    batches = 0

    def stop() -> bool:
        nonlocal batches
        batches += 1
        return batches > 3

    with pytest.raises(Interrupted):
        ld.load(spec, url, "job:n", atomic=False, should_stop=stop)
    con = sqlite3.connect(tmp_path / "t.db")
    assert con.execute("SELECT count(*) FROM n").fetchone()[0] == 300
    out = ld.load(spec, url, "job:n", atomic=False)
    assert out.rows == 700
    assert con.execute("SELECT count(*), count(DISTINCT n), sum(sq) FROM n").fetchone() == (
        1000,
        1000,
        sum(i * i for i in range(1000)),
    )


FAST_COLUMNS = ["select", 'we"ird', "order", "flag", "d", "ts", "b", "big", "label"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_the_fast_path_writes_what_the_exact_path_writes(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    url = f"sqlite:///{src}"
    table = export.select_table(source_tables(url, ["odd table"])[0], FAST_COLUMNS)
    assert streams.eligible(table)
    # Ranges of two rowids, read by two threads in turn: the rows come out in rowid order.
    monkeypatch.setattr(streams, "SPLIT_ROWS", 2)
    monkeypatch.setattr(streams, "BATCH_ROWS", 2)
    told: list[int] = []
    fast = export.export_table(url, table, tmp_path / f"fast.{fmt}", fmt, progress=told.append)
    monkeypatch.setattr(streams, "FAST_TYPES", ())
    exact = export.export_table(url, table, tmp_path / f"exact.{fmt}", fmt)
    assert fast["rows"] == exact["rows"] == sum(told) == 6
    if fmt != "parquet":
        assert (tmp_path / f"fast.{fmt}").read_bytes() == (tmp_path / f"exact.{fmt}").read_bytes()
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(tmp_path / "fast.parquet").equals(
            pq.read_table(tmp_path / "exact.parquet")
        )


def test_a_column_whose_stored_types_change_falls_back_to_the_exact_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "mixed.db"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, x REAL, note TEXT)")
    rows = [(1, None, None), (2, None, None), (3, 0.1 + 0.2, "a"), (4, -1e-300, "")]
    con.executemany("INSERT INTO m VALUES (?, ?, ?)", rows)
    con.commit()
    monkeypatch.setattr(streams, "BATCH_ROWS", 2)
    url = f"sqlite:///{src}"
    told: list[int] = []
    table = source_tables(url, ["m"])[0]
    out = export.export_table(url, table, tmp_path / "m.parquet", "parquet", progress=told.append)
    assert out["rows"] == 4 and sum(told) == 4
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "m.parquet").to_pylist() == [
        {"id": i, "x": x, "note": n} for i, x, n in rows
    ]


@pytest.mark.slow
def test_a_query_exports_its_rows_with_their_types(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    out = tmp_path / "q.jsonl"
    sql = 'SELECT "select" AS id, "order" * 2 AS twice, label FROM "odd table" WHERE "select" <= 2'
    result = cli(
        "data", "export", str(src), "--to", str(out), "-f", "jsonl", "--query", sql, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"id": 1, "twice": 0.0, "label": "a"},
        {"id": 2, "twice": 0.0, "label": "b"},
    ]
    table = export.query_table(f"sqlite:///{src}", sql)
    assert [c.type.logical for c in table.columns] == ["integer", "float", "text"]
    bad = cli(
        "data", "export", str(src), "--to", str(out), "--query", "SELECT nope FROM x", cwd=tmp_path
    )
    assert bad.returncode == 2 and "--query" in bad.stderr and "no such table" in bad.stderr


def test_a_postgres_query_keeps_the_server_types(tmp_path: Path, pg_database: str) -> None:
    make_postgres(pg_database)
    sql = 'SELECT "select", ts, amount FROM "odd table" WHERE flag'
    table = export.query_table(pg_database, sql, "flagged")
    assert [c.type.logical for c in table.columns] == ["integer", "datetime", "decimal"]
    with by.Batchyard(root=tmp_path) as app:
        params = {"source": pg_database, "to": str(tmp_path / "out"), "format": "csv"}
        run(app, "export", params | {"query": sql, "tables": ["flagged"]})
        run(app, "import", {"file": str(tmp_path / "out"), "target": str(tmp_path / "b.db")})
    got = sqlite3.connect(tmp_path / "b.db").execute("SELECT * FROM flagged ORDER BY 1").fetchall()
    assert got == [(2, None, 5), (3, "2000-01-01 00:00:00", None), (6, None, None)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_retried_import_does_not_load_committed_batches_again(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / f"n.{fmt}"
    if fmt == "csv":
        data.write_text("n,sq\n" + "".join(f"{i},{i * i}\n" for i in range(1000)))
    else:
        data.write_text("".join(json.dumps({"n": i, "sq": i * i}) + "\n" for i in range(1000)))
    for module, name in ((readers, "BATCH"), (ingest, "BATCH_ROWS"), (ingest, "COMMIT_ROWS")):
        monkeypatch.setattr(module, name, 100)
    target = tmp_path / "t.db"
    con = sqlite3.connect(target)
    con.execute("CREATE TABLE n (n INTEGER, sq INTEGER)")
    # The load fails at row 550 until the trigger is dropped.
    con.execute(
        "CREATE TRIGGER not_yet BEFORE INSERT ON n WHEN NEW.n = 550 "
        "BEGIN SELECT RAISE(ABORT, 'not yet'); END"
    )
    con.commit()
    with by.Batchyard(root=tmp_path) as app:
        params = {"file": str(data), "target": str(target), "atomic": False}
        failed = app.run("import", params, install_signals=False)
        assert failed.status is by.JobStatus.FAILED
        assert con.execute("SELECT count(*) FROM n").fetchone()[0] == 500
        con.execute("DROP TRIGGER not_yet")
        con.commit()
        again = app.retry(failed.id)
        assert again.retry_of == failed.id
        done = app.execute(again.id, install_signals=False)
        assert done.status is by.JobStatus.COMPLETED, done.error
    assert con.execute("SELECT count(*), count(DISTINCT n), sum(sq) FROM n").fetchone() == (
        1000,
        1000,
        sum(i * i for i in range(1000)),
    )


RULES = """\
suite: scores
tables:
  scores:
    - {rule: between, column: score, min: 0, max: 500}
    - {rule: regex, column: name, pattern: '^name [0-9]+$', name: named}
    - {rule: not_null, column: name, severity: warning}
    - {rule: unique, column: id}
"""


def scores_csv(path: Path) -> None:
    lines = ["id,name,score"] + [f"{i},name {i},{i}.5" for i in range(1, 1001)]
    lines[9] = "9,nameless,9.5"  # line 10 fails the regex
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_validate_quarantines_rows_failing_error_rules(tmp_path: Path) -> None:
    data = tmp_path / "scores.csv"
    scores_csv(data)
    (tmp_path / "rules.yaml").write_text(RULES)
    result = cli(
        "data",
        "import",
        "scores.csv",
        "t.db",
        "--no-atomic",
        "--validate",
        "rules.yaml",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(tmp_path / "t.db")
    assert con.execute("SELECT count(*), max(score) FROM scores").fetchone() == (498, 499.5)
    found = [
        json.loads(line)
        for line in (tmp_path / "scores.csv.quarantine.jsonl").read_text().splitlines()
    ]
    # Each named by its line (the header is line 1).
    assert [(q["line"], q["record"]) for q in found] == [
        (n + 1, None) for n in [9, *range(500, 1001)]
    ]
    assert found[0]["reason"] == "fails rule named of rules.yaml"
    assert found[1]["reason"] == "fails rule between(score) of rules.yaml"
    # Atomic: the failing rows refuse the file and nothing is loaded.
    atomic = cli(
        "data",
        "import",
        "scores.csv",
        "a.db",
        "--atomic",
        "--validate",
        "rules.yaml",
        cwd=tmp_path,
    )
    assert atomic.returncode != 0 and "fails rule named" in atomic.stderr
    assert sqlite3.connect(tmp_path / "a.db").execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'scores'"
    ).fetchone() == (0,)
    missing = cli(
        "data",
        "import",
        "scores.csv",
        "b.db",
        "--table",
        "other",
        "--validate",
        "rules.yaml",
        cwd=tmp_path,
    )
    assert missing.returncode == 2 and "no rules for table 'other'" in missing.stderr


def test_validate_on_postgres(tmp_path: Path, pg_database: str) -> None:
    data = tmp_path / "scores.csv"
    scores_csv(data)
    (tmp_path / "rules.yaml").write_text(RULES)
    with by.Batchyard(root=tmp_path) as app:
        params = {"file": str(data), "target": pg_database, "atomic": False}
        run(app, "import", params | {"rules": str(tmp_path / "rules.yaml")})
    rows = cells(pg_database, "scores")
    assert len(rows) == 498 and rows[8][1] == "str:'name 10'"


# -- values that do not fit their column exactly ----------------------------------------------------

#: (column type, value as written in the file, what the column then holds, or None: the row is bad).
#: Read back normalised: booleans as 0/1, dates and decimals as text.
CSV_CASES = [
    ("BIGINT", "1.5", None),
    ("BIGINT", "1e3", None),
    ("BIGINT", "0x10", None),
    ("BIGINT", "1_000", None),
    ("BIGINT", "abc", None),
    ("BIGINT", '""', None),
    ("BIGINT", "9223372036854775808", None),
    ("BIGINT", " -12 ", -12),
    ("BIGINT", "9223372036854775807", 2**63 - 1),
    ("DOUBLE PRECISION", "abc", None),
    ("DOUBLE PRECISION", '""', None),
    ("DOUBLE PRECISION", "1e400", None),
    ("DOUBLE PRECISION", "1.5e3", 1500.0),
    ("BOOLEAN", "yes", 1),
    ("BOOLEAN", "f", 0),
    ("BOOLEAN", "on", None),
    ("DATE", "2024-02-30", None),
    ("DATE", "2024-2-3", None),
    ("DATE", "2024-02-29", "2024-02-29"),
    ("TIMESTAMP", "2024-01-01 25:00:00", None),
    ("TIMESTAMP", "2024-01-01 10:00:00", "2024-01-01 10:00:00"),
]


#: (target, path): the fast path (DuckDB to ADBC) writes SQLite only.
ROUTES = [("sqlite", "fast"), ("sqlite", "exact"), ("postgresql", "exact")]


def url_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 't.db'}"
    return str(request.getfixturevalue("pg_database"))


def make_table(url: str, column_type: str) -> None:
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        column_type = column_type.replace("DOUBLE PRECISION", "REAL")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE t (id BIGINT PRIMARY KEY, v {column_type})")
        conn.exec_driver_sql("INSERT INTO t (id) VALUES (0)")
    engine.dispose()


def table_rows(url: str) -> list[tuple[object, ...]]:
    import datetime
    import decimal

    import sqlalchemy as sa

    def norm(v: object) -> object:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, datetime.datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, datetime.date | decimal.Decimal):
            return str(v)
        return v

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT id, v FROM t ORDER BY id").fetchall()
    engine.dispose()
    return [(i, norm(v)) for i, v in found]


def expect_import(url: str, data: Path, where: str, shown: str, fit: object, **how: Any) -> None:
    """Records 1 and 3 are good, record 2 holds the value. A value that does not fit: the atomic
    import is refused naming the file, line or record, column and value, with the table
    unchanged; then the other rows load and it is quarantined. A value that fits: loaded as
    ``fit``."""
    if fit is None:
        spec = resolve(data, url, "t", **how)
        with pytest.raises(UsageError) as refused:
            ld.load(spec, url, "atomic", atomic=True)
        message = str(refused.value)
        assert message.startswith(f"{where}: column 'v': ") and shown in message, message
        assert "nothing was imported" in message
        assert table_rows(url) == [(0, None)]
    spec = resolve(data, url, "t", **how)
    out = ld.load(spec, url, "rows", atomic=False)
    if fit is None:
        assert [b.where() for b in out.bad] == [where]
        assert out.bad[0].reason.startswith("column 'v': ") and shown in out.bad[0].reason
        assert table_rows(url) == [(0, None), (1, None), (3, None)]
    else:
        assert out.bad == []
        assert table_rows(url) == [(0, None), (1, None), (2, fit), (3, None)]


@pytest.mark.parametrize(("column_type", "text", "fit"), CSV_CASES)
@pytest.mark.parametrize(("backend", "route"), ROUTES)
def test_csv_values_convert_exactly_or_the_row_is_bad(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    route: str,
    column_type: str,
    text: str,
    fit: object,
) -> None:
    url = url_for(backend, tmp_path, request)
    make_table(url, column_type)
    data = tmp_path / "t.csv"
    data.write_text(f"id,v\n1,\n2,{text}\n3,\n")
    how: dict[str, Any] = {"key": ("id",)} if route == "exact" else {}
    assert ingest.eligible(resolve(data, url, "t", **how)) is (route == "fast")
    expect_import(url, data, f"{data}:3", repr(text.strip('"')), fit, **how)


#: As CSV_CASES, for JSON values (``column type``: the SQLite one, then the PostgreSQL one).
JSON_CASES = [
    ("BIGINT", 1.5, None),
    ("BIGINT", "1.5", None),
    ("BIGINT", "1e3", None),
    ("BIGINT", "abc", None),
    ("BIGINT", "", None),
    ("BIGINT", 2**63, None),
    ("BIGINT", 2.0, 2),
    ("BIGINT", "12", 12),
    ("DOUBLE PRECISION", "abc", None),
    ("DOUBLE PRECISION", "", None),
    ("DOUBLE PRECISION", 10**400, None),
    ("BOOLEAN", "yes", 1),
    ("BOOLEAN", "t", 1),
    ("BOOLEAN", "no", 0),
    ("BOOLEAN", 2, None),
    ("DATE", "2024-02-30", None),
    ("DATE", "20240229", None),
    ("DATE", "2024-02-29", "2024-02-29"),
]


@pytest.mark.parametrize(("column_type", "value", "fit"), JSON_CASES)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_json_values_convert_exactly_or_the_row_is_bad(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    column_type: str,
    value: object,
    fit: object,
) -> None:
    url = url_for(backend, tmp_path, request)
    make_table(url, column_type)
    data = tmp_path / "t.jsonl"
    data.write_text(
        "".join(json.dumps({"id": i, "v": v}) + "\n" for i, v in ((1, None), (2, value), (3, None)))
    )
    expect_import(url, data, f"{data}:2", repr(value)[:20], fit)


@pytest.mark.parametrize(
    ("backend", "column_type", "text", "fit"),
    [
        ("postgresql", "NUMERIC(30,20)", "1.23456789012345678901", "1.23456789012345678901"),
        ("postgresql", "NUMERIC(10,2)", "12.50", "12.50"),
        ("sqlite", "NUMERIC", "1.23456789012345678901", None),  # SQLite's NUMERIC would round
        ("sqlite", "BIGINT", "9007199254740993.0", 9007199254740993),  # not a float's ...992
        ("postgresql", "BIGINT", "9007199254740993.0", 9007199254740993),
        ("sqlite", "BIGINT", "1e19", None),
        ("sqlite", "DOUBLE PRECISION", "1e400", None),  # no infinity from an overflow
        ("postgresql", "DOUBLE PRECISION", "1e400", None),
    ],
)
def test_json_numbers_are_read_by_their_digits(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    column_type: str,
    text: str,
    fit: object,
) -> None:
    url = url_for(backend, tmp_path, request)
    make_table(url, column_type)
    data = tmp_path / "t.jsonl"
    data.write_text(f'{{"id": 1, "v": null}}\n{{"id": 2, "v": {text}}}\n{{"id": 3, "v": null}}\n')
    expect_import(url, data, f"{data}:2", text, fit)


@pytest.mark.parametrize(
    ("backend", "value", "fit"),
    [
        ("sqlite", "1.23456789012345678901", None),
        ("sqlite", "12345678901234567890123", None),
        ("sqlite", "12.25", 12.25),
        ("postgresql", "1.005", None),
        ("postgresql", "123456789.5", None),
        ("postgresql", "12.50", "12.50"),
        ("postgresql", "NaN", None),
    ],
)
def test_decimals_keep_every_digit_or_the_row_is_bad(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, value: str, fit: object
) -> None:
    url = url_for(backend, tmp_path, request)
    make_table(url, "NUMERIC(10,2)")
    data = tmp_path / "t.csv"
    data.write_text(f"id,v\n1,\n2,{value}\n3,\n")
    expect_import(url, data, f"{data}:3", repr(value), fit)


@pytest.mark.parametrize("given", ["type", "manifest"])
@pytest.mark.parametrize("route", ["fast", "exact"])
def test_given_and_manifest_integer_types_are_checked_strictly(
    tmp_path: Path, given: str, route: str
) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,v\n1,\n2,1.5\n3,\n")
    if given == "manifest":
        entry = {"table": "t", "file": "t.csv", "rows": 3, "sha256": "", "primary_key": ["id"]}
        entry["columns"] = [{"name": n, "type": "integer"} for n in ("id", "v")]
        (tmp_path / "manifest.json").write_text(json.dumps({"tables": [entry]}))
    how: dict[str, Any] = {"key": ("id",)} if route == "exact" else {}
    if given == "type":
        how["types"] = readers_types("id=integer", "v=integer")
    url = f"sqlite:///{tmp_path / 't.db'}"
    spec = resolve(data, url, "t", **how)
    assert spec.column("v").type.logical == "integer"
    assert ingest.eligible(spec) is (route == "fast")
    out = ld.load(spec, url, "rows", atomic=False)
    assert [(b.where(), b.reason) for b in out.bad] == [
        (f"{data}:3", "column 'v': '1.5' is not an integer")
    ]
    con = sqlite3.connect(tmp_path / "t.db")
    assert con.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, None), (3, None)]


def readers_types(*pairs: str) -> dict[str, Any]:
    from batchyard.files.formats import parse_types

    return parse_types(pairs)


@pytest.mark.parametrize(("value", "fit"), [(1.5, None), (float("nan"), None), (3.0, 3)])
def test_parquet_floats_into_an_integer_column(tmp_path: Path, value: float, fit: object) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "v": [None, value, None]}), data)
    url = f"sqlite:///{tmp_path / 't.db'}"
    spec = resolve(data, url, "t", types=readers_types("v=integer"))
    out = ld.load(spec, url, "rows", atomic=False)
    con = sqlite3.connect(tmp_path / "t.db")
    got = con.execute("SELECT id, v FROM t ORDER BY id").fetchall()
    if fit is None:
        assert [(b.where(), b.reason[:11]) for b in out.bad] == [
            (f"{data} record 2", "column 'v':")
        ]
        assert got == [(1, None), (3, None)]
    else:
        assert out.bad == [] and got == [(1, None), (2, fit), (3, None)]
