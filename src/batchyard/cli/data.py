"""``batchyard data ...``: commands over the data itself (its quality, files, backups, catalogue).

Each subcommand lives with its capability and registers on this group.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Work with the data itself: quality results, export, import, backup, restore, summary, "
    "inspect.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="data")


# The commands register on ``app`` when their modules load (quality: ``data quality``).
from batchyard.cli import dataio, datatools, quality  # noqa: E402, F401
