"""A kind's params: one Pydantic model, declared once, that plans, runs and documents the kind.

A kind declares its params either as a :class:`Params` subclass its plan function takes
(``def plan(p: MigrateParams)``), or as the plan function's own parameters, from which a model is
made. Either way the runner hands items the same instance as ``ctx.params``: typed fields
(``ctx.params.start`` is a ``date``), which also read as a mapping of the JSON values the job
records (``ctx.params["start"]`` is ``"2024-04-01"``), as params were before they had a model.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, PrivateAttr, create_model
from pydantic_core import to_jsonable_python

from batchyard.errors import ParamError


class Params(BaseModel):
    """The params of a job: typed fields, frozen while the job runs.

    ``params.start`` is the field as its type says (a ``date``). ``params["start"]`` reads the
    params as a mapping of JSON values, as the job records them (``"2024-04-01"``), so code written
    for a plain dict of params keeps working; ``params.get("start", default)`` and
    ``"start" in params`` too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    _json: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._json = to_jsonable_python(self.model_dump(), fallback=str)

    def __getitem__(self, name: str) -> Any:
        return self._json[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The param's JSON value (``None`` is a value), or ``default`` if there is no such param."""
        return self._json.get(name, default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in type(self).model_fields


def declared_model(plan: Callable[..., Any]) -> tuple[str, type[Params]] | None:
    """``(argument, model)`` when the plan function takes a :class:`Params` subclass."""
    for name, annotation in _hints(plan, extras=False).items():
        if inspect.isclass(annotation) and issubclass(annotation, Params):
            return name, annotation
    return None


def settings_arg(plan: Callable[..., Any]) -> str | None:
    """The plan function's argument that takes the project's settings (passed in, not a param)."""
    return next((n for n, t in _hints(plan, extras=False).items() if _is_settings(t)), None)


def model_of(name: str, plan: Callable[..., Any]) -> type[Params]:
    """The params model of a kind: the one its plan function declares, else one made from the
    plan function's parameters (their annotations, ``Annotated`` constraints and defaults)."""
    declared = declared_model(plan)
    if declared is not None:
        others = [
            p
            for p in _parameters(plan)
            if p.name != declared[0] and not _is_settings(_hints(plan).get(p.name))
        ]
        if others:
            raise ParamError(
                f"job {name!r}: the plan function takes its params as {declared[1].__name__}; "
                f"move {others[0].name!r} into that model"
            )
        return declared[1]
    hints = _hints(plan)
    fields: dict[str, Any] = {}
    for param in _parameters(plan):
        annotation = hints.get(param.name, Any)
        if _is_settings(annotation):
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    model: type[Params] = create_model(
        f"{name.title().replace('-', '').replace('_', '')}Params",
        __base__=Params,
        **fields,
    )
    return model


def coerce_text(value: Any, annotation: Any) -> Any:
    """Turn command-line text into what pydantic can validate: JSON or commas for lists and dicts."""
    if not isinstance(value, str):
        return value
    origin = getattr(annotation, "__origin__", None)
    if annotation in (list, dict, tuple, set) or origin in (list, dict, tuple, set):
        stripped = value.strip()
        if stripped.startswith(("[", "{")):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ParamError(f"{value!r} is not valid JSON: {exc}") from exc
        if origin is dict or annotation is dict:
            return value
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _parameters(plan: Callable[..., Any]) -> Iterable[inspect.Parameter]:
    for param in inspect.signature(plan).parameters.values():
        if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            yield param


def _hints(plan: Callable[..., Any], *, extras: bool = True) -> dict[str, Any]:
    try:
        # With their Annotated constraints (``Annotated[int, Field(ge=1)]``): checked as params.
        return get_type_hints(plan, include_extras=extras)
    except Exception:
        return {}


def _is_settings(annotation: Any) -> bool:
    return (
        getattr(annotation, "__name__", "") == "Settings"
        and getattr(annotation, "__module__", "") == "batchyard.config"
    )
