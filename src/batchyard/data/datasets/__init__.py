"""The datasets ``batchyard generate`` makes: sports, retail, finance and healthcare."""

from __future__ import annotations

from batchyard.data.datasets.base import Dataset
from batchyard.data.datasets.finance import FINANCE
from batchyard.data.datasets.healthcare import HEALTHCARE
from batchyard.data.datasets.retail import RETAIL
from batchyard.data.datasets.sports import SPORTS
from batchyard.errors import ParamError

DATASETS: dict[str, Dataset] = {d.name: d for d in (SPORTS, RETAIL, FINANCE, HEALTHCARE)}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name.strip().lower()]
    except KeyError:
        known = ", ".join(DATASETS)
        raise ParamError(f"unknown schema {name!r}: choose one of {known}") from None


__all__ = ["DATASETS", "Dataset", "get_dataset"]
