"""How the CLI shows things: tables, JSON, durations, and the live progress display."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from batchyard.engine.progress import Snapshot
from batchyard.store.models import Job

# markup=False: messages carry user text (errors, params, keys) that may hold "[...]".
console = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

STATUS_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "paused": "yellow",
    "completed": "green",
    "partial": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "done": "green",
    "skipped": "dim",
}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_json_line(data: Any) -> None:
    """One compact JSON object on one line: for streams (``jobs log --json``), read line by line."""
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def fmt_rate(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


#: Width for tables when stdout is not a terminal (a pipe, a file, CI): wide enough that job ids
#: and timestamps are never cut, since nobody reads those at 80 columns and many grep them.
PIPE_WIDTH = 200


def print_table(table: Table) -> None:
    """Print a table: to the terminal's width, or uncut when stdout is a pipe or a file."""
    if console.is_terminal:
        console.print(table)
        return
    wide = Console(
        file=console.file, width=PIPE_WIDTH, highlight=False, soft_wrap=True, markup=False
    )
    wide.print(table)


def listing(title: str, columns: Iterable[str], right: Collection[str] = ()) -> Table:
    """A table of records under a title that says what it lists; ``right`` columns (figures)
    are justified right."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    return table


def print_fields(rows: Sequence[tuple[str, object]]) -> None:
    """One record as labelled lines: the label in bold, then the value (a rich ``Text`` as is)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, value if isinstance(value, Text) else str(value))
    print_table(table)


def jobs_table(jobs: list[Job], total: int) -> Table:
    table = Table(title=f"{len(jobs)} of {total} job(s)", title_justify="left")
    id_width = max((len(j.id) for j in jobs), default=2)
    # The id is what every other command takes: never cut or wrap it.
    table.add_column("id", no_wrap=True, min_width=id_width)
    for col in ("name", "status", "progress", "failed", "rows", "created", "duration"):
        table.add_column(col, justify="right" if col in ("progress", "failed", "rows") else "left")
    for j in jobs:
        finished = j.done + j.failed + j.skipped + j.cancelled
        table.add_row(
            j.id,
            j.name,
            status_text(j.status.value),
            f"{finished}/{j.total}",
            str(j.failed) if j.failed else "",
            f"{j.rows_written:,}" if j.rows_written else "",
            j.created_at.strftime("%Y-%m-%d %H:%M:%S") if j.created_at else "",
            fmt_duration(j.duration),
        )
    return table


def eta_text(s: Snapshot) -> str | None:
    """``ETA 12.0s`` (``ETA -`` while unknown) for a running job; None for a stopped one, whose
    rates are its averages and which has no ETA."""
    if s.status != "running":
        return None
    return f"ETA {fmt_duration(s.eta_s) if s.eta_s is not None else '-'}"


def snapshot_line(s: Snapshot) -> str:
    eta = eta_text(s)
    return (
        f"{s.status} {s.percent:5.1f}%  {s.finished}/{s.total} items  "
        f"{fmt_rate(s.items_per_s)} items/s  {fmt_rate(s.rows_per_s)} rows/s  "
        + (f"{eta}  " if eta else "")
        + f"elapsed {fmt_duration(s.elapsed_s)}  failed {s.failed}"
    )


def snapshot_view(s: Snapshot, title: str) -> Group:
    bar = ProgressBar(total=max(s.total, 1), completed=s.finished, width=40)
    head = Text.assemble(
        (f"{title} ", "bold"),
        status_text(s.status),
        f"  {s.percent:5.1f}%  ",
        f"{s.finished:,}/{s.total:,} items",
    )
    eta = eta_text(s)
    figures = Text(
        f"{fmt_rate(s.items_per_s)} items/s · {fmt_rate(s.rows_per_s)} rows/s · "
        + (f"{eta} · " if eta else "")
        + f"elapsed {fmt_duration(s.elapsed_s)} · ",
    )
    figures.append(f"{s.failed} failed", style="red" if s.failed else "")
    if s.retrying:
        figures.append(f" · {s.retrying} retrying", style="yellow")
    parts: list[Any] = [head, bar, figures]
    if s.current:
        parts.append(Text("now: " + ", ".join(s.current[:6]), style="dim"))
    return Group(*parts)


class ProgressDisplay:
    """Live bar on a terminal; a plain line every few seconds elsewhere (CI, pipes, logs)."""

    def __init__(self, title: str, *, interval: float = 5.0) -> None:
        self.title = title
        self.live: Live | None = None
        self.interval = interval
        self._last_line = 0.0
        if err.is_terminal:
            self.live = Live(console=err, refresh_per_second=8, transient=False)

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.stop()

    def update(self, snap: Snapshot) -> None:
        if self.live:
            self.live.update(snapshot_view(snap, self.title))
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval or snap.status != "running":
            self._last_line = now
            err.print(snapshot_line(snap))

    def message(self, text: str) -> None:
        if self.live:
            self.live.console.print(text)
        else:
            err.print(text)
