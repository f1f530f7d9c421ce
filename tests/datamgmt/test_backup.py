"""backup and restore: a restored database is identical, a damaged backup is refused, retention."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fidelity import make_postgres, make_sqlite
from typer.testing import CliRunner, Result

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.data.backup import pg_tool

FK_DDL = (
    "CREATE TABLE owners (id {serial} PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners (id), "
    "kind TEXT DEFAULT 'cat')",
    "CREATE INDEX pets_kind ON pets (kind)",
    "INSERT INTO owners (name) VALUES ('ann'), ('bo')",
    "INSERT INTO pets VALUES (1, 1, 'dog'), (2, 1, NULL), (3, 2, 'cat')",
)


def data(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli_app, ["-C", str(tmp_path), "data", *args])


def make_db(url: str) -> None:
    """The fidelity tables (every awkward value) and two tables joined by a foreign key."""
    if url.startswith("sqlite"):
        make_sqlite(Path(sa.make_url(url).database or ""))
    else:
        make_postgres(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        serial = "INTEGER" if url.startswith("sqlite") else "serial"
        for sql in FK_DDL:
            conn.exec_driver_sql(sql.replace("{serial}", serial))
    engine.dispose()


def verify(tmp_path: Path, source: str, target: str) -> by.Job:
    with by.Batchyard(root=tmp_path) as app:
        return app.run("verify", {"source": source, "target": target}, install_signals=False)


@pytest.fixture
def pg_copy(pg_admin: sa.Engine, pg_admin_url: str) -> Iterator[object]:
    """Makes copies of a PostgreSQL database (from it as a template); drops them afterwards."""
    made: list[str] = []

    def copy(url: str) -> str:
        name = f"by_copy_{uuid.uuid4().hex[:10]}"
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(url).database}"')
        made.append(name)
        return sa.make_url(pg_admin_url).set(database=name).render_as_string(False)

    yield copy
    with pg_admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_database(pg_admin: sa.Engine, url: str) -> None:
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{sa.make_url(url).database}" WITH (FORCE)')


def test_sqlite_backup_delete_restore_is_identical(tmp_path: Path) -> None:
    src, orig = tmp_path / "sports.db", tmp_path / "orig.db"
    make_db(f"sqlite:///{src}")
    with sqlite3.connect(src) as a, sqlite3.connect(orig) as b:
        a.backup(b)
    made = data(tmp_path, "backup", str(src), "--name", "nightly")
    assert made.exit_code == 0, made.output
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    assert folder.name.startswith("nightly-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {t["table"]: t["rows"] for t in manifest["tables"]} == {
        "odd table": 6,
        "owners": 2,
        "pairs": 3,
        "pets": 3,
    }
    assert [f["file"] for f in manifest["files"]] == ["database.sqlite.gz"]
    assert len(manifest["files"][0]["sha256"]) == 64
    src.unlink()
    back = data(tmp_path, "restore", "nightly", str(src))
    assert back.exit_code == 0, back.output
    assert verify(tmp_path, str(orig), str(src)).status is by.JobStatus.COMPLETED
    with sqlite3.connect(src) as con:  # the schema came back too, not only the rows
        assert (
            "REFERENCES owners"
            in con.execute("SELECT sql FROM sqlite_master WHERE name = 'pets'").fetchone()[0]
        )
        assert con.execute("SELECT name FROM sqlite_master WHERE name = 'pets_kind'").fetchone()


@pytest.mark.parametrize("method", ["pg_dump", "copy"])
def test_postgres_backup_drop_restore_is_identical(
    tmp_path: Path, pg_database: str, pg_admin: sa.Engine, pg_copy: object, method: str
) -> None:
    make_db(pg_database)
    orig = pg_copy(pg_database)  # type: ignore[operator]
    made = data(tmp_path, "backup", pg_database, "--method", method, "--name", "wh")
    assert made.exit_code == 0, made.output
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["method"] == method
    drop_database(pg_admin, pg_database)
    back = data(tmp_path, "restore", str(folder), pg_database)  # made anew by the restore
    assert back.exit_code == 0, back.output
    assert verify(tmp_path, orig, pg_database).status is by.JobStatus.COMPLETED
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        fks = sa.inspect(conn).get_foreign_keys("pets")
        # A new row takes the next id: the key's sequence came back past the restored rows.
        conn.exec_driver_sql("INSERT INTO owners (name) VALUES ('cy')")
        assert conn.exec_driver_sql("SELECT max(id) FROM owners").scalar() == 3
    engine.dispose()
    assert [f["referred_table"] for f in fks] == ["owners"]


def flip(path: Path, at: int | None = None) -> None:
    raw = bytearray(path.read_bytes())
    where = len(raw) // 2 if at is None else at
    raw[where] ^= 0x01
    path.write_bytes(bytes(raw))


def test_a_flipped_byte_is_refused_and_the_target_untouched(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_db(f"sqlite:///{src}")
    assert data(tmp_path, "backup", str(src)).exit_code == 0
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    packed = folder / "database.sqlite.gz"
    flip(packed)
    before = src.read_bytes()
    for target, extra in ((tmp_path / "new.db", []), (src, ["--replace"])):
        refused = data(tmp_path, "restore", "src", str(target), *extra)
        assert refused.exit_code == 2, refused.output
        assert "checksum error" in refused.stderr and str(packed) in refused.stderr
        assert "Traceback" not in refused.output
    assert not (tmp_path / "new.db").exists()
    assert src.read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))
    flip(packed)  # undone: the backup is whole again, and the manifest is checked too
    flip(folder / "manifest.json", at=40)
    refused = data(tmp_path, "restore", str(folder), str(tmp_path / "new.db"))
    assert refused.exit_code == 2
    assert "checksum error" in refused.stderr and "manifest.json" in refused.stderr
    assert not (tmp_path / "new.db").exists()


def test_postgres_flipped_byte_is_refused_and_the_database_untouched(
    tmp_path: Path, pg_database: str
) -> None:
    make_db(pg_database)
    assert data(tmp_path, "backup", pg_database, "--name", "wh").exit_code == 0
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM pets WHERE id = 3")
    (dump,) = [p for p in folder.iterdir() if p.name != "manifest.json"]
    flip(dump)
    refused = data(tmp_path, "restore", "wh", pg_database, "--replace")
    assert refused.exit_code == 2, refused.output
    assert "checksum error" in refused.stderr and dump.name in refused.stderr
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pets").scalar() == 2
    engine.dispose()


def test_keep_n_keeps_exactly_the_newest_n(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_db(f"sqlite:///{src}")
    assert data(tmp_path, "backup", str(src), "--name", "other").exit_code == 0
    taken = []
    for n in range(4):
        with sqlite3.connect(src) as con:
            con.execute("INSERT INTO owners (name) VALUES (?)", (f"n{n}",))
        result = data(tmp_path, "backup", str(src), "--name", "daily", "--keep", "2")
        assert result.exit_code == 0, result.output
        taken.append(json.loads(data(tmp_path, "backups", "--json").stdout)[-1]["backup"])
    listed = json.loads(data(tmp_path, "backup", "--list", "--json").stdout)
    assert sorted(b["backup"] for b in listed if b["name"] == "daily") == sorted(taken[-2:])
    assert [b["name"] for b in listed].count("other") == 1
    assert [b["rows"] for b in listed if b["name"] == "daily"] == [17, 18]
    # The newest backup of a name is what restoring by the name gives.
    assert data(tmp_path, "restore", "daily", str(tmp_path / "r.db")).exit_code == 0
    with sqlite3.connect(tmp_path / "r.db") as con:
        assert con.execute("SELECT count(*) FROM owners").fetchone()[0] == 6


def test_restore_refuses_a_database_that_is_not_empty_unless_replace(tmp_path: Path) -> None:
    src, other = tmp_path / "src.db", tmp_path / "other.db"
    make_db(f"sqlite:///{src}")
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE keep_me (x INTEGER)")
    assert data(tmp_path, "backup", str(src)).exit_code == 0
    refused = data(tmp_path, "restore", "src", str(other))
    assert refused.exit_code == 2
    assert "not empty" in refused.stderr and "keep_me" in refused.stderr
    assert data(tmp_path, "restore", "src", str(other), "--replace").exit_code == 0
    assert verify(tmp_path, str(src), str(other)).status is by.JobStatus.COMPLETED


def test_postgres_replace_makes_the_database_equal_the_backup(
    tmp_path: Path, pg_database: str, pg_copy: object
) -> None:
    make_db(pg_database)
    orig = pg_copy(pg_database)  # type: ignore[operator]
    assert data(tmp_path, "backup", pg_database, "--name", "wh").exit_code == 0
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE extra (x int)")
        conn.exec_driver_sql("UPDATE owners SET name = 'changed' WHERE id = 1")
    engine.dispose()
    refused = data(tmp_path, "restore", "wh", pg_database)
    assert refused.exit_code == 2 and "not empty" in refused.stderr
    back = data(tmp_path, "restore", "wh", pg_database, "--replace")
    assert back.exit_code == 0, back.output
    assert verify(tmp_path, orig, pg_database).status is by.JobStatus.COMPLETED


def test_a_password_never_reaches_the_backup_its_job_or_the_output(
    tmp_path: Path, pg_database: str
) -> None:
    # The test server trusts local connections, so any password works: it must still stay hidden.
    url = sa.make_url(pg_database).set(password="s3cr3t-pw").render_as_string(False)
    make_db(pg_database)
    made = data(tmp_path, "backup", url, "--name", "wh")
    assert made.exit_code == 0, made.output
    assert "s3cr3t-pw" not in made.output
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    assert "s3cr3t-pw" not in (folder / "manifest.json").read_text()
    with by.Batchyard(root=tmp_path) as app:
        (job,), _ = app.jobs()
        items, _ = app.items(job.id)
        text = json.dumps([job.params, items[0].result, [e.message for e in app.log(job.id)]])
    assert "s3cr3t-pw" not in text and "***" in json.dumps(job.params)


def test_bad_input_names_what_is_wrong(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_db(f"sqlite:///{src}")
    assert data(tmp_path, "backup", str(src), "--name", "alpha").exit_code == 0
    missing = data(tmp_path, "restore", "beta", str(tmp_path / "x.db"))
    assert missing.exit_code == 2
    assert "no backup named 'beta'" in missing.stderr and "alpha" in missing.stderr
    gone = data(tmp_path, "backup", str(tmp_path / "nope.db"))
    assert gone.exit_code == 2 and "nope.db" in gone.stderr
    unknown = data(tmp_path, "backup", "warehouse")
    assert unknown.exit_code == 2 and "'warehouse'" in unknown.stderr
    assert data(tmp_path, "backup").exit_code == 2
    assert not list((tmp_path / ".batchyard" / "backups").glob(".*"))


def test_pg_tools_are_found() -> None:
    # The PostgreSQL tests above go through pg_dump; on a machine without it they use copy.
    assert pg_tool("pg_dump") is not None and pg_tool("pg_restore") is not None


def test_a_file_that_is_not_a_database_is_refused_before_a_job_is_made(tmp_path: Path) -> None:
    fake = tmp_path / "notes.db"
    fake.write_text("day,score\n2024-06-01,3\n")
    result = data(tmp_path, "backup", str(fake))
    assert result.exit_code == 2, result.output
    assert "notes.db" in result.stderr and "not a database" in result.stderr
    assert "sqlalche.me" not in result.stderr
    with by.Batchyard(root=tmp_path) as app:
        assert app.jobs()[1] == 0
