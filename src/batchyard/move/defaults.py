"""Column defaults carried to the target: as written between SQLite files, translated into
PostgreSQL, dropped (with a note in the job's log) where PostgreSQL cannot take them.

Into PostgreSQL a SQLite default goes by what SQLite would store for it (with the column's
affinity: ``TEXT DEFAULT 1.50`` stores the text ``'1.5'``), under the same rule as the rows: it
must fit the column's type (see :mod:`batchyard.move.fits`). ``"StartTime" timestamp DEFAULT 0``
stores the integer 0, which no timestamp is: the default is dropped. The current time
(``CURRENT_TIMESTAMP``, ``datetime('now')``, ``strftime('%s', 'now')``, ...) becomes PostgreSQL's
current time in UTC, as SQLite gives it, in the column's type (the same text, for a text column).
Other expressions (``random()``, ``lower(hex(randomblob(16)))``) have no counterpart and are dropped.
From PostgreSQL, literals and ``CURRENT_TIMESTAMP`` are kept, other expressions dropped as before.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from batchyard.db import connect as opener
from batchyard.db.types import ColumnType
from batchyard.move import fits

#: The current time as SQLite expressions write it (lower case, no spaces), by what it gives.
CLOCKS = {
    "current_timestamp": "timestamp",
    "datetime('now')": "timestamp",
    "current_date": "date",
    "date('now')": "date",
    "current_time": "time",
    "time('now')": "time",
    "strftime('%s','now')": "epoch",
    "cast(strftime('%s','now')asint)": "epoch",
    "cast(strftime('%s','now')asinteger)": "epoch",
    "unixepoch()": "epoch",
    "unixepoch('now')": "epoch",
}

# A constant: numbers, strings, blobs, NULL, TRUE, FALSE and operators between them.
_CONSTANT = re.compile(
    r"""^(?:\s+|[-+*/%()|]|0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"""
    r"""|[xX]'[0-9a-fA-F]*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|NULL|TRUE|FALSE)+$""",
    re.IGNORECASE,
)

# One literal, which a SQLite DEFAULT takes bare (anything else goes in parentheses).
_LITERAL = re.compile(
    r"""^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+|'(?:[^']|'')*'"""
    r"""|[xX]'[0-9a-fA-F]*'|NULL|TRUE|FALSE|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME)$""",
    re.IGNORECASE,
)

# The current UTC time in PostgreSQL, as SQLite gives it (whole seconds).
_NOW = "(CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC')"
_EPOCH = "floor(extract(epoch FROM CURRENT_TIMESTAMP))::bigint"
_CLOCK_TEXT = {
    "timestamp": f"to_char({_NOW}, 'YYYY-MM-DD HH24:MI:SS')",
    "date": f"to_char({_NOW}, 'YYYY-MM-DD')",
    "time": f"to_char({_NOW}, 'HH24:MI:SS')",
    "epoch": f"({_EPOCH})::text",
}
_CLOCK_TYPED = {
    ("datetime", "timestamp"): _NOW,
    ("datetime", "date"): f"({_NOW}::date::timestamp)",
    ("date", "date"): f"({_NOW}::date)",
    ("time", "time"): f"({_NOW}::time)",
    ("integer", "epoch"): f"({_EPOCH})",
    ("float", "epoch"): f"({_EPOCH})",
    ("decimal", "epoch"): f"({_EPOCH})",
}


@dataclass(frozen=True)
class Stored:
    """What SQLite stores for a column's default: a storage class (``integer``, ``real``,
    ``text``, ``blob``; ``invalid`` for text that is not UTF-8) and the value as text (a blob's in
    hex). For the current time, ``clock`` says which (see :data:`CLOCKS`) and the value is a sample."""

    storage: str
    value: str
    clock: str = ""

    def python(self) -> Any:
        if self.storage == "integer":
            return int(self.value)
        if self.storage == "real":
            return float(self.value)
        if self.storage == "blob":
            return bytes.fromhex(self.value)
        return self.value


def clock_of(text: str) -> str:
    """Which current time a SQLite default expression gives, or ``""``."""
    return CLOCKS.get(re.sub(r"\s+", "", text.lower().replace('"', "'")), "")


