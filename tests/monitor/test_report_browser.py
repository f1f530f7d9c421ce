"""The HTML report in a real browser (Debian's Chromium, driven by Playwright) with the network
off: every metric has its chart, anomalies and thresholds are marked on it. A screenshot is left
in test-artifacts/monitor-report.png for a person to look at."""

from __future__ import annotations

import math
import os
import random
import shutil
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from batchyard.config import load_settings
from batchyard.db import ENGINES
from batchyard.monitor import spec
from batchyard.monitor.observe import observe
from batchyard.store import Store

sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))
from cli_helpers import ok

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"

MONITOR = """\
description: Orders and the files that feed them
metrics:
  - name: orders
    type: sql
    connection: "sqlite:///{db}"
    query: "SELECT orders FROM t"
    anomaly: {{min_history: 24, seasonality: daily}}
    thresholds:
      - {{below: 400, level: fail}}
      - {{above: 1700, level: warn}}
  - name: late
    type: sql
    connection: "sqlite:///{db}"
    query: "SELECT late FROM t"
    better: down
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def _history(root: Path) -> None:
    db = root / "orders.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (orders REAL, late REAL)")
        con.execute("INSERT INTO t VALUES (0, 0)")
    con.close()
    (root / "monitors").mkdir()
    (root / "monitors" / "orders.yaml").write_text(MONITOR.format(db=db))
    settings = load_settings(root)
    (monitor,) = spec.pick(root, ["orders"])
    rnd = random.Random(3)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    store = Store.open(settings.store_url)
    try:
        for k in range(72, -1, -1):
            at = now - timedelta(hours=k)
            orders = 1000 + 400 * math.sin(2 * math.pi * at.hour / 24) + rnd.gauss(0, 15)
            if k in (10, 5):
                orders += 450  # two anomalies inside the report's window
            with sqlite3.connect(db) as con:
                con.execute("UPDATE t SET orders = ?, late = ?", (orders, 30 + rnd.gauss(0, 3)))
            con.close()
            observe(monitor, settings, store, now=at)
    finally:
        store.close()


def test_html_report_in_chromium_offline(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    root = tmp_path / "proj"
    root.mkdir()
    (root / "batchyard.toml").write_text('[project]\nname = "orders"\n')
    _history(root)
    report = tmp_path / "report.html"
    ok(root, "monitor", "report", "--format", "html", "--output", str(report))
    ENGINES.dispose()
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            assert page.locator("h1").inner_text() == "Monitoring report"
            charts = page.locator("svg.chart")
            assert charts.count() == 2  # orders.value and late.value
            orders = page.locator('[data-series="orders/orders.value"] svg.chart')
            points = orders.locator("polyline.line").get_attribute("points") or ""
            assert len(points.split()) == 73  # 72 hours back and now
            assert orders.locator("circle.anomaly").count() >= 2
            assert orders.locator("line.threshold").count() == 2
            late = page.locator('[data-series="orders/late.value"] svg.chart')
            assert late.locator("circle.anomaly").count() == 0
            box = orders.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            assert page.locator("#anomalies table tr").count() >= 3  # header and two rows
            page.screenshot(path=str(ARTIFACTS / "monitor-report.png"), full_page=True)
        finally:
            browser.close()
    assert all(url.startswith("file://") for url in requests), requests
    shutil.copy(report, ARTIFACTS / "monitor-report.html")
