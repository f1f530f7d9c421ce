"""Job kinds: params from signatures, plans, item keys, retry policies and progress figures."""

from __future__ import annotations

from datetime import date

import pytest

import batchyard as by
from batchyard.engine.kinds import JobKind, item_key
from batchyard.engine.progress import Rate, Tracker
from batchyard.errors import ParamError, PlanError, UsageError


def plan(
    start: date,
    end: date,
    teams: list[str] = [],  # noqa: B006 - pydantic copies defaults
    limit: int | None = None,
    dry: bool = False,
):
    return by.dates(start, end)


def test_params_are_parsed_from_text() -> None:
    kind = JobKind("k", plan)
    p = kind.parse_params(
        {"start": "2024-06-01", "end": "2024-06-03", "teams": "a, b", "limit": "5", "dry": "true"}
    )
    assert (p.start, p.end, p.teams, p.limit, p.dry) == (
        date(2024, 6, 1),
        date(2024, 6, 3),
        ["a", "b"],
        5,
        True,
    )
    assert kind.parse_params(
        {"start": "2024-06-01", "end": "2024-06-01", "teams": '["x"]'}
    ).teams == ["x"]
    schema = kind.params_schema()
    assert schema["required"] == ["start", "end"]
    assert schema["properties"]["start"]["format"] == "date"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"start": "2024-13-01", "end": "2024-06-01"}, r"param 'start': .*date.*got '2024-13-01'"),
        ({"end": "2024-06-01"}, r"needs param 'start'"),
        ({"start": "2024-06-01", "end": "2024-06-01", "colour": "red"}, r"has no param 'colour'"),
        ({"start": "2024-06-01", "end": "2024-06-01", "limit": "x"}, r"param 'limit'"),
        ({"start": "2024-06-01", "end": "2024-06-01", "teams": "[1,"}, r"not valid JSON"),
    ],
)
def test_bad_params(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ParamError, match=message):
        JobKind("k", plan).parse_params(raw)


class SeasonParams(by.Params):
    season: int
    start: date
    teams: list[str] = ["cubs"]


def season_plan(p: SeasonParams, settings: by.Settings) -> list[str]:
    return [f"{p.season}-{team}@{settings.env}" for team in p.teams]


def test_a_declared_params_model_is_the_kinds_and_its_plan_gets_it_whole() -> None:
    kind = JobKind("season", season_plan)
    assert kind.params_model is SeasonParams
    p = kind.parse_params({"season": "2024", "start": "2024-04-01", "teams": "cubs,mets"})
    assert isinstance(p, SeasonParams) and (p.season, p.teams) == (2024, ["cubs", "mets"])
    settings = by.load_settings()
    assert [k for k, _, _ in kind.plan(p, settings)] == [
        f"2024-cubs@{settings.env}",
        f"2024-mets@{settings.env}",
    ]
    with pytest.raises(ParamError, match=r"has no param 'colour'"):
        kind.parse_params({"season": "1", "start": "2024-04-01", "colour": "red"})


def test_params_are_typed_as_attributes_and_json_as_a_mapping() -> None:
    p = JobKind("k", plan).parse_params({"start": "2024-06-01", "end": "2024-06-03"})
    assert (p.start, p["start"], p.get("start")) == (date(2024, 6, 1), "2024-06-01", "2024-06-01")
    assert ("teams" in p, "nope" in p, p.get("nope", 7), p["limit"]) == (True, False, 7, None)
    with pytest.raises(KeyError):
        p["nope"]
    with pytest.raises(ValueError, match="frozen"):
        p.dry = True  # type: ignore[misc]


class Team:
    """A project's own class, which pydantic takes as it is: it has no JSON Schema."""


class TeamParams(by.Params):
    team: Team
    season: int = 2024


def test_a_param_without_a_json_schema_takes_any_value_in_the_schema() -> None:
    def plan(p: TeamParams):
        return [p.season]

    kind = JobKind("teams", plan)
    schema = kind.params_schema()  # what `batchyard kinds`, /api/kinds and the forms show
    assert schema["properties"]["team"] == {"title": "Team"}
    assert schema["properties"]["season"]["type"] == "integer"
    assert kind.describe()["params"] == schema


def test_a_plan_takes_its_params_one_way() -> None:
    def mixed(p: SeasonParams, extra: int = 1) -> list[int]:
        return [extra]

    with pytest.raises(ParamError, match=r"move 'extra' into that model"):
        JobKind("mixed", mixed)


