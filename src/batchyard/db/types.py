"""The type mapping: every column gets a logical type from its declared type, never from its data.

| logical   | from SQLite declared type (first rule that matches)       | PostgreSQL type    | SQLite type |
|-----------|-----------------------------------------------------------|--------------------|-------------|
| boolean   | BOOL, BOOLEAN                                              | boolean            | BOOLEAN     |
| integer   | contains INT                                               | bigint             | INTEGER     |
| decimal   | DECIMAL, NUMERIC, MONEY; DECIMAL BLOB (2)                  | numeric[(p,s)]     | (2)         |
| float     | contains REAL, FLOA, DOUB                                  | double precision   | REAL        |
| datetime  | DATETIME, TIMESTAMP                                        | timestamp          | TIMESTAMP   |
| date      | DATE                                                       | date               | DATE        |
| time      | TIME                                                       | time               | TIME        |
| json      | JSON, JSONB                                                | jsonb              | JSON        |
| uuid      | UUID                                                       | uuid               | UUID        |
| blob      | contains BLOB, BYTEA, BINARY                               | bytea              | BLOB        |
| any       | no declared type at all (SQLite stores anything there)    | jsonb, typed (1)   | (none)      |
| text      | contains CHAR, CLOB, TEXT; anything else                   | text               | TEXT        |

(1) A SQLite column without a declared type may hold integers, reals, text and blobs side by side. It
goes to PostgreSQL as ``jsonb`` holding each value as a JSON scalar (blobs as ``{"$b64": "..."}``), and
comes back to SQLite as the same values with the same storage classes.

(2) SQLite has no exact decimal: a NUMERIC column turns every number into an integer or a real,
which keeps 15 significant digits. A decimal of at most 15 digits (``numeric(p,s)``, p <= 15) goes
to ``NUMERIC``; a wider one, or one of no declared precision, to ``DECIMAL BLOB``: a column
with no affinity ("BLOB" in its declared type), which stores each value as it is given. migrate
gives it a number where an integer or a real is the decimal exactly, and the decimal's plain text
otherwise; it reads back as a decimal here.

PostgreSQL types map back by their own name (``bigint``/``integer``/``smallint`` → integer, ``text``/
``varchar`` → text, ...). A column with no declared type in SQLite holds anything: it maps to ``blob``
(see (1)) unless an override says otherwise. Overrides: ``{"table.column": "text"}`` (a logical type) or a raw
target type (``"varchar(20)"``).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

LOGICAL = (
    "boolean",
    "integer",
    "decimal",
    "float",
    "datetime",
    "date",
    "time",
    "json",
    "uuid",
    "blob",
    "any",
    "text",
)

#: The comment migrate leaves on a PostgreSQL ``jsonb`` column made from an untyped SQLite one.
ANY_COMMENT = "batchyard:any"

_PG = {
    "boolean": "boolean",
    "integer": "bigint",
    "decimal": "numeric",
    "float": "double precision",
    "datetime": "timestamp",
    "date": "date",
    "time": "time",
    "json": "jsonb",
    "uuid": "uuid",
    "blob": "bytea",
    "any": "jsonb",
    "text": "text",
}
_SQLITE = {
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "decimal": "NUMERIC",
    "float": "REAL",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "time": "TIME",
    "json": "JSON",
    "uuid": "UUID",
    "blob": "BLOB",
    "any": "",
    "text": "TEXT",
}


@dataclass(frozen=True)
class ColumnType:
    """A column's logical type, with the precision and scale of decimals when declared."""

    logical: str
    declared: str = ""
    precision: int | None = None
    scale: int | None = None

    def postgres(self) -> str:
        if self.logical == "decimal" and self.precision is not None:
            return f"numeric({self.precision},{self.scale or 0})"
        return _PG[self.logical]

    def sqlite(self) -> str:
        if self.logical == "decimal" and not self.exact_in_real:
            # Wider than a real keeps: no affinity, so SQLite keeps a wide value's exact text.
            # (No "(p,s)": SQLAlchemy reads a BLOB-like type with arguments with a warning.)
            return DECIMAL_BLOB
        if self.logical == "decimal" and self.precision is not None:
            return f"NUMERIC({self.precision},{self.scale or 0})"
        return _SQLITE[self.logical]

    @property
    def exact_in_real(self) -> bool:
        """A decimal of at most 15 digits: every value is exactly one SQLite real."""
        return self.precision is not None and self.precision <= 15

    def render(self, dialect: str) -> str:
        return self.postgres() if dialect == "postgresql" else self.sqlite()


