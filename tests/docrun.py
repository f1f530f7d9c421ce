"""Running the docs' examples: the shell and YAML blocks of a Markdown page, in order, in a project
of their own, as a reader would type them.

What a page holds, and what becomes of it:

- A shell block (```sh, ```console): each command runs, in the page's folder, in order. In a
  console block the lines starting with ``$ `` are commands and the lines after one are its
  output, compared with what the command printed (see :func:`compare`); a line ending in ``\\`` goes
  on on the next line. A command's comment saying ``exit N`` (not ``exit N if ...``) expects that
  exit code; any other command must exit 0.
- A Python block runs as a script in the page's folder, after the blocks before it (except on the
  pages of ``PYTHON_RUN_ELSEWHERE``, whose examples other tests run).
- A YAML (or Python) block whose first line is a comment naming a path (``# rules/sports.yaml``,
  ``# jobs.py``), or that a ``<!-- file: PATH -->`` comment names, is written to that path for the
  commands after it.
- HTML comments right before a block (unseen by readers) steer the test, each with its reason:

  ``<!-- not run: REASON -->``                 the block is not run.
  ``<!-- not run "TEXT": REASON -->``          its commands holding TEXT are not run.
  ``<!-- output not compared: REASON -->``     its commands run, their output is not compared.
  ``<!-- replace "OLD" "NEW": REASON -->``     its commands run with OLD (a regex) replaced by NEW.
  ``<!-- setup: COMMANDS -->``                 (anywhere) commands run at that point: the data a
                                               page's examples assume (a CSV file, a paused job).

Commands run as they would in a shell, with these differences, which keep the run fast and safe:

- ``batchyard ...`` runs in this process through Typer's ``CliRunner`` (a process start costs a
  second here; the CLI is the same). ``serve``, ``scheduler``, ``demo-feed`` and commands ending
  in ``&`` run as real ``python -m batchyard`` processes in the background, until the block ends
  (or the next such command starts); ``serve`` and ``scheduler`` are then stopped with Ctrl+C.
- Ports the docs name (8000, the default, 8080, 8765) become free ports, the same in every command
  of the page, so a page never takes a port something else on the machine holds.
- Job ids the docs make up stand for the page's jobs: ``ID``, ``JOB_ID`` and ``<id>`` the newest
  job, ``ID1`` and ``ID2`` the two newest, and an id of a kind's shape
  (``daily-scores_dev_20240601_030000_1a2b3c``) the newest job of that kind; a prefix of one
  (``daily-scores_dev_2024``) a unique prefix of that job's id. A backup's folder
  (``.batchyard/backups/nightly-20240601T020000Z``) stands for the newest backup of that name.
- Anything else (``curl``, pipes, ``$(...)``) runs in ``bash`` with the venv's ``bin`` first on
  ``PATH``.

A setup may also use these, which stand for what a reader would have at hand:

- ``export NAME=VALUE``: a variable for the page's later commands;
- ``createdb NAME...``: an empty PostgreSQL database of that name on the test's server;
- ``paused-job TARGET [PARAM=VALUE...]``: a job of a kind or pipeline, paused as a Ctrl+C before
  its first item leaves it; ``pending-job ...``: one submitted and not started;
- ``open-alert MONITOR METRIC [SEVERITY]``: an alert, opened by a failing check.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.engine.context import StopFlag
from batchyard.monitor.alerts import Observation
from batchyard.store.joblist import JobFilter

#: Pages whose Python examples have tests of their own.
PYTHON_RUN_ELSEWHERE = {
    "README.md": "tests/test_readme.py",
    "docs/python-api.md": "tests/test_docs.py",
    "docs/alerts.md": "tests/monitor/test_alerts_docs.py",
}
BUILTINS = {"export", "createdb", "paused-job", "pending-job", "open-alert"}
SHELL = {"sh", "console", "bash", "shell"}
LONG_RUNNING = {"serve", "scheduler", "demo-feed"}
DOC_PORTS = ("8000", "8080", "8765")
DIRECTIVE = re.compile(r"<!--\s*(.*?)\s*-->", re.S)
JOB_ID = re.compile(r"\b([a-z][a-z0-9-]*)_([a-z][a-z0-9]*)_(\d{8})_(\d{6})_([0-9a-f]{6})\b")
JOB_PREFIX = re.compile(r"(?<![\w-])([a-z][a-z0-9-]*)_(dev|prod|test)_(\d{4})(?![\w-])")
BACKUP = re.compile(r"(\.batchyard/backups)/([\w-]+?)-\d{8}T\d{6}Z")
PLACEHOLDER = re.compile(r"(?<![\w-])(JOB_ID|ID[12]?|<id>)(?![\w-])")


@dataclass
class Command:
    text: str
    line: int
    output: list[str] = field(default_factory=list)

    @property
    def comment(self) -> str:
        return split_comment(self.text)[1]

    @property
    def code(self) -> str:
        return split_comment(self.text)[0].strip()

    @property
    def exit_code(self) -> int:
        found = re.search(r"\bexit (\d+)(?! if)", self.comment)
        return int(found.group(1)) if found else 0


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    not_run: str | None = None
    skips: list[tuple[str, str]] = field(default_factory=list)
    replaces: list[tuple[str, str]] = field(default_factory=list)
    compare_output: bool = True
    file: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL

    def commands(self) -> list[Command]:
        return parse_commands(self.text, self.line + 1, console=self.lang == "console")


@dataclass
class Setup:
    page: str
    line: int
    text: str

    def commands(self) -> list[Command]:
        return parse_commands(self.text, self.line, console=False)


Step = Block | Setup


def split_comment(text: str) -> tuple[str, str]:
    """A shell line's code and its ``# comment`` (a ``#`` outside quotes, after a blank)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i], text[i + 1 :].strip()
    return text, ""


