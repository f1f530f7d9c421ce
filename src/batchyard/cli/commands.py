"""The commands ``batchyard`` has, and the group that loads each one only when it is used.

``batchyard --help`` lists the commands from :data:`COMMANDS` without importing any of them, and
``batchyard jobs list`` imports the module of ``jobs`` and nothing else: a command's module (and
what it needs: SQLAlchemy, DuckDB, FastAPI...) is loaded when that command runs, is asked for its
own help, or is completed. Every command made here is given the same conventions: readable
metavars, help text printed as written (no markup to eat ``[serve]``), an example at the end
of its help, and the ``-q``/``-v`` options of ``verbosity.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from rich.console import Console
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup

from batchyard.cli import verbosity
from batchyard.cli.coerce import plain
from batchyard.errors import BatchyardError


@dataclass(frozen=True)
class Command:
    """A top command: the ``cli`` module that makes it (its ``register(app)`` adds it), the line
    ``batchyard --help`` shows for it (the first sentence of its own help), and examples."""

    module: str
    summary: str
    examples: tuple[str, ...] = ()
    register: str = "register"
    hidden: bool = False


#: In the order ``batchyard --help`` lists them.
COMMANDS: dict[str, Command] = {
    "init": Command(
        "run",
        "Make a project: batchyard.toml, an example jobs.py and a pipeline.",
        ("batchyard init my-project",),
    ),
    "run": Command(
        "run",
        "Run a job kind or a pipeline, with live progress.",
        (
            "batchyard run daily-scores -p start=2024-04-01 -p end=2024-04-30 --workers 4",
            "batchyard run --batch nightly-scores rosters --parallel 2",
        ),
    ),
    "jobs": Command(
        "jobs",
        "List, inspect and steer jobs.",
        ("batchyard jobs list --status failed", "batchyard jobs resume daily-scores_dev_2024"),
    ),
    "kinds": Command(
        "run",
        "List the job kinds this project can run, with their params.",
        ("batchyard kinds migrate --json",),
    ),
    "pipelines": Command(
        "run", "List the pipelines saved in pipelines/*.yaml.", ("batchyard pipelines --json",)
    ),
    "migrate": Command(
        "migrate",
        "Copy tables from SOURCE to TARGET (SQLite or PostgreSQL, either way), exactly once.",
        ("batchyard migrate sports.db postgresql://me@localhost/sports --verify",),
    ),
    "verify": Command(
        "verify",
        "Prove SOURCE and TARGET hold the same rows: per table, row counts and checksums.",
        ("batchyard verify sports.db postgresql://me@localhost/sports --diff",),
    ),
    "validate": Command(
        "validate",
        "Check TARGET against the rules in a YAML file: per rule, failing rows, samples and a fix.",
        ("batchyard validate sports.db --rules rules/bets.yaml --format html -o report.html",),
    ),
    "collect": Command(
        "collect",
        "Collect JSON from an HTTP API: one item per date, key or grid cell, resumable.",
        ("batchyard collect season --missing",),
    ),
    "generate": Command(
        "generate",
        "Generate a deterministic synthetic dataset into a database or a folder of files.",
        ("batchyard generate sports --rows 100000 --to sports.db",),
    ),
    "data": Command(
        "data",
        "Work with the data itself: quality results, export, import, backup, restore, summary, "
        "inspect.",
        ("batchyard data export sports.db exports/ --format parquet",),
    ),
    "monitor": Command(
        "monitor",
        "Monitors: check file counts, JSON validity, freshness, nulls, job health and more, keep "
        "their history, and report trends and anomalies.",
        ("batchyard monitor run", "batchyard monitor report --format html -o report.html"),
    ),
    "schedules": Command(
        "schedule",
        "The project's schedules (pipelines and monitors with schedule:): list, next times, "
        "runs, pause, resume.",
        ("batchyard schedules next --count 3",),
    ),
    "scheduler": Command(
        "schedule",
        "Run the project's pipelines and monitors on their cron schedules, until Ctrl+C.",
    ),
    "alerts": Command(
        "alerts",
        "List, acknowledge, silence and resolve alerts; check their channels.",
        ("batchyard alerts list --status open",),
    ),
    "serve": Command(
        "serve",
        "Serve the REST API under /api (docs at /api/docs) and run submitted jobs.",
        ("batchyard serve --port 8000 --scheduler",),
    ),
    "completion": Command(
        "completion",
        "Print the tab completion script of SHELL, to load from its start-up file.",
        ("batchyard completion bash > ~/.local/share/bash-completion/completions/batchyard",),
    ),
    "demo-feed": Command(
        "collect",
        "Serve the demo's feed of daily scores on 127.0.0.1 until stopped.",
        register="register_feed",
        hidden=True,
    ),
}

#: Errors are said on a console of their own: ``-q`` silences the other one.
_problems = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


class Group(TyperGroup):
    """The ``batchyard`` group: commands made on first use, and every :class:`BatchyardError`
    turned into one clear line and its exit code, no traceback.

    ``commands``, which tools that walk the tree read (the docs' tests), makes them all.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._made: dict[str, Any] = {}
        super().__init__(*args, **kwargs)
        for param in self.params:
            readable_metavar(param)
            plain(param)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, Any]:
        for name in COMMANDS:
            self._make(name)
        return dict(self._made)

    @commands.setter
    def commands(self, value: dict[str, Any]) -> None:
        # Click sets it on construction; this group's commands come from COMMANDS.
        self._made.update(value)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command if it was made; else a stand-in with its summary, enough to list it."""
        made = self._made.get(cmd_name)
        if made is not None:
            return made
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        return TyperCommand(
            cmd_name, help=spec.summary, short_help=spec.summary, hidden=spec.hidden
        )

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in COMMANDS:
            self._make(args[0])
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _help_options(command, ctx)
        return name, command, rest

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # with Typer's own (--help, completion), made late
            plain(param)
        return params

    def _make(self, name: str) -> None:
        if name in self._made:
            return
        spec = COMMANDS[name]
        # __import__ rather than importlib.import_module: the import statement's own path, which
        # ``python -X importtime`` reports (and the start-up tests read).
        module = __import__(f"batchyard.cli.{spec.module}", fromlist=[spec.register])
        holder = typer.Typer(rich_markup_mode=None)
        getattr(module, spec.register)(holder)
        for made_name, command in typer.main.get_group(holder).commands.items():
            if made_name in COMMANDS and made_name not in self._made:
                tidy(command)
                examples = COMMANDS[made_name].examples
                if examples:
                    command.epilog = "\b\nExample:\n" + "".join(f"  {e}\n" for e in examples)
                self._made[made_name] = command

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
            _problems.print(Text.assemble(("error:", "red"), f" {exc}"), highlight=False)
            raise typer.Exit(exc.exit_code) from None


class _Argument(TyperArgument):
    """An argument shown by its name alone (``JOB_ID``), without a ``<str>`` after it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def display_type(self, ctx: Any) -> str:
        return ""

    def _usage_display_name(self) -> str:
        """``JOB_ID`` in the usage line, as in the docs; Typer writes a required one
        ``{JOB_ID}``."""
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name if self.nargs == 1 else f"{name}..."


