"""The dashboard's acceptance list, in Chromium against a real ``batchyard serve``: start
pipelines and watch them move live, steer jobs, retry, delete, export, filter, open details and a
validation report, dark mode, and a server restart the page lives through."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelp import Serve, free_port
from playwright.sync_api import Page, expect
from webhelp import wait_until


def post(server: Serve, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/jobs", json=body, timeout=30)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def job_of(server: Serve, job_id: str) -> dict[str, Any]:
    got: dict[str, Any] = httpx.get(f"{server.url}/api/jobs/{job_id}", timeout=30).json()
    return got


def finished(server: Serve, job_id: str, timeout: float = 60) -> dict[str, Any]:
    return wait_until(  # type: ignore[no-any-return]
        lambda: (
            (j := job_of(server, job_id))["status"]
            in ("completed", "partial", "failed", "cancelled")
            and j
        ),
        timeout,
        f"job {job_id} finishing",
    )


def id_in(text: str, kind: str) -> str:
    found = re.search(rf"{kind}_\w+?_\d{{8}}_\d{{6}}_[0-9a-f]{{6}}", text)
    assert found, text
    return found.group(0)


def bar(page: Page, name: str) -> Any:
    return page.get_by_role("progressbar", name=f"Progress of {name}", exact=True)


def percent(page: Page, name: str) -> float:
    value = bar(page, name).first.get_attribute("aria-valuenow")
    return float(value or 0)


def test_two_pipelines_started_from_run_move_live_on_active_jobs(page: Page, server: Serve) -> None:
    page.goto("/run")
    expect(page.get_by_role("heading", name="Run")).to_be_visible()
    pipelines = page.get_by_role("combobox", name="Pipelines")
    for name in ("alpha", "beta"):
        pipelines.click()
        page.get_by_role("option", name=re.compile(f"^{name}")).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start", exact=True).click()
    note = page.get_by_role("status").filter(has_text="Started")
    expect(note).to_be_visible()
    batch_id = id_in(note.inner_text(), "batch")

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("/active")
    expect(page.get_by_text("Live", exact=True)).to_be_visible()
    seen: dict[str, list[float]] = {"alpha": [], "beta": []}

    def moved() -> bool:
        for name in seen:
            if bar(page, name).count():
                value = percent(page, name)
                if not seen[name] or seen[name][-1] != value:
                    seen[name].append(value)
        return all(len([v for v in vals if 0 < v < 100]) >= 2 for vals in seen.values())

    wait_until(moved, 40, f"both pipelines' bars moving (seen {seen})")
    for values in seen.values():
        assert values == sorted(values)
    # Live means pushed: after loading, the page asked for no job list; the stream carried it.
    assert not [u for u in requests if "/api/jobs" in u and "/events" not in u], requests
    assert any(u.endswith("/api/events") for u in requests)
    batch = finished(server, batch_id, 90)
    assert batch["status"] == "completed"


def test_pause_resume_and_cancel_from_active_jobs(page: Page, server: Serve) -> None:
    job = post(server, {"kind": "slow", "params": {"n": 400, "sleep": 0.05}, "name": "steered"})
    page.goto("/active")
    row = page.get_by_role("row").filter(has_text="steered")
    expect(row.locator("[data-status=running]")).to_be_visible()
    row.get_by_role("button", name="Pause steered").click()
    expect(row.locator("[data-status=paused]")).to_be_visible(timeout=20_000)
    assert job_of(server, job["id"])["status"] == "paused"
    paused_at = job_of(server, job["id"])["done"]
    row.get_by_role("button", name="Resume steered").click()
    expect(row.locator("[data-status=running]")).to_be_visible(timeout=20_000)
    wait_until(lambda: job_of(server, job["id"])["done"] > paused_at, 20, "the job going on")
    row.get_by_role("button", name="Cancel steered").click()
    expect(row.locator("[data-status=cancelled]")).to_be_visible(timeout=20_000)
    assert finished(server, job["id"])["status"] == "cancelled"


def test_retry_the_failed_items_of_a_partial_job(page: Page, server: Serve) -> None:
    job = post(server, {"kind": "slow", "params": {"n": 6, "sleep": 0.01, "fail": [1, 4]}})
    assert finished(server, job["id"])["status"] == "partial"
    page.goto(f"/jobs/{job['id']}")
    expect(page.locator("[data-status=partial]").first).to_be_visible()
    page.get_by_role("button", name="Retry failed").click()
    note = page.get_by_role("status").filter(has_text="Retrying as")
    expect(note).to_be_visible()
    retry_id = id_in(note.inner_text(), "slow")
    retry = finished(server, retry_id)
    assert retry["retry_of"] == job["id"] and retry["total"] == 2  # only the failed items
    note.get_by_role("link", name="Open").click()
    expect(page).to_have_url(re.compile(f"/jobs/{retry_id}$"))
    expect(page.get_by_text(f"{job['id']}", exact=True)).to_have_count(0)  # not on Items tab
    page.get_by_role("tab", name="Params").click()
    expect(page.get_by_role("link", name=job["id"])).to_be_visible()


def test_delete_a_job_from_history(page: Page, server: Serve) -> None:
    job = post(server, {"kind": "slow", "params": {"n": 2, "sleep": 0.01}, "name": "doomed"})
    finished(server, job["id"])
    page.goto("/history?q=doomed")
    row = page.get_by_role("row").filter(has_text="doomed")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete doomed").click()
    dialog = page.get_by_role("dialog", name="Delete this job?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="doomed")).to_have_count(0)
    assert httpx.get(f"{server.url}/api/jobs/{job['id']}").status_code == 404


def test_csv_export_of_a_job_and_of_the_filtered_history(page: Page, server: Serve) -> None:
    job = post(
        server, {"kind": "slow", "params": {"n": 5, "sleep": 0.01, "fail": [3]}, "name": "csvjob"}
    )
    finished(server, job["id"])
    page.goto(f"/jobs/{job['id']}")
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as got:
        page.get_by_role("menuitem", name="Export CSV").click()
    download = got.value
    assert download.suggested_filename == f"{job['id']}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [r["key"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert [r["status"] for r in rows] == ["done", "done", "done", "failed", "done"]
    assert "told to fail" in rows[3]["error"] and rows[2]["result"] == '{"i": 2, "square": 4}'

    page.goto("/history?q=csvjob")
    expect(page.get_by_role("row").filter(has_text="csvjob")).to_have_count(1)
    page.get_by_role("button", name="Export", exact=True).click()
    with page.expect_download() as got:
        page.get_by_role("menuitem", name=re.compile("as CSV")).click()
    jobs = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    assert [j["id"] for j in jobs] == [job["id"]] and jobs[0]["status"] == "partial"


def test_history_filters_by_status_and_by_text(page: Page, server: Serve) -> None:
    made = [
        post(
            server, {"kind": "slow", "params": {"n": 2, "sleep": 0.01, "fail": fail}, "name": name}
        )
        for name, fail in (("filter-ok-1", []), ("filter-bad-1", [0]), ("filter-ok-2", []))
    ]
    for job in made:
        finished(server, job["id"])
    page.goto("/history")
    page.get_by_role("combobox", name="Status").click()
    page.get_by_role("option", name="partial").click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"status=partial"))
    grid = page.get_by_role("grid", name="Job history")
    expect(grid.locator("[data-status=completed]")).to_have_count(0)
    expect(grid.get_by_role("row").filter(has_text="filter-bad-1")).to_have_count(1)
    page.get_by_role("button", name="Clear filters").click()
    page.get_by_role("textbox", name="Search id or name").fill("filter-ok")
    expect(grid.get_by_role("row").filter(has_text="filter-")).to_have_count(2)
    expect(grid.get_by_role("row").filter(has_text="filter-bad-1")).to_have_count(0)
    expect(page.get_by_text("2 job(s) match")).to_be_visible()


def test_job_details_show_items_and_log_in_the_dialog_and_the_page(
    page: Page, server: Serve
) -> None:
    job = post(
        server, {"kind": "slow", "params": {"n": 7, "sleep": 0.01, "fail": [2]}, "name": "detailed"}
    )
    finished(server, job["id"])
    page.goto("/history?q=detailed")
    page.get_by_role("button", name="View detailed").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(job["id"]).first).to_be_visible()
    items = dialog.get_by_role("grid", name="Items")
    expect(items.get_by_role("row")).to_have_count(8)  # a header and 7 items
    dialog.get_by_role("button", name="failed", exact=True).click()
    expect(items.get_by_role("row")).to_have_count(2)
    expect(items.get_by_text("item 2 was told to fail")).to_be_visible()
    items.get_by_role("button", name="Details of item 2").click()
    expect(page.get_by_role("dialog", name="Item 2")).to_contain_text("ValueError")
    page.get_by_role("dialog", name="Item 2").get_by_role("button", name="Close").click()
    dialog.get_by_role("tab", name=re.compile("^Log")).click()
    expect(dialog.get_by_test_id("log")).to_contain_text("item 6 done")
    dialog.get_by_role("link", name="Open as a page").click()
    expect(page).to_have_url(re.compile(f"/jobs/{job['id']}$"))
    expect(page.get_by_role("grid", name="Items").get_by_role("row")).to_have_count(8)
    page.reload()  # the page's own route loads from the server too
    expect(page.get_by_role("grid", name="Items").get_by_role("row")).to_have_count(8)


def test_a_validation_jobs_report(page: Page, server: Serve) -> None:
    ids = []
    for _ in range(2):
        job = post(
            server,
            {"kind": "validate", "params": {"target": "people.db", "rules": "rules/people.yaml"}},
        )
        ids.append(finished(server, job["id"])["id"])
    page.goto(f"/jobs/{ids[1]}")
    page.get_by_role("tab", name="Report").click()
    report = page.get_by_test_id("report")
    expect(report.get_by_test_id("score")).to_have_text("0")
    expect(report).to_contain_text("2 rule(s) failed at error")
    expect(report).to_contain_text("Check the birth year.")
    expect(report.get_by_role("img", name=re.compile("Score of the last 2 runs"))).to_be_visible()
    report.get_by_text("1 sample row(s)").first.click()
    expect(report).to_contain_text('"age": 300')


def test_dark_mode_toggles_and_stays(page: Page) -> None:
    page.goto("/history")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.get_by_role("button", name="Switch to dark mode").click()
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light != dark and dark == "rgb(16, 20, 24)"
    page.reload()
    expect(page.get_by_role("button", name="Switch to light mode")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark


def test_the_page_asks_for_the_token_of_a_server_that_needs_one(
    browser: Any, project: Path
) -> None:
    token = "web-test-token-0123456789"
    serve = Serve(project, free_port(), env={"BATCHYARD_TOKEN": token})
    try:
        serve.wait_ready()
        context = browser.new_context(base_url=serve.url)
        page = context.new_page()
        page.goto("/history")
        dialog = page.get_by_role("dialog", name="Sign in to this batchyard server")
        dialog.get_by_label("Token").fill("not-the-token-at-all")
        dialog.get_by_role("button", name="Sign in").click()
        expect(dialog.get_by_text("The server refused that token.")).to_be_visible()
        dialog.get_by_label("Token").fill(token)
        dialog.get_by_role("button", name="Sign in").click()
        expect(dialog).to_be_hidden()
        expect(page.get_by_text(re.compile(r"\d+ job\(s\) match"))).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('batchyard.token')") == token
        context.close()
    finally:
        serve.stop()


@pytest.mark.slow
def test_the_page_reconnects_after_a_server_restart_and_the_job_goes_on(
    browser: Any, tmp_path: Path
) -> None:
    from webhelp import make_project

    project = make_project(tmp_path / "restart")
    port = free_port()
    first = Serve(project, port)
    second: Serve | None = None
    try:
        first.wait_ready()
        job = post(first, {"kind": "slow", "params": {"n": 120, "sleep": 0.1}, "name": "survivor"})
        context = browser.new_context(base_url=first.url)
        page = context.new_page()
        page.goto("/active")
        row = page.get_by_role("row").filter(has_text="survivor")
        expect(row.locator("[data-status=running]")).to_be_visible()
        wait_until(lambda: percent(page, "survivor") > 5, 30, "progress before the kill")
        first.kill()
        expect(page.get_by_text("Reconnecting…").first).to_be_visible(timeout=15_000)
        before = percent(page, "survivor")
        second = Serve(project, port)  # same project and port: it resumes the job it held
        second.wait_ready()
        expect(page.get_by_text("Live", exact=True)).to_be_visible(timeout=20_000)
        wait_until(lambda: percent(page, "survivor") > before + 5, 40, "progress after restart")
        expect(row.locator("[data-status=completed]")).to_be_visible(timeout=60_000)
        assert job_of(second, job["id"])["done"] == 120
        context.close()
    finally:
        first.kill()
        if second:
            second.stop()
