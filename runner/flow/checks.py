"""The second pass: what a schema cannot check, over each flow and across all of them.

- `$N` (and `captures[N]`) within the capture groups its conditions provide;
- variables read by expressions are set somewhere (the flow, or a flow that calls it);
- `goto`/`call` targets exist (short names resolved: a block of the flow, else a flow);
- connection-level steps (`linger`, `myevents`, `divert_events`, `resume`) only in
  outbound flows, directly or through a called flow;
- flow names unique across every file;
- no capture or expression inside a FreeSWITCH `${...}` the flow wrote (`${$1}`) in what
  FreeSWITCH expands, unless the step is `raw`: the value would choose what it expands.
Regexes, expressions, durations and CUSTOM subclasses are checked while the models
validate, so their errors come with the others of the same file.
Also stamps every flow and step with its source position.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel

from runner.flow.conditions import RegexCondition, static_groups
from runner.flow.errors import FlowError, SourcePos, did_you_mean
from runner.flow.expr import Expression
from runner.flow.models import Flow
from runner.flow.steps import (
    CONNECTION_STEPS,
    ApiStep,
    BgapiStep,
    CallStep,
    ExecuteStep,
    GotoStep,
    IfStep,
    RepeatStep,
    SetStep,
    StepBase,
    Target,
    WaitStep,
    XferextStep,
)
from runner.flow.template import Capture, Expr, Template
from runner.flow.translate import resolve
from runner.flow.yamldoc import DataPath, Document, SourceFile

EXPANDING_STEPS: Final = (ExecuteStep, XferextStep, ApiStep, BgapiStep)
"""Steps whose text FreeSWITCH expands (application arguments, api commands)."""

BUILTIN_VARS: Final = frozenset({"error"})
"""Variables the engine sets itself: `error` holds the failure message in on_error."""

_NESTED_STEP_FIELDS: Final = frozenset({"then", "else_", "cases", "default", "steps", "on_timeout"})


@dataclass(slots=True)
class Loaded:
    """A validated flow with the file and document it came from."""

    flow: Flow
    source: SourceFile
    document: Document

    def error(
        self,
        path: DataPath,
        message: str,
        *,
        key: bool = False,
        offset: int | None = None,
        part: str | None = None,
    ) -> FlowError:
        """A FlowError at `path` of this flow's document: its key, a character `offset`
        into its value (into `part` of it, for short forms), or the value."""
        real, complete = resolve(self.document.data, path)
        mark = None
        if complete and key:
            mark = self.document.keys.get(real)
        if offset is not None and mark is None:
            mark = self.source.inside(self.document, real, offset, None if complete else part)
        if mark is None:
            mark = self.document.values.get(real)
        return self.source.error(mark, message)

    def pos(self, path: DataPath) -> SourcePos:
        real, _ = resolve(self.document.data, path)
        line, column = self.document.values.get(real, (0, 0))
        return SourcePos(self.source.path, line + 1, column + 1)


def stamp_positions(item: Loaded) -> None:
    """Give the flow and each of its steps its file position and flow name, and each regex
    condition its position (a regex that times out at run time is reported there)."""
    item.flow._pos = item.pos(())
    for path, step in item.flow.walk():
        step._pos = item.pos(path)
        step._flow = item.flow.flow
    for path, condition in _regex_conditions(item.flow, ()):
        condition._pos = item.pos(path)


def _regex_conditions(obj: object, path: DataPath) -> Iterator[tuple[DataPath, RegexCondition]]:
    """Every regex condition in a model, nested steps and conditions included."""
    if isinstance(obj, RegexCondition):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if isinstance(value, BaseModel | tuple | dict):
                yield from _regex_conditions(value, (*path, info.alias or name))
    elif isinstance(obj, tuple):
        for index, item in enumerate(obj):
            yield from _regex_conditions(item, (*path, index))
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _regex_conditions(item, (*path, key))


# --- templates and expressions, with the captures in scope -----------------------------

Found = tuple[DataPath, Template | Expression, int | None]
"""A template or expression, its data path, and the captures in scope (None: none)."""


_FIELDS: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {}


def _fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(attribute, YAML key) of a model's fields that may hold templates, cached."""
    fields = _FIELDS.get(model)
    if fields is None:
        nested = _NESTED_STEP_FIELDS if issubclass(model, StepBase) else frozenset()
        fields = tuple(
            (name, info.alias or name)
            for name, info in model.model_fields.items()
            if name not in nested
        )
        _FIELDS[model] = fields
    return fields


def _values(obj: object, path: DataPath, captures: int | None) -> Iterator[Found]:
    """Templates/expressions inside a model's fields, not descending into nested steps."""
    if obj is None or isinstance(obj, str | int | float):
        return
    if isinstance(obj, Template | Expression):
        yield path, obj, captures
    elif isinstance(obj, BaseModel):
        for name, key in _fields(type(obj)):
            value = getattr(obj, name)
            if value is not None and not isinstance(value, str | int | float):
                yield from _values(value, (*path, key), captures)
    elif isinstance(obj, tuple):
        for index, item in enumerate(obj):
            yield from _values(item, (*path, index), captures)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _values(item, (*path, key), captures)


