"""Job kinds: what a job does. ``@batchyard.job`` registers one; ``@kind.item`` says how to run an item.

A kind's params are one model (see :mod:`.params`): a :class:`~.params.Params` subclass its plan
function takes, or one made from the plan function's signature. Values from the command line
(``--param start=2024-06-01``) are parsed into those types, with errors naming the param.

A kind may also be declared before its code: its name, params model, options and description,
with ``code`` naming the module that implements it (``kind.implement(plan)``, ``@kind.item``...).
That module is imported the first time the kind's functions are needed, so listing kinds and
checking params load none of what running them needs (the built-in kinds are declared so).
"""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar, get_type_hints

from pydantic import TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import to_jsonable_python

from batchyard.engine.params import Params, coerce_text, declared_model, model_of, settings_arg
from batchyard.engine.retry import Retry
from batchyard.errors import ParamError, PlanError, UnknownKind, UsageError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Item:
    """An item with a key of its own; plain values get a key made from the value.

    ``weight`` estimates the item's work (its rows, say): when a job's items have weights, its
    percent and ETA follow the work done rather than the count of items.
    """

    key: str
    value: Any = None
    weight: int = 0


def item_key(value: Any) -> str:
    """The key of a planned value: ISO text for dates, the text of scalars, JSON otherwise."""
    if isinstance(value, Item):
        return value.key
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(to_jsonable_python(value), sort_keys=True, separators=(",", ":"))


def dates(start: date | str, end: date | str, every: str = "day") -> list[date]:
    """Every day (or week, or month start) from ``start`` to ``end``, both included."""
    first = date.fromisoformat(start) if isinstance(start, str) else start
    last = date.fromisoformat(end) if isinstance(end, str) else end
    if isinstance(first, datetime):
        first = first.date()
    if isinstance(last, datetime):
        last = last.date()
    if last < first:
        raise ParamError(f"end {last} is before start {first}")
    out: list[date] = []
    current = first
    if every == "day":
        step = timedelta(days=1)
    elif every == "week":
        step = timedelta(weeks=1)
    elif every == "month":
        while current <= last:
            out.append(current)
            year, month = divmod(current.month, 12)
            current = current.replace(year=current.year + year, month=month + 1, day=1)
        return out
    else:
        raise ParamError(f"every={every!r}: use day, week or month")
    while current <= last:
        out.append(current)
        current += step
    return out


