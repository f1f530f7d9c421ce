"""File metrics on a landing area of about 1,000 game JSON files, on a real S3-compatible server
(moto, on 127.0.0.1) and on a local folder: file_count, bytes, json_validity and freshness equal
what the test computes itself from what it wrote."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import batchyard as by
from batchyard.db import ENGINES
from batchyard.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from monitor_helpers import DAY, Landing, make_landing, s3_server, verdict, write_local, write_s3

MONITOR = """\
description: Scraped game files
metrics:
  - name: games
    type: file_count
    path: {base}/games/{{date:%Y/%m/%d}}
    date: "2024-06-01"
    glob: "*.json"
    storage_options: {options}
  - name: flat
    type: file_count
    path: {base}/games/{{date:%Y/%m/%d}}
    date: "2024-06-01"
    recursive: false
    storage_options: {options}
  - name: json
    type: json_validity
    path: {base}/games/{{date:%Y/%m/%d}}
    date: "2024-06-01"
    show: 1000
    storage_options: {options}
  - name: sampled
    type: json_validity
    path: {base}/games/{{date:%Y/%m/%d}}
    date: "2024-06-01"
    sample: 100
    seed: 3
    storage_options: {options}
  - name: fresh
    type: freshness
    path: {base}/games
    storage_options: {options}
"""


@pytest.fixture(scope="module")
def landing() -> Landing:
    return make_landing()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def s3(landing: Landing, s3_endpoint: str) -> dict[str, Any]:
    """The landing uploaded to the bucket ``landing`` (thousands of requests: slow tests only)."""
    modified = write_s3(landing, s3_endpoint, "landing")
    return {"endpoint": s3_endpoint, "modified": modified()}


def _project(tmp_path: Path, base: str, options: str) -> Path:
    root = tmp_path / "proj"
    (root / "monitors").mkdir(parents=True)
    (root / "batchyard.toml").write_text('[project]\nname = "landing"\n')
    (root / "monitors" / "landing.yaml").write_text(MONITOR.format(base=base, options=options))
    return root


def _values(app: by.Batchyard, job_id: str) -> dict[str, Any]:
    return {o.metric: o for o in app.metric_history(job_id=job_id)}


def _check(app: by.Batchyard, landing: Landing, key_of: Any, modified: dict[str, float]) -> None:
    job = app.check_monitors(["landing"], install_signals=False)
    assert job.status.value == "completed", job.error
    got = _values(app, job.id)
    today = landing.under(f"games/{DAY}/")
    assert got["games.files"].value == len(today)
    assert got["games.bytes"].value == sum(len(v) for v in today.values())
    flat = {
        k: v
        for k, v in landing.files.items()
        if k.startswith(f"games/{DAY}/") and "/late/" not in k
    }
    assert got["flat.files"].value == len(flat)
    assert got["flat.bytes"].value == sum(len(v) for v in flat.values())

    verdicts = {k: verdict(v) for k, v in today.items()}
    invalid = sorted(k for k, v in verdicts.items() if v == "invalid")
    empty = sorted(k for k, v in verdicts.items() if v == "empty")
    assert invalid and empty  # the landing holds both, or the test proves little
    assert got["json.checked"].value == len(today)
    assert got["json.invalid"].value == len(invalid)
    assert got["json.empty"].value == len(empty)
    valid = len(today) - len(invalid) - len(empty)
    assert got["json.valid_pct"].value == pytest.approx(100 * valid / len(today), abs=1e-3)
    named = {key_of(n["path"]): n["verdict"] for n in got["json.valid_pct"].details["named"]}
    assert named == {k: verdicts[k] for k in invalid + empty}

    assert got["sampled.checked"].value == 100
    sampled_bad = got["sampled.invalid"].value + got["sampled.empty"].value
    assert 0 < sampled_bad < 100

    newest = max(modified.values())
    fresh = got["fresh.age_s"]
    assert fresh.value == pytest.approx(fresh.observed_at.timestamp() - newest, abs=0.01)


@pytest.mark.slow  # moto answers a GET in about 25 ms: reading every object takes half a minute
def test_s3_landing(
    tmp_path: Path, landing: Landing, s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("S3_ENDPOINT", s3["endpoint"])
    root = _project(tmp_path, "s3://landing", '{endpoint_url: "${S3_ENDPOINT}"}')
    with by.Batchyard(root=root) as app:
        _check(app, landing, lambda p: p.removeprefix("landing/"), s3["modified"])
    ENGINES.dispose()


def test_local_landing(tmp_path: Path, landing: Landing) -> None:
    folder = tmp_path / "landing"
    write_local(landing, folder)
    modified = {
        str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()
    }
    root = _project(tmp_path, str(folder), "{}")
    with by.Batchyard(root=root) as app:
        _check(app, landing, lambda p: str(Path(p).relative_to(folder)), modified)
    ENGINES.dispose()


def test_unreachable_bucket_records_nothing(
    tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("S3_ENDPOINT", s3_endpoint)
    root = _project(tmp_path, "s3://no-such-bucket", '{endpoint_url: "${S3_ENDPOINT}"}')
    with by.Batchyard(root=root) as app:
        with pytest.raises(ConfigError) as caught:
            app.check_monitors(["landing"], install_signals=False)
        message = str(caught.value)
        assert "landing.yaml" in message and "metrics[0] (games).path" in message
        assert "no-such-bucket" in message
        assert app.jobs()[1] == 0
        assert app.metric_history() == []
    ENGINES.dispose()
