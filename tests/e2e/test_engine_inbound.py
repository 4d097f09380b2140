"""The engine against the simulator, inbound mode: what calls do, on the wire."""

from __future__ import annotations

import logging

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.sim import CallSpec, MediaConfig, Simulator

pytestmark = pytest.mark.anyio

SPEED = 50  # simulated seconds per real second


async def test_a_parked_call_runs_its_steps_and_captures() -> None:
    flowset = flows(
        r"""
flow: support
trigger: CHANNEL_PARK
when:
  - field: Caller-Destination-Number
    expression: ^(1\d{3})$
steps:
  - execute: answer
  - execute: {app: playback, arg: "ivr/ivr-welcome.wav"}
  - set: {who: "${{ event['Caller-Caller-ID-Name'] }}"}
  - api: "uuid_setvar ${{ uuid }} routed $1"
  - hangup: NORMAL_CLEARING
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="1001", caller_name="Alice"))
            info = await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid) == [
        "execute answer",
        "execute playback ivr/ivr-welcome.wav",
        f"api uuid_setvar {uuid} routed 1001",
        "hangup NORMAL_CLEARING",
    ]
    assert info.hangup_cause == "NORMAL_CLEARING"
    assert info.variables["routed"] == "1001"
    assert info.answer_state == "hangup"
    sample = engine.metrics.registry.get_sample_value
    assert sample("eslflow_instances_started_total", {"flow": "support"}) == 1
    assert sample("eslflow_instances_finished_total", {"flow": "support"}) == 1
    assert sample("eslflow_instances_active", {}) == 0
    node = f"127.0.0.1:{sim.port}"
    assert sample("eslflow_events_received_total", {"node": node, "event": "CHANNEL_PARK"}) == 1
    assert sample("eslflow_connections_up", {"node": node}) == 0  # the engine has stopped
    assert sample("eslflow_step_seconds_count", {"flow": "support", "step": "execute"}) == 2


async def test_conditions_that_fail_start_nothing() -> None:
    flowset = flows(
        r"""
flow: only-1xxx
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: '^1\d{3}$'}]
steps: [{hangup: CALL_REJECTED}]
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="5000", hangup_after=2))
            await sim.wait_for_hangup(uuid)
    assert wire.all == []


async def test_dtmf_wait_switch_and_saved_read_result() -> None:
    flowset = flows(
        """
flow: menu
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - execute: {app: read, arg: "1 1 ivr/menu.wav choice 3000 #", save: entry}
  - switch: "${{ vars.entry['variable_choice'] }}"
    cases:
      "2": [{execute: "transfer 2000 XML default"}]
    default: [{hangup: CALL_REJECTED}]
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="5000", dtmf=["2"]))
            await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid)[:3] == [
        "execute answer",
        "execute read 1 1 ivr/menu.wav choice 3000 #",
        "execute transfer 2000 XML default",
    ]


async def test_far_end_hangup_mid_step_runs_on_hangup() -> None:
    flowset = flows(
        """
flow: long
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - execute: {app: playback, arg: "music/long.wav"}
  - execute: {app: playback, arg: "never.wav"}
on_hangup:
  - sendevent:
      event: CUSTOM
      subclass: "eslflow::gone"
      headers: {Call: "${{ uuid }}", Cause: "${{ event['Hangup-Cause'] }}"}
"""
    )
    media = MediaConfig(durations={"music/long.wav": 60})
    with anyio.fail_after(10):
        async with (
            Simulator(speed=SPEED, media=media) as sim,
            engine_on(sim, flowset) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="5000", hangup_after=3))
            await sim.wait_for_hangup(uuid)
            while engine.active:
                await anyio.sleep(0.01)
    assert wire.lines(uuid) == [
        "execute answer",
        "execute playback music/long.wav",
        "sendevent CUSTOM",
    ]
    gone = [e for e in sim.events if e.name == "CUSTOM" and e.subclass == "eslflow::gone"]
    assert [(e.get("Call"), e.get("Cause")) for e in gone] == [(uuid, "NORMAL_CLEARING")]


async def test_err_reply_goes_to_on_error(caplog: pytest.LogCaptureFixture) -> None:
    flowset = flows(
        """
flow: broken
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - api: "uuid_kill 00000000-0000-0000-0000-000000000000"
on_error:
  - log: {level: warning, message: "failed: ${{ vars.error }}"}
  - hangup: NORMAL_TEMPORARY_FAILURE
"""
    )
    caplog.set_level(logging.WARNING, logger="runner")
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            info = await sim.wait_for_hangup(uuid)
    assert info.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    assert "failed: api uuid_kill failed: -ERR No such channel!" in caplog.text
    sample = engine.metrics.registry.get_sample_value
    assert sample("eslflow_instances_failed_total", {"flow": "broken"}) == 1


async def test_bgapi_results_go_to_the_call_that_asked() -> None:
    flowset = flows(
        """
flow: jobs
trigger: CHANNEL_PARK
steps:
  - bgapi: {command: uuid_getvar, args: "${{ uuid }} tag", save: job}
  - api: "uuid_setvar ${{ uuid }} echoed ${{ vars.job }}"
  - hangup
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuids = [
                await sim.place_call(CallSpec(destination="5000", variables={"tag": f"t{i}"}))
                for i in range(5)
            ]
            infos = [await sim.wait_for_hangup(u) for u in uuids]
    assert [i.variables.get("echoed") for i in infos] == [f"t{i}" for i in range(5)]


async def test_caller_name_with_a_line_break_never_reaches_the_wire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flowset = flows(
        """
flow: greet
trigger: CHANNEL_PARK
steps:
  - sendevent:
      event: CUSTOM
      subclass: "eslflow::greet"
      headers: {Caller: "${{ event['Caller-Caller-ID-Name'] }}"}
  - execute: {app: log, arg: "INFO hello ${{ event['Caller-Caller-ID-Name'] }}"}
on_error: [{hangup: CALL_REJECTED}]
"""
    )
    evil = "Eve\nEvent-Name: HACK\n\napi hupall"
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="5000", caller_name=evil))
            info = await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid) == ["hangup CALL_REJECTED"]
    (client,) = [c for c in sim.traffic.connections if c.kind == "inbound"]
    assert not any("hupall" in line or "HACK" in line for line in client.lines)
    assert info.hangup_cause == "CALL_REJECTED"
    assert "line break" in caplog.text


