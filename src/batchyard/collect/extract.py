"""From a JSON body to rows: select the records with JMESPath, map fields to columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath

from batchyard.errors import NothingSelected, ParamError


def compile_path(expr: str, where: str) -> Any:
    try:
        return jmespath.compile(expr)
    except jmespath.exceptions.JMESPathError as exc:
        raise ParamError(f"{where} {expr!r} is not a valid JMESPath expression: {exc}") from exc


def records(body: Any, path: Any) -> list[dict[str, Any]]:
    """The records ``path`` selects (the whole body if None); a list of objects.

    An empty list is no records; a path that selects nothing at all is an error, since it
    usually means the response is not what the path expects.
    """
    selected = body if path is None else path.search(body)
    if selected is None:
        raise NothingSelected(path.expression if path is not None else "the body")
    if isinstance(selected, Mapping):
        return [dict(selected)]
    if isinstance(selected, list):
        return [dict(r) if isinstance(r, Mapping) else {"value": r} for r in selected]
    return [{"value": selected}]


def rows(
    found: list[dict[str, Any]], fields: Mapping[str, Any], constants: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each record as a row: ``fields`` (column -> compiled path) if given, else the record as is;
    ``constants`` (column -> value) added to every row."""
    out: list[dict[str, Any]] = []
    for record in found:
        row = {col: path.search(record) for col, path in fields.items()} if fields else record
        out.append({**row, **constants})
    return out
