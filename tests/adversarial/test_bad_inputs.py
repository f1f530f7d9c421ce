"""Bad input, every command and route: exit 2 (or a 4xx), one message naming the problem, no
traceback, no raw driver error, and every file outside the store as it was.

Each case runs in a fresh copy of one small project (a SQLite source, good and bad files, rules, a
backup, a custom kind), in-process through Typer's ``CliRunner`` or ``httpx.ASGITransport``. A
handful of cases point at PostgreSQL: a database that does not exist on the test server, and a
port nothing listens on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from batchyard.cli import app as cli_app
from batchyard.db import ENGINES

#: What a raw driver error or an escaped exception looks like in a message.
RAW = re.compile(
    r"Traceback|sqlalche\.me|\(sqlite3\.|\(psycopg|psycopg\.|OperationalError|ProgrammingError|"
    r"IntegrityError|duckdb\.|Binder Error|Parser Error|Catalog Error|Conversion Error|"
    r"RuntimeError|KeyError|TypeError|AttributeError|IndexError|UnicodeDecodeError|"
    r"NoneType|object has no attribute|\[SQL:|Background on this error"
)

UNREACHABLE_PG = "postgresql://app:pw@127.0.0.1:1/nowhere"

JOBS = '''\
import batchyard as by


@by.job("nums")
def nums(n: int, pause_at: int = -1):
    """One item per number below n."""
    return range(n)


@nums.item
def square(i: int, ctx: by.Context) -> int:
    return i * i
'''

RULES = """\
suite: arena
tables:
  players:
    - {rule: not_null, column: name}
  bets:
    - {rule: between, column: stake, min: 0.01, max: 100000}
"""


MONITORS = {
    "badtype": "metrics:\n  - {name: rows, type: row_cont, table: players}\n",
    "impossible": "metrics:\n  - type: json_validity\n    path: .\n    thresholds:\n"
    "      - {below: 0, level: fail}\n",
    "backwards": "metrics:\n  - type: row_count\n    table: players\n    connection: src.db\n"
    "    thresholds: [{outside: [10, 1]}]\n",
    "nofolder": "metrics:\n  - {type: file_count, path: 'landing/{date:%Y}/'}\n",
    "nocolumn": "metrics:\n  - {type: null_rate, connection: src.db, table: players, "
    "columns: [nick]}\n",
    "notyaml": "metrics: [unclosed\n",
}


def _make_template(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "batchyard.toml").write_text(
        '[project]\nname = "arena"\n\n[store]\nurl = "sqlite:///.batchyard/store.db"\n\n'
        '[defaults]\nworkers = 2\nconnection = "warehouse"\n\n'
        '[connections]\nwarehouse = "sqlite:///warehouse.db"\n',
        encoding="utf-8",
    )
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "small.yaml").write_text("kind: nums\nparams:\n  n: 2\n")
    (root / "monitors").mkdir()
    for name, body in MONITORS.items():
        (root / "monitors" / f"{name}.yaml").write_text(body, encoding="utf-8")
    with sqlite3.connect(root / "src.db") as db:
        db.executescript(
            """
            CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE);
            CREATE TABLE bets (id INTEGER PRIMARY KEY, player_id INTEGER REFERENCES players(id),
                               stake REAL, placed TEXT);
            """
        )
        db.executemany(
            "INSERT INTO players VALUES (?, ?, ?)",
            [(i, f"player {i}", f"19{80 + i % 20}-01-0{1 + i % 9}") for i in range(1, 51)],
        )
        db.executemany(
            "INSERT INTO bets VALUES (?, ?, ?, ?)",
            [(i, 1 + i % 50, round(1 + i * 0.37, 2), "2024-05-01") for i in range(1, 201)],
        )
    sqlite3.connect(root / "empty.db").close()
    files = {
        "good.csv": "id,name,score\n1,a,10\n2,b,20\n",
        "short.csv": "id,name,score\n1,a,10\n2,b,20\n3,c\n4,d,40\n",
        "long.csv": "id,name,score\n1,a,10\n2,b,20,99\n3,c,30\n",
        "quote.csv": 'id,name,score\n1,a,10\n150,"x,1\n2,b,20\n',
        "empty.csv": "",
        "dup.csv": "a,a\n1,2\n",
        "blankhead.csv": "id,,score\n1,a,2\n",
        "empty.jsonl": "",
        "nulkey.json": '[{"a\\u0000b": 1}]',
        "broken.json": '[{"a": 1},',
        "notjson.jsonl": "hello\n",
        "notadb.db": "this is not a database\n",
        "rules.yaml": RULES,
        "rules_tag.yaml": '!!python/object/apply:os.system ["echo owned"]\n',
        "rules_unknown.yaml": "suite: x\ntables:\n  bets:\n    - {rule: frobnicate, column: stake}\n",
        "rules_nocol.yaml": "suite: x\ntables:\n  bets:\n    - {rule: not_null, column: nosuch}\n",
        "rules_notable.yaml": "suite: x\ntables:\n  nosuch:\n    - {rule: not_null, column: a}\n",
        "rules_expr.yaml": (
            "suite: x\ntables:\n  bets:\n"
            '    - {rule: expression, expression: "1=1; DROP TABLE bets"}\n'
        ),
        "rules_list.yaml": "- 1\n- 2\n",
        "keys.txt": "",
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "rules_bytes.yaml").write_bytes(bytes(range(256)) * 4)
    (root / "notutf8.csv").write_bytes(b"id,name\n1,\xff\xfe\n")
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = _make_template(tmp_path_factory.mktemp("arena") / "project")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        made = CliRunner().invoke(cli_app, ["data", "backup", "src.db", "--name", "nightly"])
    assert made.exit_code == 0, made.output
    ENGINES.dispose()
    yield root
    ENGINES.dispose()


@pytest.fixture
def arena(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh copy of the project, and the working folder (relative paths are the project's)."""
    root = tmp_path / "project"
    shutil.copytree(template, root)
    monkeypatch.chdir(root)
    yield root
    ENGINES.dispose()


