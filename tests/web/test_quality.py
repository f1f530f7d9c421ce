"""The Quality pages in Chromium against a real ``batchyard serve``: monitors with their metric
history as charts (anomalies and thresholds marked), alerts acknowledged, silenced and resolved,
and schedules with their next and recent runs, paused and resumed.

The project has a monitor with 72 hours of hourly history (recorded by the monitor code itself,
at past times) with planted anomalies, a last check that fails two thresholds and plants a third
anomaly (three open alerts, told to a real webhook receiver), and two scheduled pipelines, one of
which a real ``batchyard scheduler`` has run."""

from __future__ import annotations

import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelp import Serve, free_port
from playwright.sync_api import Page, expect
from webhelp import DESKTOP, PHONE, axe, make_project, shoot, wait_until

sys.path.insert(0, str(Path(__file__).parent.parent / "monitor"))
from alert_servers import HookServer

from batchyard import Batchyard
from batchyard.config import load_settings
from batchyard.db import ENGINES
from batchyard.monitor import spec
from batchyard.monitor.observe import observe
from batchyard.store import Store

SECRET = "web-quality-hook-secret"

MONITOR = """\
description: Orders, late deliveries and stock, every hour
metrics:
  - name: orders
    type: sql
    connection: shop
    query: "SELECT orders FROM t"
    anomaly: {min_history: 24, seasonality: daily}
    thresholds:
      - {below: 400, level: fail}
      - {above: 1700, level: warn}
  - name: late
    type: sql
    connection: shop
    query: "SELECT late FROM t"
    better: down
    thresholds:
      - {above: 50, level: fail}
  - name: stock
    type: sql
    connection: shop
    query: "SELECT stock FROM t"
    anomaly: {min_history: 24, seasonality: none}
"""


def _set(db: Path, orders: float, late: float, stock: float) -> None:
    with sqlite3.connect(db) as con:
        con.execute("UPDATE t SET orders = ?, late = ?, stock = ?", (orders, late, stock))
    con.close()


def _history(root: Path) -> None:
    """72 hours of hourly checks, recorded by the monitor at those times; orders jump twice."""
    settings = load_settings(root)
    (monitor,) = spec.pick(root, ["shop"])
    rnd = random.Random(5)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    store = Store.open(settings.store_url)
    try:
        for k in range(72, -1, -1):
            at = now - timedelta(hours=k)
            orders = 1000 + 400 * math.sin(2 * math.pi * at.hour / 24) + rnd.gauss(0, 15)
            if k in (10, 5):
                orders += 450
            _set(root / "shop.db", orders, 30 + rnd.gauss(0, 3), 200 + rnd.gauss(0, 2))
            observe(monitor, settings, store, now=at)
    finally:
        store.close()


@contextmanager
def scheduler(root: Path) -> Iterator[None]:
    """A real ``batchyard scheduler`` on the project while the block runs; stopped by Ctrl+C."""
    log = (root.parent / "scheduler.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchyard", "-C", str(root), "scheduler"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        log.close()


def _runs_of(root: Path, schedule: str, count: int) -> None:
    with Batchyard(root=root) as app:
        wait_until(
            lambda: (
                len([r for r in app.schedule_runs(schedule) if r.status.value == "completed"])
                >= count
            ),
            40,
            f"the scheduler running {schedule} {count} times",
        )
    ENGINES.dispose()


@pytest.fixture(scope="module")
def hook() -> Iterator[HookServer]:
    with HookServer(SECRET) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, hook: HookServer) -> Iterator[Path]:
    os.environ["WEB_HOOK_SECRET"] = SECRET  # read by the monitor here and by the server
    root = make_project(tmp_path_factory.mktemp("quality") / "project")
    with (root / "batchyard.toml").open("a") as toml:
        toml.write(
            f'shop = "sqlite:///shop.db"\n\n[channels.ops]\ntype = "webhook"\n'
            f'url = "{hook.url}"\nsecret_env = "WEB_HOOK_SECRET"\n'
        )
    with sqlite3.connect(root / "shop.db") as con:
        con.execute("CREATE TABLE t (orders REAL, late REAL, stock REAL)")
        con.execute("INSERT INTO t VALUES (0, 0, 0)")
    con.close()
    (root / "monitors").mkdir()
    (root / "monitors" / "shop.yaml").write_text(MONITOR)
    pipelines = root / "pipelines"
    (pipelines / "nightly.yaml").write_text(
        "kind: slow\ndescription: nightly totals\nparams:\n  n: 2\n  sleep: 0.01\n"
        "schedule:\n  cron: '30 2 * * *'\n  timezone: Europe/Paris\n"
    )
    (pipelines / "ticker.yaml").write_text(
        "kind: slow\nparams:\n  n: 1\n  sleep: 0.01\nschedule: '* * * * * *'\n"
    )
    with scheduler(root):  # it runs the ticker while the history is made
        _history(root)
        _runs_of(root, "ticker", 2)
    yield root
    del os.environ["WEB_HOOK_SECRET"]


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Serve]:
    serve = Serve(project, free_port(), "--log-level", "warning")
    serve.wait_ready()
    yield serve
    serve.stop()


