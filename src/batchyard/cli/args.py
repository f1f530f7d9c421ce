"""Argument helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from batchyard.cli import complete
from batchyard.project import SQLITE_SUFFIXES

SOURCE = typer.Argument(
    ...,
    help="Source: a connection name, a URL or a SQLite file.",
    autocompletion=complete.connections,
)
TARGET = typer.Argument(
    ...,
    help="Target: a connection name, a URL or a SQLite file.",
    autocompletion=complete.connections,
)
TABLES = typer.Option([], "--tables", "-t", help="Only these tables (repeat or comma-separate).")
KEYS = typer.Option(
    [],
    "--key",
    help="A key for a table without a primary key: TABLE=COLUMN[,COLUMN...]; repeat for more "
    "tables.",
)


def place(text: str, connections: dict[str, str]) -> str:
    """Names and URLs as given; SQLite paths made absolute, so a resume from elsewhere finds them."""
    if "://" in text or text in connections:
        return text
    path = Path(text)
    if path.suffix.lower() in SQLITE_SUFFIXES or path.exists():
        return str(path.resolve())
    return text


def split(values: list[str]) -> list[str]:
    """``--tables a,b --tables c`` as ``[a, b, c]``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]
