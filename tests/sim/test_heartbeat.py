"""The simulator's HEARTBEAT: skipped while nobody hears it, on schedule when someone
does. Under a virtual clock a heartbeat nobody hears must not wake every 20 s, or idle
days of an `eslflow test` cost minutes (issue 10)."""

from __future__ import annotations

import anyio
import trio.testing

from runner.sim.clock import SimClock
from runner.sim.core import SwitchCore, SwitchIdentity
from runner.sim.dialplan import default_dialplan
from runner.sim.event import Event
from runner.sim.wire import LogLine

DAY = 86_400.0


class CountingClock(SimClock):
    """A SimClock that counts how often the switch sleeps on it."""

    sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds)


class Ear:
    """A sink that hears heartbeats only when told to; notes when each one came."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.on = False
        self.heard: list[tuple[str, float]] = []

    def offer(self, event: Event) -> None:
        self.heard.append((event.name, self.clock.now()))

    def offer_log(self, line: LogLine) -> None:
        pass

    def hears(self, name: str) -> bool:
        return self.on


async def _ten_days_unheard_then_heard() -> tuple[int, list[tuple[str, float]]]:
    clock = CountingClock(start=0.0, timer=anyio.current_time)
    core = SwitchCore(
        clock=clock, identity=SwitchIdentity(hostname="sim"), dialplan=default_dialplan()
    )
    ear = Ear(clock)
    core.sinks.append(ear)
    async with anyio.create_task_group() as tg:
        tg.start_soon(core.heartbeat_loop)
        await anyio.sleep(10 * DAY + 5)
        unheard_sleeps = clock.sleeps
        ear.on = True
        core.listening_changed()
        await anyio.sleep(50)
        tg.cancel_scope.cancel()
    return unheard_sleeps, ear.heard


def test_an_unheard_heartbeat_sleeps_until_someone_listens_then_keeps_its_schedule() -> None:
    unheard_sleeps, heard = anyio.run(
        _ten_days_unheard_then_heard,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    # Ten days with nobody listening: not one wake-up (one every 20 s would be 43,200).
    assert unheard_sleeps == 0
    # Then beats at multiples of 20 s from start-up, each followed by its RE_SCHEDULE.
    start = 10 * DAY
    assert heard == [
        ("HEARTBEAT", start + 20),
        ("RE_SCHEDULE", start + 20),
        ("HEARTBEAT", start + 40),
        ("RE_SCHEDULE", start + 40),
    ]


class OldSink:
    """A sink written before `hears`: taken to hear everything."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.heard: list[tuple[str, float]] = []

    def offer(self, event: Event) -> None:
        self.heard.append((event.name, self.clock.now()))

    def offer_log(self, line: LogLine) -> None:
        pass


async def _old_sink_hears() -> list[tuple[str, float]]:
    clock = SimClock(start=0.0, timer=anyio.current_time)
    core = SwitchCore(
        clock=clock, identity=SwitchIdentity(hostname="sim"), dialplan=default_dialplan()
    )
    sink = OldSink(clock)
    core.sinks.append(sink)
    async with anyio.create_task_group() as tg:
        tg.start_soon(core.heartbeat_loop)
        await anyio.sleep(45)
        tg.cancel_scope.cancel()
    return sink.heard


def test_a_sink_that_cannot_say_what_it_hears_gets_every_beat() -> None:
    heard = anyio.run(
        _old_sink_hears,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    assert heard == [
        ("HEARTBEAT", 20.0),
        ("RE_SCHEDULE", 20.0),
        ("HEARTBEAT", 40.0),
        ("RE_SCHEDULE", 40.0),
    ]
