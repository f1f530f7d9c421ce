"""The docs tell the truth: every command and option is in docs/cli.md, every public name is in
docs/python-api.md (and nothing else claims to be public), every setting and environment variable
is in docs/configuration.md, and the Python examples run as written.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from pydantic import BaseModel
from typer.testing import CliRunner

import batchyard
from batchyard import config, project
from batchyard.cli import app as cli_app
from batchyard.cli import verbosity
from conftest import REPO

DOCS = REPO / "docs"
CLI_MD = (DOCS / "cli.md").read_text(encoding="utf-8")
API_MD = (DOCS / "python-api.md").read_text(encoding="utf-8")
CONFIG_MD = (DOCS / "configuration.md").read_text(encoding="utf-8")


def commands() -> Iterator[tuple[str, typer.main.TyperGroup | typer.main.TyperCommand]]:
    """Every command of the CLI, groups included, as ("batchyard jobs list", command)."""

    def walk(
        cmd: typer.main.TyperCommand, path: str
    ) -> Iterator[tuple[str, typer.main.TyperCommand]]:
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(cli_app), "batchyard")


COMMANDS = dict(commands())


def sections(text: str, level: str) -> dict[str, str]:
    """The text under each heading of ``level`` (such as "###") whose title is `code`."""
    parts = re.split(rf"(?m)^{level} `([^`]+)`\s*$", text)
    return {parts[i]: parts[i + 1].split(f"\n{level} ")[0] for i in range(1, len(parts), 2)}


# -- the CLI ---------------------------------------------------------------------------------------


def test_the_cli_has_the_commands_we_expect() -> None:
    # A guard on the walk itself: if it found nothing, the tests below would pass vacuously.
    assert {"batchyard run", "batchyard jobs list", "batchyard jobs export"} <= set(COMMANDS)
    assert len(COMMANDS) >= 18


@pytest.mark.parametrize("path", list(COMMANDS))
def test_every_command_has_help(path: str) -> None:
    command = COMMANDS[path]
    assert command.help and command.help.strip(), f"{path} has no help text"
    assert command.help.strip().endswith("."), f"{path}: help should be a sentence"
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"{path}: {param.name} has no help text"
    result = CliRunner().invoke(cli_app, [*path.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("path", [p for p in COMMANDS if p != "batchyard"])
def test_every_command_and_option_is_in_the_cli_docs(path: str) -> None:
    documented = sections(CLI_MD, "###")
    assert path in documented, f"docs/cli.md has no `### `{path}`` section"
    section = documented[path]
    command = COMMANDS[path]
    assert command.help is not None and command.help.strip().splitlines()[0] in section
    shared = {p.name for p in COMMANDS["batchyard"].params}  # -q, -v: with the global options
    for param in command.params:
        if param.name == "help" or param.name in shared:
            continue
        if param.param_type_name == "argument":
            assert f"`{param.name.upper()}`" in section, f"{path}: argument {param.name}"
        else:
            for flag in [*param.opts, *param.secondary_opts]:
                assert f"`{flag}`" in section, f"{path}: option {flag} is not documented"
    for name in getattr(command, "commands", {}):
        assert f"`{name}`" in section, f"{path}: subcommand {name} is not listed"
    if getattr(command, "commands", None):
        return
    # The usage line as --help prints it, arguments written as the section writes them.
    shown = CliRunner().invoke(cli_app, [*path.split()[1:], "--help"], terminal_width=200)
    usage = next(line for line in shown.output.splitlines() if line.startswith("Usage: "))
    assert usage.removeprefix("Usage: ") in section, f"{path}: {usage!r} is not in the docs"


def listed(text: str) -> dict[str, str]:
    """The commands a table lists: ``| [`name`](#anchor) | ... |`` rows, name to anchor."""
    return dict(re.findall(r"^\| \[`([\w-]+)`\]\(#([\w-]+)\) \|", text, re.M))


@pytest.mark.parametrize("path", [p for p, c in COMMANDS.items() if getattr(c, "commands", None)])
def test_every_group_lists_all_its_commands(path: str) -> None:
    """The table of commands (the page's first, for ``batchyard``; the group's section's, for a
    group) names every command of the Typer app, hidden ones included, each linking to its
    section, and nothing else."""
    text = CLI_MD.split("\n## ", 1)[0] if path == "batchyard" else sections(CLI_MD, "###")[path]
    group = COMMANDS[path]
    real = set(group.commands)  # type: ignore[attr-defined]
    table = listed(text)
    assert set(table) == real, (
        f"{path}: listed but not commands: {sorted(set(table) - real)}; "
        f"commands not listed: {sorted(real - set(table))}"
    )
    for name, anchor in table.items():
        assert anchor == f"{path} {name}".replace(" ", "-"), f"{path} {name}: links to #{anchor}"


def test_global_options_are_in_the_cli_docs() -> None:
    root = COMMANDS["batchyard"]
    for param in root.params:
        for flag in param.opts:
            assert f"`{flag}" in CLI_MD, f"global option {flag} is not documented"


def test_exit_codes_are_in_the_cli_docs() -> None:
    table = CLI_MD.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    assert [int(code) for code in re.findall(r"^\| `(\d+)` \|", table, re.M)] == [0, 1, 2, 130]


def test_docs_link_to_files_that_exist() -> None:
    for path in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).is_file(), f"{path.name} links to missing {target}"


# -- the Python API --------------------------------------------------------------------------------


