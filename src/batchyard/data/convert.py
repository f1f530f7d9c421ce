"""Turning values read from a file into what a target column of a logical type stores.

Each converter raises ``ValueError`` with a short reason for a value that does not fit; the import
quarantines that row (or, in atomic mode, refuses the file).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from batchyard.data.files import from_typed_json, typed_json

Converter = Callable[[Any], Any]
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def _integer(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"{v} does not fit a 64-bit integer")
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return _integer(int(v.strip()))
        except ValueError:
            pass
    raise ValueError(f"{_show(v)} is not an integer")


def _float(v: Any) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
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


def _temporal(kind: type) -> Converter:
    def convert(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, date | time):
            return v.isoformat()
        if isinstance(v, str):
            try:
                kind.fromisoformat(v.strip())  # type: ignore[attr-defined]
                return v
            except ValueError:
                pass
        raise ValueError(f"{_show(v)} is not a {kind.__name__} (ISO 8601)")

    return convert


def _decimal(v: Any) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, str):
        try:
            Decimal(v.strip())
            return v.strip()
        except InvalidOperation:
            pass
    raise ValueError(f"{_show(v)} is not a decimal number")


def _uuid(v: Any) -> Any:
    try:
        return str(uuid.UUID(str(v)))
    except ValueError:
        raise ValueError(f"{_show(v)} is not a UUID") from None


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def converter(logical: str, dialect: str, typed_file: bool, parsed: bool) -> Converter | None:
    """The converter for a column, or None where values pass as read.

    ``typed_file``: values of an untyped column are typed JSON text (CSV, JSON, Parquet exports);
    ``parsed``: the reader typed the values already (DuckDB reading CSV with the column's type).
    """
    if logical == "any":
        if dialect == "postgresql":
            return None if typed_file else typed_json
        return from_typed_json if typed_file else None
    if parsed and logical in ("integer", "float", "boolean", "date", "datetime", "time", "text"):
        return None
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
        "decimal": _decimal,
        "uuid": _uuid,
    }.get(logical)
