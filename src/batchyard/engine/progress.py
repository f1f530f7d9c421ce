"""Progress figures: %, items/s, rows/s, ETA from a smoothed rate, elapsed, failures, current items.

The runner feeds a :class:`Tracker`; its :class:`Snapshot` is what the CLI draws, what the store
keeps (so ``batchyard jobs progress`` in another terminal shows the same) and what the API streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Rows done and estimated per part of a job (a migrate job's tables): ``{part: (done, estimated)}``,
#: or None when they cannot be read just now.
PartCounts = Callable[[], dict[str, tuple[int, int]] | None]

#: Kinds whose jobs report figures per part: kind name → a function that, given the job, returns its
#: :data:`PartCounts` (asked at most once a second while the job runs).
PART_SOURCES: dict[str, Callable[[Any], PartCounts]] = {}

#: Seconds between two readings of a job's parts.
PART_INTERVAL = 1.0


@dataclass(frozen=True)
class Snapshot:
    job_id: str
    status: str
    total: int
    done: int
    failed: int
    skipped: int
    cancelled: int
    rows_read: int
    rows_written: int
    elapsed_s: float
    items_per_s: float
    rows_per_s: float
    eta_s: float | None
    current: list[str] = field(default_factory=list)
    retrying: int = 0
    #: Estimated work (rows, say) of all items and of those finished; 0 when items have no weight.
    weight_total: int = 0
    weight_done: int = 0
    #: Figures per part (a migrate job's tables): name, rows done and estimated, percent, rows/s, ETA.
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped + self.cancelled

    @property
    def percent(self) -> float:
        if self.weight_total:
            return min(100.0 * self.weight_done / self.weight_total, 100.0)
        return 100.0 * self.finished / self.total if self.total else 100.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["percent"] = round(self.percent, 2)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["items_per_s"] = round(self.items_per_s, 2)
        data["rows_per_s"] = round(self.rows_per_s, 2)
        data["eta_s"] = round(self.eta_s, 1) if self.eta_s is not None else None
        return data

    @classmethod
    def from_job(cls, job: Any) -> Snapshot:
        """Rebuild the figures a runner last stored for ``job`` (a :class:`~batchyard.store.models.Job`)."""
        p = job.progress or {}
        return cls(
            job_id=job.id,
            status=job.status.value,
            total=job.total,
            done=job.done,
            failed=job.failed,
            skipped=job.skipped,
            cancelled=job.cancelled,
            rows_read=job.rows_read,
            rows_written=job.rows_written,
            elapsed_s=float(p.get("elapsed_s") or (job.duration or 0.0)),
            items_per_s=float(p.get("items_per_s") or 0.0),
            rows_per_s=float(p.get("rows_per_s") or 0.0),
            eta_s=p.get("eta_s") if job.status.value in ("running",) else None,
            current=list(p.get("current") or []) if job.status.value == "running" else [],
            retrying=int(p.get("retrying") or 0),
            weight_total=int(getattr(job, "weight_total", 0) or 0),
            weight_done=int(p.get("weight_done") or 0),
            parts=list(p.get("parts") or []),
        )


class Rate:
    """An exponentially smoothed rate: steady under bursts, quick to follow a real change."""

    def __init__(self, half_life: float = 5.0) -> None:
        self.half_life = half_life
        self.value: float | None = None
        self._last_t: float | None = None
        self._last_n = 0

    def update(self, count: int, now: float) -> float:
        if self._last_t is None:
            self._last_t, self._last_n = now, count
            return self.value or 0.0
        dt = now - self._last_t
        if dt < 0.25:
            return self.value or 0.0
        instant = (count - self._last_n) / dt
        weight = 0.5 ** (dt / self.half_life)
        self.value = instant if self.value is None else weight * self.value + (1 - weight) * instant
        self._last_t, self._last_n = now, count
        return self.value


class Tracker:
    """Counts what the runner commits and turns it into a :class:`Snapshot`."""

    def __init__(self, job: Any, *, clock: Any = time.monotonic, weight_done: int = 0) -> None:
        self.job_id = job.id
        self.total = job.total
        self.done: int = job.done
        self.failed: int = job.failed
        self.skipped: int = job.skipped
        self.cancelled: int = job.cancelled
        self.rows_read: int = job.rows_read
        self.rows_written: int = job.rows_written
        self._clock = clock
        self._start = clock()
        # Time spent in earlier runs of this job counts toward elapsed.
        self._before = float((job.progress or {}).get("elapsed_s") or 0.0)
        self._items = Rate()
        self._rows = Rate()
        self._work = Rate()
        self.weight_total = int(getattr(job, "weight_total", 0) or 0)
        self.weight_done = weight_done
        self._weight_at_start = weight_done
        self._session_start_count = self.finished
        self.status = "running"
        self.current: list[str] = []
        self.retrying = 0
        source = PART_SOURCES.get(str(getattr(job, "kind", "")))
        self._part_counts: PartCounts | None = source(job) if source else None
        self._parts: dict[str, tuple[int, int]] = {}
        self._part_rates: dict[str, Rate] = {}
        #: Per part, when (and at what count) it was last seen not moving; and, once done, its
        #: average rate from then to the end (a smoothed rate would decay once it stops).
        self._part_begin: dict[str, tuple[float, int]] = {}
        self._part_final: dict[str, float] = {}
        self._parts_rate = Rate()
        self._parts_at: float | None = None
        # Earlier runs' figures, until this run reads its own (a resume starts from them).
        for part in (job.progress or {}).get("parts") or []:
            self._parts[str(part["name"])] = (int(part["done"]), int(part["total"]))

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped + self.cancelled

    def add(self, status: str, rows_read: int = 0, rows_written: int = 0, weight: int = 0) -> None:
        self.weight_done += weight
        if status == "done":
            self.done += 1
        elif status == "failed":
            self.failed += 1
        elif status == "skipped":
            self.skipped += 1
        elif status == "cancelled":
            self.cancelled += 1
        self.rows_read += rows_read
        self.rows_written += rows_written

    @property
    def rows(self) -> int:
        """Rows the job has moved: read or written, whichever it did more of (a copy reads and
        writes each row once; it moves it once)."""
        return max(self.rows_read, self.rows_written)

    def snapshot(self) -> Snapshot:
        now = self._clock()
        session = now - self._start
        items_rate = self._items.update(self.finished, now)
        rows_rate = self._rows.update(self.rows, now)
        if not items_rate and session > 0:
            items_rate = (self.finished - self._session_start_count) / session
        remaining = max(self.total - self.finished, 0)
        eta = remaining / items_rate if items_rate > 0 else None
        if self.weight_total:
            # Items of uneven size (table chunks, say): the ETA follows their estimated work.
            work_rate = self._work.update(self.weight_done, now)
            if not work_rate and session > 0:
                work_rate = (self.weight_done - self._weight_at_start) / session
            left = max(self.weight_total - self.weight_done, 0)
            eta = left / work_rate if work_rate > 0 else eta
        parts = self._part_figures(now)
        if parts:
            # The parts' rows are counted as they commit, not as items end: finer, and true across
            # a resume (rows copied before it count as done).
            done = sum(p["done"] for p in parts)
            rows_rate = self._parts_rate.update(done, now)
            left = sum(max(p["total"] - p["done"], 0) for p in parts)
            eta = left / rows_rate if rows_rate > 0 else eta
        if remaining == 0:
            eta = 0.0
        elapsed = self._before + session
        if self.status != "running":
            # Stopped (finished, paused): the average rates over the time it worked, which a
            # smoothed rate only approaches on a long job, and no ETA.
            moved = sum(p["done"] for p in parts) if parts else self.rows
            items_rate = self.finished / elapsed if elapsed > 0 else 0.0
            rows_rate = moved / elapsed if elapsed > 0 else 0.0
            eta = None
            for p in parts:
                if p["done"] < p["total"]:
                    p["eta_s"] = None
        return Snapshot(
            job_id=self.job_id,
            status=self.status,
            total=self.total,
            done=self.done,
            failed=self.failed,
            skipped=self.skipped,
            cancelled=self.cancelled,
            rows_read=self.rows_read,
            rows_written=self.rows_written,
            elapsed_s=elapsed,
            items_per_s=items_rate,
            rows_per_s=rows_rate,
            eta_s=eta,
            current=list(self.current),
            retrying=self.retrying,
            weight_total=self.weight_total,
            weight_done=self.weight_done,
            parts=parts,
        )

    def _freeze_finished_parts(self, now: float) -> None:
        """After a fresh reading of the parts: note where each not yet moving one stands, and fix
        the rate of each that just finished at its average since then."""
        for name, (done, total) in self._parts.items():
            begin = self._part_begin.get(name)
            if done < total:
                if begin is None or done == begin[1]:
                    self._part_begin[name] = (now, done)
            elif begin is not None and name not in self._part_final and now > begin[0]:
                self._part_final[name] = (done - begin[1]) / (now - begin[0])

    def _part_figures(self, now: float) -> list[dict[str, Any]]:
        # The last snapshot (status no longer running) is what the store keeps: always read it.
        if self._part_counts is not None and (
            self._parts_at is None
            or now - self._parts_at >= PART_INTERVAL
            or self.status != "running"
        ):
            self._parts_at = now
            try:
                counts = self._part_counts()
            except Exception:  # figures only: a failed reading keeps the last ones
                counts = None
            if counts is not None:
                self._parts = dict(counts)
                self._freeze_finished_parts(now)
        out = []
        for name, (done, total) in self._parts.items():
            rate = self._part_rates.setdefault(name, Rate()).update(done, now)
            rate = self._part_final.get(name, rate)
            left = max(total - done, 0)
            out.append(
                {
                    "name": name,
                    "done": done,
                    "total": total,
                    "percent": round(min(100.0 * done / total, 100.0), 2) if total else 100.0,
                    "rows_per_s": round(rate, 2),
                    "eta_s": 0.0 if not left else (round(left / rate, 1) if rate > 0 else None),
                }
            )
        return out