def test_all_is_exactly_what_the_package_exports() -> None:
    """Like httpx's test_exported_members: nothing public is left out of ``__all__``."""
    for name in dir(batchyard):  # the package imports its names on first use: load them all
        getattr(batchyard, name)
    exported = {
        name
        for name, value in vars(batchyard).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and (getattr(value, "__module__", "") or "").startswith("batchyard")
    }
    assert exported == set(batchyard.__all__) - {"__version__"}
    for name in batchyard.__all__:
        assert hasattr(batchyard, name), name


def test_all_matches_the_names_documented() -> None:
    reference = API_MD.split("\n## Reference\n", 1)[1]
    documented = set(sections("\n" + reference, "###"))
    assert documented == set(batchyard.__all__), (
        f"documented but not exported: {sorted(documented - set(batchyard.__all__))}; "
        f"exported but not documented: {sorted(set(batchyard.__all__) - documented)}"
    )


@pytest.mark.parametrize("name", batchyard.__all__)
def test_every_public_name_has_an_example(name: str) -> None:
    section = sections("\n" + API_MD.split("\n## Reference\n", 1)[1], "###")[name]
    examples = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert examples, f"`{name}` has no runnable example"
    assert any(re.search(rf"\bby\.{re.escape(name)}\b", code) for code in examples), (
        f"the example of `{name}` does not use by.{name}"
    )


def test_the_ctx_api_is_documented() -> None:
    table = API_MD.split("## The `ctx` API", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `ctx\.(\w+)", table, re.M))
    assert {
        "job_id",
        "item_key",
        "attempt",
        "cursor",
        "params",
        "log",
        "checkpoint",
        "write",
        "add_rows",
        "should_stop",
    } <= documented
    init = inspect.getsource(batchyard.Context.__init__)
    real = {n for n in dir(batchyard.Context) if not n.startswith("_")}
    real |= set(re.findall(r"self\.([a-z]\w*) =", init))
    assert documented <= real, f"documented but not on Context: {sorted(documented - real)}"


def test_every_batchyard_method_is_documented() -> None:
    section = sections("\n" + API_MD.split("\n## Reference\n", 1)[1], "###")["Batchyard"]
    public = [
        n
        for n, _ in inspect.getmembers(batchyard.Batchyard)
        if not n.startswith("_") and n not in {"registry", "read_store"}
    ]
    for name in public:
        assert f"`{name}(" in section or f"`{name}`" in section or f", `{name}" in section, name


PYTHON_RUNNER = """
import os, re, sys, traceback
from pathlib import Path

from batchyard.db import ENGINES

text, base = Path(sys.argv[1]).read_text(), Path(sys.argv[2])
for index, code in enumerate(re.findall(r"```python\\n(.*?)```", text, flags=re.S), start=1):
    folder = base / f"example-{index}"
    folder.mkdir()
    os.chdir(folder)
    try:
        exec(compile(code, f"<docs/python-api.md, python example {index}>", "exec"),
             {"__name__": "__main__"})
    except BaseException:
        print(f"python example {index} failed:\\n{code}\\n{traceback.format_exc()}")
        sys.exit(1)
    finally:
        ENGINES.dispose()
print(index)
"""


@pytest.mark.slow
def test_python_examples_run(tmp_path: Path) -> None:
    """Each ```python block of docs/python-api.md runs as written, in an empty folder of its own.

    They run in one subprocess (so the kinds they register stay out of this one), each in a fresh
    namespace and folder: every example stands on its own, as a reader would paste it.
    """
    proc = subprocess.run(
        [sys.executable, "-c", PYTHON_RUNNER, str(DOCS / "python-api.md"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(proc.stdout.split()[-1]) == API_MD.count("```python\n")


# -- configuration ---------------------------------------------------------------------------------


def test_every_environment_variable_is_documented() -> None:
    source = "".join(
        Path(module.__file__ or "").read_text(encoding="utf-8")
        for module in (config, project, verbosity)
    )
    names = set(re.findall(r"\bBATCHYARD_[A-Z_]*[A-Z]\b", source))
    assert {"BATCHYARD_STORE", "BATCHYARD_ENV", "BATCHYARD_PROJECT"} <= names
    table = CONFIG_MD.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    for name in sorted(names):
        assert f"| `{name}` |" in table, f"{name} is not in the table of docs/configuration.md"


def test_every_toml_setting_is_documented() -> None:
    documented = sections(CONFIG_MD, "###")
    for section, field in config.FileConfig.model_fields.items():
        heading = f"[{section}]"
        assert heading in documented, f"docs/configuration.md has no `### `{heading}`` section"
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            for key in model.model_fields:
                assert f"| `{key}` |" in documented[heading], f"{heading} {key} is not documented"


def test_configuration_example_is_a_valid_file(tmp_path: Path) -> None:
    example = re.findall(r"```toml\n(.*?)```", CONFIG_MD, flags=re.S)[0]
    (tmp_path / "batchyard.toml").write_text(example)
    loaded = config.load_file(tmp_path / "batchyard.toml")
    assert set(loaded.connections) == {"warehouse", "reporting"}


def test_pipeline_example_is_a_valid_file(tmp_path: Path) -> None:
    from batchyard import pipelines

    example = re.findall(r"```yaml\n(.*?)```", CONFIG_MD, flags=re.S)[0]
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "season.yaml").write_text(example)
    loaded = pipelines.load(tmp_path, "season")
    assert json.loads(json.dumps(loaded.to_dict()))["params"] == {
        "start": "2024-04-01",
        "end": "2024-09-30",
    }
