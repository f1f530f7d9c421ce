"""``batchyard data backup|backups|restore|summary|inspect``: snapshots, pictures and catalogues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table as RichTable

from batchyard.cli.args import TABLES, TARGET, place, split
from batchyard.cli.data import app
from batchyard.cli.output import ProgressDisplay, console, err, listing, print_json, print_table
from batchyard.cli.run import print_end, run_with_display, showing_results
from batchyard.errors import UsageError
from batchyard.files.formats import check_writable
from batchyard.kinds.backup import backups_root
from batchyard.kinds.inspect import format_for, render
from batchyard.profile import EXACT_BELOW, SAMPLE_ROWS
from batchyard.profile import summary as sm
from batchyard.secrets import mask_url
from batchyard.snapshot.backup import list_backups

DIR = typer.Option(
    None, "--dir", help="The folder backups are kept in (default: .batchyard/backups)."
)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _show_backups(state: Any, folder: Path | None, name: str | None, as_json: bool) -> None:
    root = backups_root(state.app.settings, str(folder) if folder else None)
    found = list_backups(root, name)
    if as_json:
        print_json(found)
        return
    table = listing(
        f"{len(found)} backup(s) in {root}",
        ("backup", "name", "created", "source", "method", "tables", "rows", "size"),
        right=("tables", "rows", "size"),
    )
    for b in reversed(found):
        table.add_row(
            str(b["backup"]),
            str(b["name"]),
            str(b["created"])[:19].replace("T", " "),
            str(b["source"]),
            str(b["method"]),
            str(b["tables"]),
            f"{b['rows']:,}",
            _size(int(b["bytes"])),
        )
    print_table(table)


@app.command("backup")
def backup(
    ctx: typer.Context,
    source: str | None = typer.Argument(
        None, help="Source: a connection name, a URL or a SQLite file (not with --list)."
    ),
    name: str | None = typer.Option(
        None, "--name", "-n", help="The backup's name (default: the connection or database name)."
    ),
    folder: Path | None = DIR,
    keep: int | None = typer.Option(
        None, "--keep", min=1, help="Then delete the oldest backups of this name beyond N."
    ),
    method: str = typer.Option(
        "auto", "--method", help="PostgreSQL only: auto, pg_dump or copy (COPY of every table)."
    ),
    list_: bool = typer.Option(False, "--list", help="List the backups instead of taking one."),
    as_json: bool = typer.Option(False, "--json", help="With --list: print JSON."),
) -> None:
    """Take a named, compressed, consistent snapshot of a database, with a checksummed manifest.

    SQLite through its online backup API, PostgreSQL with pg_dump (or COPY of every table in one
    snapshot when pg_dump is not installed). The backup is a folder NAME-TIMESTAMP whose
    manifest.json holds the sha256 of every file.
    """
    state = ctx.obj
    if list_:
        _show_backups(state, folder, name, as_json)
        return
    if source is None:
        raise UsageError("name the database to back up (or pass --list to see the backups)")
    app_ = state.app
    params: dict[str, Any] = {
        "source": place(source, app_.settings.connections),
        "name": name,
        "dir": str(folder.expanduser().absolute()) if folder else None,
        "keep": keep,
        "method": method,
    }
    job = app_.submit("backup", params)
    err.print(f"job {job.id}: backing up {mask_url(source)}")

    def show(r: dict[str, Any]) -> None:
        if r.get("path"):
            err.print(
                f"backup {r['backup']}: {r['tables']} table(s), {r['rows']:,} rows, "
                f"{_size(int(r['bytes']))} in {r['path']}",
                style="green",
            )
        for old in r.get("deleted") or []:
            err.print(f"deleted the older backup {old} (--keep {keep})")

    run_with_display(state, "backup", showing_results(app_, job.id, show))


@app.command("backups")
def backups(
    ctx: typer.Context,
    name: str | None = typer.Option(None, "--name", "-n", help="Only the backups of this name."),
    folder: Path | None = DIR,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the backups, newest first: name, time, source, method, tables, rows and size."""
    _show_backups(ctx.obj, folder, name, as_json)


@app.command("restore")
def restore(
    ctx: typer.Context,
    backup: str = typer.Argument(
        ..., help="A backup's folder, its folder name, or a backup name (its newest backup)."
    ),
    target: str = TARGET,
    replace: bool = typer.Option(
        False, "--replace", help="Replace what the target holds (otherwise it must be empty)."
    ),
    folder: Path | None = DIR,
) -> None:
    """Restore a backup into the same or a new database, after checking every file's checksum.

    A damaged backup (a file that does not match its sha256, a manifest entry outside the
    backup, or tables that do not hold the rows its manifest says) is refused with exit code 2
    and nothing is written; so is a target that is not empty, unless --replace.
    """
    state = ctx.obj
    app_ = state.app
    params: dict[str, Any] = {
        "backup": backup,
        "target": place(target, app_.settings.connections),
        "replace": replace,
        "dir": str(folder.expanduser().absolute()) if folder else None,
    }
    job = app_.submit("restore", params)
    err.print(f"job {job.id}: restoring into {mask_url(target)}")
    run_with_display(state, "restore", lambda **kw: app_.execute(job.id, **kw))


