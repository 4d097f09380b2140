"""ExecuteWaiter: when a `sendmsg execute` with `loops` is really over.

Rules from switch_ivr.c (switch_ivr_parse_event): up to `loops` runs under one
Application-UUID; a run under 0.5 s, a hangup or a break ends the loop early.
"""

from __future__ import annotations

import anyio
import pytest

from runner.esl import Event, waiters
from runner.esl.waiters import ExecuteWaiter

pytestmark = pytest.mark.anyio


def event(name: str, at_us: int, current: int, total: int, **extra: str) -> Event:
    return Event(
        {
            "Event-Name": name,
            "Event-Date-Timestamp": str(at_us),
            "Application-UUID": "app",
            "variable_current_loop": str(current),
            "variable_total_loops": str(total),
            **extra,
        }
    )


async def test_one_run_without_loops_is_final() -> None:
    waiter = ExecuteWaiter("execute answer", 5, None)
    assert waiter.on_complete(Event({"Event-Name": "CHANNEL_EXECUTE_COMPLETE"}))


async def test_the_last_of_the_loops_is_final_and_earlier_ones_are_not() -> None:
    waiter = ExecuteWaiter("execute playback", 5, 2)
    waiter.on_execute(event("CHANNEL_EXECUTE", 0, 1, 2))
    assert not waiter.on_complete(event("CHANNEL_EXECUTE_COMPLETE", 600_000, 1, 2))
    waiter.on_execute(event("CHANNEL_EXECUTE", 600_100, 2, 2))
    assert waiter.settle_at == float("inf")  # a next run started: no settling
    assert waiter.on_complete(event("CHANNEL_EXECUTE_COMPLETE", 1_200_000, 2, 2))


async def test_a_short_run_ends_the_loop() -> None:
    waiter = ExecuteWaiter("execute playback", 5, 3)
    waiter.on_execute(event("CHANNEL_EXECUTE", 1_000_000, 1, 3))
    assert waiter.on_complete(event("CHANNEL_EXECUTE_COMPLETE", 1_120_000, 1, 3))


async def test_a_hangup_ends_the_loop() -> None:
    waiter = ExecuteWaiter("execute playback", 5, 3)
    waiter.on_execute(event("CHANNEL_EXECUTE", 0, 1, 3))
    done = event("CHANNEL_EXECUTE_COMPLETE", 900_000, 1, 3, **{"Answer-State": "hangup"})
    assert waiter.on_complete(done)


async def test_a_run_ended_early_by_a_break_settles_on_the_last_completion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(waiters, "LOOP_SETTLE", 0.05)
    waiter = ExecuteWaiter("execute playback", 5, -1)  # for ever, until broken
    waiter.on_execute(event("CHANNEL_EXECUTE", 0, 1, -1))
    last = event("CHANNEL_EXECUTE_COMPLETE", 800_000, 1, -1)
    assert not waiter.on_complete(last)
    assert not waiter.settle(anyio.current_time())
    await anyio.sleep(0.06)
    assert waiter.settle(anyio.current_time())
    assert waiter.result is last
