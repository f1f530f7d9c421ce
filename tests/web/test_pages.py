"""Every page in light and dark, at desktop and phone width: no serious or critical axe-core
violations, and a screenshot of each in test-artifacts/screenshots for a person to look at."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from apihelp import Serve
from playwright.sync_api import Page, expect
from webhelp import DESKTOP, PHONE, axe, shoot, wait_until


def _post(server: Serve, body: dict[str, Any]) -> str:
    response = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _finished(server: Serve, job_id: str) -> None:
    wait_until(
        lambda: (
            httpx.get(f"{server.url}/api/jobs/{job_id}").json()["status"]
            in ("completed", "partial", "failed", "cancelled")
        ),
        60,
        f"{job_id} finishing",
    )


@pytest.fixture(scope="module")
def jobs(server: Serve) -> Iterator[dict[str, str]]:
    """A finished job with a failure, a validation job, and one that runs while the pages are
    shot."""
    done = _post(
        server,
        {"kind": "slow", "params": {"n": 30, "sleep": 0.01, "fail": [3, 17]}, "name": "patchy"},
    )
    checks = [
        _post(
            server,
            {"kind": "validate", "params": {"target": "people.db", "rules": "rules/people.yaml"}},
        )
        for _ in range(2)
    ]
    for job_id in (done, *checks):
        _finished(server, job_id)
    running = _post(
        server, {"kind": "slow", "params": {"n": 50_000, "sleep": 0.05}, "name": "nightly backfill"}
    )
    yield {"done": done, "validate": checks[1], "running": running}
    httpx.post(f"{server.url}/api/jobs/{running}/cancel")


def _pages(jobs: dict[str, str]) -> list[tuple[str, str, Callable[[Page], None]]]:
    def active(page: Page) -> None:
        expect(page.get_by_role("progressbar", name="Progress of nightly backfill")).to_be_visible()

    def history(page: Page) -> None:
        expect(
            page.get_by_role("grid", name="Job history").locator("[data-status]").first
        ).to_be_visible()

    def run(page: Page) -> None:
        page.get_by_role("combobox", name="Kinds").click()
        page.get_by_role("option", name="slow").click()
        page.keyboard.press("Escape")
        expect(page.get_by_role("heading", name="slow params")).to_be_visible()

    def generate(page: Page) -> None:
        expect(page.get_by_role("button", name="Add a dataset")).to_be_visible()

    def statistics(page: Page) -> None:
        expect(page.get_by_role("table", name="Statistics by kind and env")).to_be_visible()
        expect(page.locator("svg").first).to_be_visible()

    def details(page: Page) -> None:
        expect(page.get_by_role("grid", name="Items").get_by_role("row").nth(2)).to_be_visible()

    def dialog(page: Page) -> None:
        page.get_by_role("button", name="View patchy").click()
        expect(page.get_by_role("dialog").get_by_role("grid", name="Items")).to_be_visible()

    def report(page: Page) -> None:
        page.get_by_role("tab", name="Report").click()
        expect(page.get_by_test_id("score")).to_be_visible()

    def log(page: Page) -> None:
        page.get_by_role("tab", name="Log (").click()
        expect(page.get_by_test_id("log")).to_be_visible()

    def missing(page: Page) -> None:
        expect(page.get_by_role("heading", name="No such page")).to_be_visible()

    return [
        ("active", "/active", active),
        ("history", "/history", history),
        ("run", "/run", run),
        ("generate", "/generate", generate),
        ("statistics", "/statistics", statistics),
        ("job", f"/jobs/{jobs['done']}", details),
        ("job-log", f"/jobs/{jobs['done']}", log),
        ("job-dialog", f"/history?q={jobs['done']}", dialog),
        ("report", f"/jobs/{jobs['validate']}", report),
        ("not-found", "/no/such/page", missing),
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_page_is_accessible_and_shot(
    browser: Any, server: Serve, jobs: dict[str, str], scheme: str, width: str
) -> None:
    context = browser.new_context(
        base_url=server.url,
        viewport=DESKTOP if width == "desktop" else PHONE,
        color_scheme=scheme,
        is_mobile=width == "phone",
        has_touch=width == "phone",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = []
    for name, path, ready in _pages(jobs):
        page.goto(path)
        ready(page)
        page.wait_for_timeout(400)  # let transitions settle before the picture
        shoot(page, f"{name}-{scheme}-{width}")
        violations += axe(page, f"{path} ({name}, {scheme}, {width})")
    if width == "phone":  # the navigation lives in a drawer there
        page.goto("/history")
        page.get_by_role("button", name="Open navigation").click()
        expect(page.get_by_role("navigation", name="Pages")).to_be_visible()
        shoot(page, f"navigation-{scheme}-{width}")
        violations += axe(page, f"navigation drawer ({scheme}, {width})")
        page.get_by_role("link", name="Statistics").click()
        expect(page.get_by_role("heading", name="Statistics")).to_be_visible()
    context.close()
    assert not errors, errors
    assert not violations, "\n".join(
        f"{v['where']}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
    )


def test_keyboard_alone_reaches_the_pages_and_the_actions(page: Page, jobs: dict[str, str]) -> None:
    page.goto("/active")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_attached()  # the page is drawn (on a busy machine, after the load event)
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "document.activeElement.getAttribute('aria-label') || document.activeElement.textContent"
        )
        reached.add(label.strip())
        if label.startswith("Pause nightly backfill"):
            break
    assert {"Run", "History", "Statistics"} <= reached, reached
    assert "Pause nightly backfill" in reached, reached
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # the View button, before Pause
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
