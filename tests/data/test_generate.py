"""``generate``: row counts, valid keys, determinism across runs and databases, the defect manifest,
resume after a kill, files, and bad input.

Databases are real: a SQLite file and the PostgreSQL server of the test session. Checksums are
computed here, in Python, from values normalised by logical type, so SQLite's text dates and 0/1
booleans compare equal to PostgreSQL's dates and booleans.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.errors import ParamError
from batchyard.generate.datasets import DATASETS, get_dataset
from batchyard.generate.datasets.base import SCALES, Dataset, Table
from batchyard.generate.datasets.sql import Values, hash_key, hash_sql
from batchyard.generate.spec import Spec
from batchyard.generate.targets import PostgresTarget, SQLiteTarget

SMALL = "0.01"  # sports: 29,520 rows


# -- helpers ---------------------------------------------------------------------------------------


def generate(app: by.Batchyard, **params: Any) -> by.Job:
    job = app.run("generate", params, install_signals=False)
    assert job.status.value == "completed", job.error
    return job


def norm(value: Any, logical: str) -> str:
    """One value as text, the same whichever database it was read from."""
    if value is None:
        return "\\N"
    if logical == "boolean":
        return "t" if value in (True, 1) else "f" if value in (False, 0) else f"?{value!r}"
    if logical == "decimal" and isinstance(value, int | float | Decimal):
        return f"{Decimal(str(value)):.2f}"
    if logical == "float":
        return repr(float(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def rows_of(url: str, table: Table, where: str = "") -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            return [
                tuple(r) for r in conn.exec_driver_sql(f'SELECT {cols} FROM "{table.name}" {where}')
            ]
    finally:
        engine.dispose()


def checksums(url: str, dataset: Dataset) -> dict[str, str]:
    """An order-independent checksum of each table's normalised rows."""
    out = {}
    for table in dataset.tables:
        lines = sorted(
            "|".join(norm(v, c.type) for v, c in zip(row, table.columns, strict=True))
            for row in rows_of(url, table)
        )
        out[table.name] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return out


def scalar(url: str, sql: str) -> Any:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    ENGINES.dispose()
    SQLiteTarget.close_all()


# -- sizes -----------------------------------------------------------------------------------------


def test_sports_sizes_at_scale_1_and_the_named_scales() -> None:
    spec = Spec.from_params("sports", scale="1")
    assert dict(spec.counts) == {
        "players": 10_000,
        "matches": 50_000,
        "bets": 500_000,
        "odds": 399_920,
        "statcast": 2_000_000,
    }
    assert spec.total_rows == 2_959_920
    approx = {"small": 560_000, "medium": 2_560_000, "large": 12_800_000, "xlarge": 55_000_000}
    for name, rows in approx.items():
        total = Spec.from_params("sports", scale=name).total_rows
        assert abs(total - rows) / rows < 0.01, (name, total)
    assert set(SCALES) == set(approx)


def test_rows_for_one_table() -> None:
    spec = Spec.from_params("sports", scale=SMALL, rows=12_345, table="statcast")
    assert spec.counts["statcast"] == 12_345 and spec.counts["bets"] == 5_000
    with pytest.raises(ParamError, match="at most 4,000"):  # 8 odds per match, 500 matches
        Spec.from_params("sports", scale=SMALL, rows=4_001, table="odds")
    with pytest.raises(ParamError, match="no table 'nope'"):
        Spec.from_params("sports", rows=5, table="nope")
    with pytest.raises(ParamError, match="together"):
        Spec.from_params("sports", rows=5)


def test_python_hashes_match_the_database() -> None:
    """Defects are placed by values computed in Python; they must be those the database makes."""
    spec = Spec.from_params("sports", scale=SMALL, seed=7)
    values = Values(7, "sports", "bets")
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE n (n INTEGER)")
    con.executemany("INSERT INTO n VALUES (?)", [(i,) for i in (1, 2, 999, 2**31 - 5, 2**32 - 2)])
    key = hash_key(7, "sports", "bets", "status")
    got = [r[0] for r in con.execute(f"SELECT {hash_sql(key, 'n')} FROM n")]
    assert got == [values.h("status", n) for n in (1, 2, 999, 2**31 - 5, 2**32 - 2)]
    assert all(isinstance(v, int) for v in got)  # no overflow into floating point
    assert spec.counts["bets"] == 5_000


# -- databases -------------------------------------------------------------------------------------


FOREIGN_KEYS = [
    (d.name, t.name, fk.column, fk.parent, fk.parent_column)
    for d in DATASETS.values()
    for t in d.tables
    for fk in t.foreign_keys
]


