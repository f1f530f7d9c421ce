"""The ``batchyard`` command. Each command parses its arguments and calls the Python API.

Exit codes: 0 ok, 1 job failed or partial (or cancelled), 2 bad usage or input, 130 paused
(or interrupted by Ctrl+C).
"""

from __future__ import annotations

import contextlib
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
    # What unwinding may log from here (a database connection cut short while it closed,
    # with its traceback) is moot: the user stopped the command. The signal may land while
    # ``logging`` itself is being imported, before it has ``disable``.
    disable = getattr(sys.modules.get("logging"), "disable", None)
    if disable is not None:
        disable(50)  # logging.CRITICAL
    raise SystemExit(130)


def _unraisable(args: sys.UnraisableHookArgs) -> None:
    """The SystemExit of a Ctrl+C that landed in a callback Python runs on its own (a weakref's,
    a destructor's, during an import): Python cannot raise it there and would print it with a
    traceback. The "interrupted" line said it all; ``main`` ends with 130 when it can."""
    if _stopped and args.exc_type is not None and issubclass(args.exc_type, SystemExit):
        return
    sys.__unraisablehook__(args)


def _quiet_ctrl_c() -> object:
    """Install :func:`_interrupted` for SIGINT; return the handler it replaces (None off the
    main thread, where signals cannot be handled)."""
    sys.unraisablehook = _unraisable
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
from typing import TYPE_CHECKING  # noqa: E402

import typer  # noqa: E402

from batchyard import __version__  # noqa: E402
from batchyard.cli import verbosity  # noqa: E402
from batchyard.cli.commands import Group  # noqa: E402
from batchyard.engine.jobview import JobView  # noqa: E402
from batchyard.errors import UsageError  # noqa: E402
from batchyard.project import locate, project_root  # noqa: E402
from batchyard.secrets import mask_url  # noqa: E402
from batchyard.store.reader import StoreReader  # noqa: E402

if TYPE_CHECKING:
    from batchyard.app import Batchyard

app = typer.Typer(
    name="batchyard",
    cls=Group,
    help="Resumable batch data jobs with item-level checkpoints.",
    epilog="Exit codes: 0 ok; 1 the job failed, ended partial or was cancelled; 2 bad usage or "
    "input; 130 paused (Ctrl+C), resume with `batchyard jobs resume ID`.",
    no_args_is_help=True,
    rich_markup_mode=None,
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
        self._view: JobView | None = None
        self._quick: StoreReader | None = None

    def _check_project(self) -> None:
        if self.project is not None and not self.project.is_dir():
            # Otherwise the store would be made in a folder that was never meant to exist.
            raise UsageError(f"-C {self.project}: no such folder")

    @property
    def root(self) -> Path:
        """The project's folder, found without loading the settings (see ``project.py``)."""
        self._check_project()
        return project_root(self.project)

    @property
    def app(self) -> Batchyard:
        if self._app is None:
            from batchyard.app import Batchyard  # the whole engine: for commands that use it
            from batchyard.config import load_settings

            self._check_project()
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
            from batchyard.app import Batchyard

            app = self.app
            self._reader = Batchyard(app.settings, store=app.read_store())
        return self._reader

    @property
    def view(self) -> JobView:
        """Jobs, items, log and progress, read-only: through sqlite3 alone when the store is a
        SQLite file (``jobs list`` and the other looking commands start in a blink), else as
        :attr:`reader` reads them."""
        if self._view is None:
            self._check_project()
            place = locate(self.project, store=self.store)
            self._quick = StoreReader.open(place.store_url) if place else None
            self._view = JobView(self._quick or self.reader.read_store())
        return self._view

    def close(self) -> None:
        if self._quick is not None:
            self._quick.close()
        for api in (self._reader, self._app):
            if api is not None:
                api.close()
        self._reader = self._app = self._quick = self._view = None

    def command_prefix(self) -> str:
        """``batchyard`` with the global flags this run was given, for commands we print."""
        parts = ["batchyard"]
        if self.project:
            parts += ["-C", str(self.project)]
        if self.store:
            parts += ["--store", mask_url(self.store)]
        return " ".join(parts)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"batchyard {__version__}")
        raise typer.Exit()


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
    quiet: bool = verbosity.QUIET,
    verbose: int = verbosity.VERBOSE,
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        is_eager=True,
        expose_value=False,
        callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    """Resumable batch data jobs with item-level checkpoints."""
    ctx.call_on_close(verbosity.reset)
    verbosity.apply(verbosity.from_flags(quiet, verbose) or verbosity.from_env())
    state = State(project, store, env)
    ctx.obj = state
    ctx.call_on_close(state.close)


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
    try:
        app(prog_name="batchyard")
    except SystemExit as exc:
        if _stopped and not exc.code:
            raise SystemExit(130) from None  # a Ctrl+C whose SystemExit Python swallowed
        raise
    finally:
        # Commands load their modules on first use, after the freeze above: freeze again so the
        # collection Python runs as it exits skips them too (it went through every object the
        # command's imports made, about 70 ms for a job).
        gc.freeze()
        # The command is over; Python is about to run its exit handlers (closing pools,
        # finalizers), where an exception would be printed as "Exception ignored". A Ctrl+C from
        # here on ends the process at once, with what was printed flushed.
        signal.signal(signal.SIGINT, _leaving)


def _leaving(_signum: int, _frame: FrameType | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.write(2, b"interrupted\n")
    os._exit(130)


__all__ = ["app", "main"]
