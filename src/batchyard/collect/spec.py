"""A collect job's params, checked and compiled once: templates, paths, pagination, auth.

Secrets never sit in params: headers, query params and auth read environment variables whose
NAMES the params hold, when a request is sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from batchyard.collect import items, templates
from batchyard.collect.extract import compile_path
from batchyard.collect.pagination import Pages
from batchyard.errors import ParamError
from batchyard.secrets import is_secret_name

METHODS = ("GET", "POST")
DEFAULT_KEY = ("_item_key", "_row")
#: A header name as HTTP defines it (a token); templates may not make one.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_url(url: str) -> None:
    """An http(s) URL with a host: anything else would fail on every attempt of every item.

    A URL that starts with a template variable (``{base}/games``) is checked when it is sent.
    """
    if _CONTROL.search(url):
        raise ParamError(f"param 'url': {url!r} holds a control character (a line break?)")
    if url.startswith("{"):
        return
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ParamError(
            f"param 'url': {url!r}: give an http:// or https:// URL (collect fetches over HTTP; "
            "read local files with `batchyard data import`)"
        )
    if not parts.netloc:
        raise ParamError(f"param 'url': {url!r} has no host; write it as https://HOST/PATH")


def check_headers(headers: Mapping[str, str], what: str = "headers") -> None:
    """Header names are tokens and values hold no line breaks (which would forge headers)."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ParamError(
                f"param {what!r}: {name!r} is not a header name (letters, digits and -_.!#$%&'*+^`|~)"
            )
        if _CONTROL.search(value.replace("\t", " ")):
            raise ParamError(
                f"param {what!r}: header {name!r} holds a line break or another control "
                "character, which would forge headers; give one line"
            )


def env_value(var: str, what: str) -> str:
    value = os.environ.get(var)
    if value is None or value == "":
        raise ParamError(f"{what} reads the environment variable {var}, which is not set")
    return value


def env_pairs(values: list[str] | None, where: str) -> dict[str, str]:
    """``["NAME=ENV_VAR", ...]`` as ``{NAME: ENV_VAR}``.

    Lists of text rather than mappings: a mapping keyed by a secret-looking name (``api_key``)
    would be masked when the job is stored, and the variable's name lost with it.
    """
    out: dict[str, str] = {}
    for raw in values or []:
        name, sep, var = str(raw).partition("=")
        if not sep or not name.strip() or not var.strip().isidentifier():
            raise ParamError(f"{where} {raw!r}: write it as NAME=ENV_VAR")
        out[name.strip()] = var.strip()
    return out


@dataclass(frozen=True)
class Auth:
    """Bearer or basic auth from environment variables: their names, never their values."""

    scheme: str
    vars: tuple[str, ...]

    @classmethod
    def parse(cls, bearer: str | None, basic: str | None) -> Auth | None:
        if bearer and basic:
            raise ParamError("give bearer_env or basic_env, not both")
        if bearer:
            if not bearer.isidentifier():
                raise ParamError(f"bearer_env={bearer!r}: give the name of an environment variable")
            return cls("bearer", (bearer,))
        if basic:
            names = tuple(basic.split(":"))
            if len(names) != 2 or not all(n.isidentifier() for n in names):
                raise ParamError(
                    f"basic_env={basic!r}: write USER_VAR:PASSWORD_VAR (names of environment "
                    "variables)"
                )
            return cls("basic", names)
        return None