def _results(state: Any, kind: str, params: dict[str, Any]) -> tuple[Any, list[Any]]:
    """Run a job quietly (a progress line on stderr) and return it with its items' results."""
    api = state.app
    job = api.submit(kind, params)
    display = ProgressDisplay(kind)
    with display:
        job = api.execute(job.id, on_progress=display.update, on_message=display.message)
    items, _ = api.items(job.id, limit=None)
    return job, [i.result for i in items if isinstance(i.result, dict)]


def _finish(state: Any, job: Any) -> None:
    if job.exit_code:
        print_end(state, job)
        raise typer.Exit(job.exit_code)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        console.file.write(text if text.endswith("\n") else text + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    err.print(f"wrote {output}")


def _json_or(fmt: str | None, as_json: bool, default: str | None = None) -> str | None:
    """The format --json and --format ask for together."""
    if as_json and fmt not in (None, "json"):
        raise UsageError(f"--json and --format {fmt} ask for two formats; give one")
    return "json" if as_json else (fmt or default)


@app.command("summary")
def summary(
    ctx: typer.Context,
    target: str = TARGET,
    tables: list[str] = TABLES,
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="table, json or md (default: table)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
    exact_below: int = typer.Option(
        EXACT_BELOW,
        "--exact-below",
        min=0,
        help="Count distinct values exactly in tables up to this many rows; sample larger ones.",
    ),
    sample_rows: int = typer.Option(
        SAMPLE_ROWS, "--sample-rows", min=1, help="About how many rows a sample holds."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (--format json)."),
) -> None:
    """Summarise each table: rows, and per column nulls, distinct values, min/max/mean, top values.

    One aggregate scan per table; tables above --exact-below rows estimate their distinct and top
    values from a sample (marked ~).
    """
    fmt = _json_or(fmt, as_json, default="table")
    if fmt not in ("table", "json", "md"):
        raise UsageError(f"--format {fmt!r}: use table, json or md")
    if output is not None:
        check_writable(output, "--output")
    state = ctx.obj
    connections = state.app.settings.connections
    params = {
        "target": place(target, connections),
        "tables": split(tables),
        "exact_below": exact_below,
        "sample_rows": sample_rows,
    }
    job, results = _results(state, "summary", params)
    shown = state.app.settings.resolve(params["target"])
    if fmt == "json":
        text = json.dumps(
            {"source": mask_url(shown), "tables": results}, indent=2, ensure_ascii=False
        )
        _emit(text, output)
    elif fmt == "md" or output is not None:
        _emit(sm.to_markdown(mask_url(shown), results), output)
    else:
        for t in results:
            print_table(_summary_table(t))
    _finish(state, job)


def _summary_table(t: dict[str, Any]) -> RichTable:
    note = f", estimated from a sample of {t['sample_rows']:,}" if t.get("estimated") else ""
    table = listing(
        f"{t['table']}: {t['rows']:,} rows{note}",
        ("column", "type", "null %", "distinct", "min", "max", "mean", "top values"),
        right=("null %", "distinct"),
    )
    for c in t["columns"]:
        distinct = c.get("distinct")
        table.add_row(
            str(c["name"]),
            str(c["type"]),
            f"{c['null_pct']:g}",
            ""
            if distinct is None
            else ("~" if c.get("distinct_estimated") else "") + f"{distinct:,}",
            sm._cell(c.get("min")),
            sm._cell(c.get("max")),
            sm._cell(c.get("mean")),
            sm.top_text(c),
        )
    return table


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(
        ..., help="Databases: connection names, URLs or SQLite files (one job for all)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="json or md (default: from --output's suffix, else json)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the catalogue to this file instead of stdout."
    ),
    tables: list[str] = TABLES,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (--format json)."),
) -> None:
    """Describe the schema of one or many databases, as JSON or Markdown.

    Per table: columns with their types, nullability and defaults, the primary key, unique
    constraints, indexes, foreign keys and the row count. Many sources run as one job of kind
    inspect, one item per source.
    """
    if output is not None:
        check_writable(output, "--output")
    state = ctx.obj
    connections = state.app.settings.connections
    chosen = format_for(_json_or(fmt, as_json), str(output) if output else None)
    params: dict[str, Any] = {
        "sources": [place(s, connections) for s in sources],
        "format": chosen,
        "tables": split(tables),
        "output": str(output.expanduser().absolute()) if output else None,
    }
    job, results = _results(state, "inspect", params)
    if output is None:
        _emit(render(results, chosen), None)
    else:
        err.print(f"wrote {output}")
    _finish(state, job)
