"""The ``batchyard`` command. Each command parses its arguments and calls the Python API.

Exit codes: 0 ok, 1 job failed or partial (or cancelled), 2 bad usage or input, 130 paused
(or interrupted by Ctrl+C).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

#: Set by the first Ctrl+C: its SystemExit may land where Python swallows it (a destructor run
#: by the garbage collector during an import), so ``main`` looks again before the command runs.
_stopped = False


def _interrupted(_signum: int, _frame: FrameType | None) -> None:
    """Ctrl+C outside a running job (its runner has a handler of its own): while the command
    starts (imports, opening the store) or waits. One line, exit 130, no traceback."""
    global _stopped
    _stopped = True
    # A second Ctrl+C while this one unwinds ends the process at once.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    os.write(2, b"interrupted\n")
    logging = sys.modules.get("logging")
    if logging is not None:
        # What unwinding may log from here (a database connection cut short while it closed,
        # with its traceback) is moot: the user stopped the command.
        logging.disable(logging.CRITICAL)
    raise SystemExit(130)


def _quiet_ctrl_c() -> object:
    """Install :func:`_interrupted` for SIGINT; return the handler it replaces (None off the
    main thread, where signals cannot be handled)."""
    try:
        return signal.signal(signal.SIGINT, _interrupted)
    except ValueError:
        return None


# First, before the imports below (a second or so on a busy machine): a Ctrl+C during them must
# not print a traceback. Put back at the end of this module for programs that import the CLI
# (tests); `main` installs it again for the command's whole run.
_before_import = _quiet_ctrl_c()

import gc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import typer  # noqa: E402
from rich.text import Text  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from batchyard.app import Batchyard  # noqa: E402
from batchyard.cli.output import err  # noqa: E402
from batchyard.config import load_settings  # noqa: E402
from batchyard.errors import BatchyardError, UsageError  # noqa: E402
from batchyard.secrets import mask_url  # noqa: E402


class _Group(TyperGroup):
    """Turns every :class:`BatchyardError` into one clear line and its exit code, no traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BatchyardError as exc:
            # A wrapped batchyard error (say a store that cannot open, met while planning) is
            # clearer as itself than as the wrapper's "planning failed: StoreError: ...".
            if isinstance(exc.__cause__, BatchyardError) and not isinstance(
                exc, type(exc.__cause__)
            ):
                exc = exc.__cause__
            err.print(Text.assemble(("error:", "red"), f" {exc}"), highlight=False)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="batchyard",
    cls=_Group,
    help="Resumable batch data jobs with item-level checkpoints.",
    epilog="Exit codes: 0 ok; 1 the job failed, ended partial or was cancelled; 2 bad usage or "
    "input; 130 paused (Ctrl+C), resume with `batchyard jobs resume ID`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """Global options, resolved into a :class:`Batchyard` on first use."""

    def __init__(self, project: Path | None, store: str | None, env: str | None) -> None:
        self.project = project
        self.store = store
        self.env = env
        self._app: Batchyard | None = None
        self._reader: Batchyard | None = None

    @property
    def app(self) -> Batchyard:
        if self._app is None:
            if self.project is not None and not self.project.is_dir():
                # Otherwise the store would be made in a folder that was never meant to exist.
                raise UsageError(f"-C {self.project}: no such folder")
            settings = load_settings(self.project, store=self.store, env=self.env)
            self._app = Batchyard(settings, env=self.env)
        return self._app

    @property
    def reader(self) -> Batchyard:
        """The API on one read-only view of the store, for commands that only look.

        It never creates a store that is not there, and it is opened once per command (and closed
        at its end) rather than once per query.
        """
        if self._reader is None:
            app = self.app
            self._reader = Batchyard(app.settings, store=app.read_store())
        return self._reader

    def close(self) -> None:
        for api in (self._reader, self._app):
            if api is not None:
                api.close()
        self._reader = self._app = None

    def command_prefix(self) -> str:
        """``batchyard`` with the global flags this run was given, for commands we print."""
        parts = ["batchyard"]
        if self.project:
            parts += ["-C", str(self.project)]
        if self.store:
            parts += ["--store", mask_url(self.store)]
        return " ".join(parts)


@app.callback()
def _main(
    ctx: typer.Context,
    project: Path | None = typer.Option(
        None,
        "--project",
        "-C",
        help="Project folder (default: nearest with batchyard.toml).",
        file_okay=False,
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="Store URL (default: BATCHYARD_STORE, the store url in "
        "batchyard.toml, or .batchyard/store.db in the project).",
        envvar=None,
    ),
    env: str | None = typer.Option(
        None,
        "--env",
        help="Environment namespace for new jobs (default: BATCHYARD_ENV, "
        "the env in batchyard.toml, or dev).",
    ),
) -> None:
    """Resumable batch data jobs with item-level checkpoints."""
    state = State(project, store, env)
    ctx.obj = state
    ctx.call_on_close(state.close)


# Commands register on import; each group's module says what it adds.
from batchyard.cli import alerts as alerts_cli  # noqa: E402
from batchyard.cli import collect as collect_cli  # noqa: E402
from batchyard.cli import data as data_cli  # noqa: E402
from batchyard.cli import generate as generate_cli  # noqa: E402
from batchyard.cli import jobs, run  # noqa: E402
from batchyard.cli import migrate as migrate_cli  # noqa: E402
from batchyard.cli import monitor as monitor_cli  # noqa: E402
from batchyard.cli import quality as quality_cli  # noqa: E402, F401  (adds `data quality`)
from batchyard.cli import schedule as schedule_cli  # noqa: E402
from batchyard.cli import serve as serve_cli  # noqa: E402
from batchyard.cli import validate as validate_cli  # noqa: E402
from batchyard.cli import verify as verify_cli  # noqa: E402

app.add_typer(jobs.app, name="jobs")
app.add_typer(data_cli.app, name="data")
app.add_typer(monitor_cli.app, name="monitor")
run.register(app)
verify_cli.register(app)
generate_cli.register(app)
migrate_cli.register(app)
serve_cli.register(app)
schedule_cli.register(app)
collect_cli.register(app)
collect_cli.register_feed(app)
validate_cli.register(app)
alerts_cli.register(app)


if _before_import is not None:
    signal.signal(signal.SIGINT, _before_import)  # type: ignore[arg-type]


def main() -> None:
    _quiet_ctrl_c()
    if _stopped:
        raise SystemExit(130)
    # What the imports made lives as long as the command: the collector need not go through it
    # again and again (a long copy allocates many short-lived objects, and few cycles).
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    app(prog_name="batchyard")


__all__ = ["app", "main"]
