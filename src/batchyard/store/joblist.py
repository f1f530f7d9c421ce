"""Listing jobs: the filter, its SQL, and a page of jobs with the total that match.

A list page is what the dashboard and ``batchyard jobs list`` ask for most, thousands of jobs deep,
so the queries behind it (the total and the page) are kept cheap: text search is a plain ``LIKE``
(``ILIKE`` on PostgreSQL) over the id and the name, a search that matches few jobs is counted and
paged in one scan, and a page past the last match is never read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from batchyard.store.schema import jobs


@dataclass(frozen=True)
class JobFilter:
    status: Sequence[str] = ()
    kind: str | None = None
    env: str | None = None
    project: str | None = None
    tag: str | None = None
    search: str | None = None
    parent_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    top_level: bool = False


def job_where(filt: JobFilter, *, sqlite: bool) -> list[Any]:
    """The ``WHERE`` terms of ``filt``; values are bound and escaped, never SQL."""
    where: list[Any] = []
    if filt.status:
        where.append(jobs.c.status.in_(list(filt.status)))
    if filt.kind:
        where.append(jobs.c.kind == filt.kind)
    if filt.env:
        where.append(jobs.c.env == filt.env)
    if filt.project:
        where.append(jobs.c.project == filt.project)
    if filt.tag:
        where.append(jobs.c.tags.contains(_dumps(filt.tag), autoescape=True))
    if filt.search:
        where.append(_text_search(filt.search, sqlite=sqlite))
    if filt.parent_id:
        where.append(jobs.c.parent_id == filt.parent_id)
    if filt.top_level:
        where.append(jobs.c.parent_id.is_(None))
    if filt.created_after:
        where.append(jobs.c.created_at >= filt.created_after)
    if filt.created_before:
        where.append(jobs.c.created_at < filt.created_before)
    return where


def _text_search(text: str, *, sqlite: bool) -> Any:
    """Case-insensitive "id or name contains ``text``"; ``%`` and ``_`` in it are letters.

    SQLite's ``LIKE`` already ignores the case of ASCII letters (as far as its ``lower()`` goes),
    and comparing the columns as stored lets it skip two function calls per row, which made up
    most of a search's time. PostgreSQL's ``LIKE`` minds case, so it gets ``ILIKE``.
    """
    if sqlite:
        return sa.or_(
            jobs.c.id.contains(text, autoescape=True),
            jobs.c.name.contains(text, autoescape=True),
        )
    return sa.or_(
        jobs.c.id.icontains(text, autoescape=True),
        jobs.c.name.icontains(text, autoescape=True),
    )


#: Up to this many matches, a SQLite search pages in the same pass that counts (see below).
ONE_PASS_MATCHES = 1000


def page_of_jobs(
    conn: Connection,
    filt: JobFilter,
    *,
    sqlite: bool,
    limit: int,
    offset: int,
    order: str,
) -> tuple[Sequence[RowMapping], int]:
    """The rows of one page of jobs matching ``filt`` in ``order`` (``-col`` for descending),
    and how many match in all."""
    where = job_where(filt, sqlite=sqlite)
    desc = order.startswith("-")
    column = jobs.c[order.lstrip("-+")]
    if sqlite and (filt.search or filt.tag):
        found = _one_pass(conn, where, column, desc=desc, limit=limit, offset=offset)
        if found is not None:
            return found
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(jobs).where(*where)).scalar() or 0
    )
    # Past the last match there is no page to read; without this, a search that matches nothing
    # walks the whole created_at index looking for one.
    if total <= offset:
        return [], total
    rows = (
        conn.execute(
            sa.select(jobs)
            .where(*where)
            .order_by(*_ordering(column, jobs.c.id, desc=desc))
            .limit(limit)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    return rows, total


def _one_pass(
    conn: Connection, where: list[Any], column: Any, *, desc: bool, limit: int, offset: int
) -> tuple[Sequence[RowMapping], int] | None:
    """The total and the page of a filter no index serves, from one scan; ``None`` when it
    matches more than :data:`ONE_PASS_MATCHES` jobs.

    Counting and then paging would test every row twice (``LIKE`` on each is most of the cost),
    and when few jobs match, the page walks most of the created_at index to find them. Here one
    scan keeps the (id, sort key) of each match, the page is picked from those, and its rows are
    read by id. Many matches lie close together in any order, so for those the usual page is
    cheap and this gives way to it.
    """
    matches = (
        sa.select(jobs.c.id, column.label("k")).where(*where).limit(ONE_PASS_MATCHES + 1)
    ).cte("m")
    total = sa.select(sa.func.count().label("n")).select_from(matches).subquery("t")
    page = (
        sa.select(matches.c.id, matches.c.k)
        .order_by(*_ordering(matches.c.k, matches.c.id, desc=desc))
        .limit(limit)
        .offset(offset)
        .subquery("p")
    )
    found = conn.execute(
        sa.select(total.c.n, page.c.id)
        .select_from(total.outerjoin(page, sa.true()))
        .order_by(*_ordering(page.c.k, page.c.id, desc=desc))
    ).all()
    count = int(found[0].n)
    if count > ONE_PASS_MATCHES:
        return None
    ids = [row.id for row in found if row.id is not None]
    if not ids:
        return [], count
    rows = conn.execute(sa.select(jobs).where(jobs.c.id.in_(ids))).mappings().all()
    place = {job_id: n for n, job_id in enumerate(ids)}
    return sorted(rows, key=lambda row: place[row["id"]]), count


def _ordering(column: Any, tie: Any, *, desc: bool) -> list[Any]:
    # The id breaks ties newest-first either way, so pages never overlap.
    return [column.desc() if desc else column.asc(), tie.desc()]


def _dumps(value: Any) -> str:
    # As the store writes ``tags``, so a tag is found by its exact JSON text.
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
