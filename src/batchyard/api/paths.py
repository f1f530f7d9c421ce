"""Files named in params submitted over the API stay inside the project folder.

Every string of the params is looked at, however deeply nested, and judged by what a driver would
open, not by how it is spelled:

- a database URL of a file-backed engine (``sqlite`` in any case and with any ``+driver``,
  ``duckdb``) is parsed by :mod:`batchyard.db.url`, as the drivers will open it: a SQLite URL
  becomes the :class:`~batchyard.db.Database` whose file is confined, both as written and as
  SQLite reads it when it is a ``file:`` URI or is opened as one (percent escapes decoded, query
  and fragment cut off), and it is that database's URL (the checked file, escaped) that is kept;
- a ``file:`` URL is confined by its path, and libpq params that name files (``sslkey``...) are;
- a bare path is confined when the param's name says it is one (``to``, ``target``, ``*_file``...);
- a ``${VAR}`` reference is judged by what it reads now, and kept as written;
- a connection named in ``batchyard.toml`` is left as it is: the project chose it.

Relative paths are made absolute against the project (the server's working folder may be
elsewhere); anything that lands outside the project is refused, naming the param.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from batchyard.db import Database
from batchyard.db.url import MEMORY, parse, uri_file
from batchyard.errors import ConfigError, ParamError, UsageError
from batchyard.secrets import interpolate

_PATH_NAME = re.compile(
    r"^(to|from|path|paths|file|files|dir|folder|manifest|output|out|log|source|sources|"
    r"target|targets|rules|input|inputs|connection|landing|quarantine)$"
    r"|_(path|paths|file|files|dir|folder|connection)$",
    re.I,
)
#: Names that look like paths but hold JMESPath expressions (collect's pagination).
_NOT_PATHS = frozenset({"cursor_path", "next_path"})
#: Engines whose database is a file on this machine.
_FILE_BACKENDS = ("sqlite", "duckdb")
#: libpq connection params whose values are files it reads.
_LIBPQ_FILES = (
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "passfile",
    "servicefile",
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def confine(params: dict[str, Any], root: Path, connections: dict[str, str]) -> dict[str, Any]:
    """``params`` with their paths made absolute inside ``root``; a :class:`ParamError` if not."""
    place = _Place(root.resolve(), connections)
    return {name: place.value(name, value, _is_path_name(name)) for name, value in params.items()}


def _is_path_name(name: str) -> bool:
    return name not in _NOT_PATHS and bool(_PATH_NAME.search(name))


class _Place:
    def __init__(self, base: Path, connections: dict[str, str]) -> None:
        self.base = base
        self.connections = connections

    def value(self, name: str, value: Any, path_name: bool) -> Any:
        if isinstance(value, list | tuple):
            return [self.value(name, v, path_name) for v in value]
        if isinstance(value, dict):
            return {k: self.value(name, v, False) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        if "${" in value:
            try:
                read = interpolate(value, where=f"param {name!r}")
            except ConfigError as exc:
                raise ParamError(str(exc)) from exc
            self.text(name, read, path_name)  # checked as it will be read; kept as written
            return value
        return self.text(name, value, path_name)

    def text(self, name: str, text: str, path_name: bool) -> str:
        if text in self.connections or text == "default":
            return text
        if "\x00" in text:
            raise ParamError(f"param {name!r}: a path or URL cannot hold a NUL character")
        scheme = _SCHEME.match(text)
        kind = scheme.group(1).lower() if scheme else ""
        backend = kind.split("+", 1)[0]
        if backend in _FILE_BACKENDS and text[len(kind) + 1 :].startswith("//"):
            return self.database_url(name, text)
        if kind == "file":
            self.uri(name, text)
            return text
        if backend in ("postgresql", "postgres") and "?" in text:
            self.libpq_files(name, text)
            return text
        if name == "backup":
            # A backup is named by a bare name or by its folder; only the folder is a path.
            return str(self.inside(name, text)) if _looks_like_path(text) else text
        if "://" in text or not path_name:
            return text
        return str(self.inside(name, text))

    def database_url(self, name: str, text: str) -> str:
        try:
            url = parse(text)
        except UsageError:
            raise ParamError(
                f"param {name!r}: {text!r} is not a database URL; write sqlite:///PATH, with the "
                "path inside the project"
            ) from None
        database = url.database or ""
        query = text.split("?", 1)[1] if "?" in text else ""
        if database.startswith("file:"):
            # A SQLite URI (with ?uri=true); without it, a file of that odd name: check both.
            self.inside(name, database)
            full = self.uri(name, database)
            if full is None:
                return text
            if "?" in database or "#" in database:
                raise ParamError(
                    f"param {name!r}: {text!r}: put SQLite URI options in the URL's own query"
                )
            database = "file:" + quote(str(full))
            return f"{url.drivername}:///{database}" + (f"?{query}" if query else "")
        if database in MEMORY:
            return text
        checked = self.inside(name, database)
        if url.get_backend_name() != "sqlite":  # duckdb: no driver of ours opens it
            return url.set(database=str(checked)).render_as_string(hide_password=False)
        db = Database.of(text, root=self.base)
        if db.path != checked:  # pragma: no cover - one resolution of one path
            raise ParamError(f"param {name!r}: {text!r} is not a file batchyard can confine")
        # What was checked is what is opened: the resolved path, whatever the server's folder.
        return db.url

    def uri(self, name: str, text: str) -> Path | None:
        """The file a ``file:`` URI names, confined (None: an in-memory database)."""
        if urlsplit(text).netloc not in ("", "localhost"):
            raise ParamError(
                f"param {name!r}: {text!r} names a file on another host; give a path inside "
                "the project"
            )
        path = uri_file(text, self.base)
        return None if path is None else self.inside(name, str(path))

    def libpq_files(self, name: str, text: str) -> None:
        try:
            query = parse(text).query
        except UsageError:
            return  # not a URL the drivers can open either
        for key in _LIBPQ_FILES:
            values = query.get(key)
            for value in [values] if isinstance(values, str) else values or ():
                self.inside(f"{name}", value)

    def inside(self, name: str, text: str) -> Path:
        """``text`` as an absolute path inside the project, both as written and as SQLite would
        read it in a ``file:`` URI (``%2E%2E`` is ``..`` there); a :class:`ParamError` if not."""
        if "\x00" in text:
            raise ParamError(f"param {name!r}: a path cannot hold a NUL character")
        full = self._resolve(text)
        as_uri = unquote(re.split(r"[?#]", text, maxsplit=1)[0])
        for seen in {full, self._resolve(as_uri)}:
            if seen != self.base and self.base not in seen.parents:
                raise ParamError(
                    f"param {name!r}: {text!r} is outside the project folder; "
                    "give a path inside the project"
                )
        return full

    def _resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        return (path if path.is_absolute() else self.base / path).resolve()


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.startswith((".", "~"))
