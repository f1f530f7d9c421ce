"""Metric history: the observations monitors record, one query per method.

Mixed into :class:`~batchyard.store.Store`; written in SQLAlchemy Core so the same statements run
on SQLite and PostgreSQL (timestamps compare as the column stores them on each).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from batchyard.store.models import Observation, labels_key
from batchyard.store.schema import observations

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _values(obs: Observation, job_id: str | None) -> dict[str, Any]:
    return {
        "monitor": obs.monitor,
        "metric": obs.metric,
        "labels": labels_key(obs.labels),
        "value": obs.value,
        "observed_at": obs.observed_at,
        "status": obs.status.value,
        "anomaly": int(obs.anomaly),
        "expected": obs.expected,
        "score": obs.score,
        "message": obs.message,
        "details": json.dumps(obs.details, default=str, separators=(",", ":")),
        "job_id": job_id or obs.job_id,
    }


class ObservationQueries:
    """The store's metric history."""

    if TYPE_CHECKING:

        def tx(self) -> AbstractContextManager[Connection]: ...

    def record_observations(
        self, found: Sequence[Observation], *, job_id: str | None = None, monitor: str = ""
    ) -> None:
        """Insert ``found`` in one transaction. With ``job_id``, the rows that job recorded
        earlier for ``monitor`` (an attempt that crashed after writing) are replaced."""
        with self.tx() as conn:
            if job_id is not None:
                conn.execute(
                    observations.delete().where(
                        observations.c.job_id == job_id, observations.c.monitor == monitor
                    )
                )
            if found:
                conn.execute(observations.insert(), [_values(o, job_id) for o in found])

    def observations(
        self,
        *,
        monitor: str | None = None,
        metric: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        job_id: str | None = None,
    ) -> list[Observation]:
        """Observations matching the filters, oldest first (or the newest ``limit`` first)."""
        where = _where(monitor, metric, labels, since, until)
        if job_id is not None:
            where.append(observations.c.job_id == job_id)
        order = (
            (observations.c.observed_at.desc(), observations.c.id.desc())
            if newest_first
            else (observations.c.observed_at, observations.c.id)
        )
        query = sa.select(observations).where(*where).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        with self.tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Observation.from_row(dict(r)) for r in rows]

    def latest_observations(
        self, *, monitor: str | None = None, since: datetime | None = None
    ) -> list[Observation]:
        """The newest observation of every series (of ``monitor``), by monitor, metric, labels."""
        where = _where(monitor, None, None, since, None)
        ranked = (
            sa.select(
                observations,
                sa.func.row_number()
                .over(
                    partition_by=(
                        observations.c.monitor,
                        observations.c.metric,
                        observations.c.labels,
                    ),
                    order_by=(observations.c.observed_at.desc(), observations.c.id.desc()),
                )
                .label("rank"),
            )
            .where(*where)
            .subquery()
        )
        query = (
            sa.select(*(ranked.c[c.name] for c in observations.columns))
            .where(ranked.c.rank == 1)
            .order_by(ranked.c.monitor, ranked.c.metric, ranked.c.labels)
        )
        with self.tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Observation.from_row(dict(r)) for r in rows]

    def iter_series(
        self, *, monitor: str | None = None, since: datetime | None = None
    ) -> Iterator[tuple[tuple[str, str, str], list[Observation]]]:
        """Every series with its observations since ``since``, oldest first."""
        found: dict[tuple[str, str, str], list[Observation]] = {}
        for obs in self.observations(monitor=monitor, since=since):
            found.setdefault(obs.series, []).append(obs)
        yield from sorted(found.items())

    def delete_observations(self, before: datetime) -> int:
        """Forget observations older than ``before``; return how many."""
        with self.tx() as conn:
            result = conn.execute(observations.delete().where(observations.c.observed_at < before))
        return int(result.rowcount or 0)


def _where(
    monitor: str | None,
    metric: str | None,
    labels: Mapping[str, str] | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Any]:
    where: list[Any] = []
    if monitor is not None:
        where.append(observations.c.monitor == monitor)
    if metric is not None:
        where.append(observations.c.metric == metric)
    if labels is not None:
        where.append(observations.c.labels == labels_key(labels))
    if since is not None:
        where.append(observations.c.observed_at >= since)
    if until is not None:
        where.append(observations.c.observed_at <= until)
    return where
