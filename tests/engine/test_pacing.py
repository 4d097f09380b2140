"""Runaway instances take turns on one schedule: together they get 1 / (1 + ratio) of
the loop, however many there are."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import trio.testing

from runner.engine.instance import FlowInstance
from runner.engine.link import Link
from runner.engine.pacing import RUNAWAY_STEPS, Pacer
from runner.flow import load_flow_sources

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UUID = "11111111-2222-3333-4444-555555555555"


async def _turns() -> list[tuple[str, float]]:
    pacer = Pacer(ratio=9.0)
    woke: list[tuple[str, float]] = []

    async def runaway(name: str, ran: float) -> None:
        await pacer.pause(ran)
        woke.append((name, anyio.current_time()))

    async with anyio.create_task_group() as tg:
        for name, ran in (("a", 1.0), ("b", 1.0), ("c", 0.5)):
            tg.start_soon(runaway, name, ran)
            await anyio.wait_all_tasks_blocked()  # each has asked for its turn, in order
    # Later, after the schedule has run dry: a turn starts from now again.
    await anyio.sleep(100.0)
    await runaway("d", 2.0)
    return woke


def test_runaways_wait_ratio_times_what_they_ran_one_after_another() -> None:
    woke = anyio.run(
        _turns,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    assert woke == [("a", 9.0), ("b", 18.0), ("c", 22.5), ("d", 122.5 + 18.0)]


class _SlowApi(Link):
    """A switch that takes 5 ms (of real time) to answer each api command."""

    def __init__(self) -> None:
        super().__init__(UUID)
        self.commands = 0

    async def api(self, command: str, *, errors_ok: bool = False) -> str:
        self.commands += 1
        await anyio.sleep(0.005)
        return "+OK\n"


class _Noting(Pacer):
    """A pacer that notes how long each runaway says it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[float] = []

    async def pause(self, ran: float) -> None:
        self.ran.append(ran)
        await super().pause(ran)


API_LOOP = """\
flow: many-apis
trigger: CHANNEL_PARK
steps:
  - repeat: 200
    steps:
      - api: "uuid_setvar ${{ uuid }} n 1"
      - set: {x: 1}
"""


async def _api_loop() -> tuple[int, list[float]]:
    flows = load_flow_sources([("flows/test.yaml", API_LOOP)])
    link = _SlowApi()
    pacer = _Noting()
    trigger = {"Event-Name": "CHANNEL_PARK", "Unique-ID": UUID}
    instance = FlowInstance(
        flows.flows[0], flows, link, trigger, (), clock=lambda: NOW, pacer=pacer
    )
    await instance.run()
    assert not instance.failed
    return link.commands, pacer.ran


def test_time_spent_waiting_for_the_switch_is_not_counted_against_a_loop() -> None:
    """401 steps without an event (over RUNAWAY_STEPS): the loop is paced, but only for
    the CPU it held (well under a millisecond between checkpoints), not for the 5 ms each
    api reply took (four of them between two checkpoints: 20 ms)."""
    commands, ran = anyio.run(_api_loop)
    assert commands == 200
    assert len(ran) == (401 - RUNAWAY_STEPS) // 8 + 1
    assert max(ran) < 0.01
