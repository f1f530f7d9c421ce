"""Turning values read from a file into what a target column of a logical type stores.

Each converter raises ``ValueError`` with a short reason for a value that does not fit; the import
quarantines that row (or, in atomic mode, refuses the file).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from batchyard.db.types import sqlite_decimal
from batchyard.files.patterns import STRICT
from batchyard.files.values import JsonNumber, from_typed_json, typed_json

Converter = Callable[[Any], Any]
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
#: The same rules the CSV reader checks in DuckDB, so every format takes the same text.
_INTEGER, _FLOAT, _DATE, _DATETIME, _TIME = (
    re.compile(STRICT[k][0]) for k in ("integer", "float", "date", "datetime", "time")
)


def _integer(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"{v} does not fit a 64-bit integer")
        return v
    if isinstance(v, JsonNumber):  # by its text: 9007199254740993.0 is not a float's ...992
        exact = Decimal(v.text)
        if exact.is_finite() and exact == exact.to_integral_value():
            if -(2**63) <= exact < 2**63:
                return int(exact)
            raise ValueError(f"{_show(v)} does not fit a 64-bit integer")
        raise ValueError(f"{_show(v)} is not an integer")
    if isinstance(v, float) and v.is_integer():
        return _integer(int(v))
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        return _integer(int(v))
    if isinstance(v, str) and _INTEGER.fullmatch(v):
        if not -(2**63) <= int(v) < 2**63:
            raise ValueError(f"{_show(v)} does not fit a 64-bit integer")
        return int(v)
    raise ValueError(f"{_show(v)} is not an integer")


def _float(v: Any) -> Any:
    if isinstance(v, JsonNumber) and math.isinf(v):  # JSON has no infinity: 1e400 overflowed
        raise ValueError(f"{_show(v)} is out of range for a float")
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        try:
            return float(v)
        except OverflowError:
            raise ValueError(f"{_show(v)} is out of range for a float") from None
    if isinstance(v, str) and _FLOAT.fullmatch(v):
        number = float(v)
        if math.isinf(number) and "inf" not in v.lower():
            raise ValueError(f"{_show(v)} is out of range for a float")
        return number
    raise ValueError(f"{_show(v)} is not a number")


def _boolean(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise ValueError(f"{_show(v)} is not a boolean")


def _blob(v: Any) -> Any:
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, str):
        try:
            return base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ValueError(f"{_show(v)} is not base64 bytes")


def _text(v: Any) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bytes):
        raise ValueError("bytes where text belongs")
    return str(v)


def _json(v: Any) -> Any:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _without_nul(convert: Converter | None, in_json: bool = False) -> Converter:
    """``convert``, then refuse a NUL character: PostgreSQL cannot store one in text, nor
    ``\\u0000`` in JSON."""

    def checked(v: Any) -> Any:
        out = v if convert is None else convert(v)
        if isinstance(out, str) and ("\x00" in out or (in_json and "\\u0000" in out)):
            raise ValueError(f"{_show(v)} holds a NUL character, which PostgreSQL cannot store")
        return out

    return checked


def _temporal(kind: type) -> Converter:
    shape = {date: _DATE, datetime: _DATETIME, time: _TIME}[kind]

    def convert(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, date | time):
            return v.isoformat()
        if isinstance(v, str) and shape.fullmatch(v):
            try:
                kind.fromisoformat(v.strip().replace("Z", "+00:00"))  # type: ignore[attr-defined]
                return v
            except ValueError:
                pass
        raise ValueError(f"{_show(v)} is not a {kind.__name__} (ISO 8601)")

    return convert


def _decimal(dialect: str, precision: int | None, scale: int | None) -> Converter:
    """Numbers kept digit for digit: refused where the column would round them (PostgreSQL's
    ``numeric(p,s)``; SQLite's NUMERIC keeps about 15 significant digits, as a REAL)."""

    def convert(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float | Decimal | str):
            raise ValueError(f"{_show(v)} is not a decimal number")
        try:
            number = Decimal(repr(v) if isinstance(v, float) else str(v).strip())
        except InvalidOperation:
            raise ValueError(f"{_show(v)} is not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"{_show(v)} is not a finite decimal number")
        if dialect == "postgresql" and precision is not None:
            exponent = number.normalize().as_tuple().exponent
            digits = max(-int(exponent), 0) if isinstance(exponent, int) else 0
            whole = len(str(abs(int(number)))) if int(number) else 0
            if digits > (scale or 0) or whole > precision - (scale or 0):
                raise ValueError(
                    f"{_show(v)} does not fit numeric({precision},{scale or 0}) without rounding"
                )
        elif dialect == "sqlite":
            if not _sqlite_keeps(number):
                raise ValueError(f"{_show(v)} has more digits than SQLite's NUMERIC keeps")
            # The number NUMERIC affinity would make of it, given as one: a DECIMAL BLOB column
            # (no affinity) stores it as a number too.
            return sqlite_decimal(number)
        if isinstance(v, Decimal | JsonNumber):
            return str(number)
        return v.strip() if isinstance(v, str) else v

    return convert


def _sqlite_keeps(number: Decimal) -> bool:
    """NUMERIC affinity stores an integer in 64 bits as one, anything else as a REAL."""
    if number == number.to_integral_value() and -(2**63) <= number < 2**63:
        return True
    try:
        return Decimal(repr(float(number))) == number
    except OverflowError:
        return False


def _uuid(v: Any) -> Any:
    try:
        return str(uuid.UUID(str(v)))
    except ValueError:
        raise ValueError(f"{_show(v)} is not a UUID") from None


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def misfit(logical: str, text: str) -> str:
    """Why ``text`` read from a file does not fit a column of the logical type."""
    if logical == "text" and "\x00" in text:  # (only a PostgreSQL target refuses it)
        return f"{_show(text)} holds a NUL character, which PostgreSQL cannot store"
    check = converter(logical, "sqlite", True, False)
    if check is not None:
        try:
            check(text)
        except ValueError as exc:
            return str(exc)
    return f"{_show(text)} is not exactly a {logical} value"


def converter(
    logical: str,
    dialect: str,
    typed_file: bool,
    parsed: bool,
    precision: int | None = None,
    scale: int | None = None,
) -> Converter | None:
    """The converter for a column, or None where values pass as read.

    ``typed_file``: values of an untyped column are typed JSON text (CSV, JSON, Parquet exports);
    ``parsed``: the reader typed and checked the values already (DuckDB reading CSV);
    ``precision`` and ``scale``: of a decimal column.
    """
    if logical == "any":
        if dialect == "postgresql":
            return _without_nul(None if typed_file else typed_json, in_json=True)
        return from_typed_json if typed_file else None
    if dialect == "postgresql" and logical in ("text", "json"):
        if logical == "json":
            return _without_nul(_json, in_json=True)
        # (A CSV read by DuckDB has its NUL characters found there, in C.)
        return None if parsed else _without_nul(_text)
    if parsed and logical in ("integer", "float", "boolean", "date", "datetime", "time", "text"):
        return None
    if logical == "decimal":
        return _decimal(dialect, precision, scale)
    return {
        "integer": _integer,
        "float": _float,
        "boolean": _boolean,
        "blob": _blob,
        "text": _text,
        "json": _json,
        "date": _temporal(date),
        "datetime": _temporal(datetime),
        "time": _temporal(time),
        "uuid": _uuid,
    }.get(logical)
