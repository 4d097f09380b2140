"""Which event headers the flows can ever read, so instances keep only those.

A waiting instance holds its trigger event, the event of its last completed step and
the events it saved. A FreeSWITCH channel event carries 70-200 headers (7-20 KB once
decoded); flows read a handful. The flow language records every data path its
expressions read (`Expression.reads`) and every header its conditions test, so the
set is known when the flows load. If any flow reads an event as a whole (`event`
itself, or `event[vars.name]`), instances keep everything.

Header names compare case-insensitively, as FreeSWITCH's do (runner/flow/headers.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from runner.flow.checks import flow_values
from runner.flow.conditions import EqualsCondition, ExistsCondition, RegexCondition
from runner.flow.expr import Expression
from runner.flow.flowset import FlowSet
from runner.flow.steps import ExecuteStep, WaitStep
from runner.flow.template import Expr, Template

# What the engine itself reads of the events an instance holds (the trace and the
# router see events before they are slimmed).
ENGINE_HEADERS = frozenset({"Event-Name", "Event-Subclass", "Unique-ID"})

_EVENT_NAMES = ("event", "trigger")


@dataclass(frozen=True)
class Interest:
    """The headers worth keeping; `names` is None when flows may read any header."""

    names: frozenset[str] | None

    @classmethod
    def of(cls, names: frozenset[str] | None) -> Interest:
        return cls(names)

    def slim(self, event: Mapping[str, str]) -> Mapping[str, str]:
        """`event` reduced to the headers of interest (itself when all are)."""
        if self.names is None:
            return event
        kept: dict[str, str] = {}
        missing: list[str] = []
        for name in self.names:
            value = event.get(name)
            if value is not None:
                kept[name] = value
            elif name not in ENGINE_HEADERS:
                missing.append(name)
        if missing:
            # A flow may have written a name in another case than the event carries it;
            # only a header of the same length can match (ASCII names fold in place).
            wanted = {n.casefold() for n in missing}
            lengths = {len(n) for n in missing}
            for name, value in event.items():
                if len(name) in lengths and name not in kept and name.casefold() in wanted:
                    kept[name] = value
        return kept


def _expressions(value: Template | Expression) -> Iterator[Expression]:
    if isinstance(value, Expression):
        yield value
        return
    for part in value.parts:
        if isinstance(part, Expr):
            yield part.expression


def _condition_fields(obj: object) -> Iterator[str]:
    if (
        isinstance(obj, RegexCondition | EqualsCondition | ExistsCondition)
        and obj.field is not None
    ):
        yield obj.field
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _condition_fields(getattr(obj, name))
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from _condition_fields(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _condition_fields(item)


def interest(flows: FlowSet) -> Interest:
    """The union, over every flow, of the headers it reads from events it holds."""
    names: set[str] = set(ENGINE_HEADERS)
    # Variables that hold saved events, in any flow (a called flow may read them).
    saved = {
        step.execute.save if isinstance(step, ExecuteStep) else step.wait.save
        for flow in flows
        for _, step in flow.walk()
        if isinstance(step, ExecuteStep | WaitStep)
    } - {None}
    for flow in flows:
        for _, value, _ in flow_values(flow):
            for expression in _expressions(value):
                for path in expression.reads:
                    base, keys = path[0], path[1:]
                    if base in _EVENT_NAMES:
                        if not keys or not isinstance(keys[0], str):
                            return Interest.of(None)
                        names.add(keys[0])
                    elif base == "vars":
                        if not keys:
                            return Interest.of(None)  # all variables, saved events too
                        if keys[0] in saved:
                            if len(keys) < 2 or not isinstance(keys[1], str):
                                return Interest.of(None)
                            names.add(keys[1])
        names.update(_condition_fields(flow))
    return Interest.of(frozenset(names))
