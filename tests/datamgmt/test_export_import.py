"""export and import: round trips in every format on SQLite and PostgreSQL, bad input, resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fidelity import cells, make_postgres, make_sqlite

import batchyard as by
from batchyard.data import export, ingest, readers, streams
from batchyard.data import load as ld
from batchyard.errors import Interrupted
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
    spec = ld.resolve(data, url, "n")
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
    assert [q["record"] for q in found] == [9, *range(500, 1001)]
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
