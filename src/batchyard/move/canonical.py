"""One value, one form: what a stored value means, whichever database it was read from.

``canonical(value, logical)`` turns a value as a driver returns it (``sqlite3`` or psycopg, for a column
of the given logical type of :mod:`batchyard.db.types`) into a plain Python value that compares
equal across databases exactly when the two stored values mean the same thing:

| logical   | SQLite stores                    | PostgreSQL returns          | canonical                    |
|-----------|----------------------------------|-----------------------------|------------------------------|
| boolean   | 0 / 1 (or 'true', 'f', ...)      | bool                        | bool                         |
| integer   | int                              | int                         | int                          |
| decimal   | int, real or text                | Decimal                     | Decimal (real: its repr)     |
| float     | real                             | float                       | float (-0.0 ≠ 0.0, NaN = NaN)|
| datetime  | ISO text (``T`` or space)        | timestamp (read as text)    | datetime                     |
| date/time | ISO text                         | date / time (read as text)  | date / time                  |
| json      | JSON text                        | jsonb (read as text)        | compact JSON, sorted keys    |
| uuid      | text or 16 bytes                 | UUID                        | UUID                         |
| blob      | bytes (text: its UTF-8 bytes)    | bytes                       | bytes                        |
| text      | text (a blob: its UTF-8 text)    | str                         | str                          |
| any       | int, real, text or blob          | jsonb scalar, blobs as      | int, float, str or bytes     |
|           |                                  | ``{"$b64": ...}``, -0.0 and |                              |
|           |                                  | infinities as ``{"$real":}``|                              |
| to_text   | any value, made text by migrate  | (the target is ``text``)    | str (a real: its repr)       |
| to_blob   | any value, made a blob by migrate| (the target is ``bytea``)   | bytes                        |

``to_text`` and ``to_blob`` are SQLite columns whose values migrate converted (``--type t.c=text``
or ``blob``): they are read in their converted form (see :func:`batchyard.move.forms.canonical_expr`).

A value that does not parse as its type stays as it is, so it compares unequal to any value that does.
NULL is ``None`` and never equals ``""``. Compare with :func:`same` (exact for floats); use
:func:`fingerprint` where a hashable identity is needed (multisets, dict keys).
"""

from __future__ import annotations

import base64
import json
import math
import struct
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from batchyard.db.types import TAGGED_REALS

__all__ = [
    "any_real_json",
    "canonical",
    "canonical_json",
    "canonical_row",
    "decode_any",
    "display",
    "fingerprint",
    "same",
    "same_row",
    "tagged_real",
]


_TRUE = frozenset(("t", "true", "y", "yes", "on", "1"))
_FALSE = frozenset(("f", "false", "n", "no", "off", "0"))


def _boolean(v: Any) -> Any:
    # As PostgreSQL reads a boolean: 0 and 1, and the words it takes ('t', 'yes', 'off', ...).
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        word = v.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    return v


def _integer(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        return int(v)
    return v


def _decimal(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if math.isnan(v):
            return Decimal("NaN")
        return (
            Decimal(repr(v)) if math.isfinite(v) else Decimal("Infinity" if v > 0 else "-Infinity")
        )
    if isinstance(v, str):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            return v
    return v


def _float(v: Any) -> Any:
    if isinstance(v, float):
        return v
    if isinstance(v, int | Decimal) and not isinstance(v, bool):
        return float(v)
    return v


def _text(v: Any) -> Any:
    # migrate writes a blob found in a text column as its text (SQLite's CAST(blob AS TEXT)).
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8", "replace")
    return v


def _blob(v: Any) -> Any:
    # migrate writes text found in a blob column (--type t.c=blob) as its bytes.
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    return _bytes(v)


def _bytes(v: Any) -> Any:
    return bytes(v) if isinstance(v, bytearray | memoryview) else v


def _to_text(v: Any) -> Any:
    # Numbers as migrate sends them to a text column (Python's shortest exact form of a real).
    if isinstance(v, float | int) and not isinstance(v, bool):
        return repr(v)
    return _text(v)


def _to_blob(v: Any) -> Any:
    # Text SQLite held that is not UTF-8 was read with its bytes kept (surrogateescape).
    return _blob(v)


def _parsed(v: str, parse: Callable[[str], Any]) -> Any:
    """``v`` parsed (white space around it ignored), or as it is when it does not parse."""
    try:
        return parse(v.strip())
    except ValueError:
        return v


def _datetime(v: Any) -> Any:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        return _parsed(v, datetime.fromisoformat)
    return v


def _date(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date() if v.time() == time() and v.tzinfo is None else v
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        text = v.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        parsed = _datetime(text)
        return _date(parsed) if isinstance(parsed, datetime) else v
    return v


def _time(v: Any) -> Any:
    if isinstance(v, time):
        return v
    if isinstance(v, str):
        return _parsed(v, time.fromisoformat)
    return v


def _uuid(v: Any) -> Any:
    if isinstance(v, uuid.UUID):
        return v
    if isinstance(v, str):
        return _parsed(v, uuid.UUID)
    if isinstance(v, bytes | bytearray | memoryview) and len(v) == 16:
        return uuid.UUID(bytes=bytes(v))
    return v


def _json_number(d: Decimal) -> str:
    return "0" if d == 0 else str(d.normalize())


def _json_text(obj: Any) -> str:
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, Decimal):
        return _json_number(obj)
    if isinstance(obj, int | float):
        return _json_number(Decimal(repr(obj)) if isinstance(obj, float) else Decimal(obj))
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, list):
        return "[" + ",".join(_json_text(x) for x in obj) + "]"
    if isinstance(obj, dict):
        items = sorted(obj.items())
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_text(x)}" for k, x in items)
            + "}"
        )
    return json.dumps(obj, ensure_ascii=False, default=str)


