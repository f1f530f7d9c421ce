"""``batchyard migrate SRC DST``: copy tables between databases, exactly once, with progress."""

from __future__ import annotations

from typing import Any

import typer

from batchyard.cli import complete
from batchyard.cli.args import KEYS, SOURCE, TABLES, TARGET, place, split, workers_option
from batchyard.cli.output import err
from batchyard.cli.run import check_executor, run_with_display
from batchyard.cli.verify import print_results
from batchyard.store.models import Job


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(
        ctx: typer.Context,
        source: str = SOURCE,
        target: str = TARGET,
        tables: list[str] = TABLES,
        exclude: list[str] = typer.Option([], "--exclude", help="Leave these tables out."),
        if_exists: str = typer.Option(
            "fail",
            "--if-exists",
            help="When a target table exists: fail, replace, append or resume.",
        ),
        types: list[str] = typer.Option(
            [],
            "--type",
            help="Set a column's type: table.column=TYPE (integer, float, decimal, text, blob, "
            "any, date, datetime, ...); to text, blob or any its values are converted.",
        ),
        skip_bad: list[str] = typer.Option(
            [], "--skip-bad", help="Leave out rows whose table.column value does not fit its type."
        ),
        keys: list[str] = KEYS,
        verify: bool = typer.Option(False, "--verify", help="Run verify after the copy."),
        keep_checkpoints: bool = typer.Option(
            False,
            "--keep-checkpoints",
            help="Keep the job's rows in the target's _batchyard_migrate table after success "
            "(dropped by default).",
        ),
        workers: int | None = workers_option(
            "Chunks at once (default: 1 into SQLite, 2 into PostgreSQL)."
        ),
        executor: str | None = typer.Option(
            None,
            "--executor",
            help="Where chunks run: threads or processes (default: chosen for the databases), "
            "dask or dask://HOST:PORT (a Dask cluster: key ranges of a table on several "
            "machines; see docs/cluster.md).",
            autocompletion=complete.executors,
        ),
        chunk_rows: int = typer.Option(
            0,
            "--chunk-rows",
            min=0,
            help="Rows per item: bigger tables split into key ranges (0: automatic, 5,000,000 "
            "between SQLite files, 500,000 otherwise).",
        ),
        batch_rows: int = typer.Option(
            0, "--batch-rows", min=0, help="Rows per committed batch (0: automatic)."
        ),
    ) -> None:
        """Copy tables from SOURCE to TARGET (SQLite or PostgreSQL, either way), exactly once.

        Checks connections and tables first, creates the tables, copies them in checkpointed
        chunks, then builds keys, indexes and foreign keys. A stored value that does not fit its
        type stops it with a report (exit 2) and leaves the target as it was. Ctrl+C pauses;
        `jobs resume` continues without losing or repeating a row.
        """
        check_executor(executor, "--executor")
        state = ctx.obj
        app = state.app
        connections = app.settings.connections
        params: dict[str, Any] = {
            "source": place(source, connections),
            "target": place(target, connections),
            "tables": split(tables),
            "exclude": split(exclude),
            "if_exists": if_exists,
            "types": types,
            "skip_bad": skip_bad,
            "chunk_rows": chunk_rows,
            "batch_rows": batch_rows,
            "keys": keys,
            "verify": verify,
            "keep_checkpoints": keep_checkpoints,
        }
        job = app.submit("migrate", params, workers=workers, executor=executor)
        err.print(f"job {job.id}: {job.total:,} chunk(s)")

        def start(**kw: Any) -> Any:
            done = app.execute(job.id, **kw)
            # What the target got otherwise than the source has it (defaults left out, names cut).
            for event in app.log(job.id):
                if event.level == "warning" and event.item_key == "@setup":
                    err.print(f"note: {event.message}", markup=False, highlight=False)
            return done

        run_with_display(state, "migrate", start, report=_verified)


def _verified(job: Job) -> None:
    """With --verify: what verify found, as `batchyard verify` prints it."""
    from batchyard.move.verify import IDENTICAL

    results = job.metadata.get("verify")
    if not isinstance(results, list):
        return
    print_results(results)
    if all(r.get("status") == IDENTICAL for r in results):
        err.print(f"verify: all {len(results)} table(s) identical", style="green")
