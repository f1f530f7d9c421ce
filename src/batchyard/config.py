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
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from batchyard.errors import ConfigError, UsageError

# Re-exported: where they were first defined, and where most of the code reads them.
from batchyard.project import (
    CONFIG_FILE as CONFIG_FILE,
)
from batchyard.project import (
    MAX_WORKERS as MAX_WORKERS,
)
from batchyard.project import (
    SQLITE_SUFFIXES as SQLITE_SUFFIXES,
)
from batchyard.project import (
    STATE_DIR,
    config_text,
    dask_address,
    project_root,
    relative_sqlite,
    split_executor,
    store_url,
)
from batchyard.secrets import ENV_REF, interpolate, is_secret_name, mask_url

DEFAULT_ENV = "dev"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectSection(_Section):
    name: str | None = None


class StoreSection(_Section):
    url: str | None = None
    synchronous: str = Field("normal", pattern="^(normal|full)$")


def _executor_value(value: str) -> str:
    split_executor(value)
    return value


class DefaultsSection(_Section):
    env: str = DEFAULT_ENV
    workers: int = Field(4, ge=1, le=MAX_WORKERS)
    executor: str = "threads"
    connection: str = "default"
    retries: int = Field(0, ge=0)
    lease_ttl: float = Field(30.0, gt=2)

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        try:
            return _executor_value(value)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("executor ")) from None


class ExecutorSection(_Section):
    """``[executor]``: where ``--executor dask`` runs items, and in what size of chunks."""

    #: A Dask scheduler (``HOST:PORT``); unset, ``dask`` starts a cluster on this machine.
    address: str | None = None
    #: Seconds to wait for the scheduler to answer.
    connect_timeout: float = Field(10.0, gt=0)
    #: Items per Dask task (0: sized from the items' measured run time).
    chunk_items: int = Field(0, ge=0, le=100_000)

    @field_validator("address")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return dask_address(value)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("scheduler address ")) from None


class ServeSection(_Section):
    """``[serve]``: what ``batchyard serve`` runs with; ``None`` leaves it to env vars or defaults."""

    host: str | None = Field(None, min_length=1)
    port: int | None = Field(None, ge=0, le=65535)
    max_jobs: int | None = Field(None, ge=1, le=64)
    on_start: Literal["resume", "pause"] | None = None
    cors_origins: list[str] | None = None
    log_level: Literal["debug", "info", "warning", "error"] | None = None
    #: One line per request in the server's log (on unless set to false).
    access_log: bool | None = None
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


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, *, where: str = "duration") -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d`` or ``2w`` as a :class:`~datetime.timedelta`."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise UsageError(f"{where} {text!r}: write it like 30m, 12h, 7d or 2w")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])


SEVERITIES = ("info", "low", "medium", "high", "critical")
Severity = Literal["info", "low", "medium", "high", "critical"]
OpenOn = Literal["fail", "anomaly", "warn"]


def _open_on_default() -> list[OpenOn]:
    return ["fail", "anomaly"]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


def email_address(value: str) -> str:
    """The address in ``value`` (``ops@example.com`` or ``Ops <ops@example.com>``), checked."""
    _name, address = parseaddr(value)
    if not address or not _EMAIL.fullmatch(address) or ("<" in value) != (">" in value):
        raise ValueError(f"{value!r} is not an email address (write it like ops@example.com)")
    return address


class AlertsSection(_Section):
    """``[alerts]``: when alerts open, remind and resolve, and where they go."""

    #: How often an open alert nobody acknowledged is sent again; ``"never"`` sends no reminders.
    remind_every: str = "4h"
    #: Passing checks in a row that resolve an open alert.
    resolve_after: int = Field(3, ge=1, le=10_000)
    #: The statuses of a check that open an alert.
    open_on: list[OpenOn] = Field(default_factory=_open_on_default, min_length=1)
    #: The channels alerts go to (names under ``[channels]``); none given: every channel.
    channels: list[str] | None = None

    @field_validator("remind_every")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if value != "never":
            try:
                parse_duration(value)
            except UsageError as exc:
                raise PydanticCustomError(
                    "duration", "write it like 30m, 4h or 1d, or never for no reminders"
                ) from exc
        return value

    @property
    def remind_interval(self) -> timedelta | None:
        return None if self.remind_every == "never" else parse_duration(self.remind_every)