def canonical_json(v: Any) -> Any:
    """JSON text (or a decoded document) as compact JSON with sorted keys and exact numbers.

    ``{"b": 1e2, "a": [1.50]}`` and ``{"a":[1.5],"b":100}`` (how jsonb prints it) give the same text.
    Text that is not JSON stays as it is.
    """
    if v is None:
        return None
    if isinstance(v, bytes | bytearray | memoryview):
        v = bytes(v).decode("utf-8", "replace")
    if isinstance(v, str):
        try:
            doc = json.loads(v, parse_float=Decimal, parse_int=Decimal)
        except ValueError:
            return v
        return _json_text(doc)
    return _json_text(v)


def any_real_json(value: float) -> str:
    """The jsonb form of a real held by an untyped SQLite column: its exact digits, with a point
    (jsonb keeps a number's places, so ``1e16`` must be ``10000000000000000.0`` to come back a
    real, not an integer); -0.0 and the infinities, no JSON number, as ``{"$real": ...}``."""
    if value == 0 and math.copysign(1.0, value) < 0:
        return '{"$real":"-0.0"}'
    if math.isinf(value):
        return '{"$real":"Infinity"}' if value > 0 else '{"$real":"-Infinity"}'
    if value == int(value):
        return f"{int(value)}.0"
    return repr(value)


def tagged_real(v: Any) -> float | None:
    """The real a ``{"$real": ...}`` document of an untyped column's jsonb copy stands for."""
    if isinstance(v, dict) and set(v) == {"$real"} and isinstance(v["$real"], str):
        return TAGGED_REALS.get(v["$real"])
    return None


def decode_any(v: Any) -> Any:
    """A value of an untyped SQLite column from its jsonb copy: a JSON scalar, a blob as
    ``{"$b64": "..."}``, -0.0 and infinities as ``{"$real": "-0.0"}``. Other documents become
    their canonical JSON text, tagged so that they never equal a string."""
    if isinstance(v, dict):
        if set(v) == {"$b64"} and isinstance(v["$b64"], str):
            try:
                return base64.b64decode(v["$b64"], validate=True)
            except ValueError:
                pass
        real = tagged_real(v)
        if real is not None:
            return real
        return ("json", _json_text(v))
    if isinstance(v, list):
        return ("json", _json_text(v))
    return _bytes(v)


_CANONICAL: dict[str, Callable[[Any], Any]] = {
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "float": _float,
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "json": canonical_json,
    "uuid": _uuid,
    "blob": _blob,
    "any": decode_any,
    "text": _text,
    "to_text": _to_text,
    "to_blob": _to_blob,
}


def canonical(value: Any, logical: str) -> Any:
    """The canonical form of ``value`` read from a column of logical type ``logical``."""
    if value is None:
        return None
    return _CANONICAL.get(logical, _bytes)(value)


def canonical_row(values: Sequence[Any], logicals: Sequence[str]) -> tuple[Any, ...]:
    return tuple(canonical(v, t) for v, t in zip(values, logicals, strict=True))


def same(a: Any, b: Any) -> bool:
    """Canonical values equal: same type and value; -0.0 differs from 0.0; NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if a != a:
            return bool(b != b)
        return bool(a == b) and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, Decimal) and a.is_nan():
        return bool(b.is_nan())
    return bool(a == b)


def same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))


def fingerprint(value: Any) -> Any:
    """A hashable identity of a canonical value that agrees with :func:`same`."""
    if isinstance(value, float):
        return ("float", "nan" if value != value else struct.pack("<d", value))
    if isinstance(value, Decimal) and value.is_nan():
        return ("Decimal", "NaN")
    if isinstance(value, tuple):
        return ("tuple", tuple(fingerprint(v) for v in value))
    return (type(value).__name__, value)


def display(value: Any) -> Any:
    """A canonical value as JSON: numbers and text as they are, the rest as text (blobs as base64)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "json":
        return {"$json": value[1]}
    return str(value)
