"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real
``batchyard serve`` on a project of its own with a SQLite store.

The tests need the built dashboard (``make frontend``) and ``/usr/bin/chromium``
(``apt-get install chromium``). Without them they are skipped, unless ``BATCHYARD_REQUIRE_BROWSER``
is set (``make test`` and CI set it), when they fail saying what is missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "api"))

from apihelp import Serve, free_port
from webhelp import AXE, BUILD, CHROMIUM, DESKTOP, SHOTS, make_project


def _missing() -> str | None:
    if not BUILD.is_file():
        return f"the dashboard is not built ({BUILD}): run make frontend"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    if not AXE.is_file():
        return f"no axe-core at {AXE}: run make frontend (npm ci)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [i for i in items if here in Path(str(i.fspath)).parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    why = _missing() if mine else None
    if why is None:
        return
    if os.environ.get("BATCHYARD_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"the browser tests cannot run: {why}")
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=why))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SHOTS.is_dir() and any(SHOTS.glob("*.png")):
        terminalreporter.write_line(f"dashboard screenshots: {SHOTS}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Per module, not per session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, and tests that run after it (in this process) start their own.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("web") / "project")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Serve]:
    serve = Serve(project, free_port(), "--max-jobs", "6", "--log-level", "warning")
    serve.wait_ready()
    yield serve
    serve.stop()


@pytest.fixture
def page(browser: object, server: Serve) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=server.url, viewport=DESKTOP, accept_downloads=True, color_scheme="light"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"
