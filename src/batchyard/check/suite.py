"""A validation suite: rules per table, read from YAML (errors name file:line:column) and written back.

suite: sports
tables:
  bets:
    - {rule: not_null, column: stake}
    - {rule: between, column: stake, min: 0.01, max: 100000}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from batchyard.check.rules import RULE_NAMES, RULE_TYPES, Rule
from batchyard.errors import RulesError

SCHEMA_FILE = Path(__file__).with_name("rules.schema.json")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Suite(BaseModel):
    """A named set of rules, per table."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(
        alias="suite", description="Names the suite: reports compare runs of one suite."
    )
    description: str | None = None
    where: str | None = Field(None, description="A SQL condition applied to every rule.")
    tables: dict[str, list[Rule]] = Field(description="The rules of each table (or file).")

    # -- reading and writing --------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, source: str = "<rules>") -> Suite:
        """Parse a rules file; any error names ``source:line:column``."""
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            if node is None:
                raise RulesError(f"{source}: the file is empty; it needs `suite:` and `tables:`")
            data = yaml.SafeLoader(text).construct_document(node)
        except (yaml.YAMLError, RecursionError) as exc:
            raise RulesError(_yaml_problem(exc, text, source)) from None
        if not isinstance(data, dict):
            raise RulesError(
                f"{_at(source, node)}: a rules file is a mapping with suite and tables"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RulesError(_explain(exc, node, source)) from None

    @classmethod
    def load(cls, path: str | Path) -> Suite:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise RulesError(f"{p}: cannot read the rules file: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RulesError(
                f"{p}: not UTF-8 text (byte {exc.start}); a rules file is YAML, written in UTF-8"
            ) from None
        return cls.from_yaml(text, str(p))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"suite": self.name}
        if self.description:
            out["description"] = self.description
        if self.where:
            out["where"] = self.where
        out["tables"] = {t: [rule_to_dict(r) for r in rules] for t, rules in self.tables.items()}
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def json_schema() -> dict[str, Any]:
        schema = Suite.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "batchyard rules"
        return schema

    # -- for the engine -------------------------------------------------------------------------

    def only(self, tables: Sequence[str]) -> Suite:
        """The suite cut down to ``tables``."""
        unknown = [t for t in tables if t not in self.tables]
        if unknown:
            raise RulesError(
                f"--table {unknown[0]}: the suite {self.name!r} has no rules for it (it has: "
                f"{', '.join(self.tables)}){did_you_mean(unknown[0], self.tables)}"
            )
        return self.model_copy(update={"tables": {t: self.tables[t] for t in tables}})


def rule_to_dict(rule: Any) -> dict[str, Any]:
    """A rule as its YAML mapping: ``rule`` first, then only what differs from the defaults."""
    body = rule.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"rule"})
    return {"rule": rule.kind, **body}


def _yaml_problem(exc: BaseException, text: str, source: str) -> str:
    """What is wrong with a file that is not YAML rules, at ``source:line:column`` where known."""
    if isinstance(exc, RecursionError):
        return f"{source}: not valid rules: lists or mappings nested too deeply"
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        return f"{source}:{line}:{column}: not valid YAML: {exc.reason} (#x{exc.character:04x})"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = str(getattr(exc, "problem", None) or exc)
    tag = re.search(r"constructor for the tag '([^']*)'", problem)
    if isinstance(exc, yaml.constructor.ConstructorError) and tag:
        # Rules are plain data: a tag that would build a Python object (or any unknown one) is
        # refused by name, never run.
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return (
            f"{where}: not valid rules: the YAML tag {name} is not allowed (rules are plain "
            "mappings, lists, strings and numbers)"
        )
    return f"{where}: not valid YAML: {problem}"


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def find_node(
    node: yaml.Node, loc: Sequence[Any], *, key: bool = False, skip_missing: bool = True
) -> tuple[yaml.Node, list[Any]]:
    """The deepest node of a YAML document along a validation error's ``loc`` (its last key's
    node with ``key``) and the path followed. A part the file does not hold (the tag of a rule
    type) is passed over with ``skip_missing``; otherwise the walk stops there."""
    path: list[Any] = []
    for i, part in enumerate(loc):
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is not None:
                found = pair[0] if key and i == len(loc) - 1 else pair[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            found = node.value[part]
        if found is None:
            if skip_missing:
                continue
            break
        node = found
        path.append(part)
    return node, path


def _explain(exc: ValidationError, root: yaml.Node, source: str) -> str:
    err = exc.errors()[0]
    node, path = find_node(root, err["loc"], key=err["type"] == "extra_forbidden")
    where = _at(source, node)
    place = ".".join(str(p) for p in path)
    kind = err["type"]
    if kind == "union_tag_invalid":
        tag = str((err.get("ctx") or {}).get("tag", ""))
        return (
            f"{where}: unknown rule type {tag!r}{did_you_mean(tag, RULE_NAMES)} "
            f"(valid: {', '.join(RULE_NAMES)})"
        )
    if kind == "union_tag_not_found":
        return f"{where}: {place}: a rule needs `rule:`, one of {', '.join(RULE_NAMES)}"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        fields = _fields_of(err["loc"])
        return f"{where}: {place}: unknown field {name!r}{did_you_mean(name, fields)}"
    if kind == "missing":
        return f"{where}: {place or 'the file'}: missing {str(err['loc'][-1]).rstrip('_')!r}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {place}: {msg}"


def _fields_of(loc: Sequence[int | str]) -> list[str]:
    for part in loc:
        for t in RULE_TYPES:
            if t.model_fields["rule"].default == part:
                return [f.alias or n for n, f in t.model_fields.items()]
    return ["suite", "description", "where", "tables"]
