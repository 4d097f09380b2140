"""The project's own ESL client (runner.esl) against the simulator, end to end."""

from __future__ import annotations

import anyio
import pytest

from runner.esl import InboundConnection
from runner.esl.errors import EslAuthError
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio


async def test_api_bgapi_and_a_call_through_the_inbound_client() -> None:
    async with (
        Simulator(port=0, speed=50, heartbeat_interval=1e6) as sim,
        InboundConnection.connect("127.0.0.1", sim.port, "ClueCon") as conn,
    ):
        assert (await conn.api("status")).startswith("UP 0 years")
        assert await conn.api("echo hi") == "hi"
        assert (await conn.bgapi("uptime s")).endswith("\n")
        assert await conn.bgapi("echo background") == "background"
        await conn.subscribe(
            ["CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE"]
        )
        events = conn.events()
        uuid = await sim.place_call(
            CallSpec(destination="9002", caller_number="+4930123456", caller_name="Alice")
        )
        with anyio.fail_after(5):
            answer = await anext(events)
            assert (answer.name, answer.get("Unique-ID")) == ("CHANNEL_ANSWER", uuid)
            assert answer.get("Caller-Caller-ID-Name") == "Alice"
            complete = await conn.execute(uuid, "playback", "tone_stream://%(200,0,440)", wait=True)
            assert complete is not None
            assert complete.get("Application-Response") == "FILE PLAYED"
            assert complete.get("variable_playback_ms") == "200"
            await conn.hangup(uuid, "USER_BUSY")
            while (event := await anext(events)).name != "CHANNEL_HANGUP_COMPLETE":
                pass
        assert event.get("Hangup-Cause") == "USER_BUSY"
        assert event.get("variable_billsec") is not None


async def test_myevents_through_the_inbound_client() -> None:
    async with Simulator(port=0, speed=50, heartbeat_interval=1e6) as sim:
        uuid = await sim.place_call(CallSpec(destination="9002"))
        other = await sim.place_call(CallSpec(destination="9002"))
        async with InboundConnection.connect("127.0.0.1", sim.port, "ClueCon") as conn:
            await conn.myevents(uuid)
            events = conn.events()
            with anyio.fail_after(5):
                await conn.execute(other, "set", "ignored=1")
                done = await conn.execute(uuid, "set", "seen=1", wait=True)
                assert done is not None and done.get("Unique-ID") == uuid
                sim.hangup(uuid)
                names = []
                async for event in events:
                    assert event.get("Unique-ID") == uuid
                    names.append(event.name)
                    if event.name == "CHANNEL_HANGUP":
                        break
        assert names[-1] == "CHANNEL_HANGUP"


async def test_a_wrong_password_is_refused() -> None:
    async with Simulator(port=0) as sim:
        with pytest.raises(EslAuthError):
            async with InboundConnection.connect("127.0.0.1", sim.port, "wrong"):
                pass
