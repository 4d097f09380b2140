"""Pydantic's validation errors -> `path:line:col: message` in the flow writer's words.

Pydantic reports a `loc` (keys, list indexes and our discriminator tags such as
`<execute>`); we follow it through the document's data to the YAML node (skipping the
tags, and the index of a single item written without a list), as dagster's
`source_position.py` does, and point at the key for key problems and at the value for
value problems. Messages name the key or value and suggest the nearest valid word.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from runner.flow.conditions import CONDITION_KINDS, condition_kind_error
from runner.flow.errors import FlowError, did_you_mean, one_of
from runner.flow.fields import ERROR_TYPE, describe_input
from runner.flow.steps import STEP_KINDS, Target, step_kind_error
from runner.flow.yamldoc import DataPath, Document, Mark, SourceFile

Loc = tuple[str | int, ...]

_TYPE_WORDS = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "none_required": "must be empty",
}


def _is_tag(segment: str | int) -> bool:
    return isinstance(segment, str) and segment.startswith("<") and segment.endswith(">")


def resolve(data: object, loc: Loc) -> tuple[DataPath, bool]:
    """The data path `loc` reaches, and whether it reached all of it.

    Tags are skipped; an index into a mapping (a single condition written without a
    list) is skipped; `[key]` (pydantic's marker for a dict key) is dropped.
    """
    path: list[str | int] = []
    current = data
    for segment in loc:
        if _is_tag(segment) or segment == "[key]":
            continue
        if isinstance(current, dict):
            if isinstance(segment, int):
                continue
            if segment in current:
                path.append(segment)
                current = current[segment]
                continue
            return tuple(path), False
        if isinstance(current, list) and isinstance(segment, int) and 0 <= segment < len(current):
            path.append(segment)
            current = current[segment]
            continue
        return tuple(path), False
    return tuple(path), True


def _strip(annotation: Any) -> Any:
    """The type under Annotated/Optional wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(members) == 1:
                annotation = members[0]
                continue
            if len(models) == 1:
                annotation = models[0]
                continue
        return annotation


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class whose mapping is at `loc`, following fields and our tags."""
    current: Any = root
    for segment in loc:
        if _is_tag(segment):
            assert isinstance(segment, str)
            kind = segment[1:-1]
            current = STEP_KINDS.get(kind) or CONDITION_KINDS.get(kind)
            continue
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            for name, info in current.model_fields.items():
                if segment in (info.alias, name):
                    current = info.annotation
                    break
            else:
                return None
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (tuple, list) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return None
    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model's mapping accepts, as written in YAML."""
    hidden = {"name"} if model is Target else set()
    return [info.alias or name for name, info in model.model_fields.items() if name not in hidden]


def _key_name(loc: Loc) -> str | None:
    for segment in reversed(loc):
        if isinstance(segment, str) and not _is_tag(segment) and segment != "[key]":
            return segment
    return None


def _container(loc: Loc, root: str = "the flow") -> str:
    """How a message names the mapping at `loc`: `'execute'`, `the execute step`, `the flow`."""
    for segment in reversed(loc):
        if _is_tag(segment):
            assert isinstance(segment, str)
            kind = segment[1:-1]
            return f"the {kind} step" if kind in STEP_KINDS else "the condition"
        if isinstance(segment, str):
            return f"'{segment}'"
    return root


def _subject(loc: Loc, root: str = "the flow") -> str:
    key = _key_name(loc)
    if key is None:
        return root
    if loc and isinstance(loc[-1], int):
        return f"an item of '{key}'"
    return f"'{key}'"


def translate(
    error: ErrorDetails,
    root: type[BaseModel],
    source: SourceFile,
    document: Document,
    *,
    root_name: str = "the flow",
) -> FlowError:
    """One pydantic error as a FlowError at its YAML position.

    `root_name` is how messages name the document itself (`unknown key 'x' in the flow`).
    """
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")

    if kind == ERROR_TYPE:
        at: Sequence[str | int] = context.get("at", ())
        message = str(context["message"])
        if at:
            return _at(source, document, (*loc, *at), message, key=True)
        if loc and loc[-1] == "[key]":
            return _at(source, document, loc[:-1], message, key=True)
        return _at(source, document, loc, message, offset=context.get("offset"), part=value)

    if kind == "unknown_step":
        message, at = step_kind_error(value)
        return _at(source, document, (*loc, *at), message, key=bool(at))

    if kind == "unknown_condition":
        message, at = condition_kind_error(value)
        return _at(source, document, (*loc, *at), message, key=bool(at))

    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = model_at(root, loc[:-1])
        hint = did_you_mean(key, allowed_keys(model)) if model is not None else ""
        return _at(
            source,
            document,
            loc,
            f"unknown key '{key}' in {_container(loc[:-1], root_name)}{hint}",
            key=True,
        )

    if kind == "missing":
        key = str(loc[-1])
        return _at(
            source, document, loc[:-1], f"missing key '{key}' in {_container(loc[:-1], root_name)}"
        )

    if kind == "literal_error":
        expected = str(context.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        shown = describe_input(value)
        if not choices:  # Literal[True]: nothing to suggest
            wanted = "true" if expected == "True" else expected
            return _at(
                source, document, loc, f"{_subject(loc, root_name)} must be {wanted}, got {shown}"
            )
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        message = f"{_subject(loc, root_name)} must be {one_of(choices)}, got {shown}{hint}"
        return _at(source, document, loc, message)

    if kind in _TYPE_WORDS:
        message = f"{_subject(loc, root_name)} {_TYPE_WORDS[kind]}, got {describe_input(value)}"
        return _at(source, document, loc, message)

    if kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        return _at(
            source,
            document,
            loc,
            f"{_subject(loc, root_name)} must be {word} {bound}, got {describe_input(value)}",
        )

    if kind in ("less_than_equal", "less_than"):
        bound = context.get("le", context.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return _at(
            source,
            document,
            loc,
            f"{_subject(loc, root_name)} must be {word} {bound}, got {describe_input(value)}",
        )

    if kind == "too_short":
        least = context.get("min_length", 1)
        what = "must not be empty" if least == 1 else f"needs at least {least} items"
        return _at(source, document, loc, f"{_subject(loc, root_name)} {what}")

    return _at(source, document, loc, f"{_subject(loc, root_name)}: {error['msg']}")


def _at(
    source: SourceFile,
    document: Document,
    loc: Loc,
    message: str,
    *,
    key: bool = False,
    offset: int | None = None,
    part: object = None,
) -> FlowError:
    """A FlowError at `loc`: its key, a character `offset` into its value, or its value.

    When `loc` ends inside a short form (`api: "cmd args"` validated as {command, args}),
    `part` (the text that failed) is looked up in the scalar to keep the offset exact.
    """
    path, complete = resolve(document.data, loc)
    mark: Mark | None = None
    if complete and key and path and path in document.keys:
        mark = document.keys[path]
    elif offset is not None:
        if complete:
            mark = source.inside(document, path, offset)
        elif isinstance(part, str) and part:
            mark = source.inside(document, path, offset, part)
    if mark is None:
        mark = document.values.get(path)
    return source.error(mark, message)