def get(server: Serve, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def alerts(server: Serve, project: Path) -> dict[str, dict[str, Any]]:
    """The last check, as a monitor job of the server: orders and late fail, stock leaps."""
    _set(project / "shop.db", 100, 80, 900)
    response = httpx.post(
        f"{server.url}/api/jobs", json={"kind": "monitor", "params": {"monitors": ["shop"]}}
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    wait_until(
        lambda: get(server, f"/api/jobs/{job_id}")["status"] in ("completed", "partial", "failed"),
        30,
        "the monitor job",
    )
    active = get(server, "/api/alerts")["alerts"]
    by_metric = {a["metric"]: a for a in active}
    assert set(by_metric) == {"orders.value", "late.value", "stock.value"}, active
    return by_metric


def _pages(alerts: dict[str, dict[str, Any]]) -> list[tuple[str, str, Any]]:
    def monitors(page: Page) -> None:
        table = page.get_by_role("table", name="Series of shop")
        expect(table.get_by_role("row")).to_have_count(4)

    def monitor(page: Page) -> None:
        expect(
            page.get_by_test_id("chart orders.value").locator(".MuiMarkElement-root").first
        ).to_be_visible()

    def alert_list(page: Page) -> None:
        expect(page.get_by_role("grid", name="Alerts").locator("[data-severity]")).to_have_count(3)

    def alert(page: Page) -> None:
        expect(
            page.get_by_role("table", name="Deliveries").get_by_role("row").nth(1)
        ).to_be_visible()

    def dialog(page: Page) -> None:
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("dialog").get_by_label("Note")).to_be_visible()

    def schedules(page: Page) -> None:
        expect(
            page.get_by_role("table", name="Recent runs of ticker").get_by_role("row").nth(1)
        ).to_be_visible()

    orders = alerts["orders.value"]["id"]
    return [
        ("monitors", "/monitors", monitors),
        ("monitor", "/monitors/shop", monitor),
        ("alerts", "/alerts", alert_list),
        ("alert", f"/alerts/{orders}", alert),
        ("alert-acknowledge", f"/alerts/{orders}", dialog),
        ("schedules", "/schedules", schedules),
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_quality_pages_are_accessible_and_shot(
    browser: Any, server: Serve, alerts: dict[str, dict[str, Any]], scheme: str, width: str
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
    for name, path, ready in _pages(alerts):
        page.goto(path)
        ready(page)
        page.wait_for_timeout(300)  # let transitions settle before the picture
        shoot(page, f"{name}-{scheme}-{width}")
        violations += axe(page, f"{path} ({name}, {scheme}, {width})")
    context.close()
    assert not errors, errors
    assert not violations, "\n".join(
        f"{v['where']}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
    )


def test_monitors_list_each_series_latest_value_and_status(page: Page, server: Serve) -> None:
    page.goto("/")
    page.get_by_role("link", name="Monitors").click()
    section = page.get_by_role("region", name="shop", exact=True)
    expect(section.locator("[data-status=fail]").first).to_be_visible()
    (monitor,) = get(server, "/api/monitors")
    assert monitor["status"] == "fail"
    rows = section.get_by_role("table", name="Series of shop").get_by_role("row")
    for series in monitor["latest"]:
        row = rows.filter(has_text=series["metric"])
        expect(row.locator(f"[data-status={series['status']}]")).to_be_visible()
        expect(row).to_contain_text(f"{series['value']:,.0f}")
    section.get_by_role("link", name="shop").click()
    expect(page).to_have_url(f"{server.url}/monitors/shop")


def test_a_monitors_charts_mark_anomalies_and_thresholds_over_the_chosen_window(
    page: Page, server: Serve
) -> None:
    page.goto("/monitors/shop")
    chart = page.get_by_test_id("chart orders.value")
    history = get(server, "/api/metrics", monitor="shop", metric="orders.value", window="7d")
    anomalies = [o for o in history["observations"] if o["anomaly"]]
    assert len(anomalies) >= 3  # two planted in the history, and the last check's fall
    expect(chart).to_have_attribute("data-points", str(history["count"]))
    expect(chart.locator(".MuiMarkElement-root")).to_have_count(len(anomalies))
    # The two thresholds on the value (below 400 fails, above 1700 warns) as lines.
    expect(chart.locator(".MuiChartsReferenceLine-root")).to_have_count(2)
    expect(chart.locator(".MuiChartsReferenceLine-root")).to_contain_text(
        ["fail: below 400", "warn: above 1700"]
    )
    expect(
        page.get_by_test_id("chart late.value").locator(".MuiChartsReferenceLine-root")
    ).to_have_count(1)
    expect(
        page.get_by_test_id("chart stock.value").locator(".MuiChartsReferenceLine-root")
    ).to_have_count(0)
    expect(page.get_by_role("table", name="Latest anomalies of orders.value")).to_be_visible()

    page.get_by_role("button", name="24h", exact=True).click()
    expect(page).to_have_url(f"{server.url}/monitors/shop?window=24h")
    day = get(server, "/api/metrics", monitor="shop", metric="orders.value", window="24h")
    assert day["count"] < history["count"]
    expect(chart).to_have_attribute("data-points", str(day["count"]))
    day_anomalies = sum(o["anomaly"] for o in day["observations"])
    expect(chart.locator(".MuiMarkElement-root")).to_have_count(day_anomalies)
    page.get_by_role("button", name="30d", exact=True).click()
    expect(chart).to_have_attribute("data-points", str(history["count"]))


def test_alerts_filter_by_status_severity_and_monitor(
    page: Page, server: Serve, alerts: dict[str, dict[str, Any]]
) -> None:
    page.goto("/alerts")
    grid = page.get_by_role("grid", name="Alerts")
    expect(grid.locator("[data-severity=high]")).to_have_count(2)
    expect(grid.locator("[data-severity=medium]")).to_have_count(1)
    page.get_by_role("button", name="Severity medium").click()
    expect(grid.locator("[data-severity]")).to_have_count(1)
    expect(grid).to_contain_text(alerts["stock.value"]["title"])
    page.get_by_role("button", name="Severity medium").click()
    expect(grid.locator("[data-severity]")).to_have_count(3)
    # The anomalies planted in the history opened alerts that passing checks resolved.
    resolved = get(server, "/api/alerts", status="resolved")
    assert resolved["total"] >= 2
    page.get_by_role("combobox", name="Status").click()
    page.get_by_role("option", name="Resolved").click()
    expect(grid.locator("[data-status=resolved]")).to_have_count(resolved["total"])
    expect(page).to_have_url(f"{server.url}/alerts?status=resolved")
    page.get_by_role("combobox", name="Monitor").click()
    page.get_by_role("option", name="shop").click()
    expect(grid.locator("[data-status=resolved]")).to_have_count(resolved["total"])


def test_acknowledge_silence_and_resolve_alerts(
    page: Page, server: Serve, alerts: dict[str, dict[str, Any]], hook: HookServer
) -> None:
    orders, late, stock = (alerts[m]["id"] for m in ("orders.value", "late.value", "stock.value"))
    page.goto("/alerts")
    grid = page.get_by_role("grid", name="Alerts")

    grid.get_by_role("button", name=f"Acknowledge alert {orders}").click()
    dialog = page.get_by_role("dialog", name=f"Acknowledge alert {orders}")
    dialog.get_by_label("Note").fill("the shop feed is late; on it")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status").filter(has_text="Acknowledged")).to_be_visible()
    row = grid.get_by_role("row").filter(has_text=alerts["orders.value"]["title"])
    expect(row.locator("[data-status=acknowledged]")).to_be_visible()
    got = get(server, f"/api/alerts/{orders}")
    assert got["status"] == "acknowledged" and got["note"] == "the shop feed is late; on it"
    assert got["acknowledged_by"] == "api"

    grid.get_by_role("button", name=f"Silence alert {late}").click()
    dialog = page.get_by_role("dialog", name=f"Silence alert {late}")
    dialog.get_by_role("button", name="1d").click()
    expect(dialog.get_by_role("textbox", name="For")).to_have_value("1d")
    before = datetime.now(UTC)
    dialog.get_by_role("button", name="Silence").click()
    expect(page.get_by_role("status").filter(has_text="Silenced until")).to_be_visible()
    row = grid.get_by_role("row").filter(has_text=alerts["late.value"]["title"])
    expect(row.get_by_text("silenced")).to_be_visible()
    until = datetime.fromisoformat(get(server, f"/api/alerts/{late}")["silenced_until"])
    assert timedelta(hours=23, minutes=58) < until - before < timedelta(days=1, minutes=2)

    # A bad duration is refused on its field, and nothing changes.
    grid.get_by_role("button", name=f"Silence alert {stock}").click()
    dialog = page.get_by_role("dialog", name=f"Silence alert {stock}")
    dialog.get_by_role("textbox", name="For").fill("soon")
    dialog.get_by_role("button", name="Silence").click()
    expect(dialog.locator(".MuiFormHelperText-root.Mui-error")).not_to_have_text("30m, 4h, 2d, 1w")
    assert get(server, f"/api/alerts/{stock}")["silenced_until"] is None
    dialog.get_by_role("button", name="Cancel").click()

    page.goto(f"/alerts/{stock}")
    page.get_by_role("button", name="Resolve").click()
    page.get_by_role("dialog").get_by_role("button", name="Resolve").click()
    expect(page.locator("main [data-status=resolved]").first).to_be_visible()
    got = get(server, f"/api/alerts/{stock}")
    assert got["status"] == "resolved" and got["resolved_by"] == "api"
    # The channel was told, and the page shows what it was told.
    wait_until(
        lambda: any(
            r.json()["event"] == "resolved" and r.json()["alert"]["id"] == stock
            for r in hook.received
        ),
        15,
        "the webhook told of the resolution",
    )
    page.reload()
    notices = page.get_by_role("table", name="Notices")
    expect(
        notices.get_by_role("row").filter(has_text="resolved").locator("[data-status=sent]")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    page.goto("/alerts")
    expect(page.get_by_role("grid", name="Alerts").locator("[data-severity]")).to_have_count(2)


def test_an_alerts_detail_shows_its_notices_and_deliveries(
    page: Page, server: Serve, alerts: dict[str, dict[str, Any]]
) -> None:
    alert_id = alerts["late.value"]["id"]
    detail = get(server, f"/api/alerts/{alert_id}")
    assert detail["deliveries"] and detail["notices"]
    page.goto("/alerts")
    page.get_by_role("link", name=detail["title"]).click()
    expect(page.get_by_role("heading", name=detail["title"])).to_be_visible()
    expect(page.locator("main [data-severity=high]")).to_be_visible()
    rows = page.get_by_role("table", name="Deliveries").get_by_role("row")
    expect(rows).to_have_count(len(detail["deliveries"]) + 1)
    expect(rows.nth(1)).to_contain_text("ops")
    expect(rows.nth(1).locator("[data-status=ok]")).to_be_visible()
    notices = page.get_by_role("table", name="Notices").get_by_role("row")
    expect(notices).to_have_count(len(detail["notices"]) + 1)
    page.get_by_role("link", name="shop").click()
    expect(page).to_have_url(f"{server.url}/monitors/shop")


def test_schedules_show_next_and_recent_runs_and_pause_and_resume(
    page: Page, server: Serve
) -> None:
    page.goto("/schedules")
    nightly = page.get_by_role("region", name="nightly", exact=True)
    listed = get(server, "/api/schedules", count=5)
    by_id = {s["id"]: s for s in listed}
    assert set(by_id) == {"nightly", "ticker"}
    expect(
        nightly.get_by_role("list", name="Next runs of nightly").get_by_role("listitem")
    ).to_have_count(5)
    expect(nightly).to_contain_text("30 2 * * *")
    expect(nightly).to_contain_text("Europe/Paris")
    # 02:30 in Paris, whatever the browser's own zone.
    expect(nightly.get_by_role("listitem").first).to_contain_text("02:30:00")
    runs = get(server, "/api/schedules/ticker/runs", limit=5)
    table = page.get_by_role("table", name="Recent runs of ticker")
    expect(table.get_by_role("row")).to_have_count(len(runs) + 1)
    expect(table.locator("[data-status=completed]")).to_have_count(
        len([r for r in runs if r["status"] == "completed"])
    )
    table.get_by_role("link", name=runs[0]["job_id"]).click()
    expect(page).to_have_url(f"{server.url}/jobs/{runs[0]['job_id']}")
    page.go_back()

    nightly.get_by_role("button", name="Pause nightly").click()
    expect(page.get_by_role("status").filter(has_text="Paused: nightly")).to_be_visible()
    expect(nightly.locator("[data-status=paused]")).to_be_visible()
    expect(nightly).to_contain_text("its times pass unrun")
    paused = get(server, "/api/schedules/nightly")
    assert paused["paused"] is True and paused["next_at"] == []
    assert get(server, "/api/schedules/ticker")["paused"] is False

    nightly.get_by_role("button", name="Resume nightly").click()
    expect(nightly.get_by_role("listitem")).to_have_count(5)
    assert get(server, "/api/schedules/nightly")["paused"] is False
