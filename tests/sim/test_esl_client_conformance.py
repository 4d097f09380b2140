"""The ESL client's fixes for what the real switch showed, run on the simulator too.

The same behaviours are checked against FreeSWITCH 1.10.12 in tests/realfs/
(test_conformance_outbound.py); here they run on every machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

from runner.esl import EslChannelGone, InboundConnection, OutboundConnection, OutboundServer
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

Handler = Callable[[OutboundConnection], Awaitable[None]]


async def run_socket_call(handler: Handler, *, speed: float = 50) -> None:
    """One simulated call to `socket <our server> async full`, driven by `handler`."""
    errors: list[BaseException] = []

    async def guarded(call: OutboundConnection) -> None:
        try:
            await handler(call)
        except BaseException as exc:  # the server would only log it
            errors.append(exc)
            raise

    server = OutboundServer(guarded, port=0)
    with anyio.fail_after(10):
        async with (
            Simulator(port=0, speed=speed, heartbeat_interval=1e6) as sim,
            anyio.create_task_group() as tg,
        ):
            port = await tg.start(server.serve)
            actions = [f"socket 127.0.0.1:{port} async full"]
            await sim.place_call(CallSpec(destination="9000", actions=actions))
            while server.served == 0:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    if errors:
        raise errors[0]


async def test_getvar_returns_the_value_or_none() -> None:
    seen: list[str | None] = []

    async def handler(call: OutboundConnection) -> None:
        await call.myevents()
        await call.execute("set", "colour=red", wait=True)
        seen.append(await call.getvar("colour"))
        seen.append(await call.getvar("no_such_variable"))

    await run_socket_call(handler)
    assert seen == ["red", None]


async def test_execute_with_loops_waits_for_the_last_run() -> None:
    seen: list[tuple[str | None, str | None]] = []

    async def handler(call: OutboundConnection) -> None:
        await call.myevents()
        await call.execute("answer", wait=True)
        for tone, loops in (("tone_stream://%(600,0,440)", 3), ("tone_stream://%(100,0,440)", 2)):
            done = await call.execute("playback", tone, loops=loops, wait=True)
            assert done is not None
            seen.append((done.get("variable_current_loop"), done.get("variable_total_loops")))

    # Real time: sped up, a scheduling delay under load counts as seconds of playback
    # and makes a short run look long enough to repeat.
    await run_socket_call(handler, speed=1)
    # Three runs of 0.6 s; a run under 0.5 s is not repeated (switch_ivr.c).
    assert seen == [("3", "3"), ("1", "2")]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(port=0, speed=50, heartbeat_interval=1e6) as simulator:
        yield simulator


async def test_an_unknown_application_ends_the_wait_when_the_channel_is_gone(
    sim: Simulator,
) -> None:
    async with InboundConnection.connect("127.0.0.1", sim.port, "ClueCon") as conn:
        await conn.subscribe(["ALL"], "plain")
        uuid = await sim.place_call(CallSpec(destination="9002"))
        with anyio.fail_after(5), pytest.raises(EslChannelGone) as caught:
            await conn.execute(uuid, "no_such_app", "x", wait=True)
    assert str(caught.value) == (
        f"127.0.0.1:{sim.port}: execute no_such_app did not run to completion: "
        f"channel {uuid} hung up (DESTINATION_OUT_OF_ORDER)"
    )


async def test_bgapi_from_a_socket_after_myevents() -> None:
    results: list[str] = []

    async def handler(call: OutboundConnection) -> None:
        await call.myevents()
        with anyio.fail_after(3):
            results.append(await call.bgapi("echo from the socket"))

    await run_socket_call(handler)
    assert results == ["from the socket"]