def parse_commands(text: str, first_line: int, *, console: bool) -> list[Command]:
    commands: list[Command] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line, number = lines[i], first_line + i
        i += 1
        if console and not line.startswith("$ "):
            if commands:
                commands[-1].output.append(line)
            continue
        code = line[2:] if console else line
        if not split_comment(code)[0].strip():
            continue
        while code.rstrip().endswith("\\") and i < len(lines):
            code = code.rstrip()[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        commands.append(Command(code, number))
    return commands


def parse_page(path: Path, name: str) -> list[Step]:
    """The page's blocks and setups, in order, with the directives that steer them."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    steps: list[Step] = []
    pending: list[tuple[str, int]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("<!--"):
            start = i
            body = line
            while "-->" not in body and i + 1 < len(lines):
                i += 1
                body += "\n" + lines[i]
            for found in DIRECTIVE.finditer(body):
                directive = found.group(1)
                if directive.startswith("setup:"):
                    steps.append(Setup(name, start + 1, directive.removeprefix("setup:").strip()))
                else:
                    pending.append((directive, start + 1))
            i += 1
            continue
        fence = re.match(r"^(\s*)```(\w*)\s*$", line)
        if fence:
            indent, lang = fence.groups()
            j = i + 1
            while not lines[j].startswith(f"{indent}```"):
                j += 1
            body = "\n".join(x[len(indent) :] for x in lines[i + 1 : j]) + "\n"
            block = Block(name, i + 1, lang, body)
            for directive, at in pending:
                apply_directive(block, directive, f"{name}:{at}")
            pending = []
            steps.append(block)
            i = j + 1
            continue
        if line.strip():
            for directive, at in pending:
                raise ValueError(
                    f"{name}:{at}: directive {directive!r} is not right before a block"
                )
        i += 1
    return steps


def apply_directive(block: Block, directive: str, where: str) -> None:
    if m := re.fullmatch(r'not run(?: "([^"]+)")?:\s*(.+)', directive, re.S):
        if m.group(1):
            block.skips.append((m.group(1), m.group(2)))
        else:
            block.not_run = m.group(2)
    elif m := re.fullmatch(r"output not compared:\s*(.+)", directive, re.S):
        block.compare_output = False
    elif m := re.fullmatch(r'replace "([^"]+)" "([^"]*)":\s*(.+)', directive, re.S):
        block.replaces.append((m.group(1), m.group(2)))
    elif m := re.fullmatch(r"file:\s*(\S+)", directive):
        block.file = m.group(1)
    else:
        raise ValueError(f"{where}: unknown directive {directive!r}")


def file_of(block: Block) -> str | None:
    """Where a YAML (or TOML) block is written: its ``file:`` directive or its first-line comment."""
    if block.file:
        return block.file
    first = block.text.splitlines()[0] if block.text.strip() else ""
    found = re.fullmatch(r"#\s*([\w./-]+\.(?:ya?ml|toml|py))\s*", first)
    return found.group(1) if found else None


# -- comparing output ------------------------------------------------------------------------------


def compare(expected: list[str], actual: str, folder: Path) -> str | None:
    """None when ``actual`` shows what ``expected`` does; else why not.

    ``...`` stands for any lines; the page's folder is shown as ``/home/me`` (as in the docs), job ids match any job id of the same kind, and trailing blanks do not count.
    """
    got = [
        line.rstrip()
        for line in actual.replace(str(folder), "/home/me").splitlines()
        if line.strip()
    ]
    want = [line.rstrip() for line in expected if line.strip()]

    def pattern(line: str) -> re.Pattern[str]:
        parts = JOB_ID.split(line)
        out = []
        for i in range(0, len(parts), 6):
            out.append(re.escape(parts[i]))
            if i + 1 < len(parts):
                out.append(re.escape(parts[i + 1]) + r"_\w+_\d{8}_\d{6}_[0-9a-f]{6}")
        return re.compile("".join(out))

    def match(w: int, g: int) -> bool:
        if w == len(want):
            return g == len(got)
        if want[w] == "...":
            return any(match(w + 1, k) for k in range(g, len(got) + 1))
        return g < len(got) and bool(pattern(want[w]).fullmatch(got[g])) and match(w + 1, g + 1)

    if match(0, 0):
        return None
    return "expected:\n  " + "\n  ".join(want) + "\ngot:\n  " + "\n  ".join(got)


# -- running ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    out: str
    err: str


class Background:
    """A long-running command (``serve``, ``scheduler``, ``demo-feed``, ``... &``)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], port: int | None) -> None:
        self.argv = argv
        self.log = cwd / f".docs-bg-{os.getpid()}-{time.monotonic_ns()}.log"
        self.handle = self.log.open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{shlex.join(argv)} ended at once:\n{self.output()}")
            if port is not None and listening(port):
                return
            if port is None and self.output().strip():
                return
            time.sleep(0.02)
        raise AssertionError(f"{shlex.join(argv)} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError(f"{shlex.join(self.argv)} did not stop on Ctrl+C") from None
        self.handle.close()
        output = self.output()
        self.log.unlink(missing_ok=True)
        assert self.proc.returncode in (0, 130) and "Traceback" not in output, (
            f"{shlex.join(self.argv)} ended with exit code {self.proc.returncode}:\n{output}"
        )


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PageRun:
    """The examples of one page, run in ``folder`` (a project made by ``batchyard init``)."""

    def __init__(
        self,
        folder: Path,
        env: dict[str, str],
        createdb: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = folder
        self.env = env
        self.createdb = createdb
        self.ports = {doc: str(free_port()) for doc in DOC_PORTS}
        self.background: list[Background] = []
        self.not_run: list[str] = []
        self.timings: list[tuple[float, str]] = []

    # -- the steps -------------------------------------------------------------------------------

    def run(self, steps: list[Step]) -> None:
        try:
            self._run(steps)
        finally:
            self.stop_background()

    def _run(self, steps: list[Step]) -> None:
        for step in steps:
            if isinstance(step, Setup):
                for command in step.commands():
                    self.command(command, f"{step.page}:{command.line} (setup)", setup=True)
            elif step.not_run is not None:
                self.not_run.append(f"{step.where}: {step.not_run}")
            elif not step.is_shell:
                path = file_of(step)
                if path and step.lang in {"yaml", "yml", "python"}:
                    target = self.folder / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(step.text, encoding="utf-8")
                elif step.lang == "python" and step.page not in PYTHON_RUN_ELSEWHERE:
                    self.python(step)
            else:
                try:
                    for command in step.commands():
                        skip = [why for text, why in step.skips if text in command.text]
                        if skip:
                            self.not_run.append(f"{step.page}:{command.line}: {skip[0]}")
                            continue
                        code = command.code
                        for old, new in step.replaces:
                            code = re.sub(old, new, code)
                        where = f"{step.page}:{command.line}: $ {command.code}"
                        code += f"  # {command.comment}" if command.comment else ""
                        outcome = self.command(Command(code, command.line), where)
                        if outcome is not None and command.output and step.compare_output:
                            why = compare(command.output, outcome.out + outcome.err, self.folder)
                            assert why is None, f"{where}\n{why}"
                finally:
                    self.stop_background()

    def python(self, block: Block) -> None:
        """A Python example, run as a script in the page's folder (in this process: fast)."""
        started = time.perf_counter()
        previous = Path.cwd()
        os.chdir(self.folder)
        try:
            code = compile(block.text, f"<{block.where}>", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, {"__name__": "__main__"})
        except Exception as exc:
            raise AssertionError(f"{block.where}: the Python example fails:\n{block.text}") from exc
        finally:
            os.chdir(previous)
            ENGINES.dispose()
            self.timings.append((time.perf_counter() - started, f"{block.where}: python"))

    def stop_background(self) -> None:
        while self.background:
            self.background.pop().stop()

    # -- one command -----------------------------------------------------------------------------

    def command(self, command: Command, where: str, *, setup: bool = False) -> Outcome | None:
        started = time.perf_counter()
        try:
            return self._command(command, where, setup=setup)
        finally:
            self.timings.append((time.perf_counter() - started, where))

    def _command(self, command: Command, where: str, *, setup: bool = False) -> Outcome | None:
        text = self.substitute(command.code)
        words = shlex.split(text, posix=True)
        if setup and words[0] in BUILTINS:
            self.builtin(words, where)
            return None
        outcome = None
        for part in self.chain(text):  # a && b: b runs if a exits 0, as in a shell
            outcome = self.one(part, where)
            if outcome is None or outcome.code != 0:
                break
        if outcome is None:
            return None
        expected = command.exit_code
        if os.environ.get("DOCS_VERBOSE"):
            print(f"{where} -> {outcome.code}\n{outcome.out[-2000:]}{outcome.err[-2000:]}")
        assert outcome.code == expected, (
            f"{where}\nexit code {outcome.code}, expected {expected}\n"
            f"stdout:\n{outcome.out}\nstderr:\n{outcome.err}"
        )
        return outcome

    def chain(self, text: str) -> list[str]:
        """The commands of ``a && b`` (split outside quotes), or ``[text]``."""
        parts, quote, start = [], "", 0
        for i, ch in enumerate(text):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif text.startswith("&&", i):
                parts.append(text[start:i].strip())
                start = i + 2
        return [*parts, text[start:].strip()]

    def one(self, text: str, where: str) -> Outcome | None:
        head = self.parse(text)
        if head is None:
            return self.bash(text, where)
        env, argv, stdout, background = head
        if background or (argv and argv[0] in LONG_RUNNING):
            self.start_background(env, argv, where)
            return None
        outcome = self.batchyard(env, argv, where)
        if stdout is not None:
            (self.folder / stdout).write_text(outcome.out, encoding="utf-8")
        return outcome

    def builtin(self, words: list[str], where: str) -> None:
        name, args = words[0], words[1:]
        if name == "export":
            key, _, value = args[0].partition("=")
            self.env[key] = value
            return
        if name == "createdb":
            assert self.createdb is not None, f"{where}: createdb needs the PostgreSQL server"
            for db in args:
                self.createdb(db)
            return
        with by.Batchyard(root=self.folder) as app:
            if name in {"paused-job", "pending-job"}:
                target, params = args[0], dict(a.split("=", 1) for a in args[1:])
                if name == "pending-job":
                    app.submit(target, params)
                else:
                    stop = StopFlag()
                    stop.set()  # as a Ctrl+C before the first item leaves it
                    job = app.run(target, params, stop=stop, install_signals=False)
                    assert job.status.value == "paused", f"{where}: {job.status}"
            elif name == "open-alert":
                monitor, metric, severity = (*args, "high")[:3]
                check = Observation(monitor, metric, 0, status="fail", severity=severity)  # type: ignore[arg-type]
                app.alerts.observe(check)
        ENGINES.dispose()

    def substitute(self, text: str) -> str:
        for doc, port in self.ports.items():
            text = re.sub(rf"(?<=[:\s]){doc}\b", port, text)
        text = BACKUP.sub(self.backup, text)
        if not (PLACEHOLDER.search(text) or JOB_ID.search(text) or JOB_PREFIX.search(text)):
            return text
        with by.Batchyard(root=self.folder) as app:
            top, _ = app.jobs(JobFilter(top_level=True), limit=2)
            every, _ = app.jobs(JobFilter(), limit=1000)
        ENGINES.dispose()

        def newest(kind: str | None = None, index: int = 0) -> str:
            jobs = [j for j in every if j.kind == kind] if kind else top
            assert len(jobs) > index, f"no job {'of kind ' + kind if kind else ''} for the id"
            return jobs[index].id

        def one(m: re.Match[str]) -> str:
            word = m.group(0)
            if PLACEHOLDER.fullmatch(word):
                return newest(index=int(word == "ID2"))
            if found := JOB_ID.fullmatch(word):
                return newest(found.group(1))
            return newest(JOB_PREFIX.fullmatch(word).group(1))[:-1]  # type: ignore[union-attr]

        # One pass, so an id put in is not taken for one the docs made up.
        every_id = "|".join(f"(?:{p.pattern})" for p in (PLACEHOLDER, JOB_ID, JOB_PREFIX))
        return re.sub(every_id, one, text)

    def backup(self, m: re.Match[str]) -> str:
        """The newest backup of that name: its folder's time is the time it was taken."""
        found = sorted((self.folder / m.group(1)).glob(f"{m.group(2)}-*Z"))
        assert found, f"no backup {m.group(2)} in {m.group(1)}"
        return f"{m.group(1)}/{found[-1].name}"

    def parse(self, text: str) -> tuple[dict[str, str], list[str], str | None, bool] | None:
        """A plain ``[VAR=value ...] batchyard ARGS [> FILE] [&]``, or None for bash to run."""
        if "$(" in text or "`" in text:
            return None
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
        env: dict[str, str] = {}
        while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
            name, _, value = tokens.pop(0).partition("=")
            env[name] = value
        if not tokens or tokens[0] != "batchyard":
            return None
        tokens = tokens[1:]
        background = bool(tokens) and tokens[-1] == "&"
        if background:
            tokens = tokens[:-1]
        stdout = None
        if len(tokens) >= 2 and tokens[-2] == ">":
            stdout, tokens = tokens[-1], tokens[:-2]
        if any(t in {"|", "||", "&&", ";", "<", ">", "&", ">>"} for t in tokens):
            return None
        expanded = [self.expand(t, env) for t in tokens]
        if expanded[:1] == ["serve"] and "--port" not in expanded:
            expanded += ["--port", self.ports["8000"]]
        return env, expanded, stdout, background

    def expand(self, token: str, env: dict[str, str]) -> str:
        values = {**self.env, **env}
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), token
        )

    def batchyard(self, env: dict[str, str], argv: list[str], where: str) -> Outcome:
        previous = Path.cwd()
        os.chdir(self.folder)
        try:
            result = CliRunner().invoke(cli_app, argv, env={**self.env, **env})
        finally:
            os.chdir(previous)
            ENGINES.dispose()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{where}: {result.exception!r}\n{result.output}") from (
                result.exception
            )
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def start_background(self, env: dict[str, str], argv: list[str], where: str) -> None:
        if argv and argv[0] in {"serve", "scheduler"}:
            self.stop_background()  # the one before it, on the same port or lease
        port = None
        if "--port" in argv:
            port = int(argv[argv.index("--port") + 1])
        full = {**os.environ, **self.env, **env, "PYTHONUNBUFFERED": "1"}
        self.background.append(
            Background([sys.executable, "-m", "batchyard", *argv], self.folder, full, port)
        )

    def bash(self, text: str, where: str) -> Outcome:
        bindir = str(Path(sys.executable).parent)
        env = {**os.environ, **self.env, "PATH": bindir + os.pathsep + os.environ["PATH"]}
        proc = subprocess.run(
            ["bash", "-c", text],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


def pages(repo: Path) -> Iterator[tuple[str, Path]]:
    yield "README.md", repo / "README.md"
    for path in sorted((repo / "docs").glob("*.md")):
        yield f"docs/{path.name}", path


def runnable(steps: list[Step]) -> bool:
    """True when the page has something to run: a shell block, a file, or a Python example."""
    return any(
        isinstance(s, Block)
        and (
            s.is_shell or file_of(s) or (s.lang == "python" and s.page not in PYTHON_RUN_ELSEWHERE)
        )
        for s in steps
    )


def uses_postgres(steps: list[Step]) -> bool:
    return any(
        "postgresql://" in s.text or (isinstance(s, Setup) and "createdb" in s.text)
        for s in steps
        if not (isinstance(s, Block) and (s.not_run is not None or not s.is_shell))
    )
