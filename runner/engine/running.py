"""What a step executor sees of the instance that runs it: the `Running` protocol.

`steps.py` is written against this protocol, not against `FlowInstance`, so the two
modules do not import each other: the instance imports the executors, and the
executors know only the few attributes and calls listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

import anyio

from runner.engine.link import Link
from runner.flow.context import RenderContext
from runner.flow.flowset import FlowSet
from runner.flow.models import Flow
from runner.flow.steps import Step

EventAccepts = Callable[[Mapping[str, str]], bool]


class Wait:
    """An armed wait: which event the instance takes, and the one it got."""

    __slots__ = ("accepts", "any_channel", "done", "error", "event", "name", "offline")

    def __init__(self, name: str, accepts: EventAccepts, any_channel: bool) -> None:
        self.name = name
        self.accepts = accepts
        self.any_channel = any_channel
        self.done = anyio.Event()
        self.event: Mapping[str, str] | None = None
        # A wait condition that raised: the waiting step fails with it.
        self.error: Exception | None = None
        # Armed while the inbound connection was down: its command goes out on the next
        # connection, so a reconnect cannot have hidden its event (engine/resync.py).
        self.offline = False


class Running(Protocol):
    """The running instance, as its steps use it (FlowInstance implements it)."""

    flow: Flow
    flows: FlowSet
    link: Link
    uuid: str
    trigger: Mapping[str, str]
    event: Mapping[str, str]
    captures: tuple[str, ...]
    vars: dict[str, object]
    clock: Callable[[], datetime]
    depth: int
    hung_up: bool
    after_hangup: bool

    def context(self) -> RenderContext:
        """What templates and conditions see now."""
        ...

    def arm(self, name: str, accepts: EventAccepts, *, any_channel: bool = False) -> Wait:
        """Start taking the first event `accepts` says yes to."""
        ...

    async def wait_for(
        self, wait: Wait, timeout: float | None, *, keep_armed: bool = False
    ) -> Mapping[str, str] | None:
        """The armed event, or None when `timeout` passed first."""
        ...

    def settle(self, wait: Wait, event: Mapping[str, str]) -> None:
        """Satisfy `wait` with `event`, an event it saw and held (as if it took it then)."""
        ...

    async def run_steps(self, steps: tuple[Step, ...]) -> None:
        """Run a nested list of steps."""
        ...

    def rested(self) -> None:
        """The instance waited or slept: its step budget starts over."""
        ...
