"""The real FreeSWITCH fixture works: auth, version, a call placed and killed, a socket call."""

from __future__ import annotations

import anyio
import pytest
from helpers.freeswitch import RealSwitch, new_uuid

from runner.esl import InboundConnection, OutboundConnection, OutboundServer

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]


async def test_version_and_a_parked_call(real_switch: RealSwitch) -> None:
    async with InboundConnection.connect(
        real_switch.host, real_switch.port, real_switch.password
    ) as conn:
        assert (await conn.api("version")).startswith("FreeSWITCH Version 1.10.12")
        uuid = new_uuid()
        with anyio.fail_after(10):
            reply = await conn.api(
                f"originate {{origination_uuid={uuid}}}loopback/9002/default &park()"
            )
        assert reply == f"+OK {uuid}\n"
        assert await conn.api(f"uuid_exists {uuid}") == "true"
        assert (await conn.api(f"uuid_kill {uuid}")).startswith("+OK")


async def test_socket_extension_reaches_our_outbound_server(real_switch: RealSwitch) -> None:
    if real_switch.outbound_port is None:
        pytest.skip("ESLFLOW_TEST_FREESWITCH_OUTBOUND is not set for this switch")
    seen: list[str] = []
    done = anyio.Event()

    async def handle(call: OutboundConnection) -> None:
        seen.append(call.channel_data.get("Caller-Destination-Number", ""))
        seen.append(call.channel_data.get("Socket-Mode", ""))
        done.set()

    server = OutboundServer(handle, host="127.0.0.1", port=real_switch.outbound_port)
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        async with (
            InboundConnection.connect(
                real_switch.host, real_switch.port, real_switch.password
            ) as conn,
            anyio.create_task_group() as calls,
        ):
            # The job ends only when the call does; nothing here waits for it.
            command = f"originate {{origination_uuid={new_uuid()}}}loopback/9000/default &park()"
            calls.start_soon(conn.bgapi, command)
            with anyio.fail_after(10):
                await done.wait()
            await conn.api("hupall")
            calls.cancel_scope.cancel()
        tg.cancel_scope.cancel()
    assert seen == ["9000", "async"]
