"""``batchyard data quality``: the latest validation results per suite, and their trend."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text

from batchyard.check import history
from batchyard.check.report import delta
from batchyard.check.results import score
from batchyard.cli.charts import score_style, sparkline
from batchyard.cli.data import app as data_app
from batchyard.cli.output import err, listing, print_json, print_table


def summary(store: Any, suite: str | None, runs: int) -> list[dict[str, Any]]:
    """Per suite and target: the latest run's scores and the scores of the runs before it."""
    found: dict[tuple[str, str], list[Any]] = {}
    for job in history.runs(store, suite=suite):
        key = (history.suite_of(store, job) or "-", str(job.params.get("target", "")))
        found.setdefault(key, []).append(job)
    out = []
    for (name, target), jobs in found.items():
        latest = jobs[0]
        tables = history.tables_of(store, latest)
        rules = [r for t in tables for r in t.rules]
        scores = [
            score([r for t in history.tables_of(store, j) for r in t.rules]) for j in jobs[:runs]
        ]
        out.append(
            {
                "suite": name,
                "target": target,
                "job": latest.id,
                "at": latest.created_at.isoformat(timespec="seconds")
                if latest.created_at
                else None,
                "score": score(rules),
                "delta": round(scores[0] - scores[1], 1) if len(scores) > 1 else None,
                "history": scores,
                "failing": [f"{t.table}.{r.name}" for t in tables for r in t.rules if not r.passed],
                "tables": {t.table: t.score for t in tables},
            }
        )
    return out


@data_app.command("quality")
def quality(
    ctx: typer.Context,
    suite: str | None = typer.Option(None, "--suite", "-s", help="Only this suite."),
    runs: int = typer.Option(10, "--runs", min=2, help="How many recent runs the trend shows."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Summarise the latest validation results of each suite: scores, failing rules and trend."""
    store = ctx.obj.reader.store
    rows = summary(store, suite, runs)
    if as_json:
        print_json(rows)
        return
    if not rows:
        err.print(
            "No validation runs yet"
            + (f" of suite {suite!r}" if suite else "")
            + ": run `batchyard validate TARGET --rules FILE` first."
        )
        return
    table = listing(
        f"{len(rows)} suite(s)",
        (
            "suite",
            "target",
            "score",
            "change",
            "trend (oldest → newest)",
            "failing rules",
            "last run",
        ),
    )
    for row in rows:
        failing = row["failing"]
        table.add_row(
            row["suite"],
            row["target"],
            f"{row['score']}",
            delta(row["delta"]),
            _trend(row["history"]),
            ", ".join(failing[:4]) + (f" +{len(failing) - 4}" if len(failing) > 4 else ""),
            row["at"] or "-",
        )
    print_table(table)


def _trend(history_newest_first: list[float]) -> Text:
    """The scores of the recent runs as a sparkline, oldest first, then the first and last."""
    scores = history_newest_first[::-1]
    text = Text(sparkline(scores), style=score_style(scores[-1]))
    if len(scores) > 1:
        text.append(f" {scores[0]:g} → {scores[-1]:g}")
    return text
