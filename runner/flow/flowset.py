"""A loaded, valid set of flows, and dialplan-like dispatch over it.

Flows with the same trigger are tried in order: lowest `priority` first, then by file
path and position. The first whose conditions hold runs; with `continue: true` the
search goes on after it, like the dialplan's `continue="true"`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from runner.flow.conditions import Captures, match
from runner.flow.errors import ExpressionError, FlowError
from runner.flow.models import Flow
from runner.flow.steps import WaitStep


@dataclass(frozen=True, slots=True, order=True)
class EventKey:
    """An event a flow needs: its name and, for CUSTOM, its subclass."""

    name: str
    subclass: str | None = None

    def __str__(self) -> str:
        return f"{self.name} {self.subclass}" if self.subclass else self.name


@dataclass(frozen=True, slots=True)
class Match:
    """A flow whose conditions hold, with the captures for its `$1..$9`."""

    flow: Flow
    captures: Captures


ErrorHandler = Callable[[Flow, ExpressionError], None]


def _order(flow: Flow) -> tuple[int, str, int, int]:
    pos = flow.pos
    return (flow.priority, flow.path, pos.line if pos else 0, pos.column if pos else 0)


class FlowSet:
    """Valid flows by name and trigger. Immutable: a reload builds a new set."""

    def __init__(self, flows: Iterable[Flow], warnings: Iterable[FlowError] = ()) -> None:
        self.flows: tuple[Flow, ...] = tuple(sorted(flows, key=_order))
        self.warnings: tuple[FlowError, ...] = tuple(sorted(warnings, key=FlowError.sort_key))
        """What the loader found questionable but valid (`eslflow validate` prints them)."""
        self._by_name = {flow.flow: flow for flow in self.flows}
        triggered: dict[EventKey, list[Flow]] = {}
        for flow in self.flows:
            if flow.trigger is not None and flow.trigger.event is not None:
                key = EventKey(flow.trigger.event, flow.trigger.subclass)
                triggered.setdefault(key, []).append(flow)
        self._by_trigger = {key: tuple(value) for key, value in triggered.items()}
        self.outbound: tuple[Flow, ...] = tuple(flow for flow in self.flows if flow.outbound)

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.flows)

    def __len__(self) -> int:
        return len(self.flows)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Flow:
        return self._by_name[name]

    def get(self, name: str) -> Flow | None:
        """The flow called `name` (for goto/call), or None."""
        return self._by_name.get(name)

    def triggered_by(self, event: str, subclass: str | None = None) -> tuple[Flow, ...]:
        """Flows started by this event, in dispatch order."""
        key = EventKey(event, subclass if event == "CUSTOM" else None)
        return self._by_trigger.get(key, ())

    def subscriptions(self) -> frozenset[EventKey]:
        """Every event the flows trigger on or wait for (the engine adds its own needs)."""
        keys = set(self._by_trigger)
        for flow in self.flows:
            for _, step in flow.walk():
                if isinstance(step, WaitStep):
                    keys.add(EventKey(step.wait.event, step.wait.subclass))
        return frozenset(keys)

    def match_event(
        self,
        headers: Mapping[str, str],
        now: dt.datetime,
        on_error: ErrorHandler | None = None,
    ) -> list[Match]:
        """The flows an event starts, dialplan-style (first match, more with continue).

        The event is identified by its `Event-Name` and `Event-Subclass` headers. A flow
        whose conditions raise ExpressionError does not match; `on_error` hears of it.
        """
        name = headers.get("Event-Name", "")
        candidates = self.triggered_by(name, headers.get("Event-Subclass"))
        return _dispatch(candidates, headers, now, on_error)

    def match_outbound(
        self,
        channel_data: Mapping[str, str],
        now: dt.datetime,
        on_error: ErrorHandler | None = None,
    ) -> Match | None:
        """The outbound flow for a new socket connection, tested on its channel data."""
        matches = _dispatch(self.outbound, channel_data, now, on_error, first_only=True)
        return matches[0] if matches else None


def _dispatch(
    candidates: Iterable[Flow],
    headers: Mapping[str, str],
    now: dt.datetime,
    on_error: ErrorHandler | None,
    first_only: bool = False,
) -> list[Match]:
    found: list[Match] = []
    for flow in candidates:
        try:
            captures = match(flow.when, headers, now)
        except ExpressionError as exc:
            if on_error is not None:
                on_error(flow, exc)
            continue
        if captures is None:
            continue
        found.append(Match(flow, captures))
        if first_only or not flow.continue_:
            break
    return found
