"""Load mode through the Python API: real events, each connection's own subscription."""

from __future__ import annotations

import anyio
import pytest

from runner.sim import Simulator

pytestmark = pytest.mark.anyio


async def test_load_offers_realistic_events_to_each_connection_as_subscribed(connect) -> None:  # type: ignore[no-untyped-def]
    async with Simulator(port=0, heartbeat_interval=1e6) as sim:
        answers = await connect(sim.port)
        await answers.reply("event json CHANNEL_ANSWER")
        everything = await connect(sim.port)
        await everything.reply("event plain ALL")
        pool = await sim.load.prepare()
        with anyio.fail_after(10):
            sent = await sim.load.run(len(pool))
            received = [await everything.event() for _ in range(len(pool))]
            only_answers = [await answers.event() for _ in range(sim.load.calls)]
    assert sent == len(pool) > 1000
    names = [m.event_get("Event-Name") for m in received]
    assert names.count("CHANNEL_CREATE") == names.count("CHANNEL_DESTROY") == sim.load.calls
    assert {m.event_get("Event-Name") for m in only_answers} == {"CHANNEL_ANSWER"}
    assert only_answers[0].content_type == "text/event-json"
    # Real channel events: the full header set, variables included.
    create = next(m for m in received if m.event_get("Event-Name") == "CHANNEL_CREATE")
    assert create.event_get("Caller-Caller-ID-Name") == "Load Caller 0"
    assert create.event_get("variable_sip_from_host") == "load.example.com"


async def test_load_at_a_rate(connect) -> None:  # type: ignore[no-untyped-def]
    async with Simulator(port=0, heartbeat_interval=1e6) as sim:
        client = await connect(sim.port)
        await client.reply("event plain CHANNEL_STATE")
        await sim.load.prepare()
        started = anyio.current_time()
        with anyio.fail_after(10):
            await sim.load.run(2000, rate=20_000, batch=100)
        elapsed = anyio.current_time() - started
    assert elapsed >= 0.09  # 2000 events at 20,000/s