def _step_values(
    steps: tuple[StepBase, ...], path: DataPath, captures: int | None
) -> Iterator[Found]:
    for index, step in enumerate(steps):
        step_path = (*path, index)
        yield from _values(step, step_path, captures)
        for child_path, children in step.children():
            inner = captures
            if isinstance(step, IfStep) and child_path == ("then",):
                # A then-branch sees its own condition's captures, as dialplan actions do.
                inner = static_groups(step.if_, captures)
            yield from _step_values(children, (*step_path, *child_path), inner)


def flow_values(flow: Flow) -> Iterator[Found]:
    """Every template and expression of a flow with the captures it may use."""
    captures = static_groups(flow.when)
    yield from _values(flow.when, ("when",), -1)
    yield from _values(flow.vars, ("vars",), captures)
    for path, steps in flow.step_lists():
        yield from _step_values(steps, path, captures)


def _text_of(value: Template | Expression) -> str:
    return value.source


def _capture_uses(value: Template | Expression) -> Iterator[tuple[int, int | None]]:
    """(capture number, offset in the text) for each `$N` / `captures[N]`."""
    if isinstance(value, Expression):
        for number in sorted(value.capture_refs):
            yield number, None
        return
    for part in value.parts:
        if isinstance(part, Capture):
            yield part.number, part.offset
        elif isinstance(part, Expr):
            for number in sorted(part.expression.capture_refs):
                yield number, part.offset


def _var_uses(value: Template | Expression) -> Iterator[tuple[str, int | None]]:
    if isinstance(value, Expression):
        for name in sorted(value.var_refs):
            yield name, None
        return
    for part in value.parts:
        if isinstance(part, Expr):
            for name in sorted(part.expression.var_refs):
                yield name, part.offset


def _capture_errors(item: Loaded) -> Iterator[FlowError]:
    for path, value, captures in flow_values(item.flow):
        for number, offset in _capture_uses(value):
            if captures == -1:
                message = f"'${number}': captures are not known yet in the flow's own conditions"
            elif number <= (captures or 0):
                continue
            elif not captures:
                message = f"'${number}' refers to a capture, but the conditions have no groups"
            else:
                have = "1 group ($1)" if captures == 1 else f"{captures} groups ($1..${captures})"
                message = (
                    f"'${number}' refers to capture group {number}, but the conditions "
                    f"have only {have}"
                )
            yield item.error(path, message, offset=offset, part=_text_of(value))


def defined_vars(flow: Flow) -> set[str]:
    """Variables a flow sets: its vars, set steps, save: targets and repeat counters."""
    names = set(flow.vars)
    for _, step in flow.walk():
        if isinstance(step, SetStep):
            names.update(step.set)
        elif isinstance(step, ExecuteStep) and step.execute.save:
            names.add(step.execute.save)
        elif isinstance(step, ApiStep) and step.api.save:
            names.add(step.api.save)
        elif isinstance(step, BgapiStep) and step.bgapi.save:
            names.add(step.bgapi.save)
        elif isinstance(step, WaitStep) and step.wait.save:
            names.add(step.wait.save)
        elif isinstance(step, RepeatStep) and step.counter:
            names.add(step.counter)
    return names


def _var_errors(item: Loaded, known: set[str]) -> Iterator[FlowError]:
    for path, value, _ in flow_values(item.flow):
        for name, offset in _var_uses(value):
            if name not in known:
                yield item.error(
                    path,
                    f"unknown variable '{name}'{did_you_mean(name, known)}",
                    offset=offset,
                    part=_text_of(value),
                )


def _expansion_hole_errors(item: Loaded) -> Iterator[FlowError]:
    """`${$1}`: a substitution inside a FreeSWITCH expansion the flow's text opened."""
    for step_path, step in item.flow.walk():
        if isinstance(step, EXPANDING_STEPS) and not step.raw:
            yield from _holes_in(item, _values(step, step_path, None))


def _holes_in(item: Loaded, found: Iterator[Found]) -> Iterator[FlowError]:
    for path, value, _ in found:
        if not isinstance(value, Template):
            continue
        for part in value.expansion_holes:
            if isinstance(part, Capture):
                what = f"'${part.number}'"
            else:
                what = f"'${{{{ {part.expression.source} }}}}'"
            yield item.error(
                path,
                f"{what} is inside a FreeSWITCH ${{...}} written in the flow, so the value "
                "would choose what FreeSWITCH expands (${system(...)} runs a shell command); "
                "refused — write the variable name out, or mark the step `raw: true` only if "
                "the value is trusted",
                offset=part.offset,
                part=value.source,
            )


# --- goto/call targets, outbound-only steps ---------------------------------------------


