"""``-q`` and ``-v`` (on ``batchyard`` and on every command) and ``BATCHYARD_LOG_LEVEL``.

The level says what reaches stderr: ``error`` (``-q``) only errors, no progress or notes;
``warning`` (the default) progress, notes and warnings; ``info`` (``-v``) also what jobs log
(``ctx.log``) and what batchyard says as it works; ``debug`` (``-vv``) everything. A flag beats
the variable, and a command's flag beats one given before the command.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import typer
import typer.main

from batchyard.cli.coerce import plain
from batchyard.cli.output import err
from batchyard.errors import UsageError

LEVELS = ("debug", "info", "warning", "error")
DEFAULT = "warning"
ENV = "BATCHYARD_LOG_LEVEL"

QUIET = typer.Option(False, "--quiet", "-q", help="Errors only: no progress, notes or logs.")
VERBOSE = typer.Option(
    0,
    "--verbose",
    "-v",
    count=True,
    show_default=False,
    help="Say more: -v adds what jobs log, -vv debug lines (default: BATCHYARD_LOG_LEVEL).",
)

#: What shows batchyard's logs on stderr while a command runs with a level of its own.
_handler: logging.Handler | None = None
_options: list[Any] = []


def from_flags(quiet: bool, verbose: int) -> str | None:
    """The level ``-q`` or ``-v`` ask for; None when neither was given."""
    if quiet:
        return "error"
    if verbose:
        return "info" if verbose == 1 else "debug"
    return None


def from_env() -> str:
    value = os.environ.get(ENV, "").strip().lower()
    if not value:
        return DEFAULT
    if value not in LEVELS:
        raise UsageError(f"{ENV}={value!r}: use one of {', '.join(LEVELS)}")
    return value


def apply(level: str) -> None:
    """Make ``level`` the level of batchyard's logs and of its notes on stderr."""
    global _handler
    reset()
    err.quiet = level == "error"
    if level == DEFAULT:
        return
    logger = logging.getLogger("batchyard")
    logger.setLevel(level.upper())
    _handler = logging.StreamHandler(sys.stderr)  # the stderr of this run (tests swap it)
    _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(_handler)
    # Said once, here, rather than again by the root logger of a program that set one up.
    logger.propagate = False


def reset() -> None:
    """Back to how it was before the command: batchyard's logs as the program has them."""
    global _handler
    err.quiet = False
    logger = logging.getLogger("batchyard")
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler = None
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _from_option(ctx: Any, param: Any, value: Any) -> Any:
    if param.name == "quiet":
        level = from_flags(bool(value), 0)
    else:
        level = from_flags(False, int(value or 0))
    if level is not None:
        apply(level)
    return value


def options() -> list[Any]:
    """``-q`` and ``-v`` as options of a command (made once, shared by every command)."""
    if not _options:
        holder = typer.Typer()

        @holder.command()
        def probe(quiet: bool = QUIET, verbose: int = VERBOSE) -> None:
            """Only here to have Typer make the two options."""

        for param in typer.main.get_command(holder).params:
            plain(param)
            if param.name in ("quiet", "verbose"):
                param.expose_value = False
                param.callback = _from_option
                _options.append(param)
    return list(_options)
