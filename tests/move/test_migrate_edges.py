"""migrate at its edges: rules naming what is not there, a target whose disk fills up part way,
and what a job leaves behind (its figures, its checkpoints) once it ends."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.store.models import JobStatus


def make_source(path: Path, games: int = 60_000) -> None:
    con = sqlite3.connect(path)
    con.executescript(
        f"""
        CREATE TABLE games (id INTEGER PRIMARY KEY, home TEXT NOT NULL, runs INTEGER,
            note TEXT);
        CREATE INDEX ix_games_home ON games (home);
        CREATE TABLE lines (game INTEGER REFERENCES games (id), book TEXT, price REAL,
            PRIMARY KEY (game, book));
        CREATE UNIQUE INDEX ux_lines_price ON lines (price, game);
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {games})
        INSERT INTO games SELECT i, 'team ' || (i % 30), i % 13, hex(randomblob(40)) FROM s;
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {games // 2})
        INSERT INTO lines SELECT i, 'b' || (i % 3), i / 3.0 FROM s;
        """
    )
    con.close()


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli_app, ["-C", str(tmp_path), *args])
    assert "Traceback" not in r.stderr and not isinstance(r.exception, AssertionError)
    return r.exit_code, " ".join(r.stderr.split())


def tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- rules that name what is not there ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--skip-bad", "nosuch.col"),
            "--skip-bad nosuch.col: no table 'nosuch' among those to move (they are: games, lines)",
        ),
        (
            ("--skip-bad", "games.nope"),
            "--skip-bad games.nope: table 'games' has no column 'nope' (it has: id, home, runs, note)",
        ),
        (("--skip-bad", "games"), "--skip-bad 'games': name the column as table.column"),
        (
            ("--type", "nosuch.col=text"),
            "--type nosuch.col: no table 'nosuch' among those to move (they are: games, lines)",
        ),
        (
            ("--type", "lines.nope=text"),
            "--type lines.nope: table 'lines' has no column 'nope' (it has: game, book, price)",
        ),
        (
            ("--tables", "lines", "--type", "games.home=text"),
            "--type games.home: no table 'games' among those to move (they are: lines)",
        ),
        (("--key", "nosuch=a"), "--key nosuch=...: no table 'nosuch' among those to move"),
    ],
)
def test_rules_naming_unknown_tables_or_columns_are_refused_up_front(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    src = tmp_path / "src.db"
    make_source(src, games=100)
    out = tmp_path / "out.db"
    code, text = run(tmp_path, "migrate", str(src), str(out), *args)
    assert code == 2 and message in text, text
    assert "job " not in text  # refused before a job was made
    assert not out.exists()


# -- a target whose disk fills up part way -------------------------------------------------------

# Run inside a mount namespace of its own: a small tmpfs is the target's disk, filled up but for
# a little room, so the migration fails part way with the target's own "disk is full"; then room
# is made and the failed job is retried. What the commands said goes to files the test reads.
DISK_FULL = """
set -u
mount -t tmpfs -o size=16m tmpfs "$DISK"
dd if=/dev/zero of="$DISK/filler" bs=1M count=12 2>/dev/null
cd "$WORK"
$BY migrate "$SRC" "$DISK/dst.db" --batch-rows 5000 > /dev/null 2> failed.txt
echo $? > failed.code
LATEST='import json, sys; print(json.load(sys.stdin)["jobs"][0]["id"])'
$BY jobs retry "$($BY jobs list --json | $PY -c "$LATEST")" --failed-only > /dev/null 2> early.txt
echo $? > early.code
rm "$DISK/filler"
$BY jobs retry "$($BY jobs list --json | $PY -c "$LATEST")" --failed-only > /dev/null 2> retried.txt
echo $? > retried.code
cp "$DISK/dst.db" "$WORK/dst.db"
"""


def in_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with bash in a mount namespace of its own (as root, or as a user mapped to
    root), so it may mount a tmpfs; skip where this machine allows none."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make a small disk with")
    base = (
        [unshare, "--mount"]
        if os.geteuid() == 0
        else [unshare, "--user", "--map-root-user", "--mount"]
    )
    probe = subprocess.run([*base, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
    return subprocess.run(
        [*base, "bash", "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def schema(path: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(path)
    try:
        return sorted(con.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
    finally:
        con.close()


def rows(path: Path, table: str, order: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_migration_stopped_by_a_full_disk_says_so_and_its_retry_ends_as_a_clean_run(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    disk = tmp_path / "disk"
    disk.mkdir()
    done = in_namespace(
        DISK_FULL,
        {
            "DISK": str(disk),
            "WORK": str(tmp_path),
            "SRC": str(src),
            "BY": f"{sys.executable} -m batchyard",
            "PY": sys.executable,
            "PYTHONUNBUFFERED": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    failed = " ".join((tmp_path / "failed.txt").read_text().split())
    assert (tmp_path / "failed.code").read_text().strip() == "1", failed
    # The target's own reason, not what a rollback after it said.
    assert "database or disk is full" in failed, failed
    assert "cannot rollback" not in failed and "Traceback" not in failed
    assert "jobs retry" in failed and "--failed-only" in failed
    # Still full: the retry fails the same way, and a later one can still finish the job.
    early = (tmp_path / "early.txt").read_text()
    assert (tmp_path / "early.code").read_text().strip() == "1", early
    assert "database or disk is full" in early and "already has table" not in early
    retried = (tmp_path / "retried.txt").read_text()
    assert (tmp_path / "retried.code").read_text().strip() == "0", retried

    # The same end state as a clean run: rows, keys, indexes, and no checkpoints left.
    clean = tmp_path / "clean.db"
    code, text = run(tmp_path, "migrate", str(src), str(clean))
    assert code == 0, text
    dst = tmp_path / "dst.db"
    assert schema(dst) == schema(clean)
    assert "_batchyard_migrate" not in {name for _, name, _ in schema(dst)}
    assert rows(dst, "games", "id") == rows(src, "games", "id")
    assert rows(dst, "lines", "game, book") == rows(src, "lines", "game, book")
    code, text = run(tmp_path, "verify", str(src), str(dst))
    assert code == 0 and "all 2 table(s) identical" in text, text


def test_a_retry_and_a_resume_continue_the_checkpoints_of_a_job_that_failed_part_way(
    tmp_path: Path, pg_database: str
) -> None:
    """What a full disk leaves (a job partial, one table's chunks half done, no keys built),
    made here by copying part of a table and failing the job: a retry continues it, and so does
    a new migrate with --if-exists resume; both end with every row once, and every key."""
    src = tmp_path / "src.db"
    make_source(src, games=20_000)
    from batchyard.move import migrate as m
    from batchyard.move.copiers import copy_chunk
    from batchyard.move.copy import Chunk

    for continue_with in ("retry", "resume"):
        with by.Batchyard(root=tmp_path) as app:
            job = app.submit(
                "migrate",
                {"source": str(src), "target": pg_database, "chunk_rows": 5000, "batch_rows": 1000},
                workers=1,
            )
            # The job's setup made the tables; its first chunk copied one batch, then "the disk
            # filled up": the job ends partial with that chunk failed.
            opts = m.Options(f"sqlite:///{src}", pg_database, chunk_rows=5000, batch_rows=1000)
            found = m.source_tables(opts.source, (), ())
            m.create_schema(opts, found, job.id)
            games = next(t for t in found if t.name == "games")
            first = m.plan_chunks([games], 5000)[0]
            chunk = Chunk(f"{job.id}:{first.id}", "games", first.lo, first.hi)

            def full(rows: int) -> None:
                raise OSError("database or disk is full")  # after the first batch committed

            with pytest.raises(OSError):
                copy_chunk(opts.source, opts.target, m.copy_plan(games, opts), chunk, full)
            app.store.set_status(job.id, JobStatus.FAILED, error="database or disk is full")
            if continue_with == "retry":
                code, text = run(tmp_path, "jobs", "retry", job.id)
            else:
                code, text = run(
                    tmp_path,
                    "migrate",
                    str(src),
                    pg_database,
                    "--if-exists",
                    "resume",
                    "--chunk-rows",
                    "5000",
                    "--batch-rows",
                    "1000",
                )
            assert code == 0, (continue_with, text)
        engine = sa.create_engine(pg_database)
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*), count(DISTINCT id) FROM games").one() == (
                20_000,
                20_000,
            )
            insp = sa.inspect(conn)
            assert insp.get_pk_constraint("games")["constrained_columns"] == ["id"]
            assert {i["name"] for i in insp.get_indexes("games")} == {"ix_games_home"}
            assert insp.get_foreign_keys("lines")[0]["referred_table"] == "games"
            assert "_batchyard_migrate" not in insp.get_table_names()
            conn.exec_driver_sql("DROP TABLE lines, games")
        engine.dispose()


# -- what a job leaves behind -------------------------------------------------------------------


def test_a_migration_stopped_by_bad_data_reports_the_rows_that_remain(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    make_source(src, games=12_000)
    con = sqlite3.connect(src)
    con.execute("UPDATE games SET runs = 'many' WHERE id = 11999")
    con.commit()
    con.close()
    code, text = run(tmp_path, "migrate", str(src), pg_database, "--chunk-rows", "4000", "-w", "1")
    assert code == 2 and "games.runs (integer): 1 value(s) do not fit" in text, text
    # Chunks were copied before the bad one; the tables went with them, and so did the figure.
    assert "; 0 rows written" in text, text
    with by.Batchyard(root=tmp_path) as app:
        job = app.jobs()[0][0]
        assert job.rows_written == 0
        assert any(
            "with the" in e.message and "row(s) it wrote" in e.message for e in app.log(job.id)
        )
    assert tables(pg_database) == []


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_checkpoints_are_dropped_after_success_unless_kept(
    tmp_path: Path, target_kind: str, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "src.db"
    make_source(src, games=3_000)
    target = (
        f"sqlite:///{tmp_path / 'dst.db'}"
        if target_kind == "sqlite"
        else str(request.getfixturevalue("pg_database"))
    )
    code, text = run(tmp_path, "migrate", str(src), target, "--chunk-rows", "1000")
    assert code == 0, text
    assert tables(target) == ["games", "lines"]
    # Asked to keep them, they stay (a restore of the target would count them too).
    code, text = run(
        tmp_path,
        "migrate",
        str(src),
        target,
        "--if-exists",
        "replace",
        "--keep-checkpoints",
        "--chunk-rows",
        "1000",
    )
    assert code == 0, text
    assert tables(target) == ["_batchyard_migrate", "games", "lines"]
    # A later run drops its own, and leaves another job's kept ones as they are.
    code, text = run(
        tmp_path, "migrate", str(src), target, "--if-exists", "replace", "--tables", "lines"
    )
    assert code == 0, text
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            kept = conn.execute(
                sa.text(
                    "SELECT DISTINCT table_name FROM _batchyard_migrate WHERE chunk NOT LIKE :m"
                ),
                {"m": "@%"},
            ).all()
    finally:
        engine.dispose()
    assert kept == [("games",)]


def test_a_job_stopped_after_its_finish_dropped_the_checkpoints_resumes_to_completed(
    tmp_path: Path,
) -> None:
    """A runner killed between the finish (which dropped the checkpoints) and recording the job
    as completed: the job, resumed, has nothing to copy and must not trip over its own tables."""
    src = tmp_path / "src.db"
    make_source(src, games=2_000)
    dst = tmp_path / "dst.db"
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("migrate", {"source": str(src), "target": str(dst)}, install_signals=False)
        assert job.status is JobStatus.COMPLETED, job.error
        app.store.set_status(job.id, JobStatus.PAUSED)  # as if the runner died before the end
        again = app.execute(job.id, install_signals=False)
        assert again.status is JobStatus.COMPLETED, again.error
    assert tables(f"sqlite:///{dst}") == ["games", "lines"]
    assert rows(dst, "games", "id") == rows(src, "games", "id")


def test_the_name_given_in_the_docs_is_the_one_migrate_makes() -> None:
    from batchyard.move import names

    doc = (Path(__file__).parents[2] / "docs" / "migrate.md").read_text()
    long = "customer_lifetime_value_projection_for_the_next_fiscal_year_in_usd_2024"
    assert f"`{long}` becomes\n`{names.hashed(long)}`" in doc


def test_tables_the_same_in_their_first_63_bytes_are_refused_naming_both(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    head = "quarterly_revenue_by_region_and_product_line_before_adjustments_"  # 64 bytes
    con = sqlite3.connect(src)
    con.execute(f'CREATE TABLE "{head}2023" (id INTEGER PRIMARY KEY, v REAL)')
    con.execute(f'CREATE TABLE "{head}2024" (id INTEGER PRIMARY KEY, v REAL)')
    con.execute(f'INSERT INTO "{head}2023" VALUES (1, 1.5)')
    con.commit()
    con.close()
    code, text = run(tmp_path, "migrate", str(src), pg_database)
    assert code == 2, text
    assert f"tables '{head}2023' and '{head}2024' are the same in their first 63 bytes" in text
    assert f"--exclude '{head}2024'" in text
    assert tables(pg_database) == []
    code, text = run(tmp_path, "migrate", str(src), pg_database, "--exclude", f"{head}2024")
    assert code == 0, text
    code, text = run(tmp_path, "verify", str(src), pg_database, "--tables", f"{head}2023")
    assert code == 0 and "identical" in text, text


def test_a_table_postgresql_refuses_to_create_is_refused_by_name_before_a_job(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount DECIMAL(1200, 2))")
    con.execute("INSERT INTO ledger VALUES (1, 12.5)")
    con.commit()
    con.close()
    code, text = run(tmp_path, "migrate", str(src), pg_database)
    assert code == 2, text
    assert "cannot create table 'ledger' in the target: NUMERIC precision 1200" in text, text
    assert "job " not in text and "sqlalche.me" not in text and "ProgrammingError" not in text
    assert tables(pg_database) == []
    code, text = run(tmp_path, "migrate", str(src), pg_database, "--type", "ledger.amount=decimal")
    assert code == 0, text


def test_defaults_between_sqlite_files_are_kept_as_written(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    con = sqlite3.connect(src)
    con.execute(
        'CREATE TABLE t (id INTEGER PRIMARY KEY, a INT DEFAULT (1 + 2), b TEXT DEFAULT "dq", '
        "c TEXT DEFAULT (datetime('now')), d BLOB DEFAULT X'0aff', e REAL DEFAULT -1.5, "
        "f TEXT DEFAULT (lower(hex(zeroblob(2)))), g TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
    )
    con.commit()
    con.close()
    code, text = run(tmp_path, "migrate", str(src), str(dst))
    assert code == 0, text
    found = {}
    for path in (src, dst):
        con = sqlite3.connect(path)
        con.execute("INSERT INTO t DEFAULT VALUES")
        found[path] = con.execute("SELECT a, b, typeof(c), d, e, f, typeof(g) FROM t").fetchall()
        con.close()
    assert found[dst] == found[src] == [(3, "dq", "text", b"\n\xff", -1.5, "0000", "text")]
