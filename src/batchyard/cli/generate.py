"""``batchyard generate SCHEMA``: a deterministic synthetic dataset into a database or files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchyard.cli.args import workers_option
from batchyard.cli.output import err
from batchyard.cli.run import run_with_display
from batchyard.generate import DEFAULT_CHUNK_ROWS, DEFAULT_SEED
from batchyard.kinds.generate import destination, spec_of
from batchyard.kinds.params import GenerateParams


def _absolute(text: str | None, connections: dict[str, str]) -> str | None:
    """Keep connection names and URLs; make paths absolute so a resume from elsewhere finds them."""
    if text is None or "://" in text or text in connections or text == "default":
        return text
    return str(Path(text).expanduser().absolute())


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        ctx: typer.Context,
        schema: str = typer.Argument(
            ..., help="The dataset to make: sports, retail, finance or healthcare."
        ),
        to: str | None = typer.Option(
            None,
            "--to",
            help="Where: a connection name, a URL or a SQLite file; with --format csv or jsonl, "
            "a folder (one file per table). Default: SCHEMA.db, or the folder SCHEMA.",
        ),
        fmt: str | None = typer.Option(
            None,
            "--format",
            help="sqlite (a SQLite file at --to, even without a .db suffix), csv or jsonl "
            "(files in the folder --to). Default: the database --to names.",
        ),
        scale: str = typer.Option(
            "1",
            "--scale",
            help="Size: small, medium, large, xlarge, or a multiple of the base sizes "
            "(sports at 1: 2,959,920 rows; 0.01: about 30,000).",
        ),
        rows: int | None = typer.Option(
            None, "--rows", help="Make --table this many rows (the other tables follow --scale)."
        ),
        table: str | None = typer.Option(None, "--table", help="The table --rows sizes."),
        seed: int = typer.Option(
            DEFAULT_SEED,
            "--seed",
            help="The same seed gives the same values on every run, on SQLite and PostgreSQL, "
            "and byte-identical files.",
        ),
        inject_errors: float = typer.Option(
            0.0,
            "--inject-errors",
            help="Plant known defects in about this fraction of each table's rows (0 to 0.5), "
            "and write a manifest of them.",
        ),
        manifest: Path | None = typer.Option(
            None,
            "--manifest",
            help="Where the defect manifest (JSON) goes. Default: next to a SQLite file "
            "(NAME.manifest.json) or in the folder (manifest.json); required for PostgreSQL.",
        ),
        if_exists: str = typer.Option(
            "fail", "--if-exists", help="When a table (or file) exists already: fail or replace."
        ),
        chunk_rows: int = typer.Option(
            DEFAULT_CHUNK_ROWS,
            "--chunk-rows",
            help="Rows per item: big tables are made in chunks, each committed with its checkpoint.",
        ),
        workers: int | None = workers_option(
            "Chunks at once (default: 1 into SQLite, 2 into PostgreSQL or files)."
        ),
    ) -> None:
        """Generate a deterministic synthetic dataset into a database or a folder of files.

        The database computes every row from its number and the seed, in set-based SQL, so the
        same seed gives the same data everywhere. Ctrl+C pauses; `jobs resume` continues without
        repeating or skipping a row.
        """
        state = ctx.obj
        app = state.app
        connections = app.settings.connections
        params: dict[str, Any] = {
            "dataset": schema,
            "to": _absolute(to, connections),
            "format": fmt,
            "scale": scale,
            "rows": rows,
            "table": table,
            "seed": seed,
            "inject_errors": inject_errors,
            "manifest": str(manifest.expanduser().absolute()) if manifest else None,
            "if_exists": if_exists,
            "chunk_rows": chunk_rows,
        }
        job = app.submit("generate", params, workers=workers)
        checked = GenerateParams.model_validate(params)  # as the job has them: checked by submit
        spec = spec_of(checked)
        target, manifest_path = destination(checked, app.settings)
        sizes = ", ".join(f"{name} {count:,}" for name, count in spec.counts.items())
        err.print(
            f"job {job.id}: {spec.dataset.name} into {target.name}: {spec.total_rows:,} "
            f"rows ({sizes}), seed {seed}, {job.total:,} chunk(s)"
        )
        if manifest_path is not None:
            err.print(f"defect manifest: {manifest_path}")
        title = f"generate {spec.dataset.name}"
        run_with_display(state, title, lambda **kw: app.execute(job.id, **kw))