async def test_dollar_brace_from_an_event_is_refused_unless_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flowset = flows(
        """
flow: set-name
trigger: CHANNEL_PARK
steps:
  - execute: {app: set, arg: "shown=${{ event['Caller-Caller-ID-Name'] }}"}
  - hangup
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(
                CallSpec(destination="5000", caller_name="${system(id)}", hangup_after=1)
            )
            info = await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid) == []
    assert "shown" not in info.variables
    assert "value from event header Caller-Caller-ID-Name would put '${'" in caplog.text


async def test_sendmsg_kinds_on_the_wire() -> None:
    flowset = flows(
        """
flow: kinds
trigger: CHANNEL_PARK
steps:
  - execute: {app: answer, wait: start}
  - execute: {app: playback, arg: "a.wav", wait: none}
  - sleep: 1s
  - unicast: {remote_ip: 127.0.0.1, remote_port: 9000, transport: udp}
  - xferext: ["playback b.wav", {app: hangup, arg: USER_BUSY}]
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            uuid = await sim.place_call(CallSpec(destination="5000"))
            info = await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid) == [
        "execute answer",
        "execute playback a.wav",
        "unicast",
        "xferext",
    ]
    xfer = wire.by_uuid[uuid][-1]
    assert (
        xfer
        == (
            f"sendmsg {uuid}\ncall-command: xferext\napplication: playback b.wav\n"
            "application: hangup USER_BUSY\n\n"
        ).encode()
    )
    assert info.hangup_cause == "USER_BUSY"


async def test_custom_trigger_without_a_channel() -> None:
    flowset = flows(
        """
flow: registrations
trigger: {event: CUSTOM, subclass: "sofia::register"}
when: [{field: username, expression: "^(\\\\d+)$"}]
steps:
  - api: "global_setvar last_registered=$1"
"""
    )
    with anyio.fail_after(10):
        async with Simulator(speed=SPEED) as sim, engine_on(sim, flowset) as (engine, wire):
            async with await anyio.connect_tcp("127.0.0.1", sim.port) as stream:
                # A registration announced the way a module does it (sendevent).
                await stream.receive()
                await stream.send(
                    b"auth ClueCon\n\nsendevent CUSTOM\nEvent-Subclass: sofia::register\n"
                    b"username: 1005\n\n"
                )
                await stream.receive()
            while (await sim.api("global_getvar last_registered")).strip() != "1005":
                await anyio.sleep(0.01)
    assert wire.lines("") == ["api global_setvar last_registered=1005"]