@pytest.mark.parametrize("name", list(DATASETS))
def test_counts_keys_nulls_and_unicode(app: by.Batchyard, target_url: str, name: str) -> None:
    dataset = get_dataset(name)
    scale = SMALL if name == "sports" else "0.02"
    job = generate(app, dataset=name, to=target_url, scale=scale)
    counts = Spec.from_params(name, scale=scale).counts
    assert job.rows_written == sum(counts.values())
    for table in dataset.tables:
        assert scalar(target_url, f'SELECT count(*) FROM "{table.name}"') == counts[table.name]
        pk = ", ".join(f'"{c}"' for c in table.primary_key)
        distinct = scalar(
            target_url, f'SELECT count(*) FROM (SELECT DISTINCT {pk} FROM "{table.name}") d'
        )
        assert distinct == counts[table.name]
    for ds, table_name, column, parent, parent_column in FOREIGN_KEYS:
        if ds != name:
            continue
        orphans = scalar(
            target_url,
            (
                f'SELECT count(*) FROM "{table_name}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{parent}" p WHERE p."{parent_column}" = c."{column}")'
            ),
        )
        assert orphans == 0, f"{table_name}.{column}"
    # Nullable columns hold some NULLs, and never only NULLs; names carry non-ASCII letters.
    for table in dataset.tables:
        for col in table.columns:
            if col.nullable and counts[table.name] >= 1000:
                nulls = scalar(
                    target_url, f'SELECT count(*) FROM "{table.name}" WHERE "{col.name}" IS NULL'
                )
                assert 0 < nulls < counts[table.name], f"{table.name}.{col.name}: {nulls} NULLs"
    texts = {
        v
        for t in dataset.tables
        for row in rows_of(target_url, t)
        for v in row
        if isinstance(v, str)
    }
    assert any(not v.isascii() for v in texts)


def test_declared_types_foreign_keys_and_indexes(
    app: by.Batchyard, target_url: str, backend: str
) -> None:
    generate(app, dataset="sports", to=target_url, scale="0.001")
    engine = sa.create_engine(target_url)
    try:
        inspector = sa.inspect(engine)
        bets = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns("bets")}
        if backend == "sqlite":
            assert (
                bets["bet_id"],
                bets["stake"],
                bets["odds"],
                bets["placed_at"],
                bets["is_live"],
            ) == ("INTEGER", "NUMERIC(12, 2)", "REAL", "TIMESTAMP", "BOOLEAN")
        else:
            assert (
                bets["bet_id"],
                bets["stake"],
                bets["odds"],
                bets["placed_at"],
                bets["is_live"],
            ) == ("BIGINT", "NUMERIC(12, 2)", "DOUBLE PRECISION", "TIMESTAMP", "BOOLEAN")
        assert inspector.get_pk_constraint("odds")["constrained_columns"] == [
            "match_id",
            "bookmaker",
            "market",
        ]
        fks = {
            (fk["constrained_columns"][0], fk["referred_table"])
            for fk in inspector.get_foreign_keys("statcast")
        }
        assert fks == {("match_id", "matches"), ("pitcher_id", "players"), ("batter_id", "players")}
        indexes = {i["name"]: i["unique"] for i in inspector.get_indexes("bets")}
        assert indexes["bets_ticket_ref_key"] and not indexes["bets_match_id_idx"]
    finally:
        engine.dispose()


def test_same_seed_same_data_across_runs_and_databases(
    app: by.Batchyard, tmp_path: Path, pg_database: str
) -> None:
    sports = get_dataset("sports")
    first, second, other = (tmp_path / f"{n}.db" for n in ("first", "second", "other"))
    generate(app, dataset="sports", to=str(first), scale=SMALL, seed=11)
    generate(app, dataset="sports", to=str(second), scale=SMALL, seed=11, chunk_rows=777)
    generate(app, dataset="sports", to=pg_database, scale=SMALL, seed=11, chunk_rows=3000)
    generate(app, dataset="sports", to=str(other), scale=SMALL, seed=12)
    reference = checksums(sqlite_url(first), sports)
    assert checksums(sqlite_url(second), sports) == reference  # chunking changes nothing
    assert checksums(pg_database, sports) == reference  # nor does the database
    different = checksums(sqlite_url(other), sports)
    assert all(different[t] != reference[t] for t in reference)


