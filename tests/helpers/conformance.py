"""Fixtures and helpers of the conformance tests on a real FreeSWITCH (tests/realfs).

`esl` is an authenticated `InboundConnection` whose teardown checks that the test left
no call behind (`show channels count` back to `0 total.`), so one leaking test cannot
make the next one fail for reasons of its own. `SocketCalls` runs our `OutboundServer`
on the switch's outbound target and hands each socket call to the test.

The test modules import the fixtures by name (`from helpers.conformance import esl`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from helpers.freeswitch import RealSwitch, new_uuid
from runner.esl import Event, EventBuffer, InboundConnection, OutboundConnection, OutboundServer
from runner.esl.connection import BackgroundJob

# A short tone (100 ms at 440 Hz): plays in about a tenth of a second, no sound files.
SHORT_TONE = "tone_stream://%(100,0,440)"
# Long enough for FreeSWITCH to repeat it under `loops` (it repeats runs of >= 0.5 s).
LOOP_TONE = "tone_stream://%(600,0,440)"
ORIGINATE_VARS = "originate_timeout=10"


async def channel_count(conn: InboundConnection) -> str:
    return (await conn.api("show channels count")).strip()


async def wait_no_calls(conn: InboundConnection, seconds: float = 3.0) -> str:
    """Poll until the switch has no channel left; the last count seen."""
    count = await channel_count(conn)
    with anyio.move_on_after(seconds):
        while count != "0 total.":
            await anyio.sleep(0.05)
            count = await channel_count(conn)
    return count


@pytest.fixture
async def esl(real_switch: RealSwitch) -> AsyncIterator[InboundConnection]:
    """An authenticated inbound connection; fails the test if calls are left behind."""
    async with InboundConnection.connect(
        real_switch.host, real_switch.port, real_switch.password, timeout=5, command_timeout=15
    ) as conn:
        yield conn
        count = await wait_no_calls(conn)
        if count != "0 total.":
            await conn.api("hupall")
            await wait_no_calls(conn)
            pytest.fail(f"the test left calls behind: show channels count said {count!r}")


async def originate_parked(conn: InboundConnection, ext: str = "9002") -> str:
    """An answered (9002) or ringing (9003) loopback call's a-leg uuid."""
    uuid = new_uuid()
    if ext == "9003":
        await conn.connection.ensure_background_jobs()
        await conn.connection.bgapi_start(
            f"originate {{origination_uuid={uuid},{ORIGINATE_VARS}}}loopback/{ext}/default &park()"
        )
        with anyio.fail_after(5):
            while await conn.api(f"uuid_exists {uuid}") != "true":
                await anyio.sleep(0.02)
        return uuid
    reply = await conn.api(
        f"originate {{origination_uuid={uuid},{ORIGINATE_VARS}}}loopback/{ext}/default &park()"
    )
    assert reply == f"+OK {uuid}\n"
    return uuid


async def next_event(events: AsyncIterator[Event], name: str, seconds: float = 5.0) -> Event:
    """The next event called `name` (others are skipped), within `seconds`."""
    with anyio.fail_after(seconds):
        async for event in events:
            if event.name == name:
                return event
    raise AssertionError(f"the stream ended before {name}")


class SocketCalls:
    """Socket calls (extensions 9000 async, 9001 sync) reaching our OutboundServer.

    `place()` originates one and returns its `OutboundConnection` once `connect` was
    answered; the call's handler lives until `release(call)` or the end of the block,
    then the server closes the socket as it would for any handler that returns.
    """

    def __init__(self, conn: InboundConnection, server: OutboundServer) -> None:
        self.conn = conn
        self.server = server
        self.jobs: dict[str, BackgroundJob] = {}
        self._release: dict[str, anyio.Event] = {}
        send, receive = anyio.create_memory_object_stream[OutboundConnection](4)
        self._send: MemoryObjectSendStream[OutboundConnection] = send
        self._receive: MemoryObjectReceiveStream[OutboundConnection] = receive

    async def handle(self, call: OutboundConnection) -> None:
        release = self._release[call.uuid] = anyio.Event()
        await self._send.send(call)
        await release.wait()

    async def place(self, ext: str = "9000", variables: str = "") -> OutboundConnection:
        """A new socket call; `jobs[a_leg_uuid]` is its originate job."""
        a_leg = new_uuid()
        await self.conn.connection.ensure_background_jobs()
        extra = f",{variables}" if variables else ""
        job = await self.conn.connection.bgapi_start(
            f"originate {{origination_uuid={a_leg},{ORIGINATE_VARS}{extra}}}"
            f"loopback/{ext}/default &park()"
        )
        self.jobs[a_leg] = job
        with anyio.fail_after(5):
            call = await self._receive.receive()
        assert call.channel_data.get("variable_other_loopback_leg_uuid") == a_leg
        return call

    async def release(self, call: OutboundConnection) -> None:
        """Let the call's handler return, and wait until the server closed the socket."""
        self._release[call.uuid].set()
        with anyio.fail_after(5):
            await call.wait_closed()

    def close(self) -> None:
        self._send.close()
        self._receive.close()

    def release_all(self) -> None:
        for event in self._release.values():
            event.set()


@asynccontextmanager
async def socket_calls(switch: RealSwitch, conn: InboundConnection) -> AsyncIterator[SocketCalls]:
    """An OutboundServer on the switch's outbound target for the block."""
    if switch.outbound_port is None:
        pytest.skip("ESLFLOW_TEST_FREESWITCH_OUTBOUND is not set for this switch")
    calls: SocketCalls
    server = OutboundServer(
        lambda call: calls.handle(call), port=switch.outbound_port, command_timeout=10
    )
    calls = SocketCalls(conn, server)
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        try:
            yield calls
        finally:
            calls.release_all()
            with anyio.move_on_after(5, shield=True):
                while server.active:
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
            calls.close()


class Collected:
    """The events a buffer received so far, gathered without blocking."""

    def __init__(self, buffer: EventBuffer) -> None:
        self.buffer = buffer
        self.events: list[Event] = []

    def take(self) -> list[Event]:
        while (event := self.buffer.get_nowait()) is not None:
            self.events.append(event)
        return self.events

    async def until(self, name: str, app_uuid: str | None = None, seconds: float = 5.0) -> Event:
        """Wait for an event called `name` (of that Application-UUID) among them."""
        with anyio.fail_after(seconds):
            while True:
                for event in self.take():
                    if event.name == name and app_uuid in (None, event.get("Application-UUID")):
                        return event
                await anyio.sleep(0.02)
