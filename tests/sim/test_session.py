"""Signal and Flag, the wake-ups sessions and connections wait on."""

from __future__ import annotations

import anyio
import pytest

from runner.sim.signals import Flag, Signal

pytestmark = pytest.mark.anyio


async def test_a_timed_wait_ends_at_a_notify_or_at_its_timeout() -> None:
    signal = Signal()
    with anyio.fail_after(5):
        start = anyio.current_time()
        await signal.wait(0.05)  # nobody notifies: the timeout ends it
        assert anyio.current_time() - start >= 0.04
        async with anyio.create_task_group() as tg:
            tg.start_soon(signal.wait, 60.0)
            await anyio.sleep(0.01)
            signal.notify()  # ends the minute-long wait now
        assert not signal.is_set()  # the waiter consumed it
        signal.notify()
        await signal.wait(60.0)  # notified before: returns at once
        await signal.wait(0.0)
        assert not signal.is_set()


async def test_a_notify_wakes_every_waiter_timed_or_not() -> None:
    signal = Signal()
    woken: list[str] = []

    async def waiter(name: str, timeout: float | None) -> None:
        await signal.wait(timeout)
        woken.append(name)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter, "untimed", None)
            tg.start_soon(waiter, "timed", 60.0)
            await anyio.sleep(0.01)
            signal.notify()
    assert sorted(woken) == ["timed", "untimed"]


async def test_a_flag_stays_set_and_wakes_its_waiters() -> None:
    flag = Flag()
    assert not flag.is_set()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(flag.wait)
            await anyio.sleep(0.01)
            flag.set()
        await flag.wait()  # already set: returns at once
    assert flag.is_set()
    assert Flag(True).is_set()
