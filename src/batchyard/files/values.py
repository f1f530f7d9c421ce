"""Values in data files: the Arrow form of each logical type, JSON numbers that keep their text, and
typed JSON for the values of an untyped column.

In text formats blobs are base64 and an untyped SQLite column's values are typed JSON scalars.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from batchyard.files.formats import TEXT_FORMATS

if TYPE_CHECKING:
    import pyarrow as pa


class JsonNumber(float):
    """A JSON number with a fraction or an exponent, which keeps the text it was written as.

    It behaves as the float it reads as; where a column keeps more digits than a float (a decimal,
    or an integer beyond 2**53) the text is what counts, so no digit is lost on the way.
    """

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


def arrow_type(logical: str, fmt: str) -> pa.DataType:
    """The Arrow type a column of ``logical`` type is written as in ``fmt``."""
    import pyarrow as pa  # (only when a file is written: it costs every process 45 MB)

    if logical == "integer":
        return pa.int64()
    if logical == "float":
        return pa.float64()
    if logical == "boolean":
        return pa.bool_()
    if logical == "blob" and fmt not in TEXT_FORMATS:
        return pa.binary()
    return pa.string()


def logical_of_arrow(t: pa.DataType) -> str:
    """The logical type of an Arrow column read from a file."""
    import pyarrow as pa

    tests = (
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "decimal"),
        (pa.types.is_timestamp, "datetime"),
        (pa.types.is_date, "date"),
        (pa.types.is_time, "time"),
        (pa.types.is_binary, "blob"),
        (pa.types.is_large_binary, "blob"),
    )
    return next((logical for test, logical in tests if test(t)), "text")


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def typed_json(value: Any) -> str | None:
    """A value of an untyped column as a JSON scalar that says its type (blobs as ``$b64``)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return json.dumps({"$b64": b64(value)})
    if isinstance(value, float):
        return (
            repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
        )
    return json.dumps(value, ensure_ascii=False)


def from_typed_json(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value
