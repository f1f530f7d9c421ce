"""backup and restore: a restored database is identical, a damaged backup is refused, retention."""

from __future__ import annotations

import gzip
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fidelity import make_postgres, make_sqlite
from typer.testing import CliRunner, Result

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.snapshot.backup import manifest_checksum, pg_tool, sha256

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
    assert "notes.db" in result.stderr and "is not a SQLite database" in result.stderr
    assert "sqlalche.me" not in result.stderr
    with by.Batchyard(root=tmp_path) as app:
        assert app.jobs()[1] == 0


# -- a manifest is input: its paths and its row counts are checked --------------------------------


def reseal(folder: Path, change: Any = None) -> dict[str, Any]:
    """Rewrite a backup's manifest as a tamperer would: ``change(manifest)``, then every file's size
    and sha256 (wherever its entry points) and the manifest's own checksum computed anew."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if change is not None:
        change(manifest)
    for entry in manifest["files"]:
        path = Path(entry["file"]) if Path(entry["file"]).is_absolute() else folder / entry["file"]
        entry["bytes"], entry["sha256"] = path.stat().st_size, sha256(path)
    manifest["checksum"] = manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def only_backup(tmp_path: Path) -> Path:
    (folder,) = (tmp_path / ".batchyard" / "backups").iterdir()
    return folder


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_a_manifest_entry_outside_the_backup_is_refused(tmp_path: Path, how: str) -> None:
    src = tmp_path / "src.db"
    make_db(f"sqlite:///{src}")
    assert data(tmp_path, "backup", str(src)).exit_code == 0
    folder = only_backup(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    if how == "symlink":
        # The file itself is a link to a copy outside: its bytes match, its place does not.
        outside = tmp_path / "elsewhere.gz"
        (folder / "database.sqlite.gz").rename(outside)
        (folder / "database.sqlite.gz").symlink_to(outside)
        entry = "database.sqlite.gz"
        reseal(folder)
    else:
        entry = "../../../secret.txt" if how == "relative" else str(secret)
        assert (folder / entry).resolve() == secret.resolve()
        reseal(folder, lambda m: m["files"].append({"file": entry}))
    refused = data(tmp_path, "restore", str(folder), str(tmp_path / "new.db"))
    assert refused.exit_code == 2, refused.output
    assert entry in refused.stderr and "outside the backup" in refused.stderr
    assert "Traceback" not in refused.output
    assert not (tmp_path / "new.db").exists()


def test_row_counts_unlike_the_manifest_are_refused_and_the_target_kept(tmp_path: Path) -> None:
    src, spare = tmp_path / "src.db", tmp_path / "spare.db"
    make_db(f"sqlite:///{src}")
    assert data(tmp_path, "backup", str(src)).exit_code == 0
    folder = only_backup(tmp_path)
    with sqlite3.connect(src) as a, sqlite3.connect(spare) as b:
        a.backup(b)
    good = data(tmp_path, "restore", str(folder), str(tmp_path / "good.db"))
    assert good.exit_code == 0, good.output
    with by.Batchyard(root=tmp_path) as app:
        job = next(j for j in app.jobs()[0] if j.kind == "restore")
        assert job.rows_written == 14  # what was restored: 6 + 2 + 3 + 3

    def fewer(manifest: dict[str, Any]) -> None:
        (owners,) = [t for t in manifest["tables"] if t["table"] == "owners"]
        owners["rows"] = 122_921

    reseal(folder, fewer)
    before = spare.read_bytes()
    for target, extra in ((tmp_path / "new.db", []), (spare, ["--replace"])):
        refused = data(tmp_path, "restore", str(folder), str(target), *extra)
        assert refused.exit_code == 2, refused.output
        assert "owners" in refused.stderr and "122,921" in refused.stderr
        assert "holds 2" in refused.stderr and "Traceback" not in refused.output
    assert not (tmp_path / "new.db").exists()
    assert spare.read_bytes() == before

    def unlisted(manifest: dict[str, Any]) -> None:
        fewer(manifest)
        manifest["tables"] = [t for t in manifest["tables"] if t["table"] != "owners"]

    reseal(folder, unlisted)
    refused = data(tmp_path, "restore", str(folder), str(tmp_path / "new.db"))
    assert refused.exit_code == 2, refused.output
    assert "'owners' (2 rows) that its manifest does not list" in refused.stderr
    assert not (tmp_path / "new.db").exists()


def drop_a_copy_line(folder: Path, table: str) -> None:
    """Take one row out of a table's COPY file (the manifest is resealed after)."""
    (file,) = folder.glob(f"tables/*-{table}.copy.gz")
    lines = gzip.decompress(file.read_bytes()).splitlines(keepends=True)
    file.write_bytes(gzip.compress(b"".join(lines[1:])))


@pytest.mark.parametrize("tamper", ["manifest rows", "copy file", "bad row"])
def test_a_failed_postgres_restore_leaves_no_new_database(
    tmp_path: Path, pg_database: str, pg_admin: sa.Engine, tamper: str
) -> None:
    make_db(pg_database)
    method = "pg_dump" if tamper == "manifest rows" else "copy"
    assert data(tmp_path, "backup", pg_database, "--method", method).exit_code == 0
    folder = only_backup(tmp_path)
    if tamper == "manifest rows":
        reseal(folder, lambda m: [t.update(rows=5) for t in m["tables"] if t["table"] == "pets"])
    elif tamper == "copy file":
        drop_a_copy_line(folder, "pets")
        reseal(folder)
    else:
        (file,) = folder.glob("tables/*-pets.copy.gz")
        file.write_bytes(gzip.compress(b"4\tnot a number\tcat\n"))
        reseal(folder)
    drop_database(pg_admin, pg_database)
    refused = data(tmp_path, "restore", str(folder), pg_database)
    assert refused.exit_code == 2, refused.output
    assert "pets" in refused.stderr and "Traceback" not in refused.output
    if tamper != "bad row":
        wanted = ("5", "holds 3") if tamper == "manifest rows" else ("3", "holds 2")
        assert all(w in refused.stderr for w in wanted), refused.stderr
    with pg_admin.connect() as conn:
        left = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_database WHERE datname = %s",
            (sa.make_url(pg_database).database,),
        ).scalar()
    assert left == 0
