"""``/api/monitors``, ``/api/metrics`` and the monitor series on ``/metrics``, in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import batchyard as by
from batchyard.api.app import create_app
from batchyard.db import ENGINES

MONITOR = """\
description: Landing files
metrics:
  - name: games
    type: file_count
    path: landing
    glob: "*.json"
    thresholds:
      - {below: 5, level: warn}
    storage_options: {token: "${LANDING_TOKEN:-}"}
  - name: json
    type: json_validity
    path: landing
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "proj"
    (root / "monitors").mkdir(parents=True)
    (root / "landing").mkdir()
    (root / "batchyard.toml").write_text('[project]\nname = "api"\n')
    (root / "monitors" / "landing.yaml").write_text(MONITOR)
    for i in range(3):
        (root / "landing" / f"g{i}.json").write_text('{"ok": true}')
    (root / "landing" / "bad.json").write_text("{")
    with by.Batchyard(root=root) as app:
        app.check_monitors(install_signals=False)
    yield root
    ENGINES.dispose()


def _get(root: Path, *requests: tuple[str, dict[str, Any]]) -> list[httpx.Response]:
    app = create_app(root=root)

    async def main() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return [await client.get(path, params=params) for path, params in requests]

    return asyncio.run(main())


def test_monitors_and_metrics(project: Path) -> None:
    listed, one, history, bad, missing = _get(
        project,
        ("/api/monitors", {}),
        ("/api/monitors/landing", {}),
        ("/api/metrics", {"monitor": "landing", "metric": "json.valid_pct", "window": "7d"}),
        ("/api/metrics", {"window": "7 days"}),
        ("/api/monitors/nope", {}),
    )
    assert listed.status_code == 200
    (monitor,) = listed.json()
    assert monitor["name"] == "landing" and monitor["status"] == "warn"
    latest = {o["metric"]: o for o in monitor["latest"]}
    assert latest["games.files"]["value"] == 4 and latest["games.files"]["status"] == "warn"
    assert latest["json.invalid"]["value"] == 1
    assert one.json()["metrics"][0]["storage_options"]["token"] == "${LANDING_TOKEN:-}"
    page = history.json()
    assert page["count"] == 1 and page["observations"][0]["value"] == 75.0
    assert bad.status_code == 400 and "window" in bad.json()["detail"]
    assert missing.status_code == 404


def test_prometheus_has_each_series(project: Path) -> None:
    (response,) = _get(project, ("/metrics", {}))
    text = response.text
    assert 'batchyard_monitor_value{metric="games.files",monitor="landing"} 4.0' in text
    assert 'batchyard_monitor_status{metric="games.files",monitor="landing"} 1.0' in text
    assert 'batchyard_monitor_value{metric="json.valid_pct",monitor="landing"} 75.0' in text
    assert 'batchyard_monitor_anomaly{metric="games.files",monitor="landing"} 0.0' in text
