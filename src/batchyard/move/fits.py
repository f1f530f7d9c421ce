"""When a value SQLite stores fits a column's type: SQL conditions, read by SQLite itself.

SQLite keeps whatever it is given, whatever a column's declared type; PostgreSQL takes only values
of the column's type, and text only as valid UTF-8 without NUL characters. Each logical type has
the condition under which a stored value loads into PostgreSQL unchanged (NULLs always fit).

A column whose type the user chose (``--type t.c=text``, ``blob`` or ``any``) is *converted*
rather than checked: numbers become their text, text its bytes. What cannot be converted still
does not fit (text that is not UTF-8 has no text form in PostgreSQL).

The UTF-8 check reads every byte of values that are not plain ASCII, in Python (SQLite has no such
function): a connection that evaluates these conditions is first given it by :func:`prepare`.
"""

from __future__ import annotations

import math
from typing import Any

#: The function the conditions call for text that is not plain ASCII (registered by ``prepare``).
UTF8_FUNCTION = "by_utf8"
#: The function that tells a real JSON can hold (finite, not -0.0, which SQL cannot tell apart).
JSON_REAL_FUNCTION = "by_json_real"

# Plain ASCII without NUL (checked in C) or else valid UTF-8 without NUL (checked in Python).
# GLOB stops at a NUL, so NULs are looked for in the value's bytes.
_UTF8 = (
    "((instr(CAST({c} AS BLOB), X'00') = 0 AND NOT {c} GLOB "
    "'*[^' || char(1) || '-' || char(127) || ']*') "
    f"OR {UTF8_FUNCTION}(CAST({{c}} AS BLOB)))"
)

_FITS = {
    "integer": "typeof({c}) = 'integer'",
    "boolean": "typeof({c}) = 'integer' AND {c} IN (0, 1)",
    "float": "typeof({c}) IN ('integer', 'real')",
    "decimal": "typeof({c}) IN ('integer', 'real')",
    "text": f"typeof({{c}}) = 'text' AND {_UTF8}",
    "blob": "typeof({c}) = 'blob'",
    # A real day of the years 0001-9999, in canonical form (see wire.py). date() of text it cannot
    # read is NULL: compared, that would count as neither fit nor misfit.
    "date": "typeof({c}) = 'text' AND coalesce(date(julianday({c})) = {c}, 0) "
    "AND substr({c}, 1, 4) >= '0001'",
    # Any form PostgreSQL reads, of a real day, without a time zone (a timestamp without time
    # zone keeps the time as written and drops the zone: "Z" and "+02:00" would be lost).
    "datetime": "typeof({c}) = 'text' AND julianday({c}) IS NOT NULL AND length({c}) >= 10 "
    "AND coalesce(date(julianday(substr({c}, 1, 10))) = substr({c}, 1, 10), 0) "
    "AND substr({c}, 1, 4) >= '0001' AND instr(substr({c}, 11), '+') = 0 "
    "AND instr(substr({c}, 11), '-') = 0 AND instr(upper(substr({c}, 11)), 'Z') = 0",
    "time": "typeof({c}) = 'text' AND time({c}) IS NOT NULL",
    # jsonb has no \u0000 either.
    "json": f"typeof({{c}}) = 'text' AND {_UTF8} AND json_valid({{c}}) "
    "AND instr({c}, '\\u0000') = 0",
    "uuid": "typeof({c}) = 'text' AND length({c}) = 36 AND {c} GLOB "
    "'[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*'",
    # Untyped: any storage class, as a JSON scalar (-0.0 and the infinities tagged, see
    # canonical.py): text PostgreSQL can hold.
    "any": f"typeof({{c}}) <> 'text' OR {_UTF8}",
}

# Columns converted to the type the user chose: what converts.
_CASTS = {
    "text": f"typeof({{c}}) IN ('integer', 'real') OR {_UTF8}",
    "any": _FITS["any"],
}

#: The types a ``--type`` override converts values to (any other override checks them).
CASTS = ("text", "blob", "any")


def condition(logical: str, column_sql: str, *, cast: bool = False) -> str | None:
    """SQL true where the value of ``column_sql`` fits ``logical`` (None: every value fits)."""
    # A blob takes every value's bytes.
    template = _CASTS.get(logical) if cast and logical in CASTS else _FITS.get(logical)
    if template is None:
        return None
    return f"({column_sql} IS NULL OR ({template.format(c=column_sql)}))"


def pg_text(column_sql: str) -> str:
    """SQL true where a text or blob value is text PostgreSQL can hold (UTF-8, no NUL)."""
    return _UTF8.format(c=column_sql)


def valid_utf8(data: Any) -> bool:
    """Whether ``data`` (bytes) is UTF-8 without NUL characters."""
    if data is None:
        return True
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def json_real(value: Any) -> bool:
    """Whether a real goes into JSON as it is: finite, and not -0.0 (jsonb keeps no sign of 0)."""
    return not isinstance(value, float) or (
        math.isfinite(value) and (value != 0 or math.copysign(1.0, value) > 0)
    )


def prepare(con: Any) -> None:
    """Give a sqlite3 connection the functions the conditions call."""
    con.create_function(UTF8_FUNCTION, 1, valid_utf8, deterministic=True)
    con.create_function(JSON_REAL_FUNCTION, 1, json_real, deterministic=True)


def needs_function(sql: str) -> bool:
    """Whether ``sql`` calls a function of :func:`prepare` (so a connection that cannot be given
    them cannot run it: ADBC's)."""
    return f"{UTF8_FUNCTION}(" in sql or f"{JSON_REAL_FUNCTION}(" in sql
