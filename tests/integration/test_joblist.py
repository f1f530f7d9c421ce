"""Job lists with text search: the same totals and pages whichever way the store reads them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from test_store import make_job

from batchyard.store import JobFilter, Store, joblist
from batchyard.store.models import Job, utcnow

NAMES = ["season 2024", "Season 2023", "rosters", "50% off_sale", "500 offsale", "scores"]


@pytest.fixture
def filled(store_url: str) -> Iterator[tuple[Store, list[Job]]]:
    store = Store.open(store_url)
    start = utcnow() - timedelta(days=1)
    made = [
        # Every third job shares its creation time with the one before, so the id breaks ties.
        make_job(
            store, n=1, name=NAMES[n % len(NAMES)], created_at=start + timedelta(minutes=n // 3)
        )
        for n in range(24)
    ]
    yield store, made
    store.close()


def expected(made: list[Job], text: str, *, column: str, desc: bool) -> list[str]:
    hits = [j for j in made if text.lower() in j.id.lower() or text.lower() in j.name.lower()]
    hits.sort(key=lambda j: j.id, reverse=True)
    hits.sort(key=lambda j: getattr(j, column), reverse=desc)
    return [j.id for j in hits]


@pytest.mark.parametrize("one_pass", [1000, 3], ids=["one-pass", "count-then-page"])
def test_search_pages_match_the_plain_definition(
    filled: tuple[Store, list[Job]], one_pass: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(joblist, "ONE_PASS_MATCHES", one_pass)
    store, made = filled
    for text in ["SEASON", "season 2024", "%", "_", "0 off", "nothing like it", "k_"]:
        for order in ["-created_at", "created_at", "-id"]:
            column, desc = order.lstrip("-"), order.startswith("-")
            want = expected(made, text, column=column, desc=desc)
            for offset in [0, 2, len(want), len(want) + 5]:
                page, total = store.list_jobs(
                    JobFilter(search=text), limit=3, offset=offset, order=order
                )
                assert total == len(want), (text, order)
                assert [j.id for j in page] == want[offset : offset + 3], (text, order, offset)


def test_search_with_other_filters(filled: tuple[Store, list[Job]]) -> None:
    store, _ = filled
    page, total = store.list_jobs(JobFilter(search="season", kind="k", env="dev"), limit=50)
    assert total == 8 and {j.name for j in page} == {"season 2024", "Season 2023"}
    assert store.list_jobs(JobFilter(search="season", kind="other"))[1] == 0
    assert store.list_jobs(JobFilter(search="%"), limit=50)[0][0].name == "50% off_sale"
