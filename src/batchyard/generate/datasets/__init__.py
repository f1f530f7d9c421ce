"""The datasets ``batchyard generate`` makes: sports, retail, finance and healthcare."""

from __future__ import annotations

from batchyard.errors import ParamError
from batchyard.generate.datasets.base import Dataset
from batchyard.generate.datasets.finance import FINANCE
from batchyard.generate.datasets.healthcare import HEALTHCARE
from batchyard.generate.datasets.retail import RETAIL
from batchyard.generate.datasets.sports import SPORTS

DATASETS: dict[str, Dataset] = {d.name: d for d in (SPORTS, RETAIL, FINANCE, HEALTHCARE)}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name.strip().lower()]
    except KeyError:
        known = ", ".join(DATASETS)
        raise ParamError(f"unknown schema {name!r}: choose one of {known}") from None


__all__ = ["DATASETS", "Dataset", "get_dataset"]
