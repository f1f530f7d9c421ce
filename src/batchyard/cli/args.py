"""Argument helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchyard.cli import complete
from batchyard.errors import UsageError
from batchyard.project import MAX_WORKERS, SQLITE_SUFFIXES

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


def workers_option(text: str) -> Any:
    """``--workers/-w``, from 1 to ``MAX_WORKERS``; ``text`` says what runs at once and the default."""
    return typer.Option(None, "--workers", "-w", min=1, max=MAX_WORKERS, help=text)


def place(text: str, connections: dict[str, str]) -> str:
    """Names and URLs as given; SQLite paths made absolute, so a resume from elsewhere finds them."""
    if "://" in text or text in connections:
        return text
    path = Path(text)
    if path.suffix.lower() in SQLITE_SUFFIXES or path.exists():
        return str(path.resolve())
    return text


def pairs(values: list[str], flag: str, error: type[UsageError] = UsageError) -> dict[str, str]:
    """``--flag NAME=VALUE`` repeated, as a dict; a value without a name and ``=`` is ``error``."""
    out: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise error(f"{flag} {raw!r}: write it as NAME=VALUE")
        out[name.strip()] = value
    return out


def split(values: list[str]) -> list[str]:
    """``--tables a,b --tables c`` as ``[a, b, c]``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]
