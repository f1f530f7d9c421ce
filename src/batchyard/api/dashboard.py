"""The dashboard: the built single-page app (``web/static``) at ``/``.

Any ``GET`` outside the API (``/api/...``, ``/metrics``) is the page's: a file of the build when
there is one (``/assets/...``, hashed names, cached for good), else ``index.html``, so the page's
own routes (``/jobs/ID``, ``/history``) load it too. The page holds no data, so it is served
without a token; it asks for one when the API answers 401. Without a build, ``/`` says how to
make one.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
#: First segments of paths the dashboard never answers for: the API keeps its own 404 and 405.
RESERVED = frozenset({"api", "metrics"})

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>batchyard: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The dashboard is not built</h1>
<p>This batchyard has no built dashboard in <code>{where}</code>. The REST API works: see
<a href="/api/docs">/api/docs</a>.</p>
<p>To build the dashboard from a source checkout (Node.js 20 and npm needed), run
<code>make frontend</code>, or <code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>,
then reload this page. Installed wheels carry a built dashboard.</p>
</body></html>
"""


def built(static: Path | None = None) -> bool:
    return ((static or STATIC) / "index.html").is_file()


class _Build(StaticFiles):
    """The build's files; any other path is the page's own route, answered with index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            response = FileResponse(Path(str(self.directory)) / "index.html")
            response.headers["Cache-Control"] = "no-cache"
            return response
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


class _Missing:
    """Every page: how to build the dashboard (503)."""

    def __init__(self, static: Path) -> None:
        self.page = MISSING.format(where=html.escape(str(static)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(self.page, status_code=503)(scope, receive, send)


class DashboardMount(Mount):
    """Mounted at ``/`` after every API route; matches only ``GET``/``HEAD`` outside the API."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        first = str(scope.get("path", "")).lstrip("/").split("/", 1)[0]
        if first in RESERVED:
            return Match.NONE, {}
        return super().matches(scope)


def mount(static: Path | None = None) -> DashboardMount:
    """The dashboard's mount: the build at ``static`` (``web/static``), or a page saying how to
    build it."""
    static = static or STATIC
    app = _Build(directory=static, html=True) if built(static) else _Missing(static)
    return DashboardMount("/", app=app, name="dashboard")