def test_plan_keys_and_values() -> None:
    kind = JobKind("k", plan)
    planned = list(kind.plan(kind.parse_params({"start": "2024-02-28", "end": "2024-03-01"})))
    assert planned == [
        ("2024-02-28", '"2024-02-28"', 0),
        ("2024-02-29", '"2024-02-29"', 0),
        ("2024-03-01", '"2024-03-01"', 0),
    ]
    assert item_key(by.Item("k1", {"a": 1})) == "k1"
    assert item_key({"b": 2, "a": 1}) == '{"a":1,"b":2}'
    assert item_key(7) == "7"


def test_plan_must_return_items() -> None:
    kind = JobKind("none", lambda: None)
    with pytest.raises(PlanError, match="returned nothing"):
        list(kind.plan(kind.parse_params({})))


def test_item_values_come_back_typed() -> None:
    kind = JobKind("k", plan)
    seen = []
    kind.item(lambda day, ctx: seen.append(day))

    @kind.item
    def typed(day: date, ctx: object) -> None:
        seen.append(day)

    kind.call_item("2024-06-01", None)
    assert seen == [date(2024, 6, 1)]


def test_dates() -> None:
    assert by.dates("2024-01-30", "2024-02-02") == [
        date(2024, 1, 30),
        date(2024, 1, 31),
        date(2024, 2, 1),
        date(2024, 2, 2),
    ]
    assert by.dates("2024-01-01", "2024-01-15", every="week") == [
        date(2024, 1, 1),
        date(2024, 1, 8),
        date(2024, 1, 15),
    ]
    assert by.dates("2024-11-15", "2025-02-01", every="month") == [
        date(2024, 11, 15),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    with pytest.raises(ParamError):
        by.dates("2024-01-02", "2024-01-01")
    with pytest.raises(ParamError):
        by.dates("2024-01-01", "2024-01-02", every="hour")


def test_retry_policy() -> None:
    assert by.Retry.of(3).attempts == 4
    assert by.Retry.of(None).attempts == 1
    with pytest.raises(UsageError):
        by.Retry.of(-1)
    policy = by.Retry(
        attempts=3, delay=1.0, backoff=2.0, max_delay=3.0, jitter=False, on=(ConnectionError,)
    )
    assert [policy.wait(n) for n in (1, 2, 3)] == [1.0, 2.0, 3.0]
    assert policy.should_retry(ConnectionError(), 1)
    assert not policy.should_retry(ConnectionError(), 3)
    assert not policy.should_retry(KeyError(), 1)
    assert not by.Retry(attempts=5).should_retry(ParamError("bad"), 1)
    jittered = by.Retry(attempts=3, delay=1.0)
    assert all(0.5 <= jittered.wait(1) <= 1.0 for _ in range(50))


def test_rate_is_smoothed_and_eta_follows() -> None:
    rate = Rate(half_life=5.0)
    rate.update(0, 0.0)
    assert rate.update(100, 1.0) == pytest.approx(100.0)
    # A sudden burst moves the rate only part of the way.
    assert 100 < rate.update(1100, 2.0) < 1000

    class FakeJob:
        id, total, done, failed, skipped, cancelled = "j", 1000, 0, 0, 0, 0
        rows_read = rows_written = 0
        progress: dict[str, float] = {}

    clock = iter([0.0, 0.0, 10.0, 20.0]).__next__
    tracker = Tracker(FakeJob(), clock=clock)
    tracker.snapshot()
    for _ in range(100):
        tracker.add("done", rows_written=2)
    snap = tracker.snapshot()
    assert snap.items_per_s == pytest.approx(10.0)
    assert snap.eta_s == pytest.approx(90.0)
    assert snap.percent == pytest.approx(10.0)
    assert snap.rows_written == 200


def test_a_finished_part_keeps_its_average_rate() -> None:
    from batchyard.engine.progress import PART_SOURCES

    class PartsJob:
        id, kind, total, done, failed, skipped, cancelled = "p", "parted", 2, 0, 0, 0, 0
        rows_read = rows_written = 0
        progress: dict[str, float] = {}

    # Readings once a second: "small" starts after the first and is done by the second, "big"
    # moves on steadily; then neither moves for a long while.
    readings = iter(
        [
            {"small": (0, 50_000), "big": (0, 300)},
            {"small": (50_000, 50_000), "big": (100, 300)},
            {"small": (50_000, 50_000), "big": (200, 300)},
            {"small": (50_000, 50_000), "big": (300, 300)},
            {"small": (50_000, 50_000), "big": (300, 300)},
        ]
    )
    PART_SOURCES["parted"] = lambda job: lambda: next(readings)
    try:
        clock = iter([0.0, 0.0, 1.0, 2.0, 3.0, 60.0]).__next__
        tracker = Tracker(PartsJob(), clock=clock)
        snaps = [tracker.snapshot() for _ in range(5)]
    finally:
        del PART_SOURCES["parted"]
    last = {p["name"]: p for p in snaps[-1].parts}
    # Their averages from the last reading before they moved, not a rate decayed since.
    assert last["small"]["rows_per_s"] == pytest.approx(50_000.0)
    assert last["big"]["rows_per_s"] == pytest.approx(100.0)
    assert last["big"]["eta_s"] == 0.0
    # While it moves, a part's rate is the smoothed one.
    moving = {p["name"]: p for p in snaps[2].parts}
    assert moving["big"]["rows_per_s"] == pytest.approx(100.0)


def test_kinds_registered_later_are_found(tmp_path: object) -> None:
    from pathlib import Path

    from batchyard.app import load_registry

    root = Path(str(tmp_path))
    first = load_registry(root)

    from batchyard.engine.kinds import REGISTRY

    @by.job("registered-late")
    def late() -> list[int]:
        return [1]

    try:
        assert "registered-late" in load_registry(root)
        assert "registered-late" not in first
    finally:
        REGISTRY._kinds.pop("registered-late")  # leave the process's registry as it was


# -- kinds declared before their code --------------------------------------------------------


class WindowParams(by.Params):
    start: date
    days: int = 7


CODE = """
from __future__ import annotations

from datetime import date, timedelta

import batchyard as by
from tests_declared_home import KIND, WindowParams


def plan(p: WindowParams) -> list[date]:
    return [p.start + timedelta(days=n) for n in range(p.days)]


@KIND.item
def one(day: date, ctx: UndefinedHere) -> str:  # only the first annotation is read
    return day.isoformat()


KIND.implement(plan)
"""


@pytest.fixture
def declared(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A kind declared by its params model, its code in a module not imported yet."""
    import sys
    import types

    name = f"declared_code_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(CODE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    kind = JobKind(
        "window", params=WindowParams, code=name, description="Days from a start.", workers=2
    )
    home = types.ModuleType("tests_declared_home")
    home.KIND, home.WindowParams = kind, WindowParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_declared_home", home)
    yield kind, name
    sys.modules.pop(name, None)


def test_a_declared_kind_is_described_and_checked_without_its_code(declared) -> None:
    import sys

    kind, code = declared
    described = kind.describe()
    assert (described["name"], described["description"], described["workers"]) == (
        "window",
        "Days from a start.",
        2,
    )
    assert set(described["params"]["properties"]) == {"start", "days"}
    assert kind.parse_params({"start": "2024-06-01", "days": "2"}).days == 2
    assert kind.origin == code
    assert code not in sys.modules  # nothing above needed it


def test_a_declared_kinds_code_loads_when_it_plans_or_runs(declared) -> None:
    import sys

    kind, code = declared
    params = kind.parse_params({"start": "2024-06-01", "days": "2"})
    assert [k for k, _, _ in kind.plan(params)] == ["2024-06-01", "2024-06-02"]
    assert code in sys.modules
    # The item's value comes back typed though its ctx's annotation names nothing known.
    assert kind.call_item("2024-06-02", None) == "2024-06-02"


def test_a_declared_kinds_plan_takes_its_model() -> None:
    kind = JobKind("window", params=WindowParams, code="nowhere")

    def other(p: SeasonParams) -> list[int]:
        return [p.season]

    with pytest.raises(UsageError, match="must take the declared params model, WindowParams"):
        kind.implement(other)
    with pytest.raises(UsageError, match="give its plan function, or its params model"):
        JobKind("neither")


def test_a_declared_kind_whose_module_does_not_implement_it(tmp_path, monkeypatch) -> None:
    (tmp_path / "implements_nothing.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    kind = JobKind("lazy", params=WindowParams, code="implements_nothing")
    with pytest.raises(UsageError, match="implements_nothing does not implement it"):
        kind.load()


def test_every_built_in_kind_is_implemented_by_its_module() -> None:
    from batchyard.kinds import BUILTIN

    for name, kind in BUILTIN.items():
        assert kind.builtin and kind.description, name
        assert kind.item_fn is not None, name  # (loads its module)
        assert kind.plan_fn.__module__ == kind.origin, name
