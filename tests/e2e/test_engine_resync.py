"""After a reconnect the engine finds out what it missed (issue 10, finding 8a)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from helpers.engine_sim import Wire, flows, sim_clients

from runner.engine.service import Engine, NodeSpec
from runner.esl.inbound import Backoff
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

PLAYS = """
flow: plays
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - execute: {app: playback, arg: "silence_stream://%s"}
  - api: "uuid_setvar ${{ uuid }} result played"
  - hangup
on_error:
  - execute: "set err=${{ vars.error }}"
  - hangup
"""
# The engine stays away this long after its connection drops (the connection was young).
OUTAGE = Backoff(initial=2.0, maximum=2.0, jitter=0.0, stable_after=10.0)


@asynccontextmanager
async def engine_with_outage(sim: Simulator, text: str) -> AsyncIterator[tuple[Engine, Wire]]:
    wire = Wire()
    engine = Engine(
        flows(text), nodes=[NodeSpec("127.0.0.1", sim.port)], on_command=wire, backoff=OUTAGE
    )
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        try:
            yield engine, wire
        finally:
            engine.stop()


async def playing(engine: Engine, sim: Simulator, uuid: str) -> None:
    """Until the playback runs and its +OK has reached the engine (a drop before that
    fails the command itself, not the wait)."""
    while True:
        info = sim.channel(uuid)
        waiting = [
            i
            for i in engine.router.instances()
            if i.waiting is not None
            and i.waiting.name == "CHANNEL_EXECUTE_COMPLETE"
            and i.arms == 2
        ]
        if info and info.variables.get("current_application") == "playback" and waiting:
            conn = engine.nodes[0].conn
            if conn is not None and not conn.connection._replies:
                return
        await anyio.sleep(0.01)


def counter(engine: Engine, name: str, node: str) -> float:
    return engine.metrics.registry.get_sample_value(f"{name}_total", {"node": node}) or 0.0


async def test_a_completion_that_fired_during_the_outage_fails_the_step_promptly() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=1) as sim,
            engine_with_outage(sim, PLAYS % 1000) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            await playing(engine, sim, uuid)
            for client in sim_clients(sim):
                await client.stream.aclose()  # the playback ends while nobody listens
            cut = anyio.current_time()
            node = f"127.0.0.1:{sim.port}"
            up = engine.metrics.connections_up.labels(node=node)
            while up._value.get() != 0:  # the gauge drops while the node reconnects
                await anyio.sleep(0.01)
            assert anyio.current_time() - cut < 0.5
            info = await sim.wait_for_hangup(uuid)
            assert up._value.get() == 1
            took = anyio.current_time() - cut
    assert info.variables.get("result") is None
    assert info.variables["err"] == (
        f"the connection to {node} was lost while this step waited for "
        "CHANNEL_EXECUTE_COMPLETE; whether it fired is unknown"
    )
    assert 2.0 <= took < 3.5  # the outage, then one uuid_exists
    assert wire.lines(uuid) == [
        "execute answer",
        "execute playback silence_stream://1000",
        f"execute set err={info.variables['err']}",
        "hangup NORMAL_CLEARING",
    ]
    assert counter(engine, "eslflow_events_missed", node) > 0
    assert counter(engine, "eslflow_switch_restarts", node) == 0


BGAPI = """
flow: job
trigger: CHANNEL_PARK
steps:
  - bgapi: {command: msleep, args: "3000", save: out}
  - api: "uuid_setvar ${{ uuid }} result done"
on_error:
  - execute: "set err=${{ vars.error }}"
  - hangup
"""


async def test_a_bgapi_result_lost_with_the_connection_fails_the_step_promptly() -> None:
    with anyio.fail_after(15):
        async with (
            Simulator(speed=1) as sim,
            engine_with_outage(sim, BGAPI) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            conn = None
            while conn is None or not conn.connection._jobs:
                await anyio.sleep(0.01)
                conn = engine.nodes[0].conn
            while conn.connection._replies:  # bgapi's +OK Job-UUID is back
                await anyio.sleep(0.01)
            for client in sim_clients(sim):
                await client.stream.aclose()
            cut = anyio.current_time()
            info = await sim.wait_for_hangup(uuid)
            took = anyio.current_time() - cut
    node = f"127.0.0.1:{sim.port}"
    # The job's result would come after 3 s on the lost connection: the step fails at
    # once, and its on_error waits for the reconnect (2 s) to send its commands.
    assert info.variables["err"] == f"{node}: the peer closed the connection"
    assert info.variables.get("result") is None
    assert 2.0 <= took < 3.0
