"""Where a project is and where its store lives, found without loading the settings' models.

``config.load_settings`` checks all of ``batchyard.toml``; this module reads only what says where
the store is, with nothing heavier than ``tomllib``, so commands that only look at the store
(``batchyard jobs list``, ``jobs show``, ...) start in a blink. Both resolve the store the same
way, through :func:`store_url`. The limits the command line names in its options live here too,
so building those options loads no models either.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from batchyard.errors import ConfigError, UsageError
from batchyard.secrets import interpolate, mask_url

CONFIG_FILE = "batchyard.toml"
STATE_DIR = ".batchyard"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: The most items one job runs at once: --workers, [defaults] workers, a pipeline's workers,
#: collect's concurrency. Past it, threads cost more than they bring.
MAX_WORKERS = 64


#: What runs a job's items: threads of the runner, processes of its machine, or a Dask cluster.
EXECUTOR_NAMES = ("threads", "processes", "dask")
#: How a Dask scheduler may be reached (distributed's comm protocols).
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
#: A scheduler's host: a name, an IPv4 address, or an IPv6 address in brackets.
_DASK_HOST = re.compile(r"\[[0-9A-Fa-f:.]+(%[\w.-]+)?\]|[\w][\w.-]*")


def split_executor(
    value: str, *, where: str = "executor", error: type[UsageError] = UsageError
) -> tuple[str, str | None]:
    """``threads``, ``processes``, ``dask`` or ``dask://HOST:PORT`` as (name, scheduler address)."""
    if value.startswith("dask://"):
        return "dask", dask_address(value, where=where, error=error)
    if value not in EXECUTOR_NAMES:
        raise error(
            f"{where} {mask_url(value)!r}: use one of {', '.join(EXECUTOR_NAMES)}, "
            "or dask://HOST:PORT"
        )
    return value, None


def dask_address(
    value: str, *, where: str = "scheduler address", error: type[UsageError] = UsageError
) -> str:
    """A Dask scheduler's address as distributed takes it: ``HOST:PORT``, ``dask://HOST:PORT``
    and ``tcp://HOST:PORT`` all give ``tcp://HOST:PORT``; ``tls://`` and others stay."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    elif scheme == "dask":
        scheme = "tcp"
    host, colon, port = rest.rstrip("/").rpartition(":")
    shown = mask_url(value)
    if scheme not in DASK_SCHEMES or not colon or not _DASK_HOST.fullmatch(host):
        raise error(
            f"{where} {shown!r}: give the scheduler as HOST:PORT or dask://HOST:PORT "
            "(`dask scheduler` prints it: tcp://HOST:8786)"
        )
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise error(f"{where} {shown!r}: the port must be a number from 1 to 65535")
    return f"{scheme}://{host}:{int(port)}"


def config_text(path: Path) -> str:
    """A configuration file's text (``batchyard.toml``, a pipeline, a monitor); ConfigError
    naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc


def find_root(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` upwards holding ``batchyard.toml``, else ``start`` itself."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def project_root(root: Path | None = None) -> Path:
    """The project's folder: the nearest with ``batchyard.toml`` from ``root``, else from
    ``BATCHYARD_PROJECT``, else from the working folder."""
    given = os.environ.get("BATCHYARD_PROJECT")
    return find_root(root or (Path(given) if given else None))


def relative_sqlite(url: str, base: Path) -> str:
    """Make ``sqlite:///relative.db`` relative to the project root rather than the working folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


def store_url(base: Path, flag: str | None, file_url: str | None) -> str:
    """The store's URL: ``--store``, else ``BATCHYARD_STORE``, else ``[store] url`` of the file,
    else ``.batchyard/store.db`` in the project; ``${VAR}`` resolved, SQLite paths made absolute."""
    url = flag or os.environ.get("BATCHYARD_STORE") or file_url
    if not url:
        return f"sqlite:///{base / STATE_DIR / 'store.db'}"
    return relative_sqlite(interpolate(url, where="store url"), base)


@dataclass(frozen=True)
class StorePlace:
    """Where a project's store is, as :func:`locate` finds it."""

    root: Path
    store_url: str


def locate(root: Path | None = None, *, store: str | None = None) -> StorePlace | None:
    """The project folder and store URL, read from ``[store] url`` alone; ``None`` when the file
    needs the full check to say what is wrong with it (``config.load_settings`` does that)."""
    base = project_root(root)
    file_url: str | None = None
    path = base / CONFIG_FILE
    if store is None and not os.environ.get("BATCHYARD_STORE") and path.is_file():
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("store", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        if not isinstance(section, dict):
            return None
        url = section.get("url")
        if url is not None and not isinstance(url, str):
            return None
        file_url = url
    return StorePlace(base, store_url(base, store, file_url))