class JobKind:
    """A registered job kind: a plan function that yields items and an item function."""

    def __init__(
        self,
        name: str,
        plan: Callable[..., Iterable[Any]] | None = None,
        *,
        params: type[Params] | None = None,
        code: str | None = None,
        retries: int | Retry | None = None,
        workers: int | None = None,
        timeout: float | None = None,
        stop_on_error: bool | None = None,
        description: str | None = None,
        builtin: bool = False,
        executor: str | None = None,
        options_from_params: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        """A kind made from its plan function, or declared by its ``params`` model and the
        module (``code``) that implements it, imported when the kind's functions are first needed."""
        if (plan is None) == (code is None) or (code is not None and params is None):
            raise UsageError(
                f"job kind {name!r}: give its plan function, or its params model and code module"
            )
        self.name = name
        self.retry = Retry.of(retries) if retries is not None else None
        self.workers = workers
        self.timeout = timeout
        self.stop_on_error = stop_on_error
        self.description = (description or (inspect.getdoc(plan) if plan else None) or "").strip()
        self.builtin = builtin
        self.executor = executor
        self._code = code
        self._loaded = code is None
        self._plan_fn: Callable[..., Iterable[Any]] | None = None
        self._options_fn = options_from_params
        self._item_fn: Callable[..., Any] | None = None
        self._setup_fn: Callable[[Any], Any] | None = None
        self._finish_fn: Callable[[Any], Any] | None = None
        self._cleanup_fn: Callable[[Any], Any] | None = None
        self._value_adapter: TypeAdapter[Any] | None = None
        self._item_wants_ctx = False
        #: The plan function's argument that takes the whole params model, if it declares one.
        self._model_arg: str | None = None
        self._settings_arg: str | None = None
        if plan is not None:
            self.params_model = model_of(name, plan)
            self._plan(plan)
        else:
            assert params is not None
            self.params_model = params

    def _plan(self, plan: Callable[..., Iterable[Any]]) -> None:
        self._plan_fn = plan
        declared = declared_model(plan)
        self._model_arg = declared[0] if declared else None
        self._settings_arg = settings_arg(plan)

    def implement(
        self,
        plan: Callable[..., Iterable[Any]],
        *,
        options_from_params: Callable[..., dict[str, Any]] | None = None,
    ) -> JobKind:
        """Give a declared kind its plan function (from the module its ``code`` names), which
        takes the declared params model; register its item function and hooks as usual."""
        if model_of(self.name, plan) is not self.params_model:
            raise UsageError(
                f"job {self.name!r}: the plan function must take the declared params model, "
                f"{self.params_model.__name__}"
            )
        self._plan(plan)
        if options_from_params is not None:
            self._options_fn = options_from_params
        return self

    def load(self) -> None:
        """Import the module that implements a declared kind (once); nothing for the others."""
        if self._loaded:
            return
        assert self._code is not None
        __import__(self._code)  # (as an import statement: ``-X importtime`` reports it)
        if self._plan_fn is None:
            raise UsageError(f"job {self.name!r}: {self._code} does not implement it")
        self._loaded = True

    @property
    def origin(self) -> str:
        """Where the kind's code is: its module, or its plan function's full name."""
        if self._code is not None:
            return self._code
        fn = self._plan_fn
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"

    @property
    def plan_fn(self) -> Callable[..., Iterable[Any]]:
        self.load()
        assert self._plan_fn is not None
        return self._plan_fn

    @property
    def item_fn(self) -> Callable[..., Any] | None:
        self.load()
        return self._item_fn

    @property
    def setup_fn(self) -> Callable[[Any], Any] | None:
        self.load()
        return self._setup_fn

    @property
    def finish_fn(self) -> Callable[[Any], Any] | None:
        self.load()
        return self._finish_fn

    @property
    def cleanup_fn(self) -> Callable[[Any], Any] | None:
        self.load()
        return self._cleanup_fn

    @property
    def options_from_params(self) -> Callable[..., dict[str, Any]] | None:
        self.load()
        return self._options_fn

    def __repr__(self) -> str:
        return f"<JobKind {self.name}>"

    def item(self, fn: F) -> F:
        """Register the function that processes one item: ``fn(value, ctx)`` (``ctx`` optional)."""
        self._item_fn = fn
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if not params:
            raise UsageError(
                f"job {self.name!r}: the item function must take the item as its first argument"
            )
        annotation = _hint(fn, params[0].name)
        self._value_adapter = TypeAdapter(annotation) if annotation not in (None, Any) else None
        self._item_wants_ctx = len(params) > 1
        return fn

    def setup(self, fn: F) -> F:
        """Register ``fn(ctx)``, run at the start of every run of a job before its items.

        It must be idempotent: a resumed job runs it again (``ctx.item_key`` is ``"@setup"``).
        """
        self._setup_fn = fn
        return fn

    def finish(self, fn: F) -> F:
        """Register ``fn(ctx)``, run once every item is done, before the job is marked completed.

        If it raises, the job ends ``failed`` with that error (``ctx.item_key`` is ``"@finish"``).
        """
        self._finish_fn = fn
        return fn

    def cleanup(self, fn: F) -> F:
        """Register ``fn(ctx)``, run when an item raised :class:`~batchyard.errors.BadData` and the
        job stopped: it undoes what the job wrote, where it can (``ctx.item_key`` is ``"@cleanup"``).

        It returns True when nothing the job wrote is left: a retry of the job then runs every item
        again, not only the unfinished ones.
        """
        self._cleanup_fn = fn
        return fn

    def options_for(self, params: Params | None, settings: Any) -> dict[str, Any]:
        """The kind's level of a job's run options (see :mod:`.options`): what it derives from the
        job's params, over what it was registered with.

        ``options_from_params`` takes the params, and the settings too if it has a second argument.
        """
        derived: dict[str, Any] = {}
        fn = self.options_from_params
        if fn is not None and params is not None:
            if len(inspect.signature(fn).parameters) >= 2:
                derived = fn(params, settings)
            else:
                derived = fn(params)
        registered = {
            "workers": self.workers,
            "executor": self.executor,
            "retries": self.retry,
            "timeout": self.timeout,
            "stop_on_error": self.stop_on_error,
        }
        return registered | {k: v for k, v in derived.items() if v is not None}

    # -- params ----------------------------------------------------------------------------------

    def parse_params(self, raw: dict[str, Any]) -> Params:
        """Check params (strings from the command line, JSON values, or those a job recorded)
        against the kind's params model."""
        fields = self.params_model.model_fields
        unknown = [k for k in raw if k not in fields]
        if unknown:
            accepted = ", ".join(fields) or "no params"
            raise ParamError(
                f"kind {self.name!r} has no param {unknown[0]!r} (it takes: {accepted})"
            )
        data = {k: coerce_text(v, fields[k].annotation) for k, v in raw.items()}
        try:
            return self.params_model.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = ".".join(str(p) for p in err["loc"]) or "params"
            if err["type"] == "missing":
                raise ParamError(
                    f"kind {self.name!r} needs param {name!r} (--param {name}=...)"
                ) from exc
            got = raw.get(str(err["loc"][0])) if err["loc"] else None
            shown = f" (got {got!r})" if got is not None else ""
            raise ParamError(f"param {name!r}: {err['msg']}{shown}") from exc

    def params_schema(self) -> dict[str, Any]:
        return self.params_model.model_json_schema(schema_generator=_AnyWhereUndescribed)

    def dump_params(self, params: Params) -> dict[str, Any]:
        dumped: dict[str, Any] = to_jsonable_python(params.model_dump(exclude_unset=False))
        return dumped

    # -- plan and run ----------------------------------------------------------------------------

    def plan(self, params: Params, settings: Any = None) -> Iterator[tuple[str, str, int]]:
        """Call the plan function now; yield ``(key, value_json)`` for each item it returns.

        A plan function may take the project's :class:`~batchyard.config.Settings` as a parameter
        annotated with that type (it is passed in, not a param). The store refuses a key planned twice.
        """
        plan = self.plan_fn  # (a declared kind's code, imported now, says how it takes them)
        if self._model_arg is not None:
            kwargs: dict[str, Any] = {self._model_arg: params}
        else:
            kwargs = {k: getattr(params, k) for k in self.params_model.model_fields}
        if self._settings_arg:
            kwargs[self._settings_arg] = settings
        values = plan(**kwargs)
        if values is None:
            raise PlanError(
                f"job {self.name!r}: the plan function returned nothing; return the items"
            )
        return self._keyed(values)

    def _keyed(self, values: Iterable[Any]) -> Iterator[tuple[str, str, int]]:
        for value in values:
            key = item_key(value)
            if len(key) > 500:
                raise PlanError(
                    f"job {self.name!r}: item key {key[:40]!r}... is longer than 500 characters; give Item(key=...)"
                )
            raw = value.value if isinstance(value, Item) else value
            weight = value.weight if isinstance(value, Item) else 0
            yield key, json.dumps(to_jsonable_python(raw), separators=(",", ":")), weight

    def load_value(self, value: Any) -> Any:
        return self._value_adapter.validate_python(value) if self._value_adapter else value

    def call_item(self, value: Any, ctx: Any) -> Any:
        if self.item_fn is None:
            raise UsageError(
                f"job {self.name!r} has no item function; add one with @{self.name}.item"
            )
        typed = self.load_value(value)
        if self._item_wants_ctx:
            return self.item_fn(typed, ctx)
        return self.item_fn(typed)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "builtin": self.builtin,
            "params": self.params_schema(),
            "retries": (self.retry.attempts - 1) if self.retry else None,
            "workers": self.workers,
            "timeout": self.timeout,
        }


