"""``batchyard data export`` and ``batchyard data import``: tables to files and files to tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchyard.cli.args import SOURCE, TABLES, TARGET, place, split
from batchyard.cli.data import app
from batchyard.cli.output import err
from batchyard.cli.run import run_with_display, showing_results
from batchyard.files.infer import Inferred, summary


@app.command("export")
def export(
    ctx: typer.Context,
    source: str = SOURCE,
    to: Path = typer.Option(
        ...,
        "--to",
        help="Where: a file for one table (its suffix matching --format), else a folder that gets "
        "one file per table and manifest.json.",
    ),
    fmt: str = typer.Option(
        "parquet", "--format", "-f", help="csv, json (one array), jsonl, parquet or sqlite."
    ),
    tables: list[str] = TABLES,
    where: str | None = typer.Option(
        None, "--where", help="Only rows matching this SQL condition (one table)."
    ),
    columns: list[str] = typer.Option(
        [], "--columns", help="Only these columns, in this order (one table; comma-separate)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files that exist."),
    query: str | None = typer.Option(
        None,
        "--query",
        "-q",
        help="Export the rows of this SELECT instead of a table (--tables NAME names the result; "
        "default: query).",
    ),
) -> None:
    """Export tables (or some rows and columns of one, or a query) to CSV, JSON, JSON lines,
    Parquet or SQLite.

    Streams in batches with bounded memory; many tables give one file per table and a
    manifest.json with each table's schema, row count and sha256.
    """
    state = ctx.obj
    app_ = state.app
    params: dict[str, Any] = {
        "source": place(source, app_.settings.connections),
        "to": str(to.expanduser().absolute()),
        "format": fmt.lower(),
        "tables": split(tables),
        "where": where,
        "columns": split(columns),
        "overwrite": overwrite,
        "query": query,
    }
    job = app_.submit("export", params)
    err.print(f"job {job.id}: {job.total:,} table(s) to {params['to']}")
    run_with_display(state, "export", lambda **kw: app_.execute(job.id, **kw))


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="A CSV, JSON, JSON lines, Parquet or SQLite file, or an export's folder."
    ),
    target: str = TARGET,
    table: str | None = typer.Option(
        None, "--table", help="The table to load (default: the file's name without suffix)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="The file's format (default: from its suffix)."
    ),
    mode: str = typer.Option(
        "append", "--mode", help="append, replace (the table is made anew) or upsert (needs --key)."
    ),
    key: list[str] = typer.Option(
        [], "--key", help="Key columns: a repeated key is quarantined; upsert updates on it."
    ),
    types: list[str] = typer.Option(
        [], "--type", help="A column's type instead of the inferred one: COLUMN=TYPE."
    ),
    atomic: bool | None = typer.Option(
        None,
        "--atomic/--no-atomic",
        help="All or nothing (default for files under 64 MB); --no-atomic commits batches with "
        "checkpoints and quarantines bad rows.",
    ),
    quarantine: Path | None = typer.Option(
        None,
        "--quarantine",
        help="Where bad rows go, as JSON lines with file, line and reason (default: "
        "FILE.quarantine.jsonl).",
    ),
    from_table: str | None = typer.Option(
        None, "--from-table", help="The table to read from a SQLite file holding several."
    ),
    validate: Path | None = typer.Option(
        None,
        "--validate",
        help="A rules file (as for batchyard validate): rows failing one of the table's "
        "error-severity row rules are quarantined with the rule's name, not loaded.",
    ),
    strict_types: bool = typer.Option(
        False,
        "--strict-types",
        help="A new table's column whose values are mostly of one type keeps that type, and "
        "the rows whose value does not fit are bad rows, instead of the column falling back "
        "to text.",
    ),
) -> None:
    """Import a data file into a table of any connection, with types inferred from the whole file.

    Bad rows (unparsable, of the wrong field count or encoding, not fitting their column, or a
    repeated key) are quarantined with file, line and reason; in atomic mode any bad row refuses
    the file and nothing is written.
    """
    state = ctx.obj
    app_ = state.app
    params: dict[str, Any] = {
        "file": str(file.expanduser().absolute()),
        "target": place(target, app_.settings.connections),
        "table": table,
        "format": fmt,
        "mode": mode,
        "key": split(key),
        "types": types,
        "atomic": atomic,
        "quarantine": str(quarantine.expanduser().absolute()) if quarantine else None,
        "from_table": from_table,
        "rules": str(validate.expanduser().absolute()) if validate else None,
        "strict_types": strict_types,
    }
    job = app_.submit("import", params)
    err.print(f"job {job.id}: {job.total:,} file(s) into {target}")

    def show(result: dict[str, Any]) -> None:
        if result.get("inferred"):
            _print_inferred(result)
        if result.get("bad"):
            err.print(
                f"{result['bad']:,} bad row(s) of {Path(result['file']).name} quarantined in "
                f"{result['quarantine']}",
                style="yellow",
            )

    run_with_display(state, "import", showing_results(app_, job.id, show))


def _print_inferred(result: dict[str, Any]) -> None:
    """The types a new table took from its file, and why any column is text."""
    columns = [Inferred.from_dict(c) for c in result["inferred"]]
    strict = bool(result.get("strict_types"))
    for line in summary(result["table"], Path(result["file"]).name, columns, strict):
        err.print(line, style="yellow" if line.startswith(" ") else None, highlight=False)
