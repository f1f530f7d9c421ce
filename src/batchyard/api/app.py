"""The FastAPI app: the REST API under ``/api``, ``/metrics``, and the dashboard at ``/``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from batchyard import __version__
from batchyard.api import dashboard, problems
from batchyard.api.access import AccessLog
from batchyard.api.auth import require_token
from batchyard.api.options import ServeOptions
from batchyard.api.routes import (
    alerts,
    batch,
    jobs,
    live,
    metrics,
    monitors,
    reference,
    reports,
    schedules,
)
from batchyard.api.service import Service
from batchyard.config import Settings, load_settings

logger = logging.getLogger("batchyard.api")

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
    # Made now, so bad schedules stop `serve --scheduler` before it listens.
    scheduler = (
        service.app.scheduler(on_message=lambda text: logger.info("%s", text))
        if options.scheduler
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        picked = service.pool.recover(options.on_start)
        if picked:
            verb = "resuming" if options.on_start == "resume" else "left paused"
            logger.warning("%s %d job(s) this server held: %s", verb, len(picked), picked)
        service.pool.start()
        thread = None
        if scheduler is not None:
            thread = threading.Thread(target=scheduler.run, name="scheduler", daemon=True)
            thread.start()
        try:
            yield
        finally:
            if scheduler is not None and thread is not None:
                scheduler.stop()  # its running jobs pause; the next scheduler resumes them
                thread.join(30)
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
    app.include_router(live.router, dependencies=guarded)
    app.include_router(jobs.router, dependencies=guarded)
    app.include_router(reports.router, dependencies=guarded)
    app.include_router(batch.router, dependencies=guarded)
    app.include_router(schedules.router, dependencies=guarded)
    app.include_router(reference.router, dependencies=guarded)
    app.include_router(reference.health_router)
    app.include_router(metrics.router, dependencies=guarded)
    app.include_router(alerts.router, dependencies=guarded)
    app.include_router(monitors.router, dependencies=guarded)
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    if options.access_log:
        app.add_middleware(AccessLog, token=options.token)  # outermost: sees every answer

    @app.get("/docs", include_in_schema=False)
    def docs() -> RedirectResponse:
        return RedirectResponse("/api/docs")

    app.router.routes.append(dashboard.mount())  # last: every API route comes first
    return app
