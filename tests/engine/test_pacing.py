"""Runaway instances take turns on one schedule: together they get 1 / (1 + ratio) of
the loop, however many there are."""

from __future__ import annotations

import anyio
import trio.testing

from runner.engine.pacing import Pacer


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
