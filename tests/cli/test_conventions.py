"""The conventions people expect of a command line: ``--version``, shell completion, ``-q`` and
``-v`` on every command, readable metavars, an example in each main command's help, and help
text printed as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from cli_helpers import invoke, ok, run_job, sqlite_project_at

import batchyard
from batchyard.cli import app as cli_app
from batchyard.cli.commands import COMMANDS


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from sqlite_project_at(tmp_path)


def every_command() -> Iterator[tuple[str, typer.main.TyperCommand]]:
    def walk(
        cmd: typer.main.TyperCommand, path: str
    ) -> Iterator[tuple[str, typer.main.TyperCommand]]:
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(cli_app), "batchyard")


ALL = dict(every_command())


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    result = ok(None, flag)
    assert result.stdout == f"batchyard {batchyard.__version__}\n"


def test_version_of_the_installed_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchyard", "-V"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"batchyard {batchyard.__version__}\n")


# -- completion ------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_of_each_shell(shell: str) -> None:
    result = ok(None, "completion", shell)
    assert f"_BATCHYARD_COMPLETE=complete_{shell}" in result.stdout


def test_the_completion_script_of_an_unknown_shell() -> None:
    result = ok(None, "completion", "tcsh", code=2)
    assert result.stderr == "error: completion 'tcsh': give one of bash, zsh, fish\n"


def test_install_completion_is_offered() -> None:
    text = ok(None, "--help").stdout
    assert "--install-completion" in text and "--show-completion" in text


def complete(project: Path, shell: str, line: str) -> list[str]:
    """What ``batchyard`` offers for the words of ``line`` (the last one being typed), as the
    shell's completion script asks it."""
    env = {**os.environ, "_BATCHYARD_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split(" ")
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    done = subprocess.run(
        [sys.executable, "-m", "batchyard"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return re.findall(r"[\w.:-]+", done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_of_names(sqlite_project: Path, shell: str) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=2")
    assert job_id in complete(sqlite_project, shell, f"batchyard jobs show {job_id[:6]}")
    assert job_id in complete(sqlite_project, shell, "batchyard jobs delete ")
    assert {"small", "large"} <= set(complete(sqlite_project, shell, "batchyard run --batch "))
    assert "warehouse" in complete(sqlite_project, shell, "batchyard verify ware")
    offered = complete(sqlite_project, shell, "batchyard run ")
    assert {"small", "large", "nums", "migrate"} <= set(offered)
    assert "nums" in complete(sqlite_project, shell, "batchyard kinds nu")
    assert "jobs" in complete(sqlite_project, shell, "batchyard jo")
    executors = {"threads", "processes", "dask"}
    assert executors <= set(complete(sqlite_project, shell, "batchyard run nums --executor "))
    offered = set(complete(sqlite_project, shell, "batchyard jobs resume x --executor p"))
    assert executors & offered == {"processes"}
    offered = set(complete(sqlite_project, shell, "batchyard migrate a b --executor d"))
    assert executors & offered == {"dask"}
    assert {"bash", "zsh", "fish"} <= set(complete(sqlite_project, shell, "batchyard completion "))


def test_completion_of_kinds_follows_jobs_py(sqlite_project: Path, tmp_path: Path) -> None:
    """The kinds' names are noted after the first TAB; a changed jobs.py is read again."""
    assert "nums" in complete(sqlite_project, "bash", "batchyard run n")
    assert (sqlite_project / ".batchyard" / "kinds.json").is_file()
    jobs = sqlite_project / "jobs.py"
    jobs.write_text(jobs.read_text() + '\n\n@by.job("nightly")\ndef nightly():\n    return [1]\n')
    assert {"nums", "nightly"} <= set(complete(sqlite_project, "bash", "batchyard run n"))
    jobs.write_text("")
    assert complete(sqlite_project, "bash", "batchyard run n") == []
    # No project here: the built-in kinds are offered, and nothing is written.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert "migrate" in complete(elsewhere, "bash", "batchyard kinds mi")
    assert list(elsewhere.iterdir()) == []


# -- -q, -v and BATCHYARD_LOG_LEVEL -----------------------------------------------------------


def test_every_command_takes_q_and_v() -> None:
    for path, command in ALL.items():
        if hasattr(command, "commands"):
            continue
        flags = {flag for p in command.params for flag in p.opts}
        assert {"--quiet", "--verbose"} <= flags, path
        if path != "batchyard collect":  # its -q gives a query param
            assert {"-q", "-v"} <= flags, path
    collect = ALL["batchyard collect"]
    (query,) = [p for p in collect.params if "-q" in p.opts]
    assert query.name != "quiet"


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_says_nothing_but_errors(sqlite_project: Path, where: str) -> None:
    args = ["run", "nums", "-p", "n=2"]
    result = ok(sqlite_project, *(["-q", *args] if where == "before" else [*args, "-q"]))
    assert result.stderr == ""
    failed = ok(sqlite_project, "-q", "jobs", "show", "nosuch", code=2)
    assert failed.stderr.startswith("error: no job 'nosuch'")


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-v"], {}),
        ([], {"BATCHYARD_LOG_LEVEL": "info"}),
        ([], {"BATCHYARD_LOG_LEVEL": "DEBUG"}),
    ],
)
def test_verbose_shows_what_jobs_log(
    sqlite_project: Path, args: list[str], env: dict[str, str]
) -> None:
    result = ok(sqlite_project, *args, "run", "nums", "-p", "n=2", env=env)
    assert re.search(r"^INFO batchyard.job: \[\S+ 1\] squaring 1$", result.stderr, re.M), (
        result.stderr
    )


def test_the_default_level_keeps_job_logs_in_the_store(sqlite_project: Path) -> None:
    job_id = run_job(sqlite_project, "nums", "-p", "n=2")
    assert "squaring" not in invoke(sqlite_project, "jobs", "show", job_id).stderr
    assert "squaring 1" in ok(sqlite_project, "jobs", "log", job_id).stdout


def test_a_flag_beats_the_variable(sqlite_project: Path) -> None:
    result = ok(
        sqlite_project, "-q", "run", "nums", "-p", "n=2", env={"BATCHYARD_LOG_LEVEL": "info"}
    )
    assert result.stderr == ""


def test_a_bad_log_level_says_which_there_are(sqlite_project: Path) -> None:
    result = ok(sqlite_project, "jobs", "list", code=2, env={"BATCHYARD_LOG_LEVEL": "loud"})
    assert "BATCHYARD_LOG_LEVEL='loud'" in result.stderr and "debug, info" in result.stderr


# -- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ALL))
def test_help_shows_readable_metavars(path: str) -> None:
    text = ok(None, *path.split()[1:], "--help").stdout
    assert not re.search(r"<(bool|str|int|float|list|path|dir|file)\b", text), text
    assert "{" not in text.split("\n", 1)[0] or re.search(r"\{[A-Z_]+\}", text), text


MAIN = [name for name, spec in COMMANDS.items() if not spec.hidden]


@pytest.mark.parametrize("name", MAIN)
def test_each_main_command_shows_an_example(name: str) -> None:
    text = ok(None, name, "--help").stdout
    example = text.split("Example:", 1)
    assert len(example) == 2, text
    assert example[1].strip().startswith(f"batchyard {name}"), text


def test_help_prints_brackets_as_written() -> None:
    text = ok(None, "serve", "--help").stdout
    assert "[serve] section of batchyard.toml" in " ".join(text.split())


def test_the_command_list_matches_the_commands() -> None:
    """``batchyard --help`` lists from a table: it says what each command's own help says."""
    for name, spec in COMMANDS.items():
        assert ALL[f"batchyard {name}"].get_short_help_str(1000) == spec.summary, name
    listed = ok(None, "--help").stdout
    assert all(name in listed for name in MAIN) and "demo-feed" not in listed
