"""Project configuration: ``batchyard.toml``, ``BATCHYARD_*`` environment variables and flags.

Precedence, highest first: flags > environment variables > ``batchyard.toml`` > defaults.
String values may use ``${VAR}`` or ``${VAR:-default}``, read from the environment when used, so secrets
stay out of files; URLs are shown with their passwords masked.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from batchyard.errors import ConfigError

CONFIG_FILE = "batchyard.toml"
STATE_DIR = ".batchyard"
DEFAULT_ENV = "dev"

#: ``${VAR}`` or ``${VAR:-default}``: group 1 is the variable's name, group 2 the default.
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s/:@]*:)(?P<pw>[^\s@/]+)(?P<at>@)", re.I
)
MASK = "***"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: The most items one job runs at once: --workers, [defaults] workers, a pipeline's workers,
#: collect's concurrency. Past it, threads cost more than they bring.
MAX_WORKERS = 64


def interpolate(value: str, *, where: str = "value") -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` with values from the environment."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set")

    return ENV_REF.sub(sub, value)


def mask_url(text: str) -> str:
    """Return ``text`` with the password of every URL in it replaced by ``***``."""
    if "://" not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        if ENV_REF.fullmatch(m.group("pw")):
            return m.group(0)
        return f"{m.group('head')}{MASK}{m.group('at')}"

    return _URL_PASSWORD.sub(sub, text)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectSection(_Section):
    name: str | None = None


class StoreSection(_Section):
    url: str | None = None
    synchronous: str = Field("normal", pattern="^(normal|full)$")


class DefaultsSection(_Section):
    env: str = DEFAULT_ENV
    workers: int = Field(4, ge=1, le=MAX_WORKERS)
    executor: str = Field("threads", pattern="^(threads|processes)$")
    connection: str = "default"
    retries: int = Field(0, ge=0)


class ServeSection(_Section):
    """``[serve]``: what ``batchyard serve`` runs with; ``None`` leaves it to env vars or defaults."""

    host: str | None = Field(None, min_length=1)
    port: int | None = Field(None, ge=0, le=65535)
    max_jobs: int | None = Field(None, ge=1, le=64)
    on_start: Literal["resume", "pause"] | None = None
    cors_origins: list[str] | None = None
    log_level: Literal["debug", "info", "warning", "error"] | None = None
    #: Only as a ``${VAR}`` reference: a token typed into a file would be a secret in a file.
    token: str | None = None

    @field_validator("token")
    @classmethod
    def _token_is_a_reference(cls, value: str | None) -> str | None:
        reference = ENV_REF.fullmatch(value) if value is not None else None
        # ``${VAR:-default}`` would put the token itself in the file as the default.
        if value is not None and (reference is None or reference.group(2) is not None):
            raise PydanticCustomError(
                "literal_secret",
                "a token must not be written into the file: set BATCHYARD_TOKEN, or write "
                'token = "${VAR}" to read it from the environment variable VAR',
            )
        return value


class FileConfig(_Section):
    project: ProjectSection = ProjectSection()
    store: StoreSection = StoreSection()
    defaults: DefaultsSection = DefaultsSection()
    serve: ServeSection = ServeSection()
    connections: dict[str, str] = {}


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one project (or for a plain folder without ``batchyard.toml``)."""

    root: Path
    has_config: bool = False
    name: str = ""
    store_url: str = ""
    synchronous: str = "normal"
    env: str = DEFAULT_ENV
    workers: int = 4
    executor: str = "threads"
    default_connection: str = "default"
    retries: int = 0
    connections: dict[str, str] = field(default_factory=dict)
    #: ``[serve]`` as written; ``batchyard serve`` puts flags and env vars over it.
    serve: ServeSection = field(default_factory=ServeSection)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def connection_url(self, name: str | None = None) -> str:
        """The URL of a named connection (or a URL given as is), with ``${VAR}`` resolved."""
        name = name or self.default_connection
        if "://" in name:
            return _relative_sqlite(
                interpolate(name, where=f"connection {mask_url(name)}"), self.root
            )
        if name in self.connections:
            url = interpolate(self.connections[name], where=f"[connections] {name}")
            return _relative_sqlite(url, self.root)
        if name == "default":
            return f"sqlite:///{self.root / 'data.db'}"
        known = ", ".join(sorted(self.connections)) or "none defined"
        raise ConfigError(
            f"unknown connection {name!r} ({known}); add it under [connections] in {CONFIG_FILE}"
        )

    def resolve(self, target: str) -> str:
        """A database URL from what a user typed: a connection name, a URL or a SQLite file path."""
        if "://" in target or target in self.connections or target == "default":
            return self.connection_url(target)
        path = Path(target)
        if not path.is_absolute():
            path = Path.cwd() / path
        if path.suffix.lower() in SQLITE_SUFFIXES or path.is_file():
            return f"sqlite:///{path.resolve()}"
        known = ", ".join(sorted(self.connections)) or "none defined"
        raise ConfigError(
            f"{target!r} is not a connection ({known}), a URL or a SQLite file "
            f"(*{', *'.join(SQLITE_SUFFIXES)})"
        )

    def masked_connections(self) -> dict[str, str]:
        return {k: mask_url(v) for k, v in self.connections.items()}

    def override(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def find_root(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` upwards holding ``batchyard.toml``, else ``start`` itself."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def _key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of the last key in ``loc`` within the TOML text."""
    section, key = (str(loc[0]), str(loc[-1])) if loc else ("", "")
    in_section = len(loc) < 2
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ") == section
            if len(loc) == 1 and in_section:
                return number
            continue
        if in_section and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


def load_file(path: Path) -> FileConfig:
    """Parse and check ``batchyard.toml``; errors name the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = _key_line(text, loc)
        where = f"{path}:{line}" if line else str(path)
        dotted = ".".join(str(p) for p in loc)
        raise ConfigError(f"{where}: {dotted}: {first['msg']}") from exc


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer") from exc


def load_settings(
    root: Path | None = None,
    *,
    store: str | None = None,
    env: str | None = None,
    workers: int | None = None,
) -> Settings:
    """Resolve settings for the project at (or above) ``root``: flags > env vars > toml > defaults."""
    project_dir = (
        Path(os.environ["BATCHYARD_PROJECT"]) if os.environ.get("BATCHYARD_PROJECT") else None
    )
    base = find_root(root or project_dir)
    config_path = base / CONFIG_FILE
    has_config = config_path.is_file()
    file = load_file(config_path) if has_config else FileConfig()
    d = file.defaults
    store_url = store or os.environ.get("BATCHYARD_STORE") or file.store.url
    if store_url:
        store_url = interpolate(store_url, where="store url")
        store_url = _relative_sqlite(store_url, base)
    else:
        store_url = f"sqlite:///{base / STATE_DIR / 'store.db'}"
    return Settings(
        root=base,
        has_config=has_config,
        name=file.project.name or base.name,
        store_url=store_url,
        synchronous=file.store.synchronous,
        env=env or os.environ.get("BATCHYARD_ENV") or d.env,
        workers=_positive(workers, _env_int("BATCHYARD_WORKERS"), d.workers),
        executor=_executor(os.environ.get("BATCHYARD_EXECUTOR") or d.executor),
        default_connection=d.connection,
        retries=d.retries,
        connections=dict(file.connections),
        serve=file.serve,
    )


def _positive(*values: int | None) -> int:
    for value in values:
        if value is not None:
            if not 1 <= value <= MAX_WORKERS:
                raise ConfigError(f"workers={value}: give between 1 and {MAX_WORKERS} workers")
            return value
    return 4


EXECUTOR_NAMES = ("threads", "processes")


def _executor(name: str) -> str:
    if name not in EXECUTOR_NAMES:
        raise ConfigError(
            f"executor {name!r} (BATCHYARD_EXECUTOR or [defaults] executor): "
            f"use one of {', '.join(EXECUTOR_NAMES)}"
        )
    return name


def _relative_sqlite(url: str, base: Path) -> str:
    """Make ``sqlite:///relative.db`` relative to the project root rather than the working folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url
