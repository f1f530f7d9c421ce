"""Real-world SQLite schemas, awkward ones included, migrated to PostgreSQL.

Each case is modelled on a schema found in the wild (Chinook, Northwind, Django, Rails, Android
apps, exports from spreadsheets). It either migrates exactly, or is refused (exit 2, a message
naming the table, the column and the options that let it through) and then migrates exactly with
those options. "Exactly" is checked twice: by ``--verify`` (the job fails unless every table is
identical) and here, row by row, every source value against the value PostgreSQL returns.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from typer.testing import CliRunner

from batchyard.cli import app as cli_app
from batchyard.move.copy import pg_dsn

LONG = "customer_lifetime_value_projection_for_the_next_fiscal_year_in_usd"  # 66 bytes


def rows_of(n: int, select: str) -> str:
    """``SELECT`` ``select`` (with ``i`` from 1 to ``n``): many rows in one statement."""
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        f"SELECT {select} FROM s"
    )


@dataclass
class Case:
    name: str
    sql: str
    #: Fragments of the refusal (empty: the schema migrates as it is).
    refused: tuple[str, ...] = ()
    #: The options the refusal names, which then let it through.
    options: tuple[str, ...] = ()
    #: Per table: the source rows those options leave out (a WHERE clause).
    left_out: dict[str, str] = field(default_factory=dict)
    #: What verify says of the tables rows were left out of.
    verified: tuple[str, ...] = ()
    #: Fragments the CLI output shows (notes on the schema).
    notes: tuple[str, ...] = ()
    #: More checks of the target's schema (given a psycopg connection).
    check: Callable[[Any], None] | None = None


def _defaults(pg: Any) -> None:
    found = dict(
        pg.execute(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'sessions'"
        ).fetchall()
    )
    assert found["StartTime"] is None  # 0 is no timestamp: left out
    assert found["flag"] is None  # 'no' is no boolean (SQLite stores the text)
    assert found["token"] is None  # an expression of SQLite's
    # CURRENT_TIMESTAMP, in UTC as SQLite gives it
    assert "at time zone 'utc'" in found["created_at"].lower()
    assert "epoch" in found["updated"]
    assert found["label"] == "'1.5'::text"  # TEXT DEFAULT 1.50: SQLite stores the text '1.5'
    assert found["score"] == "0.0"  # REAL DEFAULT 0: SQLite stores the real 0.0
    pg.execute('INSERT INTO sessions (id, "StartTime") VALUES (9999, now())')
    row = pg.execute(
        "SELECT created_at, updated, label, score, created_at::date = (now() AT TIME ZONE 'UTC')"
        "::date FROM sessions WHERE id = 9999"
    ).fetchone()
    assert row[0] is not None and row[1] > 1_700_000_000 and row[2:] == ("1.5", 0, True)


def _long_names(pg: Any) -> None:
    cols = [
        r[0]
        for r in pg.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "ORDER BY attnum",
            (f'"{LONG}_by_region"',),
        ).fetchall()
    ]
    assert len(cols) == 6 and len(set(cols)) == 6
    assert all(len(c.encode()) <= 63 for c in cols)
    # The three the same in their first 63 bytes: each its head and a hash of its name.
    assert [c[54:55] for c in cols[1:4]] == ["_"] * 3 and len(set(cols[1:4])) == 3
    assert cols[4] == f"a_{LONG}"[:63]  # cut alone: as PostgreSQL cuts it
    # The whole name still finds the column cut alone (PostgreSQL cuts it in queries too).
    pg.execute(f'SELECT "a_{LONG}" FROM "{LONG}_by_region"').fetchall()


def _autoincrement(pg: Any) -> None:
    pg.execute("INSERT INTO tickets (title) VALUES ('next')")
    assert pg.execute("SELECT max(id) FROM tickets").fetchone()[0] == 1002


def _no_views(pg: Any) -> None:
    tables = {
        r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables == {"products", "categories"}


CASES = [
    Case(
        "chinook",
        """
        CREATE TABLE "Artist" ("ArtistId" INTEGER NOT NULL, "Name" NVARCHAR(120),
            CONSTRAINT "PK_Artist" PRIMARY KEY ("ArtistId"));
        CREATE TABLE "Album" ("AlbumId" INTEGER NOT NULL, "Title" NVARCHAR(160) NOT NULL,
            "ArtistId" INTEGER NOT NULL, CONSTRAINT "PK_Album" PRIMARY KEY ("AlbumId"),
            FOREIGN KEY ("ArtistId") REFERENCES "Artist" ("ArtistId"));
        CREATE TABLE "Track" ("TrackId" INTEGER NOT NULL, "Name" NVARCHAR(200) NOT NULL,
            "AlbumId" INTEGER, "Composer" NVARCHAR(220), "Milliseconds" INTEGER NOT NULL,
            "Bytes" INTEGER, "UnitPrice" NUMERIC(10,2) NOT NULL,
            CONSTRAINT "PK_Track" PRIMARY KEY ("TrackId"),
            FOREIGN KEY ("AlbumId") REFERENCES "Album" ("AlbumId"));
        CREATE TABLE "Invoice" ("InvoiceId" INTEGER NOT NULL, "InvoiceDate" DATETIME NOT NULL,
            "BillingCity" NVARCHAR(40), "Total" NUMERIC(10,2) NOT NULL,
            CONSTRAINT "PK_Invoice" PRIMARY KEY ("InvoiceId"));
        CREATE INDEX "IFK_AlbumArtistId" ON "Album" ("ArtistId");
        CREATE INDEX "IFK_TrackAlbumId" ON "Track" ("AlbumId");
        INSERT INTO "Artist" VALUES (1, 'AC/DC'), (2, 'Antônio Carlos Jobim'),
            (3, 'Mötley Crüe'), (4, 'Apocalyptica'), (5, NULL);
        INSERT INTO "Album" VALUES (1, 'For Those About To Rock We Salute You', 1),
            (2, 'Warner 25 Anos', 2), (3, 'Dr. Feelgood', 3);
        INSERT INTO "Track" """
        + rows_of(
            12_000,
            "i, 'Track ' || i || ' \u2013 «live»', 1 + i % 3, CASE WHEN i % 5 = 0 THEN NULL "
            "ELSE 'Angus Young, Malcolm Young, Brian Johnson' END, 200000 + i * 7, "
            "6000000 + i * 13, CASE WHEN i % 4 = 0 THEN 1.99 ELSE 0.99 END",
        )
        + """;
        INSERT INTO "Invoice" """
        + rows_of(
            400,
            "i, datetime('2009-01-01', '+' || i || ' days'), 'Stuttgart', "
            "round((i % 30) * 0.99 + 0.98, 2)",
        )
        + ";",
    ),
    Case(
        "northwind, with spaces in names, defaults, CHECKs and a view",
        """
        CREATE TABLE [Categories] ([CategoryID] INTEGER PRIMARY KEY AUTOINCREMENT,
            [CategoryName] TEXT, [Description] TEXT, [Picture] BLOB);
        CREATE TABLE [Products] ([ProductID] INTEGER PRIMARY KEY AUTOINCREMENT,
            [ProductName] TEXT NOT NULL, [CategoryID] INTEGER, [QuantityPerUnit] TEXT,
            [UnitPrice] NUMERIC DEFAULT 0, [UnitsInStock] INTEGER DEFAULT 0,
            [Discontinued] TEXT NOT NULL DEFAULT '0',
            CHECK ([UnitPrice] >= 0), CHECK ([UnitsInStock] >= 0),
            FOREIGN KEY ([CategoryID]) REFERENCES [Categories] ([CategoryID]));
        CREATE TABLE [Order Details] ([OrderID] INTEGER NOT NULL, [ProductID] INTEGER NOT NULL,
            [UnitPrice] NUMERIC NOT NULL DEFAULT 0, [Quantity] INTEGER NOT NULL DEFAULT 1,
            [Discount] REAL NOT NULL DEFAULT 0, PRIMARY KEY ("OrderID", "ProductID"),
            CHECK ([Discount] >= (0) AND [Discount] <= (1)), CHECK ([Quantity] > (0)),
            FOREIGN KEY ([ProductID]) REFERENCES [Products] ([ProductID])) WITHOUT ROWID;
        CREATE VIEW [Alphabetical list of products] AS SELECT Products.*,
            Categories.CategoryName FROM Categories INNER JOIN Products
            ON Categories.CategoryID = Products.CategoryID WHERE Products.Discontinued = '0';
        INSERT INTO Categories VALUES (1, 'Beverages', 'Soft drinks, coffees, teas',
            X'151C2F00020000000D000E0014002100FFFFFFFF'), (2, 'Condiments', 'Sweet & savory', NULL);
        INSERT INTO Products VALUES (1, 'Chai', 1, '10 boxes x 20 bags', 18, 39, '0'),
            (2, 'Chef Anton''s Cajun Seasoning', 2, '48 - 6 oz jars', 22, 53, '0'),
            (3, 'Guaraná Fantástica', 1, '12 - 355 ml cans', 4.5, 20, '1');
        INSERT INTO [Order Details] """
        + rows_of(3_000, "10248 + i / 3, 1 + i % 3, 14 + (i % 7) * 0.5, 1 + i % 40, (i % 5) * 0.05")
        + ";",
    ),
    Case(
        "defaults of the wrong type, and the current time",
        """
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, "StartTime" timestamp DEFAULT 0,
            created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
            updated INTEGER DEFAULT (strftime('%s', 'now')), flag BOOLEAN DEFAULT 'no',
            token TEXT DEFAULT (lower(hex(randomblob(16)))), label TEXT DEFAULT 1.50,
            score REAL DEFAULT 0);
        INSERT INTO sessions (id, "StartTime", created_at, updated, flag, token, label, score)
        """
        + rows_of(
            500,
            "i, '2024-03-01 10:00:00', '2024-03-01 10:00:01', 1709287201, i % 2, 'tok' || i, "
            "'x', i * 0.25",
        )
        + ";",
        notes=(
            "sessions.StartTime: DEFAULT 0 left out: SQLite stores the integer 0, which a "
            "PostgreSQL timestamp column cannot hold",
            "sessions.token: DEFAULT lower(hex(randomblob(16))) left out",
        ),
        check=_defaults,
    ),
    Case(
        "names past PostgreSQL's 63 bytes",
        f"""
        CREATE TABLE "{LONG}_by_region" (id INTEGER PRIMARY KEY,
            "{LONG}_2024" REAL, "{LONG}_2025" REAL, "{LONG}_a" TEXT, "a_{LONG}" TEXT,
            region TEXT);
        CREATE INDEX "ix_{LONG}_by_region_on_region_and_the_2024_projection"
            ON "{LONG}_by_region" (region, "{LONG}_2024");
        INSERT INTO "{LONG}_by_region" """
        + rows_of(2_000, "i, i * 1.5, i * 2.5, 'a' || i, 'b' || i, 'EMEA'")
        + ";",
        notes=(f"{LONG}_by_region.{LONG}_2024: named '{LONG[:54]}_",),
        check=_long_names,
    ),
    Case(
        "text in a BLOB column (an app storing JSON as text)",
        """
        CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB, expires INTEGER) WITHOUT ROWID;
        INSERT INTO cache """
        + rows_of(
            9_000,
            "'k' || i, CASE WHEN i % 1000 = 7 THEN '{\"user\": ' || i || ', \"ok\": true}' "
            "ELSE randomblob(16) END, 1700000000 + i",
        )
        + ";",
        refused=("cache.value (blob): 9 value(s) do not fit", "k1007: text"),
        options=("--type", "cache.value=blob"),
    ),
    Case(
        "text that is not UTF-8, and a NUL",
        """
        CREATE TABLE messages (id INTEGER PRIMARY KEY, sender TEXT, body TEXT);
        INSERT INTO messages """
        + rows_of(6_000, "i, 'sender ' || i, 'body ' || i")
        + """;
        UPDATE messages SET body = CAST(X'4361666520C3A9FF' AS TEXT) WHERE id = 5500;
        UPDATE messages SET body = CAST(X'610062' AS TEXT) WHERE id = 20;
        """,
        refused=(
            "messages.body (text): 2 value(s) do not fit",
            "20: text (not UTF-8, or with NUL) X'610062'",
        ),
        options=("--type", "messages.body=blob"),
    ),
    Case(
        "mixed types in one column (a spreadsheet export)",
        """
        CREATE TABLE scores (id INTEGER PRIMARY KEY, player TEXT, score INTEGER, ratio REAL);
        INSERT INTO scores """
        + rows_of(7_000, "i, 'p' || i, i % 100, i / 7.0")
        + """;
        UPDATE scores SET score = 'N/A' WHERE id IN (3, 6500);
        UPDATE scores SET score = 12.5 WHERE id = 4;
        UPDATE scores SET ratio = '' WHERE id = 9;
        """,
        refused=(
            "scores.score (integer): 3 value(s) do not fit, e.g. 3: text 'N/A'",
            "scores.ratio (float): 1 value(s) do not fit",
        ),
        options=("--type", "scores.score=text", "--type", "scores.ratio=text"),
    ),
    Case(
        "dates that are no dates, left out",
        """
        CREATE TABLE games (id INTEGER PRIMARY KEY, played DATE, home TEXT);
        INSERT INTO games """
        + rows_of(3_000, "i, date('2020-01-01', '+' || i || ' days'), 'team ' || (i % 30)")
        + """;
        UPDATE games SET played = '2024-02-30' WHERE id = 17;
        UPDATE games SET played = 'TBD' WHERE id = 2999;
        """,
        refused=("games.played (date): 2 value(s) do not fit",),
        options=("--skip-bad", "games.played"),
        left_out={"games": "id IN (17, 2999)"},
        verified=("3,000 rows in the source, 2,998 in the target",),
    ),
    Case(
        "reserved words as names",
        """
        CREATE TABLE "order" ("select" INTEGER PRIMARY KEY, "from" TEXT, "limit" INTEGER,
            "offset" REAL, "desc" TEXT, "default" TEXT DEFAULT 'user', "check" BOOLEAN);
        CREATE TABLE "user" (id INTEGER PRIMARY KEY, "group" TEXT, "order" INTEGER
            REFERENCES "order" ("select"));
        CREATE INDEX "index" ON "user" ("group");
        INSERT INTO "order" """
        + rows_of(1_000, "i, 'from ' || i, i, i / 3.0, 'desc', 'user', i % 2")
        + """;
        INSERT INTO "user" """
        + rows_of(500, "i, 'group ' || (i % 7), i")
        + ";",
    ),
    Case(
        "quoted names with spaces, quotes, dots and percent signs",
        """
        CREATE TABLE "it's a ""table"" here" ("first name" TEXT, "it's" INTEGER PRIMARY KEY,
            "100% done" BOOLEAN, "a.b" REAL, "tab	name" TEXT);
        CREATE TABLE "sales.2024" ("region.code" TEXT, "q1 (EUR)" NUMERIC(12,2),
            "growth %" REAL);
        CREATE UNIQUE INDEX "ux ""quoted"" index" ON "sales.2024" ("region.code");
        INSERT INTO "it's a ""table"" here" """
        + rows_of(800, "'Zoë ' || i, i, i % 2, i * 0.1, 'tab'")
        + """;
        INSERT INTO "sales.2024" VALUES ('EU.DE', 1234567.89, 0.05), ('EU.FR', 99.9, -0.01),
            ('US', NULL, NULL);
        """,
    ),
    Case(
        "WITHOUT ROWID tables and composite keys",
        """
        CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
        CREATE TABLE edges (src INTEGER, dst INTEGER, weight REAL,
            PRIMARY KEY (src, dst)) WITHOUT ROWID;
        CREATE TABLE counters (day DATE, name TEXT, n INTEGER, PRIMARY KEY (day, name));
        INSERT INTO kv """
        + rows_of(2_000, "printf('key%05d', i), randomblob(i % 40)")
        + """;
        INSERT INTO edges """
        + rows_of(5_000, "i, i * 7 % 1013, i / 1000.0")
        + """;
        INSERT INTO counters """
        + rows_of(300, "date('2024-01-01', '+' || (i / 3) || ' days'), 'c' || (i % 3), i")
        + ";",
    ),
    Case(
        "columns with no declared type",
        """
        CREATE TABLE log (id INTEGER PRIMARY KEY, payload, extra, ts);
        INSERT INTO log """
        + rows_of(
            4_000,
            "i, CASE i % 5 WHEN 0 THEN i WHEN 1 THEN i * 1.5 WHEN 2 THEN 'text ' || i "
            "WHEN 3 THEN randomblob(8) ELSE NULL END, CASE WHEN i % 2 THEN 2.0 ELSE 1e300 END, "
            "datetime('2024-01-01', '+' || i || ' minutes')",
        )
        + ";",
    ),
    Case(
        "CHECK constraints in SQLite's syntax",
        """
        CREATE TABLE accounts (id INTEGER PRIMARY KEY,
            status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
            code TEXT CHECK (length(code) = 3 AND code GLOB '[A-Z]*'),
            opened DATE CHECK (date(opened) IS NOT NULL),
            balance INTEGER CHECK (typeof(balance) = 'integer'),
            CONSTRAINT positive CHECK (balance >= 0 OR status = 'closed'));
        INSERT INTO accounts """
        + rows_of(
            2_500,
            "i, CASE WHEN i % 9 THEN 'open' ELSE 'closed' END, 'ABC', "
            "date('2019-06-01', '+' || i || ' days'), i * 100",
        )
        + ";",
    ),
    Case(
        "AUTOINCREMENT",
        """
        CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,
            opened TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO tickets (id, title, opened) """
        + rows_of(1_001, "i, 'ticket ' || i, '2024-05-01 09:00:00'")
        + """;
        DELETE FROM tickets WHERE id = 1001;
        """,
        check=_autoincrement,
    ),
    Case(
        "views and triggers",
        """
        CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE products (id INTEGER PRIMARY KEY, category INTEGER REFERENCES categories,
            name TEXT, price REAL, updated TEXT);
        CREATE VIEW cheap AS SELECT * FROM products WHERE price < 10;
        CREATE VIEW per_category AS SELECT category, count(*) AS n FROM products GROUP BY 1;
        CREATE TRIGGER touch AFTER UPDATE ON products BEGIN
            UPDATE products SET updated = datetime('now') WHERE id = NEW.id; END;
        INSERT INTO categories VALUES (1, 'tools'), (2, 'toys');
        INSERT INTO products """
        + rows_of(1_500, "i, 1 + i % 2, 'product ' || i, i * 0.37, NULL")
        + ";",
        check=_no_views,
    ),
    Case(
        "a Django app",
        """
        CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL,
            "applied" datetime NOT NULL);
        CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "password" varchar(128) NOT NULL, "last_login" datetime NULL,
            "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE,
            "email" varchar(254) NOT NULL, "is_active" bool NOT NULL,
            "date_joined" datetime NOT NULL);
        CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY,
            "session_data" text NOT NULL, "expire_date" datetime NOT NULL);
        CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
        INSERT INTO django_migrations VALUES (1, 'contenttypes', '0001_initial',
            '2024-01-02 10:11:12.345678'), (2, 'auth', '0001_initial', '2024-01-02 10:11:12.4');
        INSERT INTO auth_user """
        + rows_of(
            1_200,
            "i, 'pbkdf2_sha256$600000$' || hex(randomblob(12)), CASE WHEN i % 3 THEN "
            "'2024-06-0' || (1 + i % 9) || ' 08:30:00.' || printf('%06d', i) END, i = 1, "
            "'user' || i, 'user' || i || '@example.org', 1, '2023-12-31 23:59:59'",
        )
        + """;
        INSERT INTO django_session """
        + rows_of(900, "lower(hex(randomblob(20))), 'e30:1r' || i, '2024-07-01 00:00:00'")
        + ";",
    ),
    Case(
        "a Rails app",
        """
        CREATE TABLE "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
        CREATE TABLE "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY,
            "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
        CREATE TABLE "posts" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "title" varchar,
            "body" text, "published" boolean DEFAULT 0, "rating" decimal(3,1),
            "meta" json, "created_at" datetime(6) NOT NULL);
        CREATE INDEX "index_posts_on_published" ON "posts" ("published");
        INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240215093000');
        INSERT INTO ar_internal_metadata VALUES ('environment', 'production',
            '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000');
        INSERT INTO posts """
        + rows_of(
            2_000,
            "i, 'Post #' || i, 'Body ' || i, i % 2, (i % 50) / 10.0, "
            "json_object('tags', json_array('a', 'b'), 'n', i), '2024-02-03 04:05:06.123456'",
        )
        + ";",
    ),
    Case(
        "an Android app's database",
        """
        CREATE TABLE android_metadata (locale TEXT);
        CREATE TABLE IF NOT EXISTS "sms" (_id INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id INTEGER, address TEXT, date INTEGER, read INTEGER DEFAULT 0,
            body TEXT, seen INTEGER DEFAULT 0, uuid TEXT);
        INSERT INTO android_metadata VALUES ('en_US');
        INSERT INTO sms """
        + rows_of(
            5_000,
            "i, i % 40, '+4930' || (1000000 + i), 1700000000000 + i * 60000, i % 2, "
            "'Hi 👋 #' || i, 1, lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
            "substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || "
            "hex(randomblob(6)))",
        )
        + ";",
    ),
    Case(
        "timestamps in the forms apps write them, and numbers at their limits",
        """
        CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP, day DATE, t TIME,
            big INTEGER, tiny REAL, amount NUMERIC(18,4), id_text UUID);
        INSERT INTO events VALUES
            (1, '2024-06-01T07:08:09', '2024-06-01', '07:08:09', 9223372036854775807,
             5e-324, 12345678901234.5678, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
            (2, '2024-06-01 07:08:09.5', '0001-01-01', '23:59:59.999', -9223372036854775808,
             -0.0, -0.0001, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'),
            (3, '2024-06-01 07:08', '9999-12-31', '00:00', 0, 1e308, 0, NULL),
            (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        """,
    ),
    Case(
        "timestamps with a time zone (a timestamp column would drop the offset)",
        """
        CREATE TABLE logins (id INTEGER PRIMARY KEY, at DATETIME, who TEXT);
        INSERT INTO logins """
        + rows_of(2_000, "i, '2024-06-01 07:08:09', 'u' || i")
        + """;
        UPDATE logins SET at = '2024-06-01T07:08:09+02:00' WHERE id = 1500;
        UPDATE logins SET at = '2024-06-01T07:08:09.123Z' WHERE id = 1501;
        """,
        refused=(
            "logins.at (datetime): 2 value(s) do not fit, e.g. 1500: text '2024-06-01T07:08:09+02:00'; "
            "1501: text '2024-06-01T07:08:09.123Z'",
        ),
        options=("--type", "logins.at=text"),
    ),
    Case(
        "an untyped column holding a negative zero and an infinity (tagged in jsonb)",
        """
        CREATE TABLE readings (id INTEGER PRIMARY KEY, value);
        INSERT INTO readings """
        + rows_of(1_000, "i, CASE WHEN i % 2 THEN i ELSE i / 4.0 END")
        + """;
        UPDATE readings SET value = -0.0 WHERE id = 10;
        UPDATE readings SET value = 9e999 WHERE id = 11;
        """,
    ),
    Case(
        "blobs in a TEXT column, and an untyped key",
        """
        CREATE TABLE notes (id PRIMARY KEY, title TEXT, body TEXT);
        INSERT INTO notes """
        + rows_of(3_000, "'n' || i, 'title ' || i, 'body ' || i")
        + """;
        UPDATE notes SET body = CAST('plain text kept as a blob' AS BLOB) WHERE id = 'n2500';
        """,
        refused=("notes.body (text): 1 value(s) do not fit, e.g. n2500: blob",),
        options=("--type", "notes.body=text"),
    ),
]


def cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli_app, ["-C", str(tmp_path), *args])
    out = r.stdout + r.stderr
    assert ("Traceback" not in out and r.exception is None) or isinstance(r.exception, SystemExit)
    return r.exit_code, " ".join(out.split())


def canonical(value: Any) -> Any:
    """A hashable form that tells every value apart (-0.0 from 0.0, 1 from 1.0 and from '1')."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, Decimal):
        return ("decimal", value.normalize())
    if isinstance(value, memoryview | bytearray):
        return ("bytes", bytes(value))
    if isinstance(value, dict | list):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


def expected(value: Any, pg_type: str, untyped: bool) -> Any:
    """What PostgreSQL should return for a source value, by the type of the target column."""
    if value is None:
        return None
    base = pg_type.split("(")[0]
    if untyped or base == "bigint" or base == "double precision":
        return value
    if base == "numeric":
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if base == "boolean":
        return bool(value)
    if base == "text":
        if isinstance(value, bytes):
            return value.decode()
        return value if isinstance(value, str) else repr(value)
    if base == "bytea":
        return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    if base == "timestamp without time zone":
        return datetime.fromisoformat(value).replace(tzinfo=None)
    if base == "date":
        return date.fromisoformat(value)
    if base == "time without time zone":
        return time.fromisoformat(value)
    if base == "jsonb":
        return json.loads(value)
    if base == "uuid":
        return UUID(value)
    raise AssertionError(f"no expectation for {pg_type}")


def returned(value: Any, untyped: bool) -> Any:
    if untyped and isinstance(value, dict) and set(value) == {"$b64"}:
        import base64

        return base64.b64decode(value["$b64"])
    if untyped and isinstance(value, dict) and set(value) == {"$real"}:
        return float(value["$real"])  # -0.0 and the infinities, which JSON has no number for
    return bytes(value) if isinstance(value, memoryview) else value


def compare_rows(source: Path, target: str, left_out: dict[str, str]) -> int:
    """Every row of every source table against the target's, value by value; the rows compared."""
    con = sqlite3.connect(source)
    con.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    tables = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    compared = 0
    with psycopg.connect(pg_dsn(target)) as pg:
        pg.execute("SET TimeZone TO 'UTC'")
        listed = {
            r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert "_batchyard_migrate" not in listed  # dropped after success
        for table in tables:
            name = table.encode()[:63].decode("utf-8", "ignore")
            assert name in listed, table
            cols = pg.execute(
                "SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, "
                "attnum) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT "
                "attisdropped ORDER BY attnum",
                ('"' + name.replace('"', '""') + '"',),
            ).fetchall()
            quoted = '"' + table.replace('"', '""') + '"'
            where = f" WHERE NOT ({left_out[table]})" if table in left_out else ""
            src = con.execute(f"SELECT * FROM {quoted}{where}").fetchall()
            assert len(cols) == len(src[0]) if src else True
            want = Counter(
                tuple(
                    canonical(expected(v, c[1], c[2] == "batchyard:any"))
                    for v, c in zip(row, cols, strict=True)
                )
                for row in src
            )
            got = Counter(
                tuple(
                    canonical(returned(v, c[2] == "batchyard:any"))
                    for v, c in zip(row, cols, strict=True)
                )
                for row in pg.execute(f"SELECT * FROM {quoted}").fetchall()
            )
            assert got == want, (
                table,
                list((got - want).items())[:3],
                list((want - got).items())[:3],
            )
            compared += len(src)
    con.close()
    return compared


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_world_schemas_migrate_exactly_or_are_refused_with_what_lets_them_through(
    tmp_path: Path, pg_database: str, case: Case
) -> None:
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.executescript(case.sql)
    con.close()
    code, text = cli(tmp_path, "migrate", str(src), pg_database, "--chunk-rows", "5000")
    if case.refused:
        assert code == 2, text
        for fragment in case.refused:
            assert fragment in text, (fragment, text)
        # The refusal names the options that let the values through.
        for i in range(0, len(case.options), 2):
            assert f"{case.options[i]} {shlex.quote(case.options[i + 1])}" in text, text
        with psycopg.connect(pg_dsn(pg_database)) as pg:  # nothing is left behind
            assert pg.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone() == (0,)
        code, text = cli(
            tmp_path, "migrate", str(src), pg_database, "--chunk-rows", "5000", *case.options
        )
    assert code == 0, text
    for note in case.notes:
        assert note in text, (note, text)
    code, proof = cli(tmp_path, "verify", str(src), pg_database)
    if case.left_out:  # verify sees the rows left out, and nothing else
        for shown in case.verified:
            assert shown in proof, proof
    else:
        assert code == 0 and "table(s) identical" in proof, proof
    assert compare_rows(src, pg_database, case.left_out) > 0
    if case.check is not None:
        with psycopg.connect(pg_dsn(pg_database), autocommit=True) as pg:
            case.check(pg)
