"""The FastAPI app: the REST API under ``/api``, ``/metrics``, and the dashboard at ``/``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from batchyard import __version__
from batchyard.api import problems
from batchyard.api.auth import require_token
from batchyard.api.options import ServeOptions
from batchyard.api.routes import batch, jobs, metrics, monitors, reference
from batchyard.api.service import Service
from batchyard.config import Settings, load_settings

logger = logging.getLogger("batchyard.api")

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

DESCRIPTION = """\
Start, watch and steer batchyard jobs. Errors are problem details
(`application/problem+json`) whose `errors` name each bad field. When the server has a token
(`BATCHYARD_TOKEN`; always when it listens off loopback) send `Authorization: Bearer TOKEN`.
"""


def create_app(
    settings: Settings | None = None,
    options: ServeOptions | None = None,
    *,
    root: str | Path | None = None,
) -> FastAPI:
    """The API for the project at ``root`` (or ``settings``); jobs run in its worker pool."""
    settings = settings or load_settings(Path(root) if root else None)
    options = (options or ServeOptions()).checked()
    service = Service(settings, options)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        picked = service.pool.recover(options.on_start)
        if picked:
            verb = "resuming" if options.on_start == "resume" else "left paused"
            logger.warning("%s %d job(s) this server held: %s", verb, len(picked), picked)
        service.pool.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="batchyard",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        lifespan=lifespan,
    )
    app.state.service = service
    problems.install(app)
    # Without a token the document promises no auth, as the server asks for none.
    guarded = [Depends(require_token)] if options.token else []
    app.include_router(jobs.router, dependencies=guarded)
    app.include_router(batch.router, dependencies=guarded)
    app.include_router(reference.router, dependencies=guarded)
    app.include_router(reference.health_router)
    app.include_router(metrics.router, dependencies=guarded)
    app.include_router(monitors.router, dependencies=guarded)
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    if (STATIC / "index.html").is_file():
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="dashboard")
    return app