def tidy(command: Any) -> None:
    """Give ``command`` (and its subcommands) the conventions: help printed as written, readable
    metavars, and ``-q``/``-v`` on every command that runs."""
    command.rich_markup_mode = None
    for param in command.params:
        readable_metavar(param)
        plain(param)
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for sub in subcommands.values():
            tidy(sub)
    elif not any(p.name in ("quiet", "verbose") for p in command.params):
        taken = {flag for p in command.params for flag in (*p.opts, *p.secondary_opts)}
        for option in verbosity.options():
            if taken.isdisjoint(option.opts):
                command.params.append(option)
            elif not taken.issuperset(option.opts):
                # The command has a -q (or -v) of its own (collect's query params): the long
                # form only.
                mine = copy.copy(option)
                mine.opts = [flag for flag in option.opts if flag not in taken]
                command.params.append(mine)


def _help_options(command: Any, ctx: Any) -> None:
    """Make the ``--help`` options of ``command`` and its subcommands (Click makes each on first
    use) now, so they read their values without pydantic too."""
    plain(command.get_help_option(ctx))
    for sub in getattr(command, "commands", {}).values():
        _help_options(sub, ctx)


def readable_metavar(param: Any) -> None:
    """``--status STATUS``, ``--executor [threads|processes]``, ``JOB_ID``; nothing after a flag."""
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
        if param.metavar is None:
            param.metavar = param.name.upper()
        return
    descriptor = getattr(param, "type_descriptor", None)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        param.metavar = ""
    elif param.metavar is None and descriptor is not None and descriptor.is_choice:
        param.metavar = f"[{'|'.join(map(str, descriptor.choices))}]"
    elif param.metavar is None and descriptor is not None and descriptor.is_path:
        param.metavar = descriptor.path_type.upper()
    elif param.metavar is None:
        param.metavar = param.name.upper()
