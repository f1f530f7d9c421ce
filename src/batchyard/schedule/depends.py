"""``depends_on`` between pipelines: the order they run in, and the cycles refused.

A pipeline starts only after the pipelines it depends on succeeded. Within one batch (``run
--batch``, or the pipelines a schedule fires at the same time) the batch runs them in an order
where each comes after its upstreams; an upstream outside the batch is judged by its latest run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from batchyard import pipelines
from batchyard.errors import ConfigError


def graph(root: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """``depends_on`` of ``names`` and of every pipeline they reach through it.

    Raises :class:`ConfigError` naming the file and line of a ``depends_on`` that names no
    pipeline, or the pipelines of a cycle."""
    out: dict[str, list[str]] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        pipeline = pipelines.load(root, name)
        for dep in pipeline.depends_on:
            if dep == name or not pipelines.exists(root, dep):
                what = "itself" if dep == name else f"no pipeline {dep!r}"
                raise ConfigError(
                    f"{pipelines.where(pipeline, 'depends_on')}: depends_on: {what}"
                    + ("" if dep == name else f" in {root / pipelines.FOLDER}")
                )
        out[name] = list(pipeline.depends_on)
        todo.extend(pipeline.depends_on)
    cycle = find_cycle(out)
    if cycle:
        raise ConfigError(
            f"{pipelines.FOLDER}/: depends_on makes a cycle: {' -> '.join(cycle)}; "
            "a pipeline cannot wait for itself"
        )
    return out


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in ``deps`` as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in deps.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(deps):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def order(names: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[str]:
    """``names`` in an order where each comes after those of ``names`` it depends on
    (otherwise as given). ``deps`` has no cycle (:func:`graph` checked)."""
    wanted = set(names)
    placed: list[str] = []
    done: set[str] = set()

    def place(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for dep in deps.get(name, ()):
            if dep in wanted:
                place(dep)
        placed.append(name)

    for name in names:
        place(name)
    return placed