def stored(declared: str, text: str | None, con: sqlite3.Connection) -> Stored | None:
    """What SQLite stores for ``DEFAULT text`` in a column declared ``declared`` (None: no default,
    NULL, or an expression). ``con`` is a scratch connection (``:memory:``)."""
    if text is None:
        return None
    clock = clock_of(text)
    if not clock and not _CONSTANT.match(text):
        return None
    con.text_factory = bytes
    try:
        con.execute("DROP TABLE IF EXISTS d")
        try:
            con.execute(f"CREATE TABLE d (c {declared})")
        except sqlite3.Error:  # a declared type SQLite reads, but not as written here
            con.execute("CREATE TABLE d (c)")
        con.execute(f"INSERT INTO d VALUES (({_single_quoted(text)}))")
        storage, value = con.execute("SELECT typeof(c), c FROM d").fetchone()
    except sqlite3.Error:
        return None
    storage = storage.decode()
    if storage == "null":
        return None
    if storage == "blob":
        return Stored("blob", bytes(value).hex(), clock)
    if storage == "text":
        try:
            return Stored("text", value.decode("utf-8"), clock)
        except UnicodeDecodeError:
            return Stored("invalid", value.hex(), clock)
    return Stored(storage, repr(value), clock)


def _single_quoted(text: str) -> str:
    """A string written in double quotes (which SQLite reads as one in a DEFAULT, where no column
    is in sight) in single quotes, which it reads as one anywhere."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return "'" + text[1:-1].replace('""', '"').replace("'", "''") + "'"
    return text


def for_sqlite(text: str) -> str:
    """A SQLite default as written (SQLite's table_info gives it without its parentheses)."""
    text = _single_quoted(text.strip())
    return text if _LITERAL.match(text) else f"({text})"


def for_postgres(
    column_type: ColumnType, cast: bool, text: str | None, found: Stored | None
) -> tuple[str | None, str]:
    """The ``DEFAULT`` of a column from SQLite in PostgreSQL (None: none), and why a default
    written in SQLite was dropped (``""`` when it was not)."""
    if text is None or text.strip().upper() == "NULL":
        return None, ""
    logical = column_type.logical
    column = f"a PostgreSQL {column_type.postgres()} column"
    if found is None:
        return None, "an expression of SQLite's that PostgreSQL has no counterpart for"
    if found.storage == "invalid" or not _fits(logical, cast, found):
        shown = (
            "text that is not UTF-8"
            if found.storage == "invalid"
            else f"the {found.storage} {found.value}"[:80]
        )
        return None, f"SQLite stores {shown}, which {column} cannot hold"
    if found.clock:
        sql = _clock(logical, found)
        return (sql, "") if sql else (None, f"{column} has no current time")
    return _literal(logical, found.python()), ""


def _fits(logical: str, cast: bool, found: Stored) -> bool:
    cond = fits.condition(logical, ":v", cast=cast)
    if cond is None:
        return True
    con = opener.scratch()
    try:
        fits.prepare(con)
        return bool(con.execute(f"SELECT {cond}", {"v": found.python()}).fetchone()[0])
    finally:
        con.close()


def _clock(logical: str, found: Stored) -> str | None:
    if logical == "text":
        return _CLOCK_TEXT[found.clock]
    if logical == "any":
        inner = f"({_EPOCH})" if found.storage == "integer" else _CLOCK_TEXT[found.clock]
        return f"to_jsonb({inner})"
    return _CLOCK_TYPED.get((logical, found.clock))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(logical: str, value: Any) -> str:
    """``value`` (as SQLite stores it, fitting ``logical``) as a PostgreSQL literal."""
    if logical == "boolean":
        return "TRUE" if value else "FALSE"
    if logical in ("integer", "float", "decimal") and isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "'Infinity'" if value > 0 else "'-Infinity'"
        return repr(value)
    if logical == "blob":
        data = value if isinstance(value, bytes) else _text(value).encode("utf-8")
        return f"'\\x{data.hex()}'::bytea"
    if logical == "any":
        return _quote(_json_scalar(value)) + "::jsonb"
    return _quote(_text(value))


def _text(value: Any) -> str:
    """A value converted to text as the copy converts it (numbers: Python's exact form)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value if isinstance(value, str) else repr(value)


def _json_scalar(value: Any) -> str:
    """A value of an untyped column as the copy writes it into jsonb (see copy.py)."""
    if isinstance(value, bytes):
        return json.dumps({"$b64": base64.b64encode(value).decode("ascii")})
    if isinstance(value, float):
        return f"{value:.1f}" if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