#: The SQLite type of decimals wider than a real keeps: "BLOB" in the name means no affinity, so
#: SQLite stores numbers as numbers and a wide decimal's text as text, neither converted.
DECIMAL_BLOB = "DECIMAL BLOB"

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def from_sqlite(declared: str | None) -> ColumnType:
    """The logical type of a SQLite column from its declared type (SQLite's affinity rules, refined)."""
    text = (declared or "").strip()
    upper = text.upper()
    base = upper.split("(")[0].strip()
    m = _PRECISION.search(upper)
    precision = int(m.group(1)) if m else None
    scale = int(m.group(2)) if m and m.group(2) else None
    if not upper:
        return ColumnType("any", text)
    if base in ("BOOL", "BOOLEAN"):
        return ColumnType("boolean", text)
    if "INT" in upper:
        return ColumnType("integer", text)
    if base in ("DECIMAL", "MONEY", "NUMERIC", DECIMAL_BLOB):
        return ColumnType("decimal", text, precision, scale)
    if any(t in upper for t in ("REAL", "FLOA", "DOUB")):
        return ColumnType("float", text)
    if base in ("DATETIME", "TIMESTAMP", "TIMESTAMPTZ") or base.startswith("TIMESTAMP"):
        return ColumnType("datetime", text)
    if base == "DATE":
        return ColumnType("date", text)
    if base == "TIME":
        return ColumnType("time", text)
    if base in ("JSON", "JSONB"):
        return ColumnType("json", text)
    if base == "UUID":
        return ColumnType("uuid", text)
    if any(t in upper for t in ("BLOB", "BYTEA", "BINARY")):
        return ColumnType("blob", text)
    return ColumnType("text", text)


def from_postgres(declared: str) -> ColumnType:
    """The logical type of a PostgreSQL column from its type name (``format_type`` text)."""
    upper = declared.strip().upper()
    base = upper.split("(")[0].strip()
    m = _PRECISION.search(upper)
    if base in ("BOOLEAN", "BOOL"):
        return ColumnType("boolean", declared)
    if base in (
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "INT",
        "INT2",
        "INT4",
        "INT8",
        "BIGSERIAL",
        "SERIAL",
        "SMALLSERIAL",
    ):
        return ColumnType("integer", declared)
    if base in ("NUMERIC", "DECIMAL"):
        if m:
            return ColumnType(
                "decimal", declared, int(m.group(1)), int(m.group(2)) if m.group(2) else 0
            )
        return ColumnType("decimal", declared)
    if base in ("DOUBLE PRECISION", "REAL", "FLOAT4", "FLOAT8", "FLOAT"):
        return ColumnType("float", declared)
    if base.startswith("TIMESTAMP"):
        return ColumnType("datetime", declared)
    if base == "DATE":
        return ColumnType("date", declared)
    if base.startswith("TIME"):
        return ColumnType("time", declared)
    if base in ("JSON", "JSONB"):
        return ColumnType("json", declared)
    if base == "UUID":
        return ColumnType("uuid", declared)
    if base == "BYTEA":
        return ColumnType("blob", declared)
    return ColumnType("text", declared)


def override(value: str) -> ColumnType:
    """An override from the user: a logical type name, or a declared type to interpret."""
    if value.lower() in LOGICAL:
        return ColumnType(value.lower(), value)
    return from_sqlite(value)


_TEXT_WORDS = ("CHAR", "CLOB", "TEXT", "STRING")


def known_override(value: str) -> ColumnType | None:
    """:func:`override`, or None for a word that names no type (``frob``): SQLite would take any
    word as a type of text affinity, but a user who typed one meant something else."""
    found = override(value)
    if found.logical == "text" and not any(w in value.upper() for w in _TEXT_WORDS):
        return None
    return found


def unknown_type(option: str, raw: str, value: str) -> str:
    """What to tell a user whose ``option raw`` names no type."""
    return (
        f"{option} {raw!r}: {value!r} is not a type; use one of {', '.join(LOGICAL)}, "
        "or a SQL type such as BIGINT, NUMERIC(12,2) or VARCHAR(40)"
    )


def sqlite_decimal(value: Decimal) -> int | float | str:
    """What SQLite is given for a decimal so that no digit is lost: as NUMERIC affinity stores a
    number, an integer in 64 bits or else a real, where that is the decimal exactly (the real's
    shortest repr gives it back); otherwise its plain text (which NUMERIC affinity would round
    into a real, and a ``DECIMAL BLOB`` column keeps as it is)."""
    if value.is_finite():
        if value == value.to_integral_value() and -(2**63) <= value < 2**63:
            return int(value)
        real = float(value)
        if Decimal(repr(real)) == value:
            return real
    return format(value, "f")


#: The reals a JSON number cannot hold, as an untyped column's ``jsonb`` copy tags them (see (1)).
TAGGED_REALS = {"-0.0": -0.0, "Infinity": math.inf, "-Infinity": -math.inf}


def sqlite_converter(logical: str) -> Callable[[Any], Any] | None:
    """What turns a value psycopg reads from a PostgreSQL column of type ``logical`` into the
    value SQLite stores for it (None: the value as it is); NULL stays NULL."""
    return _TO_SQLITE.get(logical)


def _temporal(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    return v


def _untyped(v: Any) -> Any:
    """A value of an untyped column from its ``jsonb`` copy (see (1))."""
    if isinstance(v, dict) and set(v) == {"$b64"}:
        return base64.b64decode(v["$b64"])
    if isinstance(v, dict) and set(v) == {"$real"} and isinstance(v["$real"], str):
        real = TAGGED_REALS.get(v["$real"])
        if real is not None:
            return real
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return v


_TO_SQLITE: dict[str, Callable[[Any], Any]] = {
    "datetime": _temporal,
    "date": _temporal,
    "time": _temporal,
    "decimal": lambda v: sqlite_decimal(v) if isinstance(v, Decimal) else v,
    "any": _untyped,
    "json": lambda v: v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False),
    "uuid": lambda v: v if v is None else str(v),
    "blob": lambda v: v if v is None else bytes(v),
}
