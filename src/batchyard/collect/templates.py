"""URL, query, header and body templates: ``{date}``, ``{key}``, ``{season}``, ``{page}`` ...

Templates are Python format strings, so ``{date:%Y%m%d}`` formats a date. Every variable is checked
before any request is sent: a name that no item provides is a usage error naming the valid ones.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from batchyard.errors import ParamError

_FORMATTER = string.Formatter()
_WHOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Variables every paginated request has.
PAGE_VARS = ("page", "offset", "limit", "cursor")


def names(text: str, where: str) -> list[str]:
    """The variables ``text`` refers to (``{date.year}`` refers to ``date``)."""
    found: list[str] = []
    try:
        for _literal, field, _spec, _conv in _FORMATTER.parse(text):
            if field is None:
                continue
            root = re.split(r"[.\[]", field, maxsplit=1)[0]
            if not root or root.isdigit():
                raise ParamError(
                    f"{where}: {{{field}}} needs a variable name; write a literal brace as {{{{ or }}}}"
                )
            found.append(root)
    except ValueError as exc:
        raise ParamError(
            f"{where}: {exc} in {text!r}; write a literal brace as {{{{ or }}}}"
        ) from exc
    return found


def strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every template string inside a JSON-like value, with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from strings(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from strings(v, f"{where}[{i}]")


def check(templates: Mapping[str, Any], valid: set[str]) -> None:
    """Raise a ParamError for the first variable that is not in ``valid``."""
    for top, value in templates.items():
        for where, text in strings(value, top):
            for name in names(text, where):
                if name not in valid:
                    raise ParamError(
                        f"{where}: unknown template variable {{{name}}} in {text!r} "
                        f"(valid: {', '.join('{' + v + '}' for v in sorted(valid))})"
                    )


def render(text: str, variables: Mapping[str, Any]) -> str:
    try:
        return text.format_map(variables)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise ParamError(f"cannot fill in {text!r}: {type(exc).__name__}: {exc}") from exc


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """A JSON-like value with every string filled in; ``"{season}"`` alone keeps its type."""
    if isinstance(value, str):
        whole = _WHOLE.fullmatch(value)
        if whole and whole.group(1) in variables:
            found = variables[whole.group(1)]
            return found.isoformat() if isinstance(found, date) else found
        return render(value, variables)
    if isinstance(value, Mapping):
        return {k: render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, variables) for v in value]
    return value
