"""Deterministic pseudo-random values computed by the database, identical on SQLite and PostgreSQL.

Every value of a generated row is a function of the row number ``n`` and the seed. The randomness
comes from :func:`hash_sql`, integer arithmetic that both databases (and Python, in
:func:`hash_value`) evaluate to the same number::

    h(n) = ((n * A + B) % P1 * ((n * C + D) % P2) + E) % P1

with per-column constants ``A..E`` drawn from SHA-256 of the seed and the column's name. Every
intermediate stays below 2^63 for ``n < 2^32``, so neither database overflows (SQLite would silently
turn to floating point, PostgreSQL would raise). Values are then made from ``h`` with operations
whose results agree across the two databases: integer ``+ - * / %`` on non-negative numbers, one IEEE
division for floats, ``CASE`` for picks from lists, and the databases' own date arithmetic, rendered
per dialect by :class:`Dialect`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

P1 = 2_147_483_647  # 2^31 - 1, prime
P2 = 2_147_483_629  # the largest prime below P1
#: Rows are numbered from 1 up to below this bound (the hash's products stay below 2^63).
MAX_ROWS = 2**32 - 1
#: Draws of up to this many values are slices of a shared hash; larger ones get a hash of their own.
SLICE_MAX = 1 << 16
#: A hash is sliced into draws until the product of their sizes reaches this (keeping the bias of
#: the last slice below 1/128).
WORD = 1 << 24
#: Day zero of every dataset: dates are this date plus a number of days.
EPOCH = "2015-01-01"
EPOCH_UNIX = 1_420_070_400


@dataclass(frozen=True)
class HashKey:
    """The constants of one column's hash."""

    a: int
    b: int
    c: int
    d: int
    e: int


def hash_key(seed: int, *parts: str) -> HashKey:
    digest = hashlib.sha256("/".join([str(seed), *parts]).encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 20, 4)]
    return HashKey(
        a=words[0] % 2**30 + 1,
        b=words[1] % P1,
        c=words[2] % 2**30 + 1,
        d=words[3] % P2,
        e=words[4] % P1,
    )


def hash_value(key: HashKey, n: int) -> int:
    """What :func:`hash_sql` computes for row ``n``, in Python."""
    return ((n * key.a + key.b) % P1 * ((n * key.c + key.d) % P2) + key.e) % P1


def hash_sql(key: HashKey, n: str) -> str:
    return f"((({n} * {key.a} + {key.b}) % {P1} * (({n} * {key.c} + {key.d}) % {P2}) + {key.e}) % {P1})"


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Dialect:
    """How the two databases spell what differs between them. Everything else is shared SQL."""

    name: str  # "sqlite" or "postgresql"

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    @property
    def no_flatten(self) -> str:
        """Keeps a subquery from being merged into the query around it (SQLite's flattener,
        PostgreSQL's pull-up), so that its columns are computed once per row, not once per use."""
        return " OFFSET 0" if self.postgres else " LIMIT -1 OFFSET 0"

    def real(self, numerator: str, divisor: int) -> str:
        """A float: an integer divided once (IEEE division is correctly rounded on both)."""
        if self.postgres:
            return f"(CAST({numerator} AS double precision) / {divisor})"
        return f"(({numerator}) / {float(divisor)!r})"

    def decimal(self, numerator: str, scale: int) -> str:
        """An exact decimal with ``scale`` digits after the point, from an integer of units."""
        if self.postgres:
            return f"(CAST({numerator} AS numeric) / {10**scale})"
        return f"(({numerator}) / {float(10**scale)!r})"

    def date(self, days: str, *, as_text: bool = False) -> str:
        """The date ``days`` after :data:`EPOCH` (ISO text on SQLite)."""
        if self.postgres:
            value = f"(DATE '{EPOCH}' + CAST({days} AS integer))"
            return f"to_char({value}, 'YYYY-MM-DD')" if as_text else value
        return f"date({EPOCH_UNIX} + ({days}) * 86400, 'unixepoch')"

    def timestamp(self, seconds: str, *, as_text: bool = False) -> str:
        """The moment ``seconds`` after midnight of :data:`EPOCH` (ISO text on SQLite)."""
        if self.postgres:
            value = f"(TIMESTAMP '{EPOCH} 00:00:00' + make_interval(secs => CAST({seconds} AS double precision)))"
            return f"to_char({value}, 'YYYY-MM-DD HH24:MI:SS')" if as_text else value
        return f"datetime({EPOCH_UNIX} + ({seconds}), 'unixepoch')"

    def numbers(self, start: int, stop: int) -> str:
        """A subquery of the row numbers ``start..stop`` as column ``n``."""
        if self.postgres:
            return f"(SELECT n FROM generate_series(CAST({start} AS bigint), CAST({stop} AS bigint)) AS g(n))"
        return f"(SELECT {start} + i AS n FROM temp.by_numbers WHERE i <= {stop - start})"

    def keys_in(self, column: str, keys: Sequence[int]) -> str:
        """``column`` is one of ``keys`` (integers only: they are written into the SQL)."""
        listed = ",".join(str(int(k)) for k in keys)
        if self.postgres:
            return f"{column} = ANY('{{{listed}}}'::bigint[])"
        return f"{column} IN (SELECT value FROM json_each('[{listed}]'))"


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")


