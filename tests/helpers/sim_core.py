"""Run the simulator's switch core without sockets, recording every event it fires."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import anyio

from runner.sim.apps import APPLICATIONS
from runner.sim.clock import SimClock
from runner.sim.core import SwitchCore, SwitchIdentity
from runner.sim.dialplan import Dialplan, Extension, default_dialplan, parse_action
from runner.sim.endpoints import create_inbound_call
from runner.sim.event import Event
from runner.sim.session import Session
from runner.sim.wire import LogLine


class Recorder:
    """An event sink that keeps everything and lets a test wait for an event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.logs: list[LogLine] = []
        self._changed = anyio.Event()

    def offer(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def hears(self, name: str) -> bool:
        return True  # it keeps every event

    def offer_log(self, line: LogLine) -> None:
        self.logs.append(line)
        self._changed.set()

    def of(self, uuid: str) -> list[Event]:
        return [e for e in self.events if e.get("Unique-ID") == uuid]

    def names(self, uuid: str | None = None) -> list[str]:
        events = self.events if uuid is None else self.of(uuid)
        return [e.name for e in events]

    def last(self, name: str, uuid: str | None = None) -> Event:
        events = self.events if uuid is None else self.of(uuid)
        return [e for e in events if e.name == name][-1]

    async def wait_for(self, name: str, uuid: str | None = None, count: int = 1) -> Event:
        while True:
            events = self.events if uuid is None else self.of(uuid)
            found = [e for e in events if e.name == name]
            if len(found) >= count:
                return found[count - 1]
            self._changed = anyio.Event()
            await self._changed.wait()


def extension(destination: str, *actions: str) -> Extension:
    return Extension(destination, tuple(parse_action(a) for a in actions))


@asynccontextmanager
async def running_core(
    extensions: Iterable[Extension] | None = None,
    *,
    speed: float = 200.0,
    answer_delay: float = 0.1,
) -> AsyncIterator[tuple[SwitchCore, Recorder]]:
    plan = Dialplan(list(extensions)) if extensions is not None else default_dialplan()
    core = SwitchCore(
        clock=SimClock(speed),
        identity=SwitchIdentity(hostname="sim"),
        dialplan=plan,
        heartbeat_interval=1e9,
        answer_delay=answer_delay,
    )
    core.applications.update(APPLICATIONS)
    recorder = Recorder()
    core.sinks.append(recorder)
    async with anyio.create_task_group() as tg:
        core.attach(tg)
        yield core, recorder
        tg.cancel_scope.cancel()


def call(core: SwitchCore, destination: str, **kwargs: object) -> Session:
    """An inbound call from the simulated phone (create_inbound_call with defaults)."""
    params: dict[str, object] = {
        "caller_number": "1000",
        "caller_name": "Alice",
        "context": "default",
        "variables": {},
        "uuid": None,
        "dtmf": [],
        "host": "example.com",
    }
    params.update(kwargs)
    return create_inbound_call(core, destination=destination, **params)  # type: ignore[arg-type]
