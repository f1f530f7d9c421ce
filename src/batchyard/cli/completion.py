"""``batchyard completion SHELL``: the tab completion script of a shell, to install by hand."""

from __future__ import annotations

import typer

from batchyard.errors import UsageError

SHELLS = ("bash", "zsh", "fish")


def register(app: typer.Typer) -> None:
    @app.command()
    def completion(
        shell: str = typer.Argument(
            ..., help="bash, zsh or fish.", autocompletion=lambda: list(SHELLS)
        ),
    ) -> None:
        """Print the tab completion script of SHELL, to load from its start-up file.

        It completes commands and options, and the names of job kinds, pipelines, connections,
        job ids and executors. `batchyard --install-completion` installs it for the shell you are in.
        """
        from typer._completion_shared import get_completion_script  # (what Typer itself uses)

        if shell not in SHELLS:
            raise UsageError(f"completion {shell!r}: give one of {', '.join(SHELLS)}")
        script = get_completion_script(
            prog_name="batchyard", complete_var="_BATCHYARD_COMPLETE", shell=shell
        )
        typer.echo(script)
