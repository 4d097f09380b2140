"""Load mode: stream realistic CHANNEL_* events to subscribed clients, fast.

The events are real: `prepare` runs calls through a private switch core (same
identity, same channel model) and keeps their CHANNEL_* events. `run` then offers that
pool, cyclically and in batches, to every connection; each connection applies its own
subscription and filters and renders an event once per format (cached), so the cost per
event is a queue append plus a share of one large socket write. UUIDs and
Event-Sequence values repeat once the pool wraps around.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio

from runner.sim.apps import APPLICATIONS
from runner.sim.clock import SimClock
from runner.sim.core import SwitchCore
from runner.sim.dialplan import Dialplan, Extension
from runner.sim.event import Event


class _Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def offer(self, event: Event) -> None:
        if event.name.startswith("CHANNEL_"):
            self.events.append(event)

    def hears(self, name: str) -> bool:
        return name.startswith("CHANNEL_")

    def offer_log(self, line: object) -> None:
        pass


class LoadGenerator:
    """Offers a pre-built pool of realistic events to every connection of a core."""

    def __init__(self, core: SwitchCore, *, calls: int = 50, high_water: int = 20_000) -> None:
        self.core = core
        self.calls = calls
        self.high_water = high_water
        self._pool: list[Event] | None = None

    async def prepare(self) -> Sequence[Event]:
        """Run ``calls`` calls (answer, playback, park, far-end hangup) in a private core."""
        if self._pool is not None:
            return self._pool
        from runner.sim.endpoints import create_inbound_call

        plan = Dialplan(
            [
                Extension(
                    "",
                    (("answer", None), ("playback", "tone_stream://%(500,0,440)"), ("park", None)),
                )
            ]
        )
        private = SwitchCore(
            clock=SimClock(1000.0),
            identity=self.core.identity,
            dialplan=plan,
            heartbeat_interval=1e9,
        )
        private.applications.update(APPLICATIONS)
        collector = _Collector()
        private.sinks.append(collector)
        async with anyio.create_task_group() as tg:
            private.attach(tg)
            sessions = [
                create_inbound_call(
                    private,
                    destination=f"{2000 + i}",
                    caller_number=f"+4930{1000000 + i}",
                    caller_name=f"Load Caller {i}",
                    context="default",
                    variables={"sip_from_host": "load.example.com"},
                    uuid=None,
                    dtmf=[],
                    host="load.example.com",
                )
                for i in range(self.calls)
            ]
            for session in sessions:
                await session.answered.wait()
            for session in sessions:
                while not session.parked:
                    await anyio.sleep(0)
                session.hangup("NORMAL_CLEARING")
            for session in sessions:
                await session.destroyed.wait()
        self._pool = collector.events
        return self._pool

    def subscribers(self) -> list[object]:
        return [s for s in self.core.sinks if getattr(s, "events_enabled", False)]

    async def wait_for_subscriber(self) -> None:
        while not self.subscribers():
            await anyio.sleep(0.01)

    async def run(self, count: int, *, rate: float | None = None, batch: int = 1000) -> int:
        """Offer ``count`` events (at ``rate`` per second, or as fast as clients read).

        Waits, instead of dropping, while a connection has more than ``high_water``
        events queued. Returns the number of events offered.
        """
        pool = await self.prepare()
        if not pool:
            return 0
        size = len(pool)
        sent = 0
        index = 0
        started = time.monotonic()
        while sent < count:
            n = min(batch, count - sent)
            chunk: list[Event] = []
            while len(chunk) < n:
                take = min(n - len(chunk), size - index)
                chunk.extend(pool[index : index + take])
                index = (index + take) % size
            for sink in list(self.core.sinks):
                offer_many = getattr(sink, "offer_many", None)
                if offer_many is not None:
                    offer_many(chunk)
                else:
                    for event in chunk:
                        sink.offer(event)
            sent += n
            while any(len(getattr(s, "queue", ())) > self.high_water for s in self.core.sinks):
                await anyio.sleep(0.0005)
            if rate:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0:
                    await anyio.sleep(ahead)
            else:
                await anyio.lowlevel.checkpoint()
        return sent
