"""Names in PostgreSQL, which keeps 63 bytes of an identifier (SQLite keeps any length).

PostgreSQL cuts a longer name to its first 63 bytes wherever it meets one, in ``CREATE TABLE`` and
in queries alike, so a column whose name is cut alone is still found by its whole name. Two columns
of a table whose names are the same in their first 63 bytes cannot both be cut so: each of them gets
its first 54 bytes, ``_`` and 8 hex digits of the MD5 of its whole name (the same every time, so
a resumed or repeated migration and ``verify`` find them again). Names migrate makes itself (of
unique indexes, foreign keys and sequences) get the same treatment when they are too long. Two
tables the same in their first 63 bytes are refused: rename one, or leave one out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from batchyard.errors import UsageError

#: The bytes of a PostgreSQL identifier (NAMEDATALEN - 1).
LIMIT = 63
_HEAD = LIMIT - 9


def clip(name: str, limit: int = LIMIT) -> str:
    """``name`` cut as PostgreSQL cuts it: at most ``limit`` bytes of UTF-8, whole characters."""
    data = name.encode("utf-8")
    if len(data) <= limit:
        return name
    return data[:limit].decode("utf-8", errors="ignore")


def hashed(name: str) -> str:
    """A name of at most 63 bytes made of a longer one: its head, ``_`` and 8 hex digits."""
    digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{clip(name, _HEAD)}_{digest}"


def derived(name: str) -> str:
    """A name migrate makes (an index, a constraint, a sequence), kept unique when too long."""
    return name if len(name.encode("utf-8")) <= LIMIT else hashed(name)


def columns(names: Sequence[str]) -> list[str]:
    """The PostgreSQL names of a table's columns, in order (see the module's docstring)."""
    clipped = [clip(n) for n in names]
    seen: dict[str, int] = {}
    for c in clipped:
        seen[c] = seen.get(c, 0) + 1
    out = [hashed(n) if c != n and seen[c] > 1 else c for n, c in zip(names, clipped, strict=True)]
    if len(set(out)) != len(out):  # a made name equal to another column's: never seen in practice
        dup = next(n for n in out if out.count(n) > 1)
        raise UsageError(f"two columns would both be named {dup!r} in PostgreSQL: rename one")
    return out


def renamed(names: Sequence[str]) -> dict[str, str]:
    """Source name -> PostgreSQL name, for the columns whose name changes (cut or made unique)."""
    return {n: t for n, t in zip(names, columns(names), strict=True) if n != t}


def check_tables(names: Sequence[str]) -> None:
    """Refuse two tables whose names are the same in their first 63 bytes (exit 2)."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(clip(name), name)
        if other != name:
            raise UsageError(
                f"tables {other!r} and {name!r} are the same in their first {LIMIT} bytes, all "
                f"of a name PostgreSQL keeps: rename one in the source, or leave one out "
                f"(--exclude {name!r})"
            )
