"""What counts as valid JSON, empty or invalid; JSON Lines; the seeded sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchyard.config import load_settings
from batchyard.db import ENGINES
from batchyard.monitor import jsonscan, spec
from batchyard.monitor.observe import observe
from batchyard.store import Store
from batchyard.store.models import ObservationStatus


@pytest.mark.parametrize(
    ("data", "lines", "verdict"),
    [
        (b'{"a": [1, 2, {"b": null}]}', False, "valid"),
        (b"  [1]\n", False, "valid"),
        (b"", False, "empty"),
        (b" \n\t", False, "empty"),
        (b'{"a": 1', False, "invalid"),
        (b'{"a": NaN}', False, "invalid"),
        (b"{'a': 1}", False, "invalid"),
        (b'{"a": 1} {"b": 2}', False, "invalid"),
        (b"\xff\xfe{}", False, "invalid"),
        (b'{"a": 1}\n{"b": 2}\n\n', True, "valid"),
        (b'{"a": 1}\n{"b": \n', True, "invalid"),
        (b"\n\n", True, "empty"),
    ],
)
def test_verdict(data: bytes, lines: bool, verdict: str) -> None:
    assert jsonscan.verdict(data, lines=lines)[0].value == verdict


def test_invalid_lines_are_named_by_line() -> None:
    found, why = jsonscan.verdict(b'{"a": 1}\n{"b": \n', lines=True)
    assert found is jsonscan.Verdict.INVALID and why is not None and why.startswith("line 2:")


def test_sample_is_seeded_and_sorted() -> None:
    paths = [f"f{i:03d}.json" for i in range(200)]
    first = jsonscan.sample(paths, 20, seed=1)
    assert first == jsonscan.sample(list(reversed(paths)), 20, seed=1) == sorted(first)
    assert first != jsonscan.sample(paths, 20, seed=2)
    assert jsonscan.sample(paths, None, seed=1) == paths


def test_a_metric_that_cannot_be_measured_is_recorded_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "m.yaml").write_text(
        "metrics:\n  - {name: q, type: sql, connection: 'sqlite:///"
        + str(tmp_path / "x.db")
        + "', query: 'SELECT nope FROM nowhere'}\n  - {name: files, type: file_count, path: .}\n"
    )
    settings = load_settings(tmp_path)
    (monitor,) = spec.pick(tmp_path, ["m"])
    store = Store.open(settings.store_url)
    try:
        found = {o.metric: o for o in observe(monitor, settings, store)}
    finally:
        store.close()
        ENGINES.dispose()
    assert found["q.value"].status is ObservationStatus.ERROR and found["q.value"].value is None
    assert "no such file" in (found["q.value"].message or "")
    assert found["files.files"].status is ObservationStatus.OK  # the others are still measured
