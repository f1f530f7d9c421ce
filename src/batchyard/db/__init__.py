"""The one seam to users' databases: SQLite files, PostgreSQL servers, and data files read through
DuckDB.

    url.py       Dialect, and URLs parsed once (parse_url, the psycopg DSN, the SQLite file)
    database.py  Database: made once from a URL, a connection name or a path; connect(), engine()
    connect.py   the openers: DB-API connections, SQLAlchemy engines (ENGINES for ctx.write)
    wrap.py      wrap_errors(): driver errors become the error tree, naming the database; reason()
    quote.py     quote_identifier(), quote_literal()
    types.py     the logical type of every declared column type
    reflect.py   list_tables(), describe(): what the tables look like
    files.py     CSV, JSON and Parquet files as tables (DuckDB views)
    ledger.py    the target-side checkpoint table that makes data movement exactly-once
"""

from batchyard.db.connect import (
    ENGINES,
    PG_READ_ONLY,
    PG_SETTINGS,
    EngineCache,
    create_engine,
    pg_read_only,
)
from batchyard.db.database import Database
from batchyard.db.quote import quote_identifier, quote_literal
from batchyard.db.url import Dialect, parse_url, shares_database
from batchyard.db.wrap import is_driver_error, reason, wrap_errors

__all__ = [
    "ENGINES",
    "PG_READ_ONLY",
    "PG_SETTINGS",
    "Database",
    "Dialect",
    "EngineCache",
    "create_engine",
    "is_driver_error",
    "parse_url",
    "pg_read_only",
    "quote_identifier",
    "quote_literal",
    "reason",
    "shares_database",
    "wrap_errors",
]
