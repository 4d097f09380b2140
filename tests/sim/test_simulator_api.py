"""The Simulator's Python API: calls, snapshots, waits, errors."""

from __future__ import annotations

import anyio
import pytest

from runner.sim import CallSpec, Simulator, SimulatorError

pytestmark = pytest.mark.anyio


async def test_snapshots_of_live_and_finished_calls() -> None:
    async with Simulator(port=0, speed=50) as sim:
        uuid = await sim.place_call(
            CallSpec(destination="9002", caller_number="+4930123456", caller_name="Alice")
        )
        with anyio.fail_after(5):
            answered = await sim.wait_for_answer(uuid)
        assert (answered.answer_state, answered.call_state) == ("answered", "ACTIVE")
        assert (answered.caller_number, answered.caller_name) == ("+4930123456", "Alice")
        assert uuid in sim.channels
        sim.hangup(uuid, "USER_BUSY")
        with anyio.fail_after(5):
            first = await sim.wait_for_hangup(uuid)
            again = await sim.wait_for_hangup(uuid)  # already gone: the final snapshot
        assert first == again == sim.channel(uuid)
        assert (first.state, first.hangup_cause) == ("CS_DESTROY", "USER_BUSY")
        assert first.variables["hangup_cause_q850"] == "17"
        assert uuid not in sim.channels


async def test_the_far_end_hangs_up_after_the_given_time() -> None:
    async with Simulator(port=0, speed=50) as sim:
        uuid = await sim.place_call(CallSpec(destination="9002", hangup_after=2.0))
        started = sim.clock.now()
        with anyio.fail_after(5):
            info = await sim.wait_for_hangup(uuid)
    assert info.hangup_cause == "NORMAL_CLEARING"
    assert sim.clock.now() - started >= 2.0


async def test_dtmf_typed_by_the_far_end_reaches_a_prompt() -> None:
    actions = ["answer", "read 4 4 silence_stream://100 pin 5000 #", "hangup"]
    async with Simulator(port=0, speed=50) as sim:
        uuid = await sim.place_call(CallSpec(destination="1", actions=actions))
        with anyio.fail_after(5):
            await sim.wait_for_answer(uuid)
            sim.send_dtmf(uuid, "2580")
            info = await sim.wait_for_hangup(uuid)
    assert info.variables["pin"] == "2580"


async def test_mistakes_are_simulator_errors() -> None:
    sim = Simulator(port=0)
    with pytest.raises(SimulatorError, match="not running"):
        await sim.place_call(CallSpec(destination="1"))
    async with sim:
        uuid = await sim.place_call(CallSpec(destination="9002", uuid="fixed-uuid"))
        assert uuid == "fixed-uuid"
        with pytest.raises(SimulatorError, match="a channel with UUID fixed-uuid already exists"):
            await sim.place_call(CallSpec(destination="9002", uuid="fixed-uuid"))
        with pytest.raises(SimulatorError, match="no channel nope"):
            sim.send_dtmf("nope", "1")
        with pytest.raises(SimulatorError, match="no channel nope"):
            sim.hangup("nope")
        assert sim.channel("nope") is None


async def test_api_runs_a_command_like_the_event_socket_would() -> None:
    async with Simulator(port=0, hostname="switch-1") as sim:
        assert await sim.api("global_getvar hostname") == "switch-1"
        assert await sim.api("bogus") == "-ERR bogus Command not found!\n"
        assert await sim.api("echo") == "-ERR no reply\n"
        assert sim.events[-1].name == "API"


async def test_events_keeps_the_last_history_events_in_order() -> None:
    async with Simulator(port=0, speed=100, history=3) as sim:
        for text in ("one", "two", "three", "four"):
            await sim.api(f"echo {text}")
        events = sim.events
        assert [e.name for e in events] == ["API", "API", "API"]
        assert [e.get("API-Command-Argument") for e in events] == ["two", "three", "four"]
    async with Simulator(port=0, speed=100, history=0) as sim:
        uuid = await sim.place_call(CallSpec(destination="9002", hangup_after=0.5))
        with anyio.fail_after(5):
            await sim.wait_for_hangup(uuid)
        assert sim.events == []
