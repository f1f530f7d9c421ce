"""Numbers on the way SQLite → PostgreSQL → SQLite: every float, big integer and wide decimal
either arrives exactly (``verify`` finds the three copies identical) or is refused before anything
is left behind (exit 2), as docs/migrate.md lists under "Numbers that cannot make the trip".
"""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.move import verify as v

#: p: a decimal a real holds exactly (binary COPY from Arrow); w: wider than a real (text);
#: x: a decimal of no declared precision; u: no declared type at all.
TABLE = (
    "CREATE TABLE nums (id INTEGER PRIMARY KEY, f REAL, i INTEGER, n NUMERIC, "
    'p DECIMAL(12,4), w "DECIMAL BLOB(30,8)", x "DECIMAL BLOB", u)'
)
COLUMNS = ("f", "i", "n", "p", "w", "x", "u")
PRECISION = {"p": (12, 4), "w": (30, 8)}

SPECIAL_FLOATS = [
    -0.0,
    0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
    0.1 + 0.2,
    1e16,
    -(2.0**63),
]
floats = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_subnormal=True))
int64 = st.one_of(
    st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1]),
    st.integers(-(2**63), 2**63 - 1),
)
#: Up to 38 digits, up to 12 of them after the point.
wide = st.builds(
    lambda k, places: Decimal(k).scaleb(-places),
    st.integers(-(10**38) + 1, 10**38 - 1),
    st.integers(0, 12),
)
#: Decimals that fit DECIMAL BLOB(30,8): up to 8 places, up to 22 whole digits.
fits_w = st.integers(0, 8).flatmap(
    lambda places: st.builds(
        lambda k: Decimal(k).scaleb(-places),
        st.integers(-(10 ** (22 + places)) + 1, 10 ** (22 + places) - 1),
    )
)
#: Decimals that fit DECIMAL(12,4).
money = st.builds(
    lambda k, places: Decimal(k).scaleb(-places),
    st.integers(-(10**12) + 1, 10**12 - 1),
    st.integers(0, 4),
)


def text(d: Decimal) -> str:
    return format(d, "f")


row = st.fixed_dictionaries(
    {
        "f": floats,
        "i": int64,
        "n": st.one_of(floats, int64, wide.map(text)),
        "p": st.one_of(money.map(float), money.map(text), st.integers(-(10**8) + 1, 10**8 - 1)),
        "w": st.one_of(fits_w.map(text), st.integers(-(2**63), 2**63 - 1)),
        "x": st.one_of(wide.map(text), st.sampled_from(["NaN", "Infinity", "-Infinity"])),
        "u": st.one_of(
            floats, int64, wide.map(text), st.integers(2**63, 2**80).map(str), st.none()
        ),
    }
)


# -- what the docs say is refused ------------------------------------------------------------------

_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


def fits(stored: str, value: Any, precision: int, scale: int) -> bool:
    """docs/migrate.md: a value of a DECIMAL(p,s) column goes only if PostgreSQL keeps it as it is:
    a real whose shortest form has at most s places, an integer, or the plain text of a decimal,
    with fewer than p - s whole digits."""
    whole = precision - scale
    if value is None:
        return True
    if stored == "integer":
        return bool(abs(value) < 10**whole)
    if stored == "real":
        if not math.isfinite(value):
            return False  # numeric(p,s) has no infinity
        places = -Decimal(repr(value)).normalize().as_tuple().exponent if value else 0
        limit = float(f"1e{whole}")
        return math.isfinite(value) and -limit < value < limit and int(places) <= scale
    if stored == "text" and _PLAIN.fullmatch(value):
        unsigned = value.lstrip("+-")
        integer, _, fraction = unsigned.partition(".")
        return len(fraction.rstrip("0")) <= scale and len(integer.lstrip("0")) <= whole
    return False


def refused(stored: list[dict[str, tuple[str, Any]]]) -> list[str]:
    """The columns holding a value the docs list as refused."""
    return sorted(
        {
            col
            for r in stored
            for col, (p, s) in PRECISION.items()
            if not fits(r[col][0], r[col][1], p, s)
        }
    )


