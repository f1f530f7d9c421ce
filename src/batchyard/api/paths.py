"""File paths in params submitted over the API stay inside the project folder.

A param counts as a path when its name says so (``to``, ``path``, ``*_file``...) or its value is a
``sqlite:///`` URL. Relative paths are made absolute against the project (the server's working
folder may be elsewhere); anything that lands outside the project is refused, naming the param.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from batchyard.errors import ParamError

_PATH_NAME = re.compile(
    r"^(to|from|path|paths|file|files|dir|folder|manifest|output|out|log|source|sources|"
    r"target|targets|rules|input|inputs|connection|landing|quarantine)$"
    r"|_(path|paths|file|files|dir|folder|connection)$",
    re.I,
)
_SQLITE = "sqlite:///"


def confine(params: dict[str, Any], root: Path, connections: dict[str, str]) -> dict[str, Any]:
    """``params`` with their paths made absolute inside ``root``; a :class:`ParamError` if not."""
    base = root.resolve()
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, list) and _PATH_NAME.search(name):
            out[name] = [_one(name, v, base, connections) for v in value]
        else:
            out[name] = _one(name, value, base, connections)
    return out


def _one(name: str, value: Any, base: Path, connections: dict[str, str]) -> Any:
    if not isinstance(value, str) or "${" in value:
        return value
    if value.startswith(_SQLITE):
        database = value[len(_SQLITE) :].split("?", 1)[0]
        if database in ("", ":memory:"):
            return value
        _inside(name, database, base)
        return value
    if name == "backup" and _looks_like_path(value):
        # A backup is named by a bare name or by its folder; only the folder is a path.
        return str(_inside(name, value, base))
    if "://" in value or not _PATH_NAME.search(name):
        return value
    if value in connections or value == "default":
        return value
    return str(_inside(name, value, base))


def _inside(name: str, text: str, base: Path) -> Path:
    if "\x00" in text:
        raise ParamError(f"param {name!r}: a path cannot hold a NUL character")
    path = Path(text).expanduser()
    full = (path if path.is_absolute() else base / path).resolve()
    if full != base and base not in full.parents:
        raise ParamError(
            f"param {name!r}: {text!r} is outside the project folder; "
            "give a path inside the project"
        )
    return full


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.startswith((".", "~"))
