"""Service behaviour against the simulator: reconnect mid-call, reload, drain."""

from __future__ import annotations

import anyio
import pytest
from helpers.engine_sim import engine_on, flows, sim_clients

from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

WAITS_FOR_DTMF = """
flow: patient
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - wait: {event: DTMF, save: key}
  - api: "uuid_setvar ${{ uuid }} pressed ${{ vars.key['DTMF-Digit'] }}"
  - hangup
"""


async def test_reconnect_mid_call_and_the_call_carries_on() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(WAITS_FOR_DTMF)) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            while not any(i.waiting is not None and i.waiting.name == "DTMF"
                          for i in engine.router.instances()):  # fmt: skip
                await anyio.sleep(0.01)
            # The switch drops the engine's connection (as a restart of mod_event_socket).
            for client in sim_clients(sim):
                await client.stream.aclose()
            node = engine.nodes[0].conn
            assert node is not None
            while node.reconnects < 1 or not node.connected:
                await anyio.sleep(0.01)
            assert engine.router.active == 1
            sim.send_dtmf(uuid, "7")
            info = await sim.wait_for_hangup(uuid)
    assert info.variables["pressed"] == "7"
    assert engine.metrics.reconnects.labels(node=f"127.0.0.1:{sim.port}")._value.get() == 1
    clients = [c for c in sim.traffic.connections if c.kind == "inbound"]
    assert len(clients) == 2
    assert clients[1].lines[:2] == [
        "auth ********",
        "event json CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP "
        "CHANNEL_HANGUP_COMPLETE CHANNEL_PARK DTMF",
    ]


async def test_channel_gone_while_disconnected_ends_the_instance() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(WAITS_FOR_DTMF)) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            while not engine.router.active or not any(
                i.waiting is not None for i in engine.router.instances()
            ):
                await anyio.sleep(0.01)
            node = engine.nodes[0].conn
            assert node is not None
            for client in sim_clients(sim):
                await client.stream.aclose()
            sim.hangup(uuid)  # while nobody listens
            await sim.wait_for_hangup(uuid)
            while engine.router.active:
                await anyio.sleep(0.01)
    assert wire.lines(uuid) == ["execute answer"]


async def test_reload_serves_new_calls_while_running_ones_finish_on_the_old_flows() -> None:
    old = flows(
        """
flow: version
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - wait: DTMF
  - api: "uuid_setvar ${{ uuid }} version old"
  - hangup
"""
    )
    new = flows(
        """
flow: version
trigger: CHANNEL_PARK
steps:
  - api: "uuid_setvar ${{ uuid }} version new"
  - hangup
"""
    )
    with anyio.fail_after(15):
        async with Simulator(speed=50) as sim, engine_on(sim, old) as (engine, wire):
            first = await sim.place_call(CallSpec(destination="5000"))
            while not any(i.waiting is not None for i in engine.router.instances()):
                await anyio.sleep(0.01)
            await engine.reload(new)
            second = await sim.place_call(CallSpec(destination="5000"))
            second_info = await sim.wait_for_hangup(second)
            sim.send_dtmf(first, "1")
            first_info = await sim.wait_for_hangup(first)
    assert second_info.variables["version"] == "new"
    assert first_info.variables["version"] == "old"


async def test_drain_finishes_running_calls_and_takes_no_new_ones() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(WAITS_FOR_DTMF)) as (engine, wire),
        ):
            first = await sim.place_call(CallSpec(destination="5000"))
            while not any(i.waiting is not None for i in engine.router.instances()):
                await anyio.sleep(0.01)
            async with anyio.create_task_group() as tg:
                tg.start_soon(engine.drain, 10.0)
                await anyio.sleep(0.05)
                late = await sim.place_call(CallSpec(destination="5000", hangup_after=1))
                sim.send_dtmf(first, "3")
                first_info = await sim.wait_for_hangup(first)
                await sim.wait_for_hangup(late)
            await engine.wait_stopped()
    assert first_info.variables["pressed"] == "3"
    assert wire.lines(late) == []


async def test_drain_timeout_stops_instances_that_do_not_finish() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(WAITS_FOR_DTMF)) as (engine, wire),
        ):
            await sim.place_call(CallSpec(destination="5000"))
            while not any(i.waiting is not None for i in engine.router.instances()):
                await anyio.sleep(0.01)
            await engine.drain(0.2)
            assert engine.active == 0
