"""``batchyard serve``: the REST API (and the dashboard) over the project's store."""

from __future__ import annotations

import logging

import typer

from batchyard.cli.output import err


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: str | None = typer.Option(
            None,
            "--host",
            help="Address to listen on; any address other than loopback needs BATCHYARD_TOKEN "
            "(default: [serve] host, else 127.0.0.1).",
        ),
        port: int | None = typer.Option(
            None,
            "--port",
            min=0,
            max=65535,
            help="Port to listen on (default: [serve] port, else 8000).",
        ),
        max_jobs: int | None = typer.Option(
            None,
            "--max-jobs",
            min=1,
            max=64,
            help="Jobs the server runs at once; more wait their turn (default: "
            "BATCHYARD_MAX_JOBS, else [serve] max_jobs, else 2).",
        ),
        on_start: str | None = typer.Option(
            None,
            "--on-start",
            help="What to do with the jobs the server was running when it stopped: resume or "
            "pause (default: BATCHYARD_ON_START, else [serve] on_start, else resume).",
        ),
        cors_origin: list[str] = typer.Option(
            [],
            "--cors-origin",
            help="Allow browser pages from this origin (repeatable; default: [serve] "
            "cors_origins, else no CORS).",
        ),
        log_level: str | None = typer.Option(
            None,
            "--log-level",
            help="debug, info, warning or error (default: [serve] log_level, else info).",
        ),
        scheduler: bool = typer.Option(
            False,
            "--scheduler",
            help="Also run the scheduler (as `batchyard scheduler` does) in the server.",
        ),
        access_log: bool | None = typer.Option(
            None,
            "--access-log/--no-access-log",
            help="One line per request in the log, secrets masked (default: [serve] "
            "access_log, else on).",
        ),
    ) -> None:
        """Serve the REST API under /api (docs at /api/docs) and run submitted jobs.

        Jobs submitted over the API run in the server's worker pool. When the server starts, the
        jobs it was running when it stopped (even by SIGKILL) are resumed, or left paused with
        --on-start pause. Ctrl+C (SIGTERM) pauses the running jobs and stops the server. Flags
        beat BATCHYARD_* environment variables, which beat the [serve] section of batchyard.toml.
        """
        import uvicorn  # (FastAPI and uvicorn: loaded only to serve)

        from batchyard.api import ServeOptions, create_app
        from batchyard.api.dashboard import built

        state = ctx.obj
        settings = state.app.settings
        options = ServeOptions.from_env(
            host=host,
            port=port,
            max_jobs=max_jobs,
            on_start=on_start,
            cors_origins=tuple(cors_origin),
            log_level=log_level,
            file=settings.serve,
            scheduler=scheduler,
            access_log=access_log,
        )
        logging.basicConfig(
            level=options.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        if options.access_log:  # whatever --log-level says: --no-access-log turns it off
            logging.getLogger("batchyard.access").setLevel(logging.INFO)
        api = create_app(settings, options)
        auth = "bearer token required" if options.token else "no token (loopback only)"
        page = "dashboard at /" if built() else "no dashboard built (make frontend)"
        err.print(
            f"batchyard serving {settings.root} on http://{options.host}:{options.port}/ "
            f"({page}; API docs: /api/docs; {auth}; {options.max_jobs} job(s) at once"
            f"{'; scheduler on' if options.scheduler else ''})",
            highlight=False,
        )
        # batchyard's own access log replaces uvicorn's, which would show tokens in queries.
        uvicorn.run(
            api,
            host=options.host,
            port=options.port,
            log_level=options.log_level,
            access_log=False,
        )