# -- the trip --------------------------------------------------------------------------------------


def make_source(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, tuple[str, Any]]]:
    """A SQLite file holding ``rows``; returns what SQLite stored (its storage class and value)."""
    con = sqlite3.connect(path)
    con.execute(TABLE)
    con.executemany(
        f"INSERT INTO nums VALUES (?, {', '.join('?' for _ in COLUMNS)})",
        [(n, *(r[c] for c in COLUMNS)) for n, r in enumerate(rows)],
    )
    con.commit()
    select = ", ".join(f"typeof({c}), {c}" for c in COLUMNS)
    stored = [
        {c: (r[2 * k], r[2 * k + 1]) for k, c in enumerate(COLUMNS)}
        for r in con.execute(f"SELECT {select} FROM nums ORDER BY id")
    ]
    con.close()
    return stored


def migrate(app: by.Batchyard, source: str, target: str) -> by.Job:
    return app.run("migrate", {"source": source, "target": target}, install_signals=False)


def identical(a: str, b: str) -> None:
    result = v.verify_table(a, b, "nums", diff=True)
    assert result.status == v.IDENTICAL, [(d.kind, d.key, d.columns) for d in result.diff or []]


@pytest.fixture
def pg_empty(pg_database: str) -> Iterator[Any]:
    """Empties the test's PostgreSQL database (one per test, emptied for each example)."""
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")

    def empty() -> str:
        ENGINES.dispose()
        with engine.connect() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        return pg_database

    yield empty
    engine.dispose()


#: Now and then (one example in three) a value that may not fit its DECIMAL(p,s) column.
maybe_misfit = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    st.tuples(st.just("p"), st.one_of(floats, st.decimals(places=6).map(text))),
    st.tuples(st.just("w"), st.one_of(floats, wide.map(text), st.decimals().map(str))),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(row, min_size=1, max_size=6), misfit=maybe_misfit)
def test_numbers_arrive_exactly_or_are_refused(
    pg_empty: Any, rows: list[dict[str, Any]], misfit: tuple[str, Any] | None
) -> None:
    if misfit is not None:
        rows[-1] = {**rows[-1], misfit[0]: misfit[1]}
    note(repr(rows))
    pg = pg_empty()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        src, back = root / "src.db", root / "back.db"
        stored = make_source(src, rows)
        with by.Batchyard(root=root) as app:
            there = migrate(app, str(src), pg)
            bad = refused(stored)
            event("refused" if bad else "made the trip")
            if bad:
                # Refused (the CLI exits 2), naming a refused column, and nothing is left behind.
                assert there.status is by.JobStatus.FAILED and there.metadata.get("bad_data")
                assert any(f"nums.{c} (decimal)" in (there.error or "") for c in bad)
                assert not sa.inspect(ENGINES.get(pg)).has_table("nums")
                return
            assert there.status is by.JobStatus.COMPLETED, there.error
            identical(f"sqlite:///{src}", pg)
            home = migrate(app, pg, str(back))
            assert home.status is by.JobStatus.COMPLETED, home.error
        identical(pg, f"sqlite:///{back}")
        identical(f"sqlite:///{src}", f"sqlite:///{back}")


# -- one test per value class of docs/migrate.md ----------------------------------------------------


def test_negative_zero_and_infinities_in_an_untyped_column_make_the_trip(
    tmp_path: Path, pg_database: str
) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    stored = make_source(
        src,
        [
            {"f": v, "i": 0, "n": 0, "p": 0, "w": "0", "x": "0", "u": v}
            for v in (-0.0, math.inf, -math.inf, 5e-324, 0.1 + 0.2)
        ],
    )
    assert [r["u"] for r in stored][:3] == [("real", -0.0), ("real", math.inf), ("real", -math.inf)]
    with by.Batchyard(root=tmp_path) as app:
        assert migrate(app, str(src), pg_database).status is by.JobStatus.COMPLETED
        identical(f"sqlite:///{src}", pg_database)
        home = migrate(app, pg_database, str(back))
        assert home.status is by.JobStatus.COMPLETED, home.error
    identical(f"sqlite:///{src}", f"sqlite:///{back}")
    con = sqlite3.connect(back)
    got = [r[0] for r in con.execute("SELECT u FROM nums ORDER BY id")]
    con.close()
    assert math.copysign(1.0, got[0]) == -1.0 and got[1:3] == [math.inf, -math.inf]


