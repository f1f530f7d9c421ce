"""``[serve]`` in batchyard.toml: flags > BATCHYARD_* > the file > defaults; bad values and tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from apihelp import free_port, make_project
from typer.testing import CliRunner

from batchyard.api import ServeOptions
from batchyard.cli import app as cli_app
from batchyard.config import load_settings

SERVE = """
[serve]
host = "localhost"
port = 8123
max_jobs = 5
on_start = "pause"
cors_origins = ["https://dash.example.com"]
log_level = "warning"
"""


@pytest.fixture(autouse=True)
def _no_serve_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATCHYARD_TOKEN", "BATCHYARD_MAX_JOBS", "BATCHYARD_ON_START", "BY_TEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def options(root: Path, **flags: object) -> ServeOptions:
    return ServeOptions.from_env(file=load_settings(root).serve, **flags)  # type: ignore[arg-type]


def test_defaults_without_a_serve_section(tmp_path: Path) -> None:
    got = options(make_project(tmp_path / "p"))
    assert (got.host, got.port, got.max_jobs, got.on_start) == ("127.0.0.1", 8000, 2, "resume")
    assert (got.cors_origins, got.log_level, got.token) == ((), "info", None)


def test_flags_beat_env_beat_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", extra_toml=SERVE)
    got = options(root)
    assert (got.host, got.port, got.max_jobs, got.on_start) == ("localhost", 8123, 5, "pause")
    assert (got.cors_origins, got.log_level) == (("https://dash.example.com",), "warning")

    monkeypatch.setenv("BATCHYARD_MAX_JOBS", "7")
    monkeypatch.setenv("BATCHYARD_ON_START", "resume")
    got = options(root)
    assert (got.max_jobs, got.on_start, got.port) == (7, "resume", 8123)

    got = options(
        root,
        host="127.0.0.1",
        port=9000,
        max_jobs=1,
        on_start="pause",
        cors_origins=("https://other.example.com",),
        log_level="debug",
    )
    assert (got.host, got.port, got.max_jobs, got.on_start) == ("127.0.0.1", 9000, 1, "pause")
    assert (got.cors_origins, got.log_level) == (("https://other.example.com",), "debug")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("port = 70000", "serve.port"),
        ('max_jobs = "many"', "serve.max_jobs"),
        ('on_start = "restart"', "serve.on_start"),
        ('log_level = "loud"', "serve.log_level"),
        ("cors_origins = 3", "serve.cors_origins"),
        ("hots = '0.0.0.0'", "serve.hots"),
    ],
)
def test_a_bad_value_names_the_file_line_and_key(tmp_path: Path, line: str, key: str) -> None:
    root = make_project(tmp_path / "p", extra_toml=f'\n[serve]\nhost = "localhost"\n{line}\n')
    lines = (root / "batchyard.toml").read_text().splitlines()
    number = next(n for n, text in enumerate(lines, start=1) if text == line)
    result = CliRunner().invoke(cli_app, ["-C", str(root), "serve"])
    assert result.exit_code == 2, result.output
    assert f"batchyard.toml:{number}: {key}:" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "value", ["t0ken-written-in-the-file-0123", "${BY_TEST_TOKEN:-t0ken-as-a-default-0123}"]
)
def test_a_token_written_in_the_file_is_refused(tmp_path: Path, value: str) -> None:
    root = make_project(tmp_path / "p", extra_toml=f'\n[serve]\ntoken = "{value}"\n')
    result = CliRunner().invoke(cli_app, ["-C", str(root), "serve"])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "serve.token" in output and "BATCHYARD_TOKEN" in output and "${VAR}" in output
    assert "t0ken" not in output


def test_a_token_reference_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "p", extra_toml='\n[serve]\ntoken = "${BY_TEST_TOKEN}"\n')
    result = CliRunner().invoke(cli_app, ["-C", str(root), "serve"])
    assert result.exit_code == 2
    assert "BY_TEST_TOKEN is not set" in " ".join(result.output.split())
    monkeypatch.setenv("BY_TEST_TOKEN", "from-the-reference-0123")
    assert options(root).token == "from-the-reference-0123"
    monkeypatch.setenv("BATCHYARD_TOKEN", "from-batchyard-token-0123")
    assert options(root).token == "from-batchyard-token-0123"


def test_an_address_from_the_file_off_loopback_needs_a_token(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", extra_toml='\n[serve]\nhost = "0.0.0.0"\n')
    result = CliRunner().invoke(cli_app, ["-C", str(root), "serve"])
    assert result.exit_code == 2
    assert "--host 0.0.0.0" in result.output and "set BATCHYARD_TOKEN" in result.output


@pytest.mark.slow
def test_serve_listens_where_the_file_says(tmp_path: Path) -> None:
    port = free_port()
    root = make_project(
        tmp_path / "p", extra_toml=f'\n[serve]\nport = {port}\nmax_jobs = 3\nlog_level = "debug"\n'
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "batchyard", "-C", str(root), "serve"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert health.status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    output = log.read_text()
    assert f"on http://127.0.0.1:{port}/ " in output and "3 job(s) at once" in output
    assert "DEBUG" in output
