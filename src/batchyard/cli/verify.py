"""``batchyard verify SRC DST``: prove two databases hold the same rows, or show where they differ."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from batchyard.cli.args import KEYS, SOURCE, TABLES, TARGET, place, split, workers_option
from batchyard.cli.output import ProgressDisplay, err, listing, print_json, print_table
from batchyard.cli.run import print_end
from batchyard.errors import UsageError
from batchyard.secrets import mask_url
from batchyard.store.models import JobStatus

# Imports inside the functions below load what verifying needs (SQLAlchemy, the verify kind):
# completing a connection name for `batchyard verify <TAB>` makes this command, and should not.

STYLE = {"identical": "green", "different": "red"}


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _results_table(results: list[dict[str, Any]]) -> Table:
    from batchyard.kinds.verify import summary
    from batchyard.move.verify import IDENTICAL

    columns = (
        "table",
        "status",
        "source rows",
        "target rows",
        "source checksum",
        "target checksum",
    )
    table = listing(
        f"{len(results)} table(s)", (*columns, "differences"), right=("source rows", "target rows")
    )
    for r in results:
        rows = r.get("rows") or {}
        sums = r.get("checksum") or {}
        status = str(r.get("status"))
        table.add_row(
            str(r.get("table")),
            Text(status, style=STYLE.get(status, "yellow")),
            f"{rows['source']:,}" if rows.get("source") is not None else "-",
            f"{rows['target']:,}" if rows.get("target") is not None else "-",
            sums.get("source") or "-",
            sums.get("target") or "-",
            "" if status == IDENTICAL else summary(r).partition(": ")[2],
        )
    return table


def _diff_table(result: dict[str, Any]) -> Table | None:
    diff = result.get("diff") or {}
    rows = diff.get("rows") or []
    if not rows:
        return None
    more = " (more not shown: raise --max-diff)" if diff.get("truncated") else ""
    table = listing(
        f"{result['table']}: {len(rows)} row(s) differ{more}",
        ("kind", "key", "columns", "source", "target"),
    )
    for d in rows:
        key = ", ".join(f"{k}={_value(v)}" for k, v in d["key"].items())
        table.add_row(
            d["kind"] + (f" x{d['count']}" if d.get("count", 1) != 1 else ""),
            key,
            ", ".join(d.get("columns") or []),
            ", ".join(f"{k}={_value(v)}" for k, v in (d.get("source") or {}).items()),
            ", ".join(f"{k}={_value(v)}" for k, v in (d.get("target") or {}).items()),
        )
    return table


def print_results(results: list[dict[str, Any]]) -> None:
    """The table of verify's results, then the rows that differ of each table that has them."""
    if results:
        print_table(_results_table(results))
    for r in results:
        found = _diff_table(r)
        if found is not None:
            print_table(found)


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        ctx: typer.Context,
        source: str = SOURCE,
        target: str = TARGET,
        tables: list[str] = TABLES,
        diff: bool = typer.Option(
            False, "--diff", help="Find the rows that differ: missing, extra and changed, by key."
        ),
        fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
        max_diff: int = typer.Option(
            100, "--max-diff", min=1, help="With --diff: report at most this many rows per table."
        ),
        workers: int | None = workers_option("Tables at once (default: the project's workers)."),
        keys: list[str] = KEYS,
    ) -> None:
        """Prove SOURCE and TARGET hold the same rows: per table, row counts and checksums.

        Checksums are order-independent and taken of the same value forms on both sides, so a
        SQLite table and its PostgreSQL copy agree when their values do. Tables on one side only are
        reported. Exit 0: identical; 1: something differs; 2: bad input.
        """
        from batchyard.move.keys import parse_keys
        from batchyard.move.verify import DIFFERENT, check_keys, databases, table_names

        if fmt not in ("table", "json"):
            raise UsageError(f"--format {fmt!r}: use table or json")
        state = ctx.obj
        api = state.app
        connections = api.settings.connections
        params: dict[str, Any] = {
            "source": place(source, connections),
            "target": place(target, connections),
            "tables": split(tables),
            "diff": diff,
            "max_diff": max_diff,
            "keys": keys,
        }
        # Both databases are opened (and the tables checked) before the job is recorded, so bad
        # input leaves nothing behind, not even a store.
        ends = databases(
            api.settings.resolve(params["source"]), api.settings.resolve(params["target"])
        )
        check_keys(ends[0], parse_keys(keys), table_names(*ends, params["tables"]))
        job = api.submit("verify", params, workers=workers)
        err.print(f"job {job.id}: {job.total:,} table(s)")
        display = ProgressDisplay("verify")
        with display:
            job = api.execute(job.id, on_progress=display.update, on_message=display.message)
        items, _ = api.items(job.id, limit=None)
        results = [i.result for i in items if isinstance(i.result, dict)]
        failed = [i for i in items if i.error]
        if fmt == "json":
            print_json(
                {
                    "job": job.id,
                    "source": mask_url(api.settings.resolve(params["source"])),
                    "target": mask_url(api.settings.resolve(params["target"])),
                    "identical": job.status is JobStatus.COMPLETED,
                    "tables": results,
                    "errors": [{"table": i.key, "error": i.error} for i in failed],
                }
            )
        else:
            print_results(results)
            for i in failed:
                err.print(f"{i.key}: {i.error}")
        if job.status is JobStatus.COMPLETED:
            err.print(f"job {job.id}: all {len(results)} table(s) identical", style="green")
        else:
            print_end(state, job)
        # (Not for tables on one side only: they have no rows to compare.)
        different = any(r.get("status") == DIFFERENT for r in results)
        if different and not diff and job.status is not JobStatus.PAUSED:
            err.print(
                f"See the rows with: {state.command_prefix()} verify {source} {target} --diff"
            )
        raise typer.Exit(job.exit_code)
