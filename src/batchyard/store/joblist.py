"""Listing jobs: the filter, its SQL, and a page of jobs with the total that match.

A list page is what the dashboard and ``batchyard jobs list`` ask for most, thousands of jobs deep,
so the queries behind it (the total and the page) are kept cheap: text search is a plain ``LIKE``
(``ILIKE`` on PostgreSQL) over the id and the name, a search that matches few jobs is counted and
paged in one scan, and a page past the last match is never read.

The SQL is text with ``:name`` parameters, run by :class:`~batchyard.store.Store` through
SQLAlchemy and by the quick reader of ``reader.py`` through sqlite3: one query, two drivers, and
no SQLAlchemy to load for a command that only lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Runs SQL with ``:name`` parameters; gives its rows as mappings of column to value.
Query = Callable[[str, Mapping[str, Any]], Sequence[Mapping[str, Any]]]

#: The columns a page may be ordered by.
SORTABLE = frozenset(
    {"created_at", "started_at", "finished_at", "updated_at", "name", "kind", "env", "status", "id"}
)


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


def timestamp(value: datetime, *, sqlite: bool) -> Any:
    """A timestamp as a ``by_jobs`` column holds it (SQLite: the text SQLAlchemy writes)."""
    if not sqlite:
        return value
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def like_escaped(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '/'`` pattern: its ``%``, ``_`` and ``/`` are letters."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def job_where(filt: JobFilter, *, sqlite: bool) -> tuple[str, dict[str, Any]]:
    """The ``WHERE`` terms of ``filt`` joined by ``AND`` ("" for none) and their parameters;
    values are bound and escaped, never SQL."""
    terms: list[str] = []
    params: dict[str, Any] = {}
    if filt.status:
        names = [f"status_{n}" for n in range(len(filt.status))]
        terms.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, filt.status, strict=True))
    for column in ("kind", "env", "project", "parent_id"):
        value = getattr(filt, column)
        if value:
            terms.append(f"{column} = :{column}")
            params[column] = value
    if filt.tag:
        # As the store writes ``tags``, so a tag is found by its exact JSON text.
        terms.append("tags LIKE :tag ESCAPE '/'")
        params["tag"] = f"%{like_escaped(_dumps(filt.tag))}%"
    if filt.search:
        terms.append(_text_search(sqlite=sqlite))
        params["search"] = f"%{like_escaped(filt.search)}%"
    if filt.top_level:
        terms.append("parent_id IS NULL")
    if filt.created_after:
        terms.append("created_at >= :created_after")
        params["created_after"] = timestamp(filt.created_after, sqlite=sqlite)
    if filt.created_before:
        terms.append("created_at < :created_before")
        params["created_before"] = timestamp(filt.created_before, sqlite=sqlite)
    return " AND ".join(terms), params


def _text_search(*, sqlite: bool) -> str:
    """Case-insensitive "id or name contains ``:search``".

    SQLite's ``LIKE`` already ignores the case of ASCII letters (as far as its ``lower()`` goes),
    and comparing the columns as stored lets it skip two function calls per row, which made up
    most of a search's time. PostgreSQL's ``LIKE`` minds case, so it gets ``ILIKE``.
    """
    like = "LIKE" if sqlite else "ILIKE"
    return f"(id {like} :search ESCAPE '/' OR name {like} :search ESCAPE '/')"


#: Up to this many matches, a SQLite search pages in the same pass that counts (see below).
ONE_PASS_MATCHES = 1000


def page_of_jobs(
    query: Query,
    filt: JobFilter,
    *,
    sqlite: bool,
    limit: int,
    offset: int,
    order: str,
) -> tuple[Sequence[Mapping[str, Any]], int]:
    """The rows of one page of jobs matching ``filt`` in ``order`` (``-col`` for descending),
    and how many match in all."""
    terms, params = job_where(filt, sqlite=sqlite)
    where = f" WHERE {terms}" if terms else ""
    desc = order.startswith("-")
    column = order.lstrip("-+")
    if column not in SORTABLE:
        raise ValueError(f"jobs cannot be ordered by {column!r}")
    if sqlite and (filt.search or filt.tag):
        found = _one_pass(query, where, params, column, desc=desc, limit=limit, offset=offset)
        if found is not None:
            return found
    total = int(query(f"SELECT count(*) AS n FROM by_jobs{where}", params)[0]["n"] or 0)
    # Past the last match there is no page to read; without this, a search that matches nothing
    # walks the whole created_at index looking for one.
    if total <= offset:
        return [], total
    rows = query(
        f"SELECT * FROM by_jobs{where} ORDER BY {_ordering(column, 'id', desc=desc)} "
        "LIMIT :page_limit OFFSET :page_offset",
        {**params, "page_limit": limit, "page_offset": offset},
    )
    return rows, total


def _one_pass(
    query: Query,
    where: str,
    params: dict[str, Any],
    column: str,
    *,
    desc: bool,
    limit: int,
    offset: int,
) -> tuple[Sequence[Mapping[str, Any]], int] | None:
    """The total and the page of a filter no index serves, from one scan; ``None`` when it
    matches more than :data:`ONE_PASS_MATCHES` jobs.

    Counting and then paging would test every row twice (``LIKE`` on each is most of the cost),
    and when few jobs match, the page walks most of the created_at index to find them. Here one
    scan keeps the (id, sort key) of each match, the page is picked from those, and its rows are
    read by id. Many matches lie close together in any order, so for those the usual page is
    cheap and this gives way to it.
    """
    found = query(
        f"WITH m AS (SELECT id, {column} AS k FROM by_jobs{where} LIMIT :cap) "
        "SELECT t.n AS n, p.id AS id FROM (SELECT count(*) AS n FROM m) AS t "
        "LEFT OUTER JOIN (SELECT id, k FROM m "
        f"ORDER BY {_ordering('k', 'id', desc=desc)} LIMIT :page_limit OFFSET :page_offset) AS p "
        f"ON 1 = 1 ORDER BY {_ordering('p.k', 'p.id', desc=desc)}",
        {**params, "cap": ONE_PASS_MATCHES + 1, "page_limit": limit, "page_offset": offset},
    )
    count = int(found[0]["n"])
    if count > ONE_PASS_MATCHES:
        return None
    ids = [row["id"] for row in found if row["id"] is not None]
    if not ids:
        return [], count
    names = [f"id_{n}" for n in range(len(ids))]
    rows = query(
        f"SELECT * FROM by_jobs WHERE id IN ({', '.join(':' + n for n in names)})",
        dict(zip(names, ids, strict=True)),
    )
    place = {job_id: n for n, job_id in enumerate(ids)}
    return sorted(rows, key=lambda row: place[row["id"]]), count


def _ordering(column: str, tie: str, *, desc: bool) -> str:
    # The id breaks ties newest-first either way, so pages never overlap.
    return f"{column} {'DESC' if desc else 'ASC'}, {tie} DESC"


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