@dataclass(frozen=True)
class Spec:
    url: str
    method: str = "GET"
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    header_env: dict[str, str] = field(default_factory=dict)
    query_env: dict[str, str] = field(default_factory=dict)
    auth: Auth | None = None
    records: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    add_columns: dict[str, str] = field(default_factory=dict)
    table: str | None = None
    connection: str | None = None
    key: tuple[str, ...] = DEFAULT_KEY
    landing: str | None = None
    pages: Pages = field(default_factory=Pages)

    @classmethod
    def from_params(cls, p: Mapping[str, Any]) -> Spec:
        method = str(p.get("method") or "GET").upper()
        if method not in METHODS:
            raise ParamError(f"method={method!r}: use GET or POST")
        if p.get("body") is not None and method != "POST":
            raise ParamError("a body goes with method POST")
        if not p.get("table") and not p.get("landing"):
            raise ParamError(
                "say where the data goes: a table (--table), a landing folder, or both"
            )
        fields = {
            col: compile_path(str(expr), f"field {col!r}")
            for col, expr in (p.get("fields") or {}).items()
        }
        pages = Pages(
            style=p.get("paginate") or None,
            param=p.get("page_param") or None,
            size=p.get("page_size"),
            size_param=p.get("size_param") or None,
            first=int(p.get("first_page", 1)),
            cursor_path=p.get("cursor_path") or None,
            next_path=p.get("next_path") or None,
            max_pages=int(p.get("max_pages") or 10_000),
        )
        key = tuple(p.get("key") or DEFAULT_KEY)
        spec = cls(
            url=str(p["url"]),
            method=method,
            query=dict(p.get("query") or {}),
            body=p.get("body"),
            headers={str(k): str(v) for k, v in (p.get("headers") or {}).items()},
            header_env=env_pairs(p.get("header_env"), "header_env"),
            query_env=env_pairs(p.get("query_env"), "query_env"),
            auth=Auth.parse(p.get("bearer_env"), p.get("basic_env")),
            records=compile_path(p["records"], "records") if p.get("records") else None,
            fields=fields,
            add_columns={str(k): str(v) for k, v in (p.get("add_columns") or {}).items()},
            table=p.get("table") or None,
            connection=p.get("connection") or None,
            key=key,
            landing=p.get("landing") or None,
            pages=pages,
        )
        check_url(spec.url)
        check_headers(spec.headers)
        check_headers({name: "" for name in spec.header_env}, "header_env")
        for where, given in (("headers", spec.headers), ("query", spec.query)):
            for name in given:
                if is_secret_name(name):
                    flag = "header_env" if where == "headers" else "query_env"
                    raise ParamError(
                        f"{where} {name!r} looks like a secret, which is never stored with a "
                        f"job: read it from the environment with {flag} {name}=ENV_VAR"
                    )
        spec.check_templates(
            items.variables(
                has_dates=p.get("start") is not None,
                has_keys=bool(p.get("keys") or p.get("keys_file") or p.get("keys_query")),
                grid=p.get("grid") or {},
            )
        )
        return spec

    def check_templates(self, item_vars: set[str]) -> None:
        """Every variable of every template is one the items (and pages) provide."""
        valid = set(item_vars)
        if self.pages.style is not None:
            valid.update(templates.PAGE_VARS)
        templates.check(
            {
                "url": self.url,
                "query": self.query,
                "body": self.body,
                "headers": self.headers,
                "add_columns": self.add_columns,
            },
            valid,
        )

    def check_env(self) -> None:
        """Every environment variable the requests read is set."""
        self.secret_headers()
        self.secret_query()

    def secret_headers(self) -> dict[str, str]:
        out = {name: env_value(var, f"header {name}") for name, var in self.header_env.items()}
        if self.auth is not None and self.auth.scheme == "bearer":
            token = env_value(self.auth.vars[0], "bearer_env")
            out["Authorization"] = f"Bearer {token}"
        return out

    def secret_query(self) -> dict[str, str]:
        return {name: env_value(var, f"query {name}") for name, var in self.query_env.items()}

    def basic_auth(self) -> tuple[str, str] | None:
        if self.auth is None or self.auth.scheme != "basic":
            return None
        user, password = self.auth.vars
        return env_value(user, "basic_env"), env_value(password, "basic_env")

    def secrets(self) -> list[str]:
        """The values read from the environment, to mask wherever text is shown."""
        found = [*self.secret_headers().values(), *self.secret_query().values()]
        if self.auth is not None:
            found += [os.environ.get(v, "") for v in self.auth.vars]
        # The header value "Bearer xyz" is masked by its token "xyz" too.
        return [s for s in found if len(s) >= 4]