def test_a_chunk_written_twice_is_written_once(
    app: by.Batchyard, target_url: str, backend: str
) -> None:
    """A chunk committed in the target but not yet recorded done runs again on resume: same rows."""
    spec = Spec.from_params("sports", scale="0.001", inject_errors=0.05)
    target = (
        SQLiteTarget(Path(sa.make_url(target_url).database or ""))
        if backend == "sqlite"
        else PostgresTarget(target_url)
    )
    target.create(spec, replace=True)
    for table, start, stop in spec.chunks():
        target.write(spec, table, start, stop)
    bets = spec.dataset.table("bets")
    before = sorted(rows_of(target_url, bets), key=str)
    target.write(spec, bets, 1, spec.counts["bets"])
    after = sorted(rows_of(target_url, bets), key=str)
    assert after == before and len(after) == spec.counts["bets"]


# -- defects and the manifest ----------------------------------------------------------------------


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]+$")


def _valid_date(value: Any) -> bool:
    if isinstance(value, date):
        return True
    try:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _stamp(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _num(value: Any) -> Decimal:
    return Decimal(str(value))


#: How to tell a computed column is wrong, per (table, column): from the row as a dict.
INCONSISTENT = {
    ("bets", "payout"): lambda r: (
        r["status"] == "won"
        and (abs(_num(r["payout"]) - _num(r["stake"]) * _num(r["odds"])) > Decimal("0.01"))
    ),
    ("order_items", "line_total"): lambda r: (
        abs(
            _num(r["line_total"])
            - _num(r["quantity"]) * _num(r["unit_price"]) * (100 - (r["discount_pct"] or 0)) / 100
        )
        > Decimal("0.01")
    ),
    ("transactions", "net_amount"): lambda r: (
        _num(r["net_amount"]) != _num(r["amount"]) - _num(r["fee"])
    ),
    ("encounters", "length_of_stay_days"): lambda r: (
        r["discharged_at"] is not None
        and (
            r["length_of_stay_days"]
            != int((_stamp(r["discharged_at"]) - _stamp(r["admitted_at"])).total_seconds() // 86400)
        )
    ),
}


def found_defects(url: str, dataset: Dataset, check: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The keys of the rows that break ``check``, found by looking at the data."""
    table = dataset.table(check["table"])
    column, rule = check["column"], check["rule"]
    names = [c.name for c in table.columns]
    rows = [dict(zip(names, r, strict=True)) for r in rows_of(url, table)]
    key = lambda r: tuple(r[c] for c in table.primary_key)  # noqa: E731
    kind = check["kind"]
    if kind == "null_required":
        return {key(r) for r in rows if r[column] is None}
    if kind == "out_of_range":
        return {
            key(r)
            for r in rows
            if r[column] is not None and not rule["min"] <= _num(r[column]) <= rule["max"]
        }
    if kind == "orphan_fk":
        fk = next(fk for fk in table.foreign_keys if fk.column == column)
        parents = {r[0] for r in rows_of(url, dataset.table(fk.parent))}
        return {key(r) for r in rows if r[column] is not None and r[column] not in parents}
    if kind == "duplicate_key":
        seen: dict[Any, list[tuple[Any, ...]]] = {}
        for r in rows:
            seen.setdefault(r[column], []).append(key(r))
        return {k for keys in seen.values() if len(keys) > 1 for k in keys}
    if kind == "malformed_email":
        return {key(r) for r in rows if r[column] is not None and not EMAIL.match(r[column])}
    if kind == "malformed_date":
        return {key(r) for r in rows if r[column] is not None and not _valid_date(r[column])}
    if kind == "inconsistent":
        test = INCONSISTENT[(table.name, column)]
        return {key(r) for r in rows if r[column] is not None and test(r)}
    raise AssertionError(kind)


def assert_manifest_is_exact(url: str, dataset: Dataset, manifest: dict[str, Any]) -> None:
    assert manifest["defects"], "nothing was planted"
    for check in manifest["checks"]:
        table = dataset.table(check["table"])
        listed = [
            d
            for d in manifest["defects"]
            if (d["table"], d["column"], d["kind"])
            == (check["table"], check["column"], check["kind"])
        ]
        assert len(listed) == check["rows"] > 0, check
        keys = {tuple(d["key"][c] for c in table.primary_key) for d in listed}
        if check["kind"] == "duplicate_key":
            keys |= {tuple(d["duplicate_of"][c] for c in table.primary_key) for d in listed}
        assert found_defects(url, dataset, check) == keys, check
    by_row = [(d["table"], json.dumps(d["key"], sort_keys=True)) for d in manifest["defects"]]
    assert len(by_row) == len(set(by_row)), "a row carries two defects"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sports", "retail", "finance", "healthcare"])
def test_the_manifest_says_exactly_which_rows_carry_which_defect(
    app: by.Batchyard, target_url: str, backend: str, tmp_path: Path, name: str
) -> None:
    dataset = get_dataset(name)
    manifest_path = tmp_path / "defects.json"
    generate(
        app,
        dataset=name,
        to=target_url,
        scale="0.01" if name == "sports" else "0.03",
        inject_errors=0.04,
        manifest=str(manifest_path),
    )
    manifest = json.loads(manifest_path.read_text())
    assert manifest["dataset"] == name and manifest["rate"] == 0.04
    assert {c["kind"] for c in manifest["checks"]} >= {"null_required", "orphan_fk", "inconsistent"}
    assert_manifest_is_exact(target_url, dataset, manifest)
    if name == "sports":
        assert {c["kind"] for c in manifest["checks"]} == {
            "null_required",
            "out_of_range",
            "orphan_fk",
            "duplicate_key",
            "malformed_email",
            "malformed_date",
            "inconsistent",
        }


def test_clean_data_has_no_defects(app: by.Batchyard, tmp_path: Path) -> None:
    """Without --inject-errors every check of the manifest finds nothing."""
    clean, dirty = tmp_path / "clean.db", tmp_path / "dirty.db"
    generate(app, dataset="sports", to=str(dirty), scale=SMALL, inject_errors=0.02)
    generate(app, dataset="sports", to=str(clean), scale=SMALL)
    manifest = json.loads((tmp_path / "dirty.manifest.json").read_text())
    assert not (tmp_path / "clean.manifest.json").exists()
    sports = get_dataset("sports")
    for check in manifest["checks"]:
        assert found_defects(sqlite_url(clean), sports, check) == set(), check


# -- resume ----------------------------------------------------------------------------------------


def _done_items(store_url: str) -> tuple[str | None, int]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            job = conn.exec_driver_sql("SELECT id FROM by_jobs WHERE kind = 'generate'").scalar()
            if job is None:
                return None, 0
            done = conn.execute(
                sa.text("SELECT count(*) FROM by_items WHERE job_id = :j AND status = 'done'"),
                {"j": job},
            ).scalar()
            return job, int(done or 0)
    except sa.exc.DBAPIError:
        return None, 0  # the store is not made yet
    finally:
        engine.dispose()


def kill_midway(project: Path, store_url: str, log: Path, *args: str) -> str:
    """Start ``batchyard generate ARGS`` and SIGKILL it once 8 chunks are done; return the job id."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "batchyard", "generate", *args],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    job_id, done = None, 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        job_id, done = _done_items(store_url)
        if done >= 8:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert job_id is not None and done >= 8, log.read_text()
    return job_id


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_same_data(
    app: by.Batchyard, project: Path, store_url: str, target_url: str, tmp_path: Path
) -> None:
    job_id = kill_midway(
        project,
        store_url,
        tmp_path / "killed.log",
        "sports",
        "--to",
        "warehouse",
        "--scale",
        SMALL,
        "--chunk-rows",
        "400",
        "--inject-errors",
        "0.02",
        "--manifest",
        str(tmp_path / "killed.json"),
    )
    job = app.store.get_job(job_id)
    assert job.status.value != "completed" and job.done < job.total
    resumed = app.execute(job_id, install_signals=False)
    assert resumed.status.value == "completed", resumed.error
    reference = tmp_path / "reference.db"
    generate(
        app,
        dataset="sports",
        to=str(reference),
        scale=SMALL,
        inject_errors=0.02,
        manifest=str(tmp_path / "reference.json"),
    )
    sports = get_dataset("sports")
    assert checksums(target_url, sports) == checksums(sqlite_url(reference), sports)
    assert (tmp_path / "killed.json").read_bytes() == (tmp_path / "reference.json").read_bytes()


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_same_files(sqlite_project: Path, tmp_path: Path) -> None:
    store_url = sqlite_url(sqlite_project / "store.db")
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    job_id = kill_midway(
        sqlite_project,
        store_url,
        tmp_path / "killed.log",
        "sports",
        "--format",
        "csv",
        "--to",
        str(killed),
        "--scale",
        SMALL,
        "--chunk-rows",
        "400",
    )
    assert not (killed / "statcast.csv").exists()  # files appear whole, at the end
    with by.Batchyard(root=sqlite_project) as app:
        assert app.execute(job_id, install_signals=False).status.value == "completed"
        generate(app, dataset="sports", to=str(reference), format="csv", scale=SMALL)
    assert sorted(p.name for p in killed.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.iterdir():
        assert (killed / path.name).read_bytes() == path.read_bytes(), path.name


# -- files -----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_files_hold_the_same_rows_byte_for_byte_on_every_run(
    app: by.Batchyard, tmp_path: Path, fmt: str
) -> None:
    scale = "0.003"
    sports = get_dataset("sports")
    first, second = tmp_path / "first", tmp_path / "second"
    generate(app, dataset="sports", to=str(first), format=fmt, scale=scale, inject_errors=0.02)
    generate(
        app,
        dataset="sports",
        to=str(second),
        format=fmt,
        scale=scale,
        inject_errors=0.02,
        chunk_rows=500,
    )
    assert sorted(p.name for p in first.iterdir()) == sorted(
        [f"{t.name}.{fmt}" for t in sports.tables] + ["manifest.json"]
    )
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
    # The same values as in a database made with the same seed.
    db = tmp_path / "same.db"
    generate(app, dataset="sports", to=str(db), scale=scale, inject_errors=0.02)
    counts = Spec.from_params("sports", scale=scale).counts
    for table in sports.tables:
        text = (first / f"{table.name}.{fmt}").read_text(encoding="utf-8")
        if fmt == "csv":
            reader = csv.reader(text.splitlines())
            assert next(reader) == [c.name for c in table.columns]
            records = [[None if v == "" else v for v in row] for row in reader]
        else:
            records = [
                [json.loads(line)[c.name] for c in table.columns] for line in text.splitlines()
            ]
        assert len(records) == counts[table.name]
        from_file = sorted(
            "|".join(_norm_file(v, c.type) for v, c in zip(r, table.columns, strict=True))
            for r in records
        )
        from_db = sorted(
            "|".join(_norm_file(v, c.type) for v, c in zip(r, table.columns, strict=True))
            for r in rows_of(sqlite_url(db), table)
        )
        assert from_file == from_db, table.name


def _norm_file(value: Any, logical: str) -> str:
    if value is None:
        return "\\N"
    if logical == "boolean":
        return str(value in (True, 1, "true"))
    if logical in ("integer", "float", "decimal") and not isinstance(value, bool):
        try:
            return repr(float(value))
        except ValueError:
            return str(value)
    return str(value)


# -- the command -----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Path:
    """A project with a SQLite store, for the command's tests (the backend is not their subject)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text(f'[store]\nurl = "sqlite:///{root / "store.db"}"\n')
    return root


def invoke(project: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli_app, ["-C", str(project), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_the_command_generates_and_refuses_to_overwrite(
    sqlite_project: Path, tmp_path: Path
) -> None:
    project = sqlite_project
    target = tmp_path / "out" / "sports.db"
    result = invoke(
        project,
        "generate",
        "sports",
        "--to",
        str(target),
        "--scale",
        "0.001",
        "--inject-errors",
        "0.05",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "sports.manifest.json").exists()
    before = checksums(sqlite_url(target), get_dataset("sports"))
    again = invoke(project, "generate", "sports", "--to", str(target), "--scale", "0.002")
    assert again.exit_code == 2 and "--if-exists replace" in again.output
    assert checksums(sqlite_url(target), get_dataset("sports")) == before
    replaced = invoke(
        project,
        "generate",
        "sports",
        "--to",
        str(target),
        "--scale",
        "0.002",
        "--if-exists",
        "replace",
    )
    assert replaced.exit_code == 0, replaced.output
    assert scalar(sqlite_url(target), "SELECT count(*) FROM players") == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown schema 'nope'"),
        (["sports", "--scale", "huge"], "scale 'huge'"),
        (["sports", "--scale", "-1"], "scale '-1'"),
        (["sports", "--inject-errors", "1.5"], "between 0 and 0.5"),
        (["sports", "--rows", "10"], "together"),
        (["sports", "--rows", "10", "--table", "nope"], "no table 'nope'"),
        (["sports", "--format", "parquet"], "format 'parquet'"),
        (["sports", "--if-exists", "append"], "fail or replace"),
        (["sports", "--chunk-rows", "5"], "at least 100"),
        (
            ["sports", "--to", "postgresql://nobody@127.0.0.1:1/none", "--inject-errors", "0.1"],
            "--manifest PATH",
        ),
        (["sports", "--to", "postgresql://nobody@127.0.0.1:1/none"], "cannot connect"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    sqlite_project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    project = sqlite_project
    if "--to" not in args:
        args = [*args, "--to", str(tmp_path / "never.db")]
    result = invoke(project, "generate", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "never.db").exists()
