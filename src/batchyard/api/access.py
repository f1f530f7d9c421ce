"""The access log of ``batchyard serve``: one line per request, with nothing secret in it.

Each line, logged by ``batchyard.access`` when the response ends::

    127.0.0.1 "GET /api/jobs?status=running&limit=50 HTTP/1.1" 200 1832B 4.1ms

Query values under secret-looking names (``token``, ``password``, ``api_key``) are ``***``, as
are passwords in URLs and the server's own token wherever it appears; headers (where the bearer
token travels) are never logged. The path and query are logged as sent, percent-escapes and all,
so a line break in a request cannot make a second log line.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl, quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchyard.secrets import MASK, is_secret_name, mask_url

logger = logging.getLogger("batchyard.access")


def masked_target(path: str, query: str, token: str | None = None) -> str:
    """The request's path and query as the log shows them: secrets masked, escapes kept."""
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        shown = MASK if is_secret_name(name) else mask_url(value)
        parts.append(f"{quote(name, safe='')}={quote(shown, safe='*:/,@')}")
    target = path + ("?" + "&".join(parts) if parts else "")
    if token:
        for form in {token, quote(token, safe="")}:
            target = target.replace(form, MASK)
    return _printable(target)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() and ch != '"' else quote(ch, safe="") for ch in text)


class AccessLog:
    """ASGI middleware: logs each HTTP request once its response ends (or the client left)."""

    def __init__(self, app: ASGIApp, token: str | None = None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        size = 0

        async def sending(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._log(scope, status, size, time.perf_counter() - started)

    def _log(self, scope: Scope, status: int | None, size: int, seconds: float) -> None:
        client = scope.get("client")
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(scope.get("path", ""), safe="/%")
        query = scope.get("query_string", b"").decode("latin-1")
        target = masked_target(path.split("?", 1)[0], query, self.token)
        logger.info(
            '%s "%s %s HTTP/%s" %s %dB %.1fms',
            client[0] if client else "-",
            scope.get("method", "-"),
            target,
            scope.get("http_version", "1.1"),
            status if status is not None else "-",
            size,
            seconds * 1000,
        )