def _backup_dir(root: Path) -> Path:
    found = sorted((root / ".batchyard" / "backups").rglob("manifest.json"))
    assert found, "the arena has no backup"
    return found[0].parent


def _tamper(root: Path, how: str) -> str:
    """A copy of the arena's backup with its manifest changed ``how``; returns its folder."""
    source = _backup_dir(root)
    copy = root / f"tampered-{how}"
    shutil.copytree(source, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    text = json.dumps(manifest)
    if how == "escape":
        manifest["files"][0]["file"] = "../../../../../../etc/hostname"
        text = json.dumps(manifest)
    elif how == "count":
        manifest["tables"][0]["rows"] = int(manifest["tables"][0]["rows"]) + 17
        text = json.dumps(manifest)
    (copy / "manifest.json").write_text(text)
    return str(copy)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file outside the store folder, by content hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or rel.parts[0] == ".batchyard" or "__pycache__" in rel.parts:
            continue
        if path.name.endswith(".quarantine.jsonl"):
            continue  # rejected rows with their reasons: the point of refusing, not a write
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# -- the command line -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cli:
    args: tuple[str, ...]
    match: str
    env: dict[str, str] = field(default_factory=dict)


def c(*args: str, match: str, **env: str) -> Cli:
    return Cli(tuple(args), match, env)


PROC = "/proc/batchyard-nope"

CLI_CASES: dict[str, Cli] = {
    # data import: files that are not what they say
    "import a CSV row with too few fields": c(
        "data", "import", "short.csv", "out.db", "--table", "t", match=r"short\.csv(:4\b|.*line 4)"
    ),
    "import a CSV row with too many fields": c(
        "data", "import", "long.csv", "out.db", "--table", "t", match=r"long\.csv(:3\b|.*line 3)"
    ),
    "import an unterminated quote": c(
        "data",
        "import",
        "quote.csv",
        "out.db",
        "--table",
        "t",
        match=r"quote\.csv(:\d\b|.*line \d)",
    ),
    "import a short row into PostgreSQL": c(
        "data", "import", "short.csv", "{pg}", "--table", "t", match=r"short\.csv(:4\b|.*line 4)"
    ),
    "import an empty CSV": c("data", "import", "empty.csv", "out.db", match=r"empty\.csv.*empty"),
    "import a duplicate header": c("data", "import", "dup.csv", "out.db", match=r"dup\.csv.*'a'"),
    "import an unknown --type": c(
        "data", "import", "good.csv", "out.db", "--type", "score=frob", match=r"frob"
    ),
    "import a --type with no =": c(
        "data", "import", "good.csv", "out.db", "--type", "score", match=r"--type|COLUMN=TYPE"
    ),
    "import a --type of a column the file lacks": c(
        "data", "import", "good.csv", "out.db", "--type", "nosuch=integer", match=r"nosuch"
    ),
    "import an unknown --mode": c(
        "data", "import", "good.csv", "out.db", "--mode", "frob", match=r"frob|--mode"
    ),
    "import upsert without a key": c(
        "data", "import", "good.csv", "out.db", "--mode", "upsert", match=r"--key"
    ),
    "import a --key the file lacks": c(
        "data", "import", "good.csv", "out.db", "--key", "nosuch", match=r"nosuch"
    ),
    "import an unknown --format": c(
        "data", "import", "good.csv", "out.db", "--format", "frob", match=r"frob"
    ),
    "import a file that does not exist": c(
        "data", "import", "nosuch.csv", "out.db", match=r"nosuch\.csv"
    ),
    "import into a mysql URL": c(
        "data", "import", "good.csv", "mysql://x/y", "--table", "t", match=r"mysql"
    ),
    "import into an unreachable PostgreSQL": c(
        "data", "import", "good.csv", UNREACHABLE_PG, "--table", "t", match=r"127\.0\.0\.1|connect"
    ),
    "import an empty JSON lines file": c(
        "data", "import", "empty.jsonl", "out.db", match=r"empty\.jsonl"
    ),
    "import a NUL in a JSON key": c("data", "import", "nulkey.json", "out.db", match=r"nulkey"),
    "import a truncated JSON array": c(
        "data", "import", "broken.json", "out.db", match=r"broken\.json"
    ),
    "import JSON lines that are not JSON": c(
        "data", "import", "notjson.jsonl", "out.db", match=r"notjson\.jsonl(:1\b|.*line 1)"
    ),
    "import a quarantine under /proc": c(
        "data",
        "import",
        "short.csv",
        "out.db",
        "--no-atomic",
        "--quarantine",
        f"{PROC}/q.jsonl",
        match=r"quarantine|/proc",
    ),
    "import from a table a SQLite file lacks": c(
        "data", "import", "src.db", "out.db", "--from-table", "nosuch", match=r"nosuch"
    ),
    "import a file that is not a database": c(
        "data", "import", "notadb.db", "out.db", match=r"notadb\.db"
    ),
    "import with rules that are bytes": c(
        "data",
        "import",
        "good.csv",
        "out.db",
        "--validate",
        "rules_bytes.yaml",
        match=r"rules_bytes\.yaml",
    ),
    # data export
    "export --where that calls setval": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--where",
        "setval('players_id_seq', 888888) > 0",
        match=r"--where|setval",
    ),
    "export --where with a second statement": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--where",
        "1=1; DROP TABLE bets",
        match=r"--where",
    ),
    "export --where that does not parse": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--where",
        "((",
        match=r"--where",
    ),
    "export --where naming no column": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--where",
        "nosuch = 1",
        match=r"nosuch",
    ),
    "export --where with a subquery that writes": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--where",
        "id IN (DELETE FROM bets RETURNING id)",
        match=r"--where",
    ),
    "export into /proc": c(
        "data",
        "export",
        "src.db",
        "--to",
        f"{PROC}/e.csv",
        "-t",
        "players",
        "-f",
        "csv",
        match=r"/proc",
    ),
    "export an unknown format": c(
        "data", "export", "src.db", "--to", "out", "-f", "frob", match=r"frob"
    ),
    "export a table that does not exist": c(
        "data", "export", "src.db", "--to", "out", "-t", "nosuch", match=r"nosuch"
    ),
    "export a column that does not exist": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players",
        "--columns",
        "nosuch",
        match=r"nosuch",
    ),
    "export a query that deletes": c(
        "data", "export", "src.db", "--to", "out", "--query", "DELETE FROM bets", match=r"query"
    ),
    "export a query of a missing table": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "--query",
        "SELECT * FROM nosuch",
        match=r"nosuch",
    ),
    "export a missing source": c("data", "export", "nosuch.db", "--to", "out", match=r"nosuch"),
    "export a source that is not a database": c(
        "data", "export", "notadb.db", "--to", "out", match=r"notadb\.db"
    ),
    "export a missing PostgreSQL database": c(
        "data", "export", "{pgmissing}", "--to", "out", match=r"by_missing|does not exist"
    ),
    "export --where across two tables": c(
        "data",
        "export",
        "src.db",
        "--to",
        "out",
        "-t",
        "players,bets",
        "--where",
        "id > 1",
        match=r"where",
    ),
    # data summary and inspect
    "summary of a missing file": c("data", "summary", "nosuch.db", match=r"nosuch"),
    "summary of a file that is not a database": c(
        "data", "summary", "notadb.db", match=r"notadb\.db"
    ),
    "summary of a missing table": c("data", "summary", "src.db", "-t", "nosuch", match=r"nosuch"),
    "summary in an unknown format": c("data", "summary", "src.db", "-f", "frob", match=r"frob"),
    "summary into /proc": c("data", "summary", "src.db", "-o", f"{PROC}/s.md", match=r"/proc"),
    "summary of an unreachable PostgreSQL": c(
        "data", "summary", UNREACHABLE_PG, match=r"127\.0\.0\.1|connect"
    ),
    "inspect a missing file": c("data", "inspect", "nosuch.db", match=r"nosuch"),
    "inspect a file that is not a database": c("data", "inspect", "notadb.db", match=r"notadb\.db"),
    # backup and restore
    "backup a missing file": c("data", "backup", "nosuch.db", match=r"nosuch"),
    "backup a file that is not a database": c("data", "backup", "notadb.db", match=r"notadb\.db"),
    "restore a backup that does not exist": c(
        "data", "restore", "nosuch-backup", "new.db", match=r"nosuch-backup"
    ),
    "restore a manifest entry outside the backup": c(
        "data",
        "restore",
        "{tampered:escape}",
        "new.db",
        match=r"outside|etc/hostname|checksum|damaged",
    ),
    "restore a manifest whose counts are wrong": c(
        "data", "restore", "{tampered:count}", "new.db", match=r"rows|count|checksum|damaged"
    ),
    "restore into a target that holds tables": c(
        "data", "restore", "nightly", "src.db", match=r"--replace|not empty|holds"
    ),
    # migrate
    "migrate a missing source": c("migrate", "nosuch.db", "out.db", match=r"nosuch"),
    "migrate a source that is not a database": c(
        "migrate", "notadb.db", "out.db", match=r"notadb\.db"
    ),
    "migrate --skip-bad of a missing column": c(
        "migrate", "src.db", "out.db", "--skip-bad", "nosuch.col", match=r"nosuch"
    ),
    "migrate --skip-bad of a missing column of a real table": c(
        "migrate", "src.db", "out.db", "--skip-bad", "bets.nosuch", match=r"nosuch"
    ),
    "migrate --type of an unknown type": c(
        "migrate", "src.db", "out.db", "--type", "players.name=frob", match=r"frob"
    ),
    "migrate --type of a missing column": c(
        "migrate", "src.db", "out.db", "--type", "players.nosuch=text", match=r"nosuch"
    ),
    "migrate --key of a missing table": c(
        "migrate", "src.db", "out.db", "--key", "nosuch=id", match=r"nosuch"
    ),
    "migrate --tables of a missing table": c(
        "migrate", "src.db", "out.db", "--tables", "nosuch", match=r"nosuch"
    ),
    "migrate --if-exists frob": c(
        "migrate", "src.db", "out.db", "--if-exists", "frob", match=r"frob|--if-exists"
    ),
    "migrate into a mysql URL": c("migrate", "src.db", "mysql://x/y", match=r"mysql"),
    "migrate into an unreachable PostgreSQL": c(
        "migrate", "src.db", UNREACHABLE_PG, match=r"127\.0\.0\.1|connect"
    ),
    "migrate with 100,000 workers": c(
        "migrate", "src.db", "out.db", "--workers", "100000", match=r"--workers|100000"
    ),
    "migrate into the source itself": c("migrate", "src.db", "src.db", match=r"same|already has"),
    # verify
    "verify a missing source": c("verify", "nosuch.db", "src.db", match=r"nosuch"),
    "verify a missing PostgreSQL database": c(
        "verify", "src.db", "{pgmissing}", match=r"by_missing|does not exist"
    ),
    "verify an unreachable PostgreSQL": c(
        "verify", "src.db", UNREACHABLE_PG, match=r"127\.0\.0\.1|connect"
    ),
    "verify a file that is not a database": c("verify", "src.db", "notadb.db", match=r"notadb\.db"),
    "verify --tables of a missing table": c(
        "verify", "src.db", "src.db", "--tables", "nosuch", match=r"nosuch"
    ),
    "verify --key of a missing column": c(
        "verify", "src.db", "src.db", "--key", "players=nosuch", match=r"nosuch"
    ),
    "verify with 100,000 workers": c(
        "verify", "src.db", "src.db", "-w", "100000", match=r"--workers|100000"
    ),
    # validate
    "validate with a missing rules file": c(
        "validate", "src.db", "--rules", "nosuch.yaml", match=r"nosuch"
    ),
    "validate with a YAML tag": c(
        "validate", "src.db", "--rules", "rules_tag.yaml", match=r"rules_tag\.yaml"
    ),
    "validate with rules that are bytes": c(
        "validate", "src.db", "--rules", "rules_bytes.yaml", match=r"rules_bytes\.yaml"
    ),
    "validate with rules that are a list": c(
        "validate", "src.db", "--rules", "rules_list.yaml", match=r"rules_list\.yaml"
    ),
    "validate with an unknown rule": c(
        "validate", "src.db", "--rules", "rules_unknown.yaml", match=r"frobnicate"
    ),
    "validate a missing column": c(
        "validate", "src.db", "--rules", "rules_nocol.yaml", match=r"nosuch"
    ),
    "validate a missing table": c(
        "validate", "src.db", "--rules", "rules_notable.yaml", match=r"nosuch"
    ),
    "validate an expression with a second statement": c(
        "validate", "src.db", "--rules", "rules_expr.yaml", match=r"expression|DROP"
    ),
    "validate --where with a second statement": c(
        "validate",
        "src.db",
        "--rules",
        "rules.yaml",
        "--where",
        "1=1; DROP TABLE bets",
        match=r"where",
    ),
    "validate --where that calls a function with effects": c(
        "validate",
        "src.db",
        "--rules",
        "rules.yaml",
        "--where",
        "load_extension('x') = 1",
        match=r"--where|load_extension",
    ),
    "validate in an unknown format": c(
        "validate", "src.db", "--rules", "rules.yaml", "-f", "frob", match=r"frob"
    ),
    "validate --fail-on frob": c(
        "validate", "src.db", "--rules", "rules.yaml", "--fail-on", "frob", match=r"frob"
    ),
    "validate a missing file": c("validate", "nosuch.db", "--rules", "rules.yaml", match=r"nosuch"),
    "validate an unreachable PostgreSQL": c(
        "validate", UNREACHABLE_PG, "--rules", "rules.yaml", match=r"127\.0\.0\.1|connect"
    ),
    "validate a missing PostgreSQL database": c(
        "validate", "{pgmissing}", "--rules", "rules.yaml", match=r"by_missing|does not exist"
    ),
    "validate into /proc": c(
        "validate", "src.db", "--rules", "rules.yaml", "-o", f"{PROC}/r.html", match=r"/proc"
    ),
    # collect: refused before any request
    "collect a URL with no scheme": c(
        "collect",
        "api.example.com/games",
        "--keys",
        "a",
        "--table",
        "t",
        match=r"api\.example\.com|scheme",
    ),
    "collect a file:// URL": c(
        "collect", "file:///etc/passwd", "--keys", "a", "--table", "t", match=r"file|scheme"
    ),
    "collect an ftp:// URL": c(
        "collect", "ftp://127.0.0.1/x", "--keys", "a", "--table", "t", match=r"ftp"
    ),
    "collect with a CRLF in a header": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "-H",
        "X-A=b\r\nX-Evil: 1",
        "--table",
        "t",
        match=r"header|X-A",
    ),
    "collect into a mysql URL": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "--table",
        "t",
        "--to",
        "mysql://x/y",
        match=r"mysql",
    ),
    "collect into an unreachable PostgreSQL": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "--table",
        "t",
        "--to",
        UNREACHABLE_PG,
        match=r"127\.0\.0\.1|connect",
    ),
    "collect an unknown pagination": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "--paginate",
        "frob",
        "--table",
        "t",
        match=r"frob",
    ),
    "collect an unknown --every": c(
        "collect",
        "http://127.0.0.1:9/x?d={date}",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-03",
        "--every",
        "fortnight",
        "--table",
        "t",
        match=r"fortnight|--every",
    ),
    "collect a date that does not exist": c(
        "collect",
        "http://127.0.0.1:9/x?d={date}",
        "--start",
        "2024-13-01",
        "--end",
        "2024-12-01",
        "--table",
        "t",
        match=r"2024-13-01|start",
    ),
    "collect an end before the start": c(
        "collect",
        "http://127.0.0.1:9/x?d={date}",
        "--start",
        "2024-02-01",
        "--end",
        "2024-01-01",
        "--table",
        "t",
        match=r"end|start",
    ),
    "collect with 100,000 workers": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "-w",
        "100000",
        "--table",
        "t",
        match=r"--workers|100000",
    ),
    "collect with a JMESPath that does not parse": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "--records",
        "[[[",
        "--table",
        "t",
        match=r"records|\[\[\[",
    ),
    "collect with a bearer variable that is not set": c(
        "collect",
        "http://127.0.0.1:9/x",
        "--keys",
        "a",
        "--bearer-env",
        "BATCHYARD_TEST_NO_SUCH_TOKEN",
        "--table",
        "t",
        match=r"BATCHYARD_TEST_NO_SUCH_TOKEN",
    ),
    "collect a template naming no param": c(
        "collect", "http://127.0.0.1:9/x?d={nosuch}", "--keys", "a", "--table", "t", match=r"nosuch"
    ),
    "collect with an empty keys file": c(
        "collect",
        "http://127.0.0.1:9/x?k={key}",
        "--keys-file",
        "keys.txt",
        "--table",
        "t",
        match=r"keys\.txt|no keys|no items",
    ),
    # generate
    "generate an unknown dataset": c("generate", "frob", "--to", "g.db", match=r"frob"),
    "generate a negative scale": c(
        "generate", "sports", "--to", "g.db", "--scale", "-1", match=r"scale|-1"
    ),
    "generate too many defects": c(
        "generate",
        "sports",
        "--to",
        "g.db",
        "--scale",
        "0.001",
        "--inject-errors",
        "0.9",
        match=r"inject-errors|0\.9",
    ),
    "generate into a mysql URL": c("generate", "sports", "--to", "mysql://x/y", match=r"mysql"),
    "generate rows of a missing table": c(
        "generate",
        "sports",
        "--to",
        "g.db",
        "--table",
        "nosuch",
        "--rows",
        "10",
        match=r"nosuch",
    ),
    "generate in an unknown format": c(
        "generate", "sports", "--to", "g.db", "--format", "frob", match=r"frob"
    ),
    # run and pipelines
    "run an unknown kind": c("run", "frobnicate", match=r"frobnicate"),
    "run with a param of the wrong type": c("run", "nums", "-p", "n=abc", match=r"param 'n'"),
    "run with an unknown param": c("run", "nums", "-p", "n=2", "-p", "nosuch=1", match=r"nosuch"),
    "run with a param with no =": c("run", "nums", "-p", "n", match=r"NAME=VALUE|'n'"),
    "run with 100,000 workers": c(
        "run", "nums", "-p", "n=2", "-w", "100000", match=r"--workers|100000"
    ),
    "run on an unknown executor": c(
        "run", "nums", "-p", "n=2", "--executor", "frob", match=r"frob"
    ),
    "run a batch of an unknown pipeline": c("run", "--batch", "nosuch", match=r"nosuch"),
    "run with workers from the environment that are not a number": c(
        "run", "nums", "-p", "n=2", match=r"BATCHYARD_WORKERS", BATCHYARD_WORKERS="abc"
    ),
    "run on a store URL of an unknown database": c(
        "run", "nums", "-p", "n=2", match=r"mysql|store", BATCHYARD_STORE="mysql://x/y"
    ),
    # jobs
    "jobs show of an unknown id": c("jobs", "show", "nums_dev_nosuch", match=r"nums_dev_nosuch"),
    "jobs resume of an unknown id": c("jobs", "resume", "nosuch", match=r"nosuch"),
    "jobs retry of an unknown id": c("jobs", "retry", "nosuch", match=r"nosuch"),
    "jobs cancel of an unknown id": c("jobs", "cancel", "nosuch", match=r"nosuch"),
    "jobs delete of an unknown id": c("jobs", "delete", "nosuch", match=r"nosuch"),
    "jobs cleanup of a bad age": c("jobs", "cleanup", "--older-than", "frob", match=r"frob"),
    "jobs export in an unknown format": c("jobs", "export", "--format", "frob", match=r"frob"),
    "jobs list of an unknown status": c("jobs", "list", "--status", "frob", match=r"frob"),
    "kinds of an unknown kind": c("kinds", "frobnicate", match=r"frobnicate"),
    # alerts
    "alerts show of an unknown id": c("alerts", "show", "987", match=r"no alert 987"),
    "alerts resolve of an unknown id": c("alerts", "resolve", "987", match=r"no alert 987"),
    "alerts list of an unknown status": c("alerts", "list", "--status", "frob", match=r"frob"),
    "alerts silence for a bad duration": c(
        "alerts", "silence", "1", "--for", "frob", match=r"--for 'frob'"
    ),
    "alerts silence until a bad time": c(
        "alerts", "silence", "1", "--until", "frob", match=r"--until 'frob'"
    ),
    # monitors: the file, the metric and the field are named; nothing is recorded
    "monitor of an unknown metric type": c(
        "monitor",
        "run",
        "badtype",
        match=r"badtype\.yaml:2: metrics\[0\] \(rows\)\.type: .*row_count",
    ),
    "monitor threshold that cannot hold": c(
        "monitor",
        "run",
        "impossible",
        match=r"impossible\.yaml:5: .*thresholds\[0\].*never below 0",
    ),
    "monitor outside with low above high": c(
        "monitor",
        "run",
        "backwards",
        match=r"backwards\.yaml:5: .*outside: \[10, 1\] can never hold",
    ),
    "monitor of a folder that is not there": c(
        "monitor",
        "run",
        "nofolder",
        match=r"nofolder\.yaml: metrics\[0\] \(file_count\)\.path: .*landing.*no such folder",
    ),
    "monitor of a column that is not there": c(
        "monitor",
        "run",
        "nocolumn",
        match=r"nocolumn\.yaml: metrics\[0\] \(null_rate\)\.columns: .*'nick'",
    ),
    "monitor file that is not YAML": c(
        "monitor", "run", "notyaml", match=r"notyaml\.yaml:\d+:\d+: invalid YAML"
    ),
    "monitor that does not exist": c("monitor", "show", "nope", match=r"no monitor 'nope'"),
    "monitor history over a bad window": c(
        "monitor", "history", "badtype", "--since", "7x", match=r"--since|7x"
    ),
    "monitor report in a bad format": c(
        "monitor", "report", "--format", "pdf", match=r"--format 'pdf'"
    ),
    # serve
    "serve on a port that does not exist": c("serve", "--port", "99999", match=r"99999|port"),
}


