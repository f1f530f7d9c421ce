"""A CSV file's dialect and columns, decided by its header rather than sniffed.

DuckDB's sniffer picks the dialect under which the sampled rows agree on a field count, so a few
rows of another count make it read the whole file as ONE text column. Here the header decides: the
delimiter is the one that splits the header into the most fields (rows of a sample agreeing with
it settle a tie), and the columns are the header's fields. DuckDB is then given the dialect and the
columns in full, nothing sniffed, so a row of another field count or an unterminated quote is a
bad row of its own, with its line.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchyard.db import quote_literal
from batchyard.errors import UsageError

#: Delimiters tried, in order of preference when the header splits as well on several.
DELIMITERS = (",", "\t", ";", "|")
#: Bytes and rows read to choose a delimiter.
SAMPLE_BYTES = 1 << 20
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: its delimiter (quotes are ``"``, doubled inside a value) and
    the columns its header names."""

    delimiter: str
    columns: tuple[str, ...]

    def options(self) -> str:
        """``read_csv`` options that leave DuckDB nothing to sniff but the types."""
        return f"header=true, delim={quote_literal(self.delimiter)}, quote='\"', escape='\"'"

    def rows(self, text: Iterable[str]) -> Any:
        """The file's records as Python's csv module reads them with this dialect (a
        ``csv.reader``: its ``line_num`` tells where a record ends)."""
        return csv.reader(text, delimiter=self.delimiter, quotechar='"', doublequote=True)


def dialect_of(path: Path) -> Dialect:
    """The dialect and columns of the CSV file at ``path``; a clear error for a file without a
    usable header (empty, not UTF-8, or naming a column twice)."""
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
        whole = len(sample) < SAMPLE_BYTES
    if not whole and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # whole lines only
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    first = sample.split(b"\n", 1)[0].rstrip(b"\r")
    if not first.strip():
        if not sample.strip():
            raise UsageError(
                f"{path}: the file is empty; a CSV file to import starts with a header line "
                "naming its columns"
            )
        raise UsageError(
            f"{path}:1: the first line is blank; a CSV file to import starts with a header line "
            "naming its columns"
        )
    if b"\x00" in first:
        raise UsageError(
            f"{path}:1: the header holds a NUL character (byte 0), which no database takes in a "
            "column name; remove it"
        )
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}:1: the header is not UTF-8 ({exc.reason} at byte {exc.start}); save the "
            "file as UTF-8"
        ) from exc
    text = sample.decode("utf-8", "replace")
    delimiter, header = _choose(text)
    return Dialect(delimiter, _names(path, header))


def _choose(text: str) -> tuple[str, list[str]]:
    """The delimiter that splits the header into the most fields, ties settled by how many of
    the sample's rows have as many; with one field whatever the delimiter, the first one that
    splits no row (so a one-column file's values may hold any of them)."""
    best: tuple[tuple[int, int, int], str, list[str]] | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        header, agree, splits = _split(text, delimiter)
        several = len(header) > 1
        score = (len(header), agree, -rank) if several else (1, int(not splits), -rank)
        if best is None or score > best[0]:
            best = (score, delimiter, header)
    assert best is not None
    return best[1], best[2]


def _split(text: str, delimiter: str) -> tuple[list[str], int, bool]:
    """The header's fields with ``delimiter``, how many sampled rows have as many, and whether
    any row splits into more than one field."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', doublequote=True)
    header: list[str] = []
    agree, splits = 0, False
    try:
        for n, row in enumerate(itertools.islice(reader, SAMPLE_ROWS + 1)):
            if n == 0:
                header = row
            elif row:
                agree += len(row) == len(header)
                splits = splits or len(row) > 1
    except csv.Error:
        pass  # a field past the csv module's limit: the rows read so far decide
    return header or [""], agree, splits


def _names(path: Path, header: list[str]) -> tuple[str, ...]:
    """The header's names; an empty one named ``column{i}`` as DuckDB does; a name given twice
    (SQLite and DuckDB do not tell case apart) refused."""
    names = [name or f"column{i}" for i, name in enumerate(header)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        first = seen.setdefault(name.lower(), i)
        if first != i:
            same = "" if names[first] == name else f" and {names[first]!r}"
            raise UsageError(
                f"{path}:1: the header names column {name!r}{same} twice (columns {first + 1} and "
                f"{i + 1}); rename one so that each column has its own name"
            )
    return tuple(names)