class _AnyWhereUndescribed(GenerateJsonSchema):
    """A param whose type has no JSON Schema (a class of the project's, checked by a validator
    of its own) takes any value in the schema, rather than failing every listing of kinds."""

    def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> JsonSchemaValue:
        return {}


def _hint(fn: Callable[..., Any], name: str) -> Any:
    """The annotation of one parameter of ``fn``, evaluated alone: evaluating all of them would
    import what the others name (``ctx: by.Context``) just to register the function."""
    annotation = getattr(fn, "__annotations__", {}).get(name)
    if annotation is None:
        return None
    home = getattr(inspect.unwrap(fn), "__globals__", {})
    only = SimpleNamespace(__annotations__={name: annotation}, __globals__=home)
    try:
        return get_type_hints(only).get(name)
    except Exception:
        return None


class Registry:
    """The job kinds a project can run: built-in ones, ``jobs.py`` ones and entry-point ones."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}
        #: Grows with every kind added, so caches built from this registry can tell they are old.
        self.version = 0

    def add(self, kind: JobKind) -> JobKind:
        existing = self._kinds.get(kind.name)
        # The same plan function loaded again (a reloaded jobs.py) replaces its older self.
        if existing is not None and existing.origin != kind.origin:
            raise UsageError(
                f"two job kinds are named {kind.name!r} ({existing.origin} and {kind.origin}); "
                "rename one"
            )
        self._kinds[kind.name] = kind
        self.version += 1
        return kind

    def get(self, name: str) -> JobKind:
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise UnknownKind(f"unknown job kind or pipeline {name!r} (kinds: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[JobKind]:
        return iter(sorted(self._kinds.values(), key=lambda k: k.name))


REGISTRY = Registry()
#: Where ``@job`` registers: the global registry, or a project's while its jobs.py loads.
ACTIVE: contextvars.ContextVar[Registry] = contextvars.ContextVar("registry", default=REGISTRY)


def job(
    name: str | None = None,
    *,
    retries: int | Retry | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    stop_on_error: bool | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., Iterable[Any]]], JobKind]:
    """Register a job kind. Decorate its plan function, which takes the params and returns items.

    ``retries`` is how many more attempts a failing item gets (or a :class:`Retry`); ``timeout`` is
    the most seconds one attempt may take.
    """

    def decorate(plan: Callable[..., Iterable[Any]]) -> JobKind:
        kind_name = name or plan.__name__.replace("_", "-")
        return ACTIVE.get().add(
            JobKind(
                kind_name,
                plan,
                retries=retries,
                workers=workers,
                timeout=timeout,
                stop_on_error=stop_on_error,
                description=description,
            )
        )

    return decorate
