"""Quoting names and values into SQL, the same on SQLite, PostgreSQL and DuckDB."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """``name`` as a quoted identifier, its double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a SQL string literal, its quotes doubled."""
    return "'" + text.replace("'", "''") + "'"