def _the_message(stderr: str) -> str:
    """The one ``error: ...`` line, or the one ``Error: ...`` line of a usage error (Click's)."""
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "Error:"))]
    if len(errors) == 1:
        return errors[0]
    return ""


def _fill(text: str, root: Path, pg: dict[str, str]) -> str:
    if text.startswith("{tampered:"):
        return _tamper(root, text[len("{tampered:") : -1])
    return text.replace("{pg}", pg.get("pg", "")).replace("{pgmissing}", pg.get("missing", ""))


@pytest.fixture(scope="module")
def pg_urls(pg_admin_url: str) -> dict[str, str]:
    missing = sa.make_url(pg_admin_url).set(database="by_missing_db")
    return {"missing": missing.render_as_string(hide_password=False)}


def _needs_pg(case: Cli) -> bool:
    return any("{pg" in a for a in case.args)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.postgres) if _needs_pg(CLI_CASES[name]) else name
        for name in sorted(CLI_CASES)
    ],
)
def test_bad_input_on_the_command_line(
    name: str, arena: Path, request: pytest.FixtureRequest
) -> None:
    case = CLI_CASES[name]
    pg: dict[str, str] = {}
    if _needs_pg(case):
        pg = dict(request.getfixturevalue("pg_urls"))
        if any("{pg}" in a for a in case.args):
            pg["pg"] = request.getfixturevalue("pg_database")
    args = [_fill(a, arena, pg) for a in case.args]
    before = _snapshot(arena)
    result = CliRunner().invoke(cli_app, ["-C", str(arena), *args], env=case.env or None)
    shown = f"batchyard {' '.join(args)}\nexit {result.exit_code}\n{result.output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{shown}\nescaped: {result.exception!r}") from result.exception
    assert result.exit_code == 2, shown
    message = _the_message(result.stderr)
    assert message, f"no single error message\n{shown}"
    assert not RAW.search(result.stderr), shown
    assert re.search(case.match, message), f"{case.match!r} not in {message!r}\n{shown}"
    ENGINES.dispose()
    assert _snapshot(arena) == before, f"files changed\n{shown}"