def test_wide_decimals_keep_every_digit(tmp_path: Path, pg_database: str) -> None:
    digits = "123456789012345678901234567890.12345678"
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE wide (id INTEGER PRIMARY KEY, a NUMERIC, b NUMERIC(40,8))"
        )
        conn.exec_driver_sql(
            f"INSERT INTO wide VALUES (1, {digits}, {digits}), (2, 'NaN', 0), (3, 12.25, 12.25)"
        )
    engine.dispose()
    back = tmp_path / "back.db"
    with by.Batchyard(root=tmp_path) as app:
        home = migrate(app, pg_database, str(back))
        assert home.status is by.JobStatus.COMPLETED, home.error
    con = sqlite3.connect(back)
    # Every digit, as text; and as a number where a number is the decimal exactly.
    assert con.execute("SELECT a, b FROM wide ORDER BY id").fetchall() == [
        (digits, digits),
        ("NaN", 0),
        (12.25, 12.25),
    ]
    declared = {r[1]: r[2] for r in con.execute("PRAGMA table_info(wide)")}
    con.close()
    assert declared == {"id": "INTEGER", "a": "DECIMAL BLOB", "b": "DECIMAL BLOB"}
    assert v.verify_table(pg_database, f"sqlite:///{back}", "wide").status == v.IDENTICAL


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("p", 0.12345),  # more places than the column's scale: PostgreSQL would round it
        ("p", 1e8),  # more whole digits than DECIMAL(12,4) keeps
        ("p", math.inf),  # no infinity in a numeric(p,s)
        ("w", "1e5"),  # a decimal's text with an exponent, or anything but plain digits
    ],
)
def test_a_decimal_its_column_cannot_keep_is_refused_with_exit_2(
    tmp_path: Path, pg_database: str, column: str, value: Any
) -> None:
    src = tmp_path / "src.db"
    fine = {"f": 0.0, "i": 0, "n": 0, "p": 0, "w": "0", "x": "0", "u": 0}
    make_source(src, [fine, {**fine, column: value}])
    (tmp_path / "batchyard.toml").write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / uuid.uuid4().hex}.db"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli_app, ["-C", str(tmp_path), "migrate", str(src), pg_database], catch_exceptions=False
    )
    ENGINES.dispose()
    assert result.exit_code == 2, result.output
    assert f"nums.{column} (decimal): 1 value(s) do not fit" in result.output
    engine = sa.create_engine(pg_database)
    try:
        assert not sa.inspect(engine).has_table("nums")
    finally:
        engine.dispose()


def test_postgres_negative_zero_and_nan_floats_cannot_go_to_sqlite(
    tmp_path: Path, pg_database: str
) -> None:
    """SQLite keeps no -0.0 in a REAL column (it stores 0.0) and no NaN at all (it stores NULL):
    verify names those rows."""
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE f (id INTEGER PRIMARY KEY, v DOUBLE PRECISION)")
        conn.exec_driver_sql("INSERT INTO f VALUES (1, '-0'), (2, 'NaN'), (3, 1.5)")
    engine.dispose()
    back = tmp_path / "back.db"
    with by.Batchyard(root=tmp_path) as app:
        home = migrate(app, pg_database, str(back))
        assert home.status is by.JobStatus.COMPLETED, home.error
    result = v.verify_table(pg_database, f"sqlite:///{back}", "f", diff=True)
    assert result.status == v.DIFFERENT
    assert {(d.key["id"], tuple(d.columns)) for d in result.diff or []} == {
        (1, ("v",)),
        (2, ("v",)),
    }