def _targets(flow: Flow) -> Iterator[tuple[DataPath, Target]]:
    for path, step in flow.walk():
        if isinstance(step, GotoStep):
            yield (*path, "goto"), step.goto
        elif isinstance(step, CallStep):
            yield (*path, "call"), step.call


def _resolve_targets(item: Loaded, *, blocks: set[str], flows: set[str]) -> Iterator[FlowError]:
    for path, target in _targets(item.flow):
        if target.name is not None:
            name = target.name
            if name in blocks and name in flows:
                yield item.error(
                    path,
                    f"'{name}' is both a block of this flow and a flow; "
                    f"write {{block: {name}}} or {{flow: {name}}}",
                )
            elif name in blocks:
                target._kind, target._target = "block", name
            elif name in flows:
                target._kind, target._target = "flow", name
            else:
                hint = did_you_mean(name, blocks | flows)
                yield item.error(path, f"unknown block or flow '{name}'{hint}")
        elif target.block is not None and target.block not in blocks:
            hint = did_you_mean(target.block, blocks)
            yield item.error(
                (*path, "block"), f"unknown block '{target.block}' in flow '{item.flow.flow}'{hint}"
            )
        elif target.flow is not None and target.flow not in flows:
            hint = did_you_mean(target.flow, flows)
            yield item.error((*path, "flow"), f"unknown flow '{target.flow}'{hint}")


def _connection_steps(flow: Flow) -> Iterator[tuple[DataPath, StepBase]]:
    for path, step in flow.walk():
        if step.kind in CONNECTION_STEPS:
            yield path, step


def _outbound_only(flows: dict[str, Loaded]) -> dict[str, str]:
    """Flows that use connection-level steps, directly or through goto/call: name -> step."""
    found: dict[str, str] = {}
    for name, item in flows.items():
        for _, step in _connection_steps(item.flow):
            found[name] = step.kind
            break
    changed = True
    while changed:
        changed = False
        for name, item in flows.items():
            if name in found:
                continue
            for _, target in _targets(item.flow):
                if target.kind == "flow" and target.target in found:
                    found[name] = found[target.target]
                    changed = True
                    break
    return found


def _trigger_words(flow: Flow) -> str:
    trigger = flow.trigger
    assert trigger is not None and trigger.event is not None
    if trigger.subclass:
        return f"{trigger.event} {trigger.subclass}"
    return trigger.event


def _outbound_errors(item: Loaded, needs: dict[str, str]) -> Iterator[FlowError]:
    flow = item.flow
    if flow.trigger is None or flow.outbound:
        return
    for path, step in _connection_steps(flow):
        yield item.error(
            path,
            f"'{step.kind}' acts on an outbound socket connection: it works only in outbound "
            f"flows (trigger: {{outbound: true}}), and this flow is triggered by "
            f"{_trigger_words(flow)}",
        )
    for path, target in _targets(flow):
        if target.kind == "flow" and target.target in needs:
            yield item.error(
                path,
                f"flow '{target.target}' uses '{needs[target.target]}', which works only in "
                f"outbound flows, and this flow is triggered by {_trigger_words(flow)}",
            )


def _callers(flows: dict[str, Loaded]) -> dict[str, set[str]]:
    """For each flow, the flows that goto/call it, directly or not."""
    direct: dict[str, set[str]] = {name: set() for name in flows}
    for name, item in flows.items():
        for _, target in _targets(item.flow):
            if target.kind == "flow" and target.target in direct:
                direct[target.target].add(name)
    result: dict[str, set[str]] = {}
    for name in flows:
        seen: set[str] = set()
        todo = list(direct[name])
        while todo:
            caller = todo.pop()
            if caller not in seen:
                seen.add(caller)
                todo.extend(direct.get(caller, ()))
        result[name] = seen
    return result


def check_flows(items: list[Loaded], other_names: dict[str, SourcePos]) -> list[FlowError]:
    """Every cross-flow and second-pass error; `other_names` are flows that failed to load.

    Names of flows that failed validation still count as targets, so one broken file does
    not make every goto to it an error too.
    """
    errors: list[FlowError] = []
    flows: dict[str, Loaded] = {}
    for item in items:
        stamp_positions(item)
        name = item.flow.flow
        first = flows.get(name)
        earlier = first.flow.pos if first is not None else other_names.get(name)
        if earlier is not None:
            errors.append(
                item.error(("flow",), f"duplicate flow name '{name}' (also defined at {earlier})")
            )
        else:
            flows[name] = item
    names = set(flows) | set(other_names)
    for item in items:
        errors.extend(_resolve_targets(item, blocks=set(item.flow.blocks), flows=names))
    needs = _outbound_only(flows)
    callers = _callers(flows)
    for item in items:
        errors.extend(_capture_errors(item))
        errors.extend(_expansion_hole_errors(item))
        known_vars = defined_vars(item.flow) | BUILTIN_VARS
        for caller in callers.get(item.flow.flow, ()):
            known_vars |= defined_vars(flows[caller].flow)
        errors.extend(_var_errors(item, known_vars))
        errors.extend(_outbound_errors(item, needs))
    return errors
