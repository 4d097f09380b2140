"""The simulator without sockets: its event socket and `socket` application on an in-memory
network, and its clock following a virtual event-loop clock (what `eslflow test` uses)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio
import pytest
import trio.testing
from helpers.esl_raw import RawClient

from runner.esl import InboundConnection, OutboundConnection, OutboundServer
from runner.network import MemoryNetwork
from runner.sim import CallSpec, SimClock, Simulator

pytestmark = pytest.mark.anyio

EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_client_reaches_the_event_socket_through_the_network() -> None:
    net = MemoryNetwork()
    try:
        async with Simulator(port=8021, network=net) as sim:
            assert sim.port == 8021
            with anyio.fail_after(5):
                async with InboundConnection.connect("127.0.0.1", 8021, network=net) as conn:
                    assert (await conn.api("hostname")).strip() == sim.core.identity.hostname
            (record,) = sim.traffic.inbound()
            assert record.peer.startswith("127.0.0.1:")
            assert record.lines == ["auth ********", "api hostname", "exit"]
    finally:
        net.close()


async def test_a_client_that_vanishes_before_its_reply_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = MemoryNetwork()
    try:
        async with Simulator(port=8021, network=net) as sim:
            with anyio.fail_after(5):
                stream = await net.connect_tcp("127.0.0.1", 8021)
                client = RawClient(stream)  # type: ignore[arg-type]
                await client.read()  # auth/request
                await client.send("auth ClueCon\n\n")
                await stream.aclose()  # gone before the +OK accepted is written
                while sim.traffic.inbound()[0].closed is False:
                    await anyio.sleep(0.01)
    finally:
        net.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_the_socket_application_connects_through_the_network() -> None:
    net = MemoryNetwork()
    seen: list[str] = []

    async def handle(call: OutboundConnection) -> None:
        seen.append(call.channel_data.get("Caller-Destination-Number", ""))
        await call.hangup("USER_BUSY")

    server = OutboundServer(handle, host="127.0.0.1", port=8084, network=net)
    try:
        async with anyio.create_task_group() as tg:
            assert await tg.start(server.serve) == 8084
            async with Simulator(port=0, speed=50, network=net) as sim:
                uuid = await sim.place_call(CallSpec(destination="9000"))
                with anyio.fail_after(5):
                    info = await sim.wait_for_hangup(uuid)
            tg.cancel_scope.cancel()
    finally:
        net.close()
    assert seen == ["9000"]
    assert info.hangup_cause == "USER_BUSY"
    assert sim.traffic.outbound()[0].lines[:2] == ["connect", "sendmsg"]


def test_a_virtual_clock_makes_simulated_minutes_instant() -> None:
    """Under trio's MockClock the simulator's time is the loop's: a 90 s far-end hangup
    happens at once in wall time and 90 s later in the call's timestamps."""

    async def main() -> tuple[float, float, str | None, str]:
        net = MemoryNetwork()
        clock = SimClock(start=EPOCH, timer=anyio.current_time)
        try:
            async with Simulator(port=8021, clock=clock, network=net) as sim:
                began = anyio.current_time()
                uuid = await sim.place_call(CallSpec(destination="1000", hangup_after=90))
                info = await sim.wait_for_hangup(uuid)
                return began, anyio.current_time(), info.hangup_cause, info.variables["duration"]
        finally:
            net.close()

    wall = datetime.now(UTC)
    began, ended, cause, duration = anyio.run(
        main,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    assert (datetime.now(UTC) - wall).total_seconds() < 5
    assert ended - began == pytest.approx(90.0)
    assert cause == "NORMAL_CLEARING"
    assert duration == "90"


def test_a_virtual_sim_clock_starts_at_the_given_epoch() -> None:
    async def main() -> tuple[float, float]:
        clock = SimClock(start=EPOCH, timer=anyio.current_time)
        first = clock.now()
        await clock.sleep(30)
        return first, clock.now()

    first, later = anyio.run(
        main,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    assert first == EPOCH
    assert later == pytest.approx(EPOCH + 30)
