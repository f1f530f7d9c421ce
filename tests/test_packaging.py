"""What a user gets from the package: a LICENSE that is the one pyproject names, type hints that
their type checker reads (py.typed), and an sdist and a wheel without the caches a test run leaves
behind."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_license_file_is_the_full_apache_2_text_pyproject_names() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    # The whole text, not a notice: its nine sections and the appendix.
    for heading in ("1. Definitions.", "9. Accepting Warranty or Additional Liability."):
        assert heading in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) > 190


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "src" / "batchyard" / "py.typed").is_file()
    assert "Typing :: Typed" in PYPROJECT["project"]["classifiers"]


@pytest.fixture
def planted() -> Iterator[list[str]]:
    """Files of the kind a test run leaves in the checkout (removed again after the test)."""
    made = [
        ROOT / ".hypothesis" / "examples" / "packaging-sentinel",
        ROOT / "test-artifacts" / "screenshots" / "packaging-sentinel.png",
        ROOT / ".pytest_cache" / "packaging-sentinel",
        ROOT / "src" / "batchyard" / "__pycache__" / "packaging_sentinel.cpython-311.pyc",
        ROOT / "tests" / "packaging-sentinel.db",
    ]
    for path in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    try:
        yield ["packaging-sentinel", "packaging_sentinel"]
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def test_the_sdist_and_wheel_hold_no_test_caches(tmp_path: Path, planted: list[str]) -> None:
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    (sdist,) = SdistBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with tarfile.open(sdist) as tar:
        names = [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]
    assert names, sdist
    for banned in (".hypothesis/", "test-artifacts/", ".pytest_cache/", "__pycache__/"):
        assert not [n for n in names if banned in f"/{n}"], banned
    assert not [n for n in names if any(s in n for s in planted)]
    assert not [n for n in names if "node_modules" in n]
    for needed in ("LICENSE", "README.md", "pyproject.toml", "src/batchyard/py.typed"):
        assert needed in names, needed
    assert "src/batchyard/store/migrations/versions/0001_initial.py" in names

    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with zipfile.ZipFile(wheel) as zf:
        files = zf.namelist()
    assert "batchyard/py.typed" in files
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in files), files[-10:]
    assert not [n for n in files if "__pycache__" in n or any(s in n for s in planted)]


USER_CODE = """
from datetime import date

import batchyard as by


class SeasonParams(by.Params):
    season: str
    start: date
    max_pages: int = 10


@by.job("season-pages")
def season_pages(p: SeasonParams) -> list[str]:
    return [f"{p.season}-a", f"{p.season}-b"]


@season_pages.item
def fetch(key: str, ctx: by.Context[SeasonParams]) -> dict[str, int]:
    reveal_type(ctx.params)
    reveal_type(ctx.params.start)
    return {"weekday": ctx.params.start.weekday(), "pages": ctx.params.max_pages}


def wrong(ctx: by.Context[SeasonParams]) -> int:
    return ctx.params.start + 1
"""


@pytest.mark.slow
def test_a_users_jobs_file_type_checks_against_batchyard(tmp_path: Path) -> None:
    """mypy --strict on a user's jobs.py reads batchyard's hints: ``ctx.params`` of a
    ``Context[SeasonParams]`` is a SeasonParams, not Any, so a misuse of it is caught."""
    (tmp_path / "jobs.py").write_text(USER_CODE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "jobs.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout + result.stderr
    assert "py.typed" not in out and "missing library stubs" not in out, out
    assert 'Revealed type is "jobs.SeasonParams"' in out, out
    assert 'Revealed type is "datetime.date"' in out, out
    # The errors are the misuse's; everything else about the file checks.
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors and all(line.startswith("jobs.py:26:") for line in errors), out
    assert any("Unsupported operand" in line for line in errors), out
