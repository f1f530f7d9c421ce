"""How ``batchyard serve`` runs: address, token, concurrent jobs, what to do with jobs on restart."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field

from batchyard.config import CONFIG_FILE, ServeSection
from batchyard.errors import ConfigError, UsageError
from batchyard.secrets import interpolate

ON_START = ("resume", "pause")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ServeOptions:
    """Settings of one API server. ``from_env`` fills what flags leave out from ``BATCHYARD_*``
    and the ``[serve]`` section of batchyard.toml."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_jobs: int = 2
    on_start: str = "resume"
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"
    #: Seconds between two looks at the store by a server-sent events stream.
    poll_interval: float = 0.2
    #: Run the scheduler in the server too (``serve --scheduler``).
    scheduler: bool = False
    #: One line per request in the log (``batchyard.access``); ``--no-access-log`` turns it off.
    access_log: bool = True

    @classmethod
    def from_env(
        cls,
        *,
        host: str | None = None,
        port: int | None = None,
        max_jobs: int | None = None,
        on_start: str | None = None,
        cors_origins: tuple[str, ...] = (),
        log_level: str | None = None,
        file: ServeSection | None = None,
        scheduler: bool = False,
        access_log: bool | None = None,
    ) -> ServeOptions:
        """Flags (the arguments) > ``BATCHYARD_*`` > ``[serve]`` of batchyard.toml (``file``)."""
        file = file or ServeSection()
        env_jobs = os.environ.get("BATCHYARD_MAX_JOBS") or None
        try:
            jobs = max_jobs if max_jobs is not None else int(env_jobs or file.max_jobs or 2)
        except ValueError as exc:
            raise ConfigError(f"BATCHYARD_MAX_JOBS={env_jobs!r} is not an integer") from exc
        start = on_start or os.environ.get("BATCHYARD_ON_START") or file.on_start or "resume"
        token = os.environ.get("BATCHYARD_TOKEN") or None
        if token is None and file.token:
            token = interpolate(file.token, where=f"{CONFIG_FILE} [serve] token") or None
        return cls(
            host=host or file.host or "127.0.0.1",
            port=next(p for p in (port, file.port, 8000) if p is not None),
            token=token,
            max_jobs=jobs,
            on_start=start,
            cors_origins=tuple(cors_origins or file.cors_origins or ()),
            log_level=log_level or file.log_level or "info",
            scheduler=scheduler,
            access_log=next(a for a in (access_log, file.access_log, True) if a is not None),
        ).checked()

    def checked(self) -> ServeOptions:
        """Refuse settings the server cannot run with safely; errors say what to set."""
        if not 1 <= self.max_jobs <= 64:
            raise UsageError(f"max jobs {self.max_jobs}: give 1 to 64 (--max-jobs)")
        if self.on_start not in ON_START:
            raise UsageError(f"on start {self.on_start!r}: use resume or pause (--on-start)")
        if self.log_level not in LOG_LEVELS:
            raise UsageError(
                f"log level {self.log_level!r}: use debug, info, warning or error (--log-level)"
            )
        if not is_loopback(self.host) and not self.token:
            raise UsageError(
                f"--host {self.host} is reachable from other machines: set BATCHYARD_TOKEN to a "
                "secret token first (clients send it as 'Authorization: Bearer TOKEN')"
            )
        if self.token is not None and len(self.token) < 16:
            raise UsageError("BATCHYARD_TOKEN is too short: use at least 16 characters")
        return self


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host in ("", "0.0.0.0", "::"):
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
