"""``batchyard validate TARGET --rules FILE``: run a rules suite and report what to fix."""

from __future__ import annotations

import io
from pathlib import Path

import typer
from rich.console import Console

from batchyard.check.formats import FORMATS, render, to_rich
from batchyard.check.report import Report
from batchyard.cli.args import split, workers_option
from batchyard.cli.output import PIPE_WIDTH, ProgressDisplay, console, err
from batchyard.cli.run import print_end
from batchyard.errors import UsageError
from batchyard.files.formats import check_writable
from batchyard.store.models import JobStatus

#: How many failing rules the closing line names.
SHOWN = 5

SUFFIX_FORMATS = {".json": "json", ".md": "md", ".html": "html", ".htm": "html", ".xml": "junit"}


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        ctx: typer.Context,
        target: str = typer.Argument(
            ...,
            help="A connection name, database URL or SQLite file; or CSV, JSON/JSONL or Parquet "
            "files: a file, a folder of them or a glob.",
        ),
        rules: str = typer.Option(
            ...,
            "--rules",
            "-r",
            help="The rules file (YAML), or the name of one in the project's rules/ folder.",
        ),
        tables: list[str] = typer.Option(
            [], "--table", "-t", help="Only these tables of the suite (repeat or comma-separate)."
        ),
        where: str | None = typer.Option(
            None,
            "--where",
            help='A SQL condition every rule\'s rows must meet, e.g. "season = 2024".',
        ),
        fmt: str | None = typer.Option(
            None,
            "--format",
            "-f",
            help="table, json, md, html or junit (default: from --output's suffix, else table).",
        ),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write the report to this file instead of stdout."
        ),
        fail_on: str = typer.Option(
            "error",
            "--fail-on",
            help="Exit 1 when a rule of this severity or above fails: error or warning.",
        ),
        workers: int | None = workers_option("Tables at once (default: the project's workers)."),
        as_json: bool = typer.Option(
            False, "--json", help="Print the JSON report (--format json)."
        ),
    ) -> None:
        """Check TARGET against the rules in a YAML file: per rule, failing rows, samples and a fix.

        Rules run inside the database (one scan per table, joins and GROUP BY for the rest); the
        report scores each table and the whole from 0 to 100 and shows the change since the last
        run of the suite. Exit 0: every rule at or above --fail-on passes; 1: one fails; 2: bad
        input.
        """
        if fail_on not in ("error", "warning"):
            raise UsageError(f"--fail-on {fail_on!r}: use error or warning")
        if as_json and fmt not in (None, "json"):
            raise UsageError(f"--json and --format {fmt} ask for two formats; give one")
        fmt = "json" if as_json else fmt
        chosen = fmt or (SUFFIX_FORMATS.get(output.suffix.lower()) if output else None) or "table"
        if chosen not in FORMATS:
            raise UsageError(f"--format {chosen!r}: use {', '.join(FORMATS)}")
        if output is not None and output.is_dir():
            raise UsageError(f"--output {output} is a folder; name the report's file")
        if output is not None:
            check_writable(output, "--output")
        state = ctx.obj
        api = state.app
        display = ProgressDisplay("validate")
        with display:
            report = api.validate(
                target,
                rules,
                tables=split(tables),
                where=where,
                fail_on=fail_on,
                workers=workers,
                on_progress=display.update,
                on_message=display.message,
            )
        _emit(report, chosen, output)
        for e in report.errors:
            err.print(f"{e['table']}: {e['error']}", style="red")
        job = api.job(report.job)
        if job.status is not JobStatus.COMPLETED:
            print_end(state, job)
        if job.status is JobStatus.PAUSED:
            raise typer.Exit(job.exit_code)
        failed = report.failed(fail_on)
        counts = report.counts
        line = (
            f"{report.suite}: score {report.score}/100; {counts['pass']} passed, "
            f"{counts['warn']} warned, {counts['fail']} failed, {counts['error']} errored"
        )
        if failed or report.errors:
            names = ", ".join(f"{t}.{r.name}" for t, r in failed[:SHOWN])
            more = f" and {len(failed) - SHOWN} more" if len(failed) > SHOWN else ""
            err.print(f"{line}; failing at {fail_on}: {names}{more}", style="red")
        else:
            err.print(line, style="green")
        raise typer.Exit(job.exit_code)


def _emit(report: Report, fmt: str, output: Path | None) -> None:
    """The report on stdout (a table drawn for the terminal) or in ``output``."""
    if fmt == "table" and output is None and console.is_terminal:
        console.print(to_rich(report))
        return
    if fmt == "table":
        buffer = io.StringIO()
        Console(file=buffer, width=PIPE_WIDTH, markup=False, highlight=False).print(to_rich(report))
        text = buffer.getvalue()
    else:
        text = render(report, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write it: {exc.strerror or exc}") from exc
    err.print(f"wrote the {fmt} report to {output}")
