"""A warning for goto/call cycles that never wait on the switch.

`a: [{set: {x: 1}}, {goto: b}]` with `b: [{goto: a}]` validates, yet an instance that
enters it runs steps forever without waiting for anything: the engine's step budget
ends it at run time, and `eslflow validate` warns here, before it ships.

The graph: one node per step list a goto/call can enter (a flow's `steps`, each block),
one edge per goto/call that can be reached from the start of its list without passing a
step that waits on the switch. A step waits when it sends FreeSWITCH a command or waits
for an event or the clock: everything but `set`, `log`, `if`, `switch`, `repeat`,
`goto`, `call`, `stop` and `execute` with `wait: none`. A `call` waits when every path
through what it calls does. A cycle of such edges is the warning, with every jump's
place. Conservative: a wait inside one branch of an `if` does not count, so a warning
may name a loop that waits on some paths; a silent loop is never missed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from runner.flow.errors import SourcePos
from runner.flow.models import Flow
from runner.flow.steps import CallStep, ExecuteStep, GotoStep, StepBase, StopStep, Target

Unit = tuple[str, str | None]
"""A step list a goto/call can enter: (flow, block), block None for the flow's steps."""

_NEVER_WAIT = frozenset({"set", "log", "if", "switch", "repeat", "goto", "call", "stop"})


@dataclass(frozen=True, slots=True)
class _Jump:
    """A goto/call reachable from the start of `source` before any wait."""

    source: Unit
    target: Unit
    step: GotoStep | CallStep


def _target_unit(flow: Flow, target: Target) -> Unit:
    if target.kind == "block":
        return flow.flow, target.target
    return target.target, None


def _units(flow: Flow) -> Iterator[tuple[Unit, tuple[StepBase, ...]]]:
    yield (flow.flow, None), flow.steps
    for name, steps in flow.blocks.items():
        yield (flow.flow, name), steps


class _Graph:
    def __init__(self, flows: Mapping[str, Flow]) -> None:
        self.flows = flows
        self.units = {unit: steps for flow in flows.values() for unit, steps in _units(flow)}
        self.waits = self._waiting_units()

    def target(self, unit: Unit, jump: GotoStep | CallStep) -> Unit | None:
        where = jump.goto if isinstance(jump, GotoStep) else jump.call
        found = _target_unit(self.flows[unit[0]], where)
        return found if found in self.units else None

    def step_waits(self, unit: Unit, step: StepBase, waits: set[Unit]) -> bool:
        if isinstance(step, ExecuteStep):
            return step.execute.wait != "none"
        if isinstance(step, CallStep):
            return self.target(unit, step) in waits
        return step.kind not in _NEVER_WAIT

    def _waiting_units(self) -> set[Unit]:
        """Units every run of which waits (or stops) before it ends: a least fixpoint."""
        waits: set[Unit] = set()
        changed = True
        while changed:
            changed = False
            for unit, steps in self.units.items():
                if unit not in waits and self._always_waits(unit, steps, waits):
                    waits.add(unit)
                    changed = True
        return waits

    def _always_waits(self, unit: Unit, steps: tuple[StepBase, ...], waits: set[Unit]) -> bool:
        for step in steps:
            if isinstance(step, StopStep) or self.step_waits(unit, step, waits):
                return True
            if isinstance(step, GotoStep):
                return self.target(unit, step) in waits
        return False

    def jumps(self, unit: Unit, steps: tuple[StepBase, ...]) -> Iterator[_Jump]:
        """The goto/calls of a list (nested ones too) reachable before a wait."""
        for step in steps:
            if isinstance(step, GotoStep | CallStep):
                target = self.target(unit, step)
                if target is not None:
                    yield _Jump(unit, target, step)
                if isinstance(step, GotoStep):
                    return
            if isinstance(step, StopStep) or self.step_waits(unit, step, self.waits):
                return
            for _, children in step.children():
                yield from self.jumps(unit, children)


def _cycle(start: Unit, edges: Mapping[Unit, list[_Jump]]) -> list[_Jump] | None:
    """The shortest cycle of jumps from `start` back to it, found breadth first."""
    paths: dict[Unit, list[_Jump]] = {start: []}
    todo = [start]
    while todo:
        following: list[Unit] = []
        for unit in todo:
            for jump in edges.get(unit, ()):
                path = [*paths[unit], jump]
                if jump.target == start:
                    return path
                if jump.target not in paths:
                    paths[jump.target] = path
                    following.append(jump.target)
        todo = following
    return None


def _where(jump: _Jump) -> str:
    flow, block = jump.target
    name = block if block is not None and flow == jump.source[0] else flow
    return f"{jump.step.kind} {name} at {jump.step.pos}"


def _place(jump: _Jump) -> SourcePos:
    return jump.step.pos or SourcePos("", 0, 0)


def silent_cycles(flows: Mapping[str, Flow]) -> list[tuple[SourcePos, str]]:
    """(place, message) of each goto/call cycle that never waits, placed at its first jump
    in the files and naming every jump in order. Flows must be checked (targets resolved,
    positions stamped)."""
    graph = _Graph(flows)
    edges: dict[Unit, list[_Jump]] = {}
    for unit, steps in graph.units.items():
        for jump in graph.jumps(unit, steps):
            edges.setdefault(unit, []).append(jump)
    found: list[tuple[SourcePos, str]] = []
    seen: set[frozenset[Unit]] = set()
    for unit in sorted(edges, key=lambda u: (u[0], u[1] or "")):
        cycle = _cycle(unit, edges)
        if cycle is None or frozenset(j.source for j in cycle) in seen:
            continue
        seen.add(frozenset(j.source for j in cycle))
        first = cycle.index(min(cycle, key=_place))
        cycle = cycle[first:] + cycle[:first]
        chain = " -> ".join(_where(jump) for jump in cycle)
        found.append(
            (
                _place(cycle[0]),
                "this goto/call cycle never waits on the switch (no execute, api, bgapi, "
                f"wait, sleep, hangup...): {chain}; an instance that enters it keeps the "
                "engine busy until its step budget ends it",
            )
        )
    return found