#: The settings each type of channel takes (besides ``type`` and ``min_severity``).
CHANNEL_KEYS: dict[str, tuple[str, ...]] = {
    "webhook": (
        "url",
        "url_env",
        "secret_env",
        "signature_header",
        "retries",
        "backoff",
        "timeout",
    ),
    "slack": ("url_env", "retries", "backoff", "timeout"),
    "email": (
        "host",
        "port",
        "starttls",
        "username",
        "password_env",
        "sender",
        "to",
        "ca_file",
        "retries",
        "backoff",
        "timeout",
    ),
}
_CHANNEL_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "webhook": (("url", "url_env"),),
    "slack": (("url_env",),),
    "email": (("host",), ("sender",), ("to",)),
}


def _literal_secret(what: str, key: str) -> PydanticCustomError:
    return PydanticCustomError(
        "literal_secret",
        f"{what} must not be written into the file: put it in an environment variable and "
        f'give its name, {key} = "NAME"',
    )


class ChannelSection(_Section):
    """``[channels.NAME]``: where alerts are sent. Secrets come from environment variables named
    by the ``*_env`` keys, never from the file itself."""

    type: Literal["webhook", "slack", "email"]
    #: Alerts below this severity do not go to this channel.
    min_severity: Severity = "info"
    # webhook and slack
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    signature_header: str = Field("X-Batchyard-Signature", pattern=r"^[A-Za-z0-9-]+$")
    # email
    host: str | None = Field(None, min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: list[str] = []
    ca_file: str | None = None
    # delivery
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(1.0, ge=0, le=60)
    timeout: float = Field(10.0, gt=0, le=300)
    # Written into the file, these would be secrets in a file: refused with a way out.
    secret: str | None = None
    password: str | None = None
    token: str | None = None

    @field_validator("secret", "token")
    @classmethod
    def _no_literal_secret(cls, _value: str | None) -> None:
        raise _literal_secret("a secret", "secret_env")

    @field_validator("password")
    @classmethod
    def _no_literal_password(cls, _value: str | None) -> None:
        raise _literal_secret("a password", "password_env")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("type") == "slack":
            raise _literal_secret("a Slack webhook URL (it holds the token)", "url_env")
        if mask_url(value) != value:
            raise _literal_secret("a password in a URL", "url_env")
        parts = urlsplit(value)
        if any(is_secret_name(name) for name, _ in parse_qsl(parts.query)):
            raise _literal_secret("a URL with a secret in its query", "url_env")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError("url", "give an http:// or https:// URL")
        return value

    @field_validator("url_env", "secret_env", "password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise PydanticCustomError(
                "env_name",
                "give the name of an environment variable (such as ALERT_SECRET), not its value",
            )
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None:
            email_address(value)
        return value

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for address in value:
            email_address(address)
        return value

    @model_validator(mode="after")
    def _fits_its_type(self) -> ChannelSection:
        allowed = {"type", "min_severity", *CHANNEL_KEYS[self.type]}
        stray = sorted(self.model_fields_set - allowed)
        if stray:
            raise ValueError(
                f"{stray[0]} is not a setting of {self.type} channels "
                f"(it takes {', '.join(CHANNEL_KEYS[self.type])})"
            )
        for options in _CHANNEL_NEEDS[self.type]:
            if not any(getattr(self, key) for key in options):
                article = "an" if self.type == "email" else "a"
                raise ValueError(f"{article} {self.type} channel needs {' or '.join(options)}")
        if self.url and self.url_env:
            raise ValueError("give url or url_env, not both")
        if self.username and not self.starttls:
            raise ValueError(
                "username needs starttls = true: a password is never sent in the clear"
            )
        if self.username and not self.password_env:
            raise ValueError(
                "username needs password_env, the environment variable of its password"
            )
        return self


class FileConfig(_Section):
    project: ProjectSection = ProjectSection()
    store: StoreSection = StoreSection()
    defaults: DefaultsSection = DefaultsSection()
    executor: ExecutorSection = ExecutorSection()
    serve: ServeSection = ServeSection()
    connections: dict[str, str] = {}
    alerts: AlertsSection = AlertsSection()
    channels: dict[str, ChannelSection] = {}


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
    #: ``[executor]``, with ``BATCHYARD_DASK`` over its address.
    dask: ExecutorSection = field(default_factory=ExecutorSection)
    default_connection: str = "default"
    retries: int = 0
    #: Seconds a runner's lease on a job lasts without a heartbeat (``[defaults] lease_ttl``).
    lease_ttl: float = 30.0
    connections: dict[str, str] = field(default_factory=dict)
    #: ``[serve]`` as written; ``batchyard serve`` puts flags and env vars over it.
    serve: ServeSection = field(default_factory=ServeSection)
    #: ``[alerts]`` and ``[channels]``: how alerts open, remind, resolve, and where they go.
    alerts: AlertsSection = field(default_factory=AlertsSection)
    channels: dict[str, ChannelSection] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def connection_url(self, name: str | None = None) -> str:
        """The URL of a named connection (or a URL given as is), with ``${VAR}`` resolved."""
        name = name or self.default_connection
        if "://" in name:
            return relative_sqlite(
                interpolate(name, where=f"connection {mask_url(name)}"), self.root
            )
        if name in self.connections:
            url = interpolate(self.connections[name], where=f"[connections] {name}")
            return relative_sqlite(url, self.root)
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

    def with_connections_resolved(self) -> Settings:
        """These settings with each connection's ``${VAR}`` read here, for workers on machines
        without these variables; a connection whose variable is missing here stays as it is."""
        resolved = {}
        for name, url in self.connections.items():
            try:
                resolved[name] = interpolate(url, where=f"[connections] {name}")
            except ConfigError:
                resolved[name] = url
        return replace(self, connections=resolved)

    def masked_connections(self) -> dict[str, str]:
        return {k: mask_url(v) for k, v in self.connections.items()}

    def override(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _heading(line: str) -> str | None:
    """The dotted name of a ``[table]`` heading line (quotes and spaces dropped), else None."""
    stripped = line.strip()
    if not stripped.startswith("["):
        return None
    name = stripped.strip("[] ").split("]")[0]
    return ".".join(part.strip().strip('"').strip("'") for part in name.split("."))


def _key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of the last key in ``loc`` within the TOML text: the key under
    its table (``[serve]`` / ``port``, ``[channels.ops]`` / ``url``), else the table's heading."""
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return None
    lines = text.splitlines()
    table, key = ".".join(parts[:-1]), parts[-1]
    current = ""
    for number, line in enumerate(lines, start=1):
        heading = _heading(line)
        if heading is not None:
            current = heading
            continue
        if current == table and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    whole = ".".join(parts)
    for number, line in enumerate(lines, start=1):
        if _heading(line) == whole:
            return number
    return None


def load_file(path: Path) -> FileConfig:
    """Parse and check ``batchyard.toml``; errors name the file, line and column."""
    text = config_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        config = FileConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = _key_line(text, loc)
        where = f"{path}:{line}" if line else str(path)
        dotted = ".".join(str(p) for p in loc)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {dotted}: {message}") from exc
    unknown = [n for n in config.alerts.channels or () if n not in config.channels]
    if unknown:
        line = _key_line(text, ("alerts", "channels"))
        where = f"{path}:{line}" if line else str(path)
        known = ", ".join(sorted(config.channels)) or "none defined"
        raise ConfigError(
            f"{where}: alerts.channels: no channel named {unknown[0]!r} ({known}); "
            "add it as [channels.NAME]"
        )
    return config


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
    base = project_root(root)
    config_path = base / CONFIG_FILE
    has_config = config_path.is_file()
    file = load_file(config_path) if has_config else FileConfig()
    d = file.defaults
    executor, address = split_executor(
        os.environ.get("BATCHYARD_EXECUTOR") or d.executor,
        where="executor (BATCHYARD_EXECUTOR or [defaults] executor)",
        error=ConfigError,
    )
    dask_env = os.environ.get("BATCHYARD_DASK")
    if dask_env:
        address = dask_address(dask_env, where="BATCHYARD_DASK", error=ConfigError)
    cluster = file.executor.model_copy(update={"address": address or file.executor.address})
    return Settings(
        root=base,
        has_config=has_config,
        name=file.project.name or base.name,
        store_url=store_url(base, store, file.store.url),
        synchronous=file.store.synchronous,
        env=env or os.environ.get("BATCHYARD_ENV") or d.env,
        workers=_positive(workers, _env_int("BATCHYARD_WORKERS"), d.workers),
        executor=executor,
        dask=cluster,
        default_connection=d.connection,
        retries=d.retries,
        lease_ttl=d.lease_ttl,
        connections=dict(file.connections),
        serve=file.serve,
        alerts=file.alerts,
        channels=dict(file.channels),
    )


def _positive(*values: int | None) -> int:
    for value in values:
        if value is not None:
            if not 1 <= value <= MAX_WORKERS:
                raise ConfigError(f"workers={value}: give between 1 and {MAX_WORKERS} workers")
            return value
    return 4
