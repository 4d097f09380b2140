"""The engine against the simulator, outbound mode: the socket app connects to eslflow."""

from __future__ import annotations

import logging

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

PIN_GATE = r"""
flow: pin-gate
trigger: {outbound: true}
when:
  - field: Caller-Destination-Number
    expression: ^9(\d{3})$
steps:
  - linger: 2s
  - execute: answer
  - execute:
      app: read
      arg: "4 4 ivr/ivr-please_enter_pin_followed_by_pound.wav pin 10000 #"
      save: entry
  - if:
      value: "${{ vars.entry['variable_pin'] }}"
      equals: "1234"
    then:
      - api: "uuid_setvar ${{ uuid }} gate open-$1"
      - hangup: NORMAL_CLEARING
    else:
      - hangup: CALL_REJECTED
"""


async def call(sim: Simulator, port: int, destination: str, **kwargs: object) -> str:
    spec = CallSpec(destination=destination, socket=f"127.0.0.1:{port} async full", **kwargs)  # type: ignore[arg-type]
    return await sim.place_call(spec)


@pytest.mark.parametrize(
    ("pin", "cause", "gate"),
    [("1234", "NORMAL_CLEARING", "open-123"), ("9999", "CALL_REJECTED", None)],
)
async def test_outbound_flow_reads_a_pin(pin: str, cause: str, gate: str | None) -> None:
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(PIN_GATE), inbound=False, outbound=True) as (engine, wire),
        ):
            assert engine.outbound_port is not None
            uuid = await call(sim, engine.outbound_port, "9123", dtmf=[pin + "#"])
            info = await sim.wait_for_hangup(uuid)
            while engine.active:
                await anyio.sleep(0.01)
    assert info.hangup_cause == cause
    assert info.variables.get("gate") == gate
    (socket,) = [c for c in sim.traffic.connections if c.kind == "outbound"]
    assert socket.lines[:4] == ["connect", "myevents", "linger 2", "sendmsg"]
    assert socket.lines[-1] == "exit"
    assert socket.commands[3].header("execute-app-name") == "answer"


async def test_unmatched_outbound_call_is_hung_up_with_the_configured_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="runner")
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(
                sim, flows(PIN_GATE), inbound=False, outbound=True, unmatched_cause="CALL_REJECTED"
            ) as (engine, wire),
        ):
            assert engine.outbound_port is not None
            uuid = await call(sim, engine.outbound_port, "5000")
            info = await sim.wait_for_hangup(uuid)
    assert info.hangup_cause == "CALL_REJECTED"
    assert wire.lines(uuid) == ["hangup CALL_REJECTED"]
    assert "no outbound flow matches; hanging up with CALL_REJECTED" in caplog.text


async def test_resume_lets_the_dialplan_go_on_after_the_socket_closes() -> None:
    resumed = r"""
flow: hand-back
trigger: {outbound: true}
steps:
  - resume
  - execute: answer
  - api: "uuid_setvar ${{ uuid }} handled yes"
"""
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(resumed), inbound=False, outbound=True) as (engine, wire),
        ):
            assert engine.outbound_port is not None
            spec = CallSpec(
                destination="7000",
                actions=[f"socket 127.0.0.1:{engine.outbound_port} async full", "hangup USER_BUSY"],
            )
            uuid = await sim.place_call(spec)
            info = await sim.wait_for_hangup(uuid)
    # The flow ended, eslflow closed the socket, and the dialplan's next action ran.
    assert info.variables["handled"] == "yes"
    assert info.hangup_cause == "USER_BUSY"


async def test_without_resume_the_call_ends_with_the_socket() -> None:
    plain = r"""
flow: short
trigger: {outbound: true}
steps:
  - execute: answer
"""
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(plain), inbound=False, outbound=True) as (engine, wire),
        ):
            assert engine.outbound_port is not None
            spec = CallSpec(
                destination="7000",
                actions=[f"socket 127.0.0.1:{engine.outbound_port} async full", "hangup USER_BUSY"],
            )
            uuid = await sim.place_call(spec)
            info = await sim.wait_for_hangup(uuid)
    assert info.hangup_cause != "USER_BUSY"