# -- the REST API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    method: str
    path: str
    body: Any
    match: str


def job(kind: str, match: str, **params: Any) -> Api:
    return Api("POST", "/api/jobs", {"kind": kind, "params": params}, match)


OUTSIDE = "/tmp/batchyard-outside/x.db"

API_CASES: dict[str, Api] = {
    # paths outside the project, in every form a driver would open
    **{
        f"{kind} {param} as {form}": job(kind, r"outside the project", **{**base, param: url})
        for form, url in {
            "sqlite+pysqlite URL": f"sqlite+pysqlite:///{OUTSIDE}",
            "upper-case SQLITE URL": f"SQLITE:///{OUTSIDE}",
            "sqlite URI form": f"sqlite:///file:{OUTSIDE}?mode=rwc&uri=true",
            "parent folder path": "../../outside.db",
        }.items()
        for kind, param, base in [
            ("export", "to", {"source": "src.db", "format": "sqlite"}),
            ("import", "target", {"file": "good.csv"}),
            ("migrate", "source", {"target": "out.db"}),
            ("collect", "connection", {"url": "http://127.0.0.1:9/x", "table": "t"}),
        ]
    },
    "inspect sources outside": job(
        "inspect", r"outside the project", sources=[f"sqlite+pysqlite:///{OUTSIDE}"]
    ),
    "validate target outside": job(
        "validate",
        r"outside the project",
        target=f"sqlite+pysqlite:///{OUTSIDE}",
        rules="rules.yaml",
    ),
    "verify target outside": job(
        "verify", r"outside the project", source="src.db", target=f"sqlite+pysqlite:///{OUTSIDE}"
    ),
    "summary target outside": job(
        "summary", r"outside the project", target=f"sqlite+aiosqlite:///{OUTSIDE}"
    ),
    "backup dir outside": job(
        "backup", r"outside the project", source="src.db", dir="/tmp/elsewhere"
    ),
    "restore backup outside": job(
        "restore", r"outside the project", backup="/etc", target="new.db"
    ),
    # SQL where it does not belong
    "export where setval": job(
        "export",
        r"where",
        source="src.db",
        to="out",
        tables=["players"],
        where="setval('players_id_seq', 888888) > 0",
    ),
    "export where two statements": job(
        "export",
        r"where",
        source="src.db",
        to="out",
        tables=["players"],
        where="1=1; DROP TABLE bets",
    ),
    "validate where two statements": job(
        "validate", r"where", target="src.db", rules="rules.yaml", where="1=1; DROP TABLE bets"
    ),
    "export query that deletes": job(
        "export", r"query", source="src.db", to="out", query="DELETE FROM bets"
    ),
    # collect params refused up front
    "collect rate -1": job(
        "collect", r"rate", url="http://127.0.0.1:9/x", keys=["a"], table="t", rate=-1
    ),
    "collect timeout 0": job(
        "collect", r"timeout", url="http://127.0.0.1:9/x", keys=["a"], table="t", timeout=0
    ),
    "collect file URL": job(
        "collect", r"url|file", url="file:///etc/passwd", keys=["a"], table="t"
    ),
    "collect no scheme": job("collect", r"url|scheme", url="example.com/x", keys=["a"], table="t"),
    "collect concurrency 2000": job(
        "collect",
        r"concurrency",
        url="http://127.0.0.1:9/x",
        keys=["a"],
        table="t",
        concurrency=2000,
    ),
    "collect CRLF header": job(
        "collect",
        r"header",
        url="http://127.0.0.1:9/x",
        keys=["a"],
        table="t",
        headers={"X-A": "b\r\nX-Evil: 1"},
    ),
    "collect retries -1": job(
        "collect", r"retries", url="http://127.0.0.1:9/x", keys=["a"], table="t", request_retries=-1
    ),
    "collect into mysql": job(
        "collect",
        r"mysql",
        url="http://127.0.0.1:9/x",
        keys=["a"],
        table="t",
        connection="mysql://x/y",
    ),
    # kinds' own params
    "import unknown type": job(
        "import", r"frob", file="good.csv", target="out.db", types=["score=frob"]
    ),
    "import short row": job("import", r"short\.csv", file="short.csv", target="out.db", table="t"),
    "migrate skip-bad unknown": job(
        "migrate", r"nosuch", source="src.db", target="out.db", skip_bad=["nosuch.col"]
    ),
    "generate unknown dataset": job("generate", r"frob", dataset="frob", to="g.db"),
    "unknown kind": Api("POST", "/api/jobs", {"kind": "frobnicate", "params": {}}, r"frobnicate"),
    "run with 100,000 workers": Api(
        "POST", "/api/jobs", {"kind": "nums", "params": {"n": 2}, "workers": 100000}, r"workers"
    ),
    "multi-validate with a bad second item": Api(
        "POST",
        "/api/batch/projects/multi-validate",
        {
            "items": [
                {"target": "src.db", "rules": "rules.yaml"},
                {"target": "src.db", "rules": "nosuch.yaml"},
            ]
        },
        r"nosuch|items\.1",
    ),
    "acknowledge an unknown alert": Api(
        "POST", "/api/alerts/987/acknowledge", {"by": "ana"}, r"no alert 987"
    ),
    "silence an alert with a bad duration": Api(
        "POST", "/api/alerts/987/silence", {"for": "frob"}, r"frob"
    ),
    "silence an alert with neither until nor for": Api(
        "POST", "/api/alerts/987/silence", {}, r"give one of until"
    ),
    "check an unknown alert channel": Api(
        "POST", "/api/alerts/channels/nosuch/check", None, r"nosuch"
    ),
    "bulk execute of an unknown pipeline": Api(
        "POST", "/api/batch/pipelines/bulk-execute", {"pipelines": ["small", "nosuch"]}, r"nosuch"
    ),
}


class _Client:
    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_bad_input_over_the_api(name: str, arena: Path) -> None:
    from batchyard.api import ServeOptions, create_app

    case = API_CASES[name]
    before = _snapshot(arena)
    app = create_app(root=arena, options=ServeOptions(max_jobs=1))
    try:
        client = _Client(app)
        jobs_before = client.request("GET", "/api/jobs").json()["total"]
        response = client.request(case.method, case.path, json=case.body)
        shown = f"{case.method} {case.path} {json.dumps(case.body)}\n{response.status_code} {response.text}"
        assert 400 <= response.status_code < 500, shown
        assert response.headers["content-type"] == "application/problem+json", shown
        problem = response.json()
        text = f"{problem.get('detail', '')} {json.dumps(problem.get('errors', []))}"
        assert problem.get("detail"), shown
        assert not RAW.search(response.text), shown
        assert re.search(case.match, text, re.I), f"{case.match!r} not in {text!r}"
        listed = client.request("GET", "/api/jobs").json()
        assert listed["total"] == jobs_before, f"a job was made\n{shown}\n{listed}"
    finally:
        app.state.service.close()
        ENGINES.dispose()
    assert _snapshot(arena) == before, f"files changed\n{shown}"


def test_the_table_is_big_enough() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 100