@dataclass
class Row:
    """The SQL of one generated row's values, for a table's value function to build on.

    ``n`` is the row number. Hashes are named (``r.h("status")``); a name used by several columns
    is the same value in each. Written as ``h_NAME`` columns of a subquery, each is computed once
    per row, as are the values named with :meth:`let` (``v_NAME``, one subquery further out);
    ``inline`` rows spell them out in full instead, to compute a value of another row
    (:meth:`at`) inside an UPDATE.
    """

    dialect: Dialect
    seed: int
    scope: tuple[str, str]  # (dataset, table)
    n: str = "n"
    inline: bool = False
    text_dates: frozenset[str] = frozenset()
    used: dict[str, str] = field(default_factory=dict)
    lets: dict[str, str] = field(default_factory=dict)
    draws: dict[str, str] = field(default_factory=dict)
    words: list[tuple[str, int]] = field(default_factory=list)

    def at(self, n: str) -> Row:
        """The same table's row number ``n`` (a SQL expression), with every hash written out."""
        return Row(
            self.dialect, self.seed, self.scope, n=f"({n})", inline=True, text_dates=self.text_dates
        )

    def key(self, name: str) -> HashKey:
        return hash_key(self.seed, *self.scope, name)

    def h(self, name: str) -> str:
        """A pseudo-random integer in ``[0, 2^31 - 1)`` for this row, named ``name``."""
        sql = hash_sql(self.key(name), self.n)
        if self.inline:
            return sql
        self.used.setdefault(name, sql)
        return f"h_{name}"

    def let(self, name: str, sql: str) -> str:
        """Name a value that several columns use, so that it is computed once per row.

        ``sql`` may use ``n`` and hashes, not other ``let`` values.
        """
        if self.inline:
            return f"({sql})"
        self.lets.setdefault(name, sql)
        return f"v_{name}"

    def draw(self, name: str, size: int) -> str:
        """A pseudo-random integer in ``[0, size)``, named ``name``.

        Small draws are slices of a hash shared with other draws (``h / m % size``): computing a
        hash costs more than slicing one. The slicing depends on the order of the draws, which a
        table's value function fixes.
        """
        if name in self.draws:
            return self.draws[name]
        if size > SLICE_MAX:
            sql = f"({self.h(name)} % {size})"
        else:
            i = next((i for i, (_, used) in enumerate(self.words) if used * size <= WORD), None)
            if i is None:
                i = len(self.words)
                self.words.append((f"w{i}", 1))
            word, used = self.words[i]
            self.words[i] = (word, used * size)
            h = self.h(word)
            sql = f"({h} % {size})" if used == 1 else f"({h} / {used} % {size})"
        self.draws[name] = sql
        return sql

    def integer(self, name: str, low: int, high: int) -> str:
        """An integer in ``[low, high]``."""
        return f"({low} + {self.draw(name, high - low + 1)})"

    def below(self, name: str, permille: int) -> str:
        """True for about ``permille`` rows in 1000."""
        return f"({self.draw(name, 1000)} < {permille})"

    def pick(self, index: str, values: Sequence[str]) -> str:
        """``values[index]``, with ``index`` a SQL integer in ``[0, len(values))``."""
        whens = " ".join(f"WHEN {i} THEN {quote(v)}" for i, v in enumerate(values))
        return f"(CASE {index} {whens} END)"

    def choice(self, name: str, values: Sequence[str]) -> str:
        """One of ``values``, uniformly."""
        return self.pick(self.draw(name, len(values)), values)

    def text(self, number: str) -> str:
        return f"CAST({number} AS TEXT)"

    def real(self, numerator: str, divisor: int) -> str:
        return self.dialect.real(numerator, divisor)

    def decimal(self, numerator: str, scale: int = 2) -> str:
        return self.dialect.decimal(numerator, scale)

    def date(self, days: str, column: str = "") -> str:
        return self.dialect.date(days, as_text=column in self.text_dates)

    def timestamp(self, seconds: str, column: str = "") -> str:
        return self.dialect.timestamp(seconds, as_text=column in self.text_dates)

    def null_if(self, condition: str, value: str) -> str:
        return f"(CASE WHEN {condition} THEN NULL ELSE {value} END)"


class Values:
    """The same hashes in Python, for choosing rows by what the database will compute for them."""

    def __init__(self, seed: int, dataset: str, table: str) -> None:
        self._seed = seed
        self._scope = (dataset, table)
        self._keys: dict[str, HashKey] = {}

    def h(self, name: str, n: int) -> int:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = hash_key(self._seed, *self._scope, name)
        return hash_value(key, n)
