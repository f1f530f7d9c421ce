"""Option values read without pydantic: text, integers and numbers (with their ranges), paths,
and lists of them.

Typer checks each parameter's value through a pydantic ``TypeAdapter`` it builds on first use;
loading pydantic and building those took longer than everything else ``batchyard jobs list``
does. These parameters need no more than ``int()`` and ``float()``, and say what is wrong in the
same words (paths are checked by Typer's own function). Anything else (choices, dates, flags
given as words) keeps Typer's way, and so
does every parameter if Typer's insides ever change shape.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # pragma: no cover - another Typer: it checks every value itself
    RuntimeParam = None  # type: ignore[assignment,misc]

_NOT_A = {
    int: "Input should be a valid integer, unable to parse string as an integer",
    float: "Input should be a valid number, unable to parse string as a number",
}


def plain(param: Any) -> None:
    """Have ``param`` read its value without pydantic, when its type lets it."""
    descriptor = getattr(param, "type_descriptor", None)
    if (
        RuntimeParam is None
        or descriptor is None
        or getattr(param, "_runtime_param", 0) is not None
    ):
        return
    info = descriptor.parameter_info
    annotation = _without_none(descriptor.annotation)
    many = get_origin(annotation) is list
    leaf = get_args(annotation)[0] if many else annotation
    special = (info.parser, getattr(info, "clamp", False), getattr(info, "click_type", None))
    if leaf is Path and info.path_type not in (None, Path):
        return
    if leaf not in (str, int, float, bool, Path) or any(special) or descriptor.is_file:
        return
    param._runtime_param = _Plain(
        parameter_info=info, annotation=descriptor.annotation, leaf=leaf, many=many
    )


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Plain(RuntimeParam):
        leaf: type = str
        many: bool = False

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.many:
                return [self._one(v, param, ctx) for v in value]
            return self._one(value, param, ctx)

        def _one(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.leaf is str:
                return value if isinstance(value, str) else str(value)
            if self.leaf is bool:
                if isinstance(value, bool):
                    return value
                # A flag given as a word ("yes"): as Typer reads it.
                typer_way = build_runtime_param(param.type_descriptor)
                return typer_way._coerce_value(value, param=param, ctx=ctx)
            if self.leaf is Path:
                # Given a Path (not text), Typer's check of it needs no pydantic.
                path = value if isinstance(value, Path) else Path(value)
                return coerce_cli_path(
                    path, self.parameter_info, path_type=Path, param=param, ctx=ctx
                )
            number: float
            if isinstance(value, int | float) and not isinstance(value, bool):
                number = value
            else:
                try:
                    number = self.leaf(str(value).strip())
                except ValueError:
                    raise BadParameter(_NOT_A[self.leaf], ctx=ctx, param=param) from None
            low, high = self.parameter_info.min, self.parameter_info.max
            if low is not None and number < low:
                raise BadParameter(
                    f"Input should be greater than or equal to {low}", ctx=ctx, param=param
                )
            if high is not None and number > high:
                raise BadParameter(
                    f"Input should be less than or equal to {high}", ctx=ctx, param=param
                )
            return number
