"""EventBuffer: bounded, never blocking the producer, explicit about what it drops."""

from __future__ import annotations

import anyio
import pytest

from runner.esl import Event, EventBuffer, EventBufferOverflow

pytestmark = pytest.mark.anyio


def ev(name: str, seq: int) -> Event:
    return Event({"Event-Name": name, "Event-Sequence": str(seq)})


def seqs(buffer: EventBuffer) -> list[str]:
    out = []
    while (event := buffer.get_nowait()) is not None:
        out.append(f"{event.name}:{event['Event-Sequence']}")
    return out


async def test_drop_oldest_keeps_background_jobs() -> None:
    buffer = EventBuffer(3)
    buffer.put(ev("BACKGROUND_JOB", 1))
    for i in range(2, 7):
        buffer.put(ev("HEARTBEAT", i))
    assert buffer.dropped == 3
    assert seqs(buffer) == ["BACKGROUND_JOB:1", "HEARTBEAT:5", "HEARTBEAT:6"]


async def test_a_buffer_full_of_jobs_drops_the_newcomer_but_keeps_jobs() -> None:
    buffer = EventBuffer(2)
    buffer.put(ev("BACKGROUND_JOB", 1))
    buffer.put(ev("BACKGROUND_JOB", 2))
    buffer.put(ev("HEARTBEAT", 3))
    buffer.put(ev("BACKGROUND_JOB", 4))
    buffer.put(ev("BACKGROUND_JOB", 5))
    buffer.put(ev("BACKGROUND_JOB", 6))  # over twice the size: even a job is dropped
    assert buffer.dropped == 2
    assert seqs(buffer) == [
        "BACKGROUND_JOB:1",
        "BACKGROUND_JOB:2",
        "BACKGROUND_JOB:4",
        "BACKGROUND_JOB:5",
    ]


async def test_close_policy_fails_the_consumer() -> None:
    buffer = EventBuffer(2, "close", name="fs1")
    for i in range(3):
        buffer.put(ev("HEARTBEAT", i))
    assert await buffer.get() == ev("HEARTBEAT", 0)
    assert await buffer.get() == ev("HEARTBEAT", 1)
    with pytest.raises(EventBufferOverflow) as info:
        await buffer.get()
    assert str(info.value) == "event buffer fs1 overflowed: the consumer fell 2 events behind"


async def test_consumer_wakes_up_and_iteration_ends_on_close() -> None:
    buffer = EventBuffer(10)
    got: list[Event] = []

    async def consume() -> None:
        async for event in buffer:
            got.append(event)

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await anyio.sleep(0.01)
            buffer.put(ev("A", 1))
            await anyio.sleep(0.01)
            buffer.put(ev("B", 2))
            buffer.close()
    assert got == [ev("A", 1), ev("B", 2)]
