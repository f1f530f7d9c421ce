"""Secrets: how they are told apart, masked wherever they are shown, and kept out of the store.

A value is secret when its name looks like one (``password``, ``api_key``, ``token``, ...) or it is
the password of a URL. A job's params keep a secret out of the store one of two ways:

- given as a ``${VAR}`` reference, the reference is stored and read from the environment each time
  the job runs (a resume in another shell, a retry next week);
- typed in as a value, it is stored masked (``***``) and kept only in the memory of the process
  that submitted the job (:class:`ParamSecrets`), for that process's runs; a run elsewhere is
  refused, asking for a reference instead.

Logs, errors, tracebacks, exports and API responses pass through :func:`mask_secrets` or
:func:`redact`. URLs are masked by :func:`mask_url`. Configuration reads ``${VAR}`` references with
:func:`interpolate`; everything here sits below it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from batchyard.errors import ConfigError, ParamError

#: ``${VAR}`` or ``${VAR:-default}``: group 1 is the variable's name, group 2 the default.
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s/:@]*:)(?P<pw>[^\s@/]+)(?P<at>@)", re.I
)
MASK = "***"


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


# Whole parts of a name only: "db_password" and "apiKey"-style "api_key" are secrets, "author" is not.
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(pass(word|wd)?|pwd|secret|token|api[_\-]?key|credentials?|auth)(?:$|[_\-.])",
    re.I,
)
#: Shorter values would mask ordinary text wherever they appear; they are not worth hiding so.
_SHORTEST = 4


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def holds_literal_secret(name: str, value: Any) -> bool:
    """True when a param value carries a secret typed in as such (not a ``${VAR}`` reference)."""
    if not isinstance(value, str) or not value or ENV_REF.fullmatch(value):
        return False
    return is_secret_name(name) or mask_url(value) != value


def mask_secrets(value: Any, name: str = "") -> Any:
    """Mask passwords in URLs and values under secret-looking names, recursively."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v, name) for v in value]
    if isinstance(value, str):
        if name and is_secret_name(name) and value and not ENV_REF.fullmatch(value):
            return MASK
        return mask_url(value)
    return value


def secret_values(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The secret strings inside ``params`` (values of secret-looking names, URL passwords)."""
    found: set[str] = set()

    def visit(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(str(k), v)
        elif isinstance(value, list | tuple):
            for v in value:
                visit(name, v)
        elif isinstance(value, str) and value:
            if is_secret_name(name):
                found.add(value)
            elif "://" in value:
                try:
                    password = urlsplit(value).password
                except ValueError:
                    password = None
                if password:
                    found.add(password)

    visit("", dict(params))
    return tuple(sorted((v for v in found if len(v) >= _SHORTEST), key=len, reverse=True))


def referenced_values(params: Mapping[str, Any]) -> list[str]:
    """What the environment holds for the ``${VAR}`` references in ``params``: secrets to mask."""
    names = (m.group(1) for m in ENV_REF.finditer(str(params)))
    return [v for v in (os.environ.get(n, "") for n in names) if len(v) >= _SHORTEST]


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``, and URL passwords masked."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return str(mask_secrets(text))


def resolve_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with every ``${VAR}`` inside each value read from the environment."""
    return {name: _interpolated(value, name) for name, value in raw.items()}


class ParamSecrets:
    """Secrets typed in as literal params: kept in this process for its runs of the job, never
    stored. One per :class:`batchyard.Batchyard`."""

    def __init__(self) -> None:
        self._by_job: dict[str, dict[str, Any]] = {}

    def split(
        self, raw: Mapping[str, Any], dumped: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``dumped`` (the params as checked) as the store may keep them, and the secrets that
        must not be kept there. A param given as a ``${VAR}`` reference is stored as given."""
        stored: dict[str, Any] = {}
        secrets: dict[str, Any] = {}
        for name, value in dumped.items():
            given = raw.get(name)
            if _has_reference(given):
                stored[name] = given
            elif holds_literal_secret(name, value):
                secrets[name] = value
                stored[name] = mask_secrets(value, name)
            elif isinstance(value, dict | list):
                masked = mask_secrets(value, name)
                if masked != value:  # a list of URLs, say, one with a password in it
                    secrets[name] = value
                stored[name] = masked
            else:
                stored[name] = value
        return stored, secrets

    def keep(self, job_id: str, secrets: Mapping[str, Any]) -> None:
        if secrets:
            self._by_job[job_id] = dict(secrets)

    def share(self, old_id: str, new_id: str) -> None:
        """A retry runs with the secrets of the job it retries."""
        if old_id in self._by_job:
            self._by_job[new_id] = self._by_job[old_id]

    def params_for_run(self, job_id: str, stored: Mapping[str, Any]) -> dict[str, Any]:
        """A job's params as given: secrets put back, references read from the environment.

        Refused (:class:`~batchyard.errors.ParamError`) when a secret was typed in by another
        process, so only its mask is left.
        """
        raw = dict(stored)
        raw.update(self._by_job.get(job_id, {}))
        for name, value in raw.items():
            if any(
                MASK in text and holds_literal_secret(name, text.replace(MASK, "x"))
                for text in _strings(value)
            ):
                raise ParamError(
                    f"param {name!r} of job {job_id} held a secret, which is never stored; "
                    f"pass it as a ${{ENV_VAR}} reference so a resume can read it from the environment"
                )
        return resolve_params(raw)


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a param value, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _has_reference(value: Any) -> bool:
    """True when a param value holds a ``${VAR}`` reference anywhere inside it."""
    return any("${" in text for text in _strings(value))


def _interpolated(value: Any, name: str) -> Any:
    """``value`` with every ``${VAR}`` inside it read from the environment."""
    if isinstance(value, str):
        return interpolate(value, where=f"param {name!r}") if "${" in value else value
    if isinstance(value, dict):
        return {k: _interpolated(v, name) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_interpolated(v, name) for v in value]
    return value
