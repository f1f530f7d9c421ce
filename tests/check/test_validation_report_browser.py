"""The HTML report in a real browser (Debian's Chromium through Playwright), with the network off:
the history charts are in the page and drawn, and nothing is fetched. Screenshots go to
test-artifacts/screenshots/validation-report*.png.

Without Chromium or Playwright the tests are skipped, unless ``BATCHYARD_REQUIRE_BROWSER`` is set
(``make test`` and CI set it), when they fail saying what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from history_runs import DEFECTS, run_history

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BATCHYARD_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = _missing()
    if why is not None:
        if os.environ.get("BATCHYARD_REQUIRE_BROWSER"):
            pytest.fail(f"the browser tests cannot run: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_history(tmp_path_factory.mktemp("report") / "club")


def _open(browser: Any, report: dict[str, Any], viewport: dict[str, int]) -> tuple[Any, list[str]]:
    """The report in a page with the network off; the URLs it asked for besides itself."""
    context = browser.new_context(offline=True, viewport=viewport)
    page = context.new_page()
    asked: list[str] = []
    own = Path(report["html"]).as_uri()

    def route(r: Any) -> None:
        if r.request.url != own:
            asked.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    page.route("**/*", route)
    page.goto(own)
    return page, asked


def test_the_report_shows_its_history_charts_with_the_network_off(
    browser: Any, report: dict[str, Any]
) -> None:
    page, asked = _open(browser, report, {"width": 1200, "height": 900})
    try:
        assert page.locator("svg.history-chart").count() == 3
        suite = page.locator("#history-suite")
        assert suite.is_visible()
        box = suite.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 120
        points = suite.locator("circle.score-point")
        assert points.count() == len(DEFECTS)
        scores = [float(points.nth(i).get_attribute("data-score") or "") for i in range(5)]
        assert scores == [r["score"] for r in report["history"]]
        # Each point is drawn inside the chart, and the rising score goes up the page.
        ys = []
        for i in range(points.count()):
            dot = points.nth(i).bounding_box()
            assert dot is not None
            assert box["x"] <= dot["x"] <= box["x"] + box["width"]
            assert box["y"] <= dot["y"] <= box["y"] + box["height"]
            ys.append(dot["y"])
        assert ys == sorted(ys, reverse=True)
        assert suite.locator("rect.failing-bar").count() == 4
        assert page.locator("#history-table-1 circle.score-point").count() == len(DEFECTS)
        # The browser's own hover text names the run, its score and failing rules.
        tip = points.nth(0).locator("title").text_content() or ""
        assert report["history"][0]["job"] in tip and "4 failing rule(s)" in tip
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "validation-report.png"), full_page=True)
        suite.screenshot(path=str(SHOTS / "validation-report-history.png"))
        assert asked == [], asked
    finally:
        page.context.close()


def test_the_charts_fit_a_phone_screen(browser: Any, report: dict[str, Any]) -> None:
    page, asked = _open(browser, report, {"width": 390, "height": 844})
    try:
        for chart in page.locator("svg.history-chart").all():
            box = chart.bounding_box()
            assert box is not None and 0 < box["width"] <= 390 and box["height"] > 40
        page.screenshot(path=str(SHOTS / "validation-report-phone.png"), full_page=True)
        assert asked == []
    finally:
        page.context.close()
