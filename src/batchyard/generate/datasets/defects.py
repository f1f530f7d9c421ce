"""``--inject-errors``: which rows carry which defect, chosen from the seed, and the manifest.

The rows are drawn with the datasets' own hash (never Python's ``random``, whose algorithms may change
between versions), so a seed gives the same defects on every machine. A table of ``N`` rows with
``k`` kinds of defect gets ``max(1, round(rate * N / k))`` rows of each kind, on distinct rows, so
every row carries at most one defect and the manifest says exactly which.
"""

from __future__ import annotations

import bisect
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from batchyard.errors import ParamError
from batchyard.generate.datasets.base import Counts, Dataset, Table
from batchyard.generate.datasets.sql import Values, hash_key, hash_value

MAX_RATE = 0.5


@dataclass(frozen=True)
class Planted:
    """Defect number ``spec`` of its table, planted in row ``n``."""

    n: int
    spec: int


class DefectPlan:
    """The defective rows of every table, sorted by row number (kept compact: arrays of numbers)."""

    def __init__(self, dataset: Dataset, counts: Counts, seed: int, rate: float) -> None:
        self.dataset = dataset
        self.counts = counts
        self.seed = seed
        self.rate = rate
        self._ns: dict[str, array[int]] = {}
        self._specs: dict[str, array[int]] = {}
        for table in dataset.tables:
            planted = sorted(
                _choose(dataset.name, table, counts[table.name], seed, rate), key=lambda p: p.n
            )
            self._ns[table.name] = array("q", (p.n for p in planted))
            self._specs[table.name] = array("h", (p.spec for p in planted))

    def rows(self, table: str) -> Iterator[Planted]:
        for n, spec in zip(self._ns[table], self._specs[table], strict=True):
            yield Planted(n, spec)

    def between(self, table: str, start: int, stop: int) -> dict[int, list[int]]:
        """Rows ``start..stop`` of ``table`` that carry a defect, grouped by defect."""
        ns, specs = self._ns.get(table, array("q")), self._specs.get(table, array("h"))
        lo, hi = bisect.bisect_left(ns, start), bisect.bisect_right(ns, stop)
        out: dict[int, list[int]] = {}
        for i in range(lo, hi):
            out.setdefault(specs[i], []).append(ns[i])
        return out

    def entries(self) -> Iterator[dict[str, Any]]:
        for table in self.dataset.tables:
            for p in self.rows(table.name):
                defect = table.defects[p.spec]
                entry: dict[str, Any] = {
                    "table": table.name,
                    "key": table.key(p.n),
                    "column": defect.column,
                    "kind": defect.kind,
                }
                if defect.kind == "duplicate_key":
                    entry["duplicate_of"] = table.key(p.n - 1)
                yield entry

    def manifest(self, *, scale: float) -> dict[str, Any]:
        """What was planted where: the contract that validation is tested against."""
        return {**self.summary(scale=scale), "defects": list(self.entries())}

    def write(self, fh: TextIO, *, scale: float) -> None:
        """The manifest as JSON, one defect a line, without holding the defect list in memory."""
        fh.write("{\n")
        for name, value in self.summary(scale=scale).items():
            fh.write(f" {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)},\n")
        fh.write(' "defects": [')
        for i, entry in enumerate(self.entries()):
            fh.write(("," if i else "") + "\n  " + json.dumps(entry, ensure_ascii=False))
        fh.write("\n ]\n}\n")

    def summary(self, *, scale: float) -> dict[str, Any]:
        """The manifest but its list of defects: sizes, relaxed constraints and the checks."""
        checks = []
        for table in self.dataset.tables:
            for i, defect in enumerate(table.defects):
                checks.append(
                    {
                        "table": table.name,
                        "column": defect.column,
                        "kind": defect.kind,
                        "rule": dict(defect.rule),
                        "rows": self._specs[table.name].count(i),
                    }
                )
        relaxed = {t.name: t.relaxed(self.rate > 0).to_dict() for t in self.dataset.tables}
        return {
            "dataset": self.dataset.name,
            "seed": self.seed,
            "scale": scale,
            "rate": self.rate,
            "rows": dict(self.counts),
            "relaxed": {k: v for k, v in relaxed.items() if v},
            "checks": checks,
        }


def check_rate(rate: float) -> float:
    if not 0 <= rate <= MAX_RATE:
        raise ParamError(
            f"inject_errors={rate!r}: give a fraction of rows between 0 and "
            f"{MAX_RATE} (0.01 plants defects in about 1% of rows)"
        )
    return rate


def _choose(dataset: str, table: Table, rows: int, seed: int, rate: float) -> list[Planted]:
    if rate <= 0 or not table.defects or rows == 0:
        return []
    each = max(1, round(rate * rows / len(table.defects)))
    values = Values(seed, dataset, table.name)
    taken: set[int] = set()  # rows with a defect: one each
    touched: dict[str, set[int]] = {}  # rows with a defect, by column
    sources: dict[str, set[int]] = {}  # rows whose value a duplicate copies, by column
    planted: list[Planted] = []
    for spec, defect in enumerate(table.defects):
        key = hash_key(seed, dataset, table.name, f"defect:{defect.kind}:{defect.column}")
        column = defect.column
        found, attempt = 0, 0
        while found < each and attempt < 20 * each + 1000:
            n = 1 + hash_value(key, attempt) % rows
            attempt += 1
            if n in taken or n in sources.get(column, ()):
                continue
            # A duplicate takes the clean value of row n-1, which must keep it.
            if defect.kind == "duplicate_key" and (n < 2 or n - 1 in touched.get(column, ())):
                continue
            if defect.eligible is not None and not defect.eligible(values, n):
                continue
            taken.add(n)
            touched.setdefault(column, set()).add(n)
            if defect.kind == "duplicate_key":
                sources.setdefault(column, set()).add(n - 1)
            planted.append(Planted(n, spec))
            found += 1
    return planted
