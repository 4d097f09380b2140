"""The engine end to end on both switches: the same test code against the simulator and
against a real FreeSWITCH 1.10.12 (`real_switch`). What a flow sends, the events the
call produces and what the switch kept must be the same on both; where they are not,
the real switch is right and the simulator is fixed (or the difference is listed in
docs/simulator.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import pytest
from helpers.backends import Backend, Call, control, engine_at, restartable, session
from helpers.engine_sim import Wire, flows
from helpers.freeswitch import RealSwitch

from runner.engine.service import Engine

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend(request: pytest.FixtureRequest, sim_orderings: str) -> Backend:
    """The switch: the simulator (once per orderings mode, tests/e2e/conftest.py), then
    the real FreeSWITCH."""
    if sim_orderings != "freeswitch":
        return Backend("sim")
    real: RealSwitch = request.getfixturevalue("real_switch")
    return Backend("freeswitch", real)


# Only the b-leg of `loopback/9003` is the inbound call a PBX flow would see: the a-leg
# (ours, parked by `&park()`) also sends CHANNEL_PARK, with Call-Direction outbound.
INBOUND_9003 = """
trigger: CHANNEL_PARK
when:
  - field: Call-Direction
    expression: ^inbound$
  - field: Caller-Destination-Number
    expression: ^(9003)$
"""

STEPS = (
    "flow: steps\n"
    + INBOUND_9003
    + r"""
vars: {greeting: none}
steps:
  - execute: answer
  - execute: "playback tone_stream://%(200,0,440)"
  - set: {greeting: "hello ${{ event['Caller-Caller-ID-Name'] }} at $1"}
  - execute: "set eslflow_greeting=${{ vars.greeting }}"
  - api: "uuid_setvar ${{ uuid }} eslflow_api yes"
  - bgapi: {command: uuid_getvar, args: "${{ uuid }} eslflow_api", save: job}
  - if: {value: "${{ vars.job }}", equals: "yes"}
    then:
      - execute: "set eslflow_bgapi=${{ vars.job }}"
    else:
      - execute: "set eslflow_bgapi=wrong"
  - repeat: 2
    counter: n
    steps:
      - execute: "set eslflow_pass_${{ vars.n }}=done"
  - switch: "${{ event['Caller-Caller-ID-Number'] }}"
    cases:
      "1002": [{execute: "set eslflow_case=alice"}]
    default: [{execute: "set eslflow_case=other"}]
  - sleep: 100ms
  - call: record
  - api: {command: uuid_getvar, args: "${{ uuid }} eslflow_greeting", save: kept}
  - log: "kept: ${{ vars.kept }}"
  - hangup: USER_BUSY
blocks:
  record:
    - execute: "set eslflow_block=ran"
"""
)


async def test_every_basic_step_kind_on_an_inbound_call(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    async with session(backend, flows(STEPS)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await ctl.gone(call)
    b = call.b_leg
    assert wire.lines(b) == [
        "execute answer",
        "execute playback tone_stream://%(200,0,440)",
        "execute set eslflow_greeting=hello Alice at 9003",
        f"api uuid_setvar {b} eslflow_api yes",
        f"bgapi uuid_getvar {b} eslflow_api",
        "execute set eslflow_bgapi=yes",
        "execute set eslflow_pass_1=done",
        "execute set eslflow_pass_2=done",
        "execute set eslflow_case=alice",
        "execute set eslflow_block=ran",
        f"api uuid_getvar {b} eslflow_greeting",
        "hangup USER_BUSY",
    ]
    end = call.last("CHANNEL_HANGUP_COMPLETE", b)
    assert end is not None
    assert end.get("Hangup-Cause") == "USER_BUSY"
    for name, value in {
        "eslflow_greeting": "hello Alice at 9003",
        "eslflow_api": "yes",
        "eslflow_bgapi": "yes",
        "eslflow_pass_1": "done",
        "eslflow_pass_2": "done",
        "eslflow_case": "alice",
        "eslflow_block": "ran",
    }.items():
        assert end.get(f"variable_{name}") == value, name
    assert "kept: hello Alice at 9003" in caplog.messages
    sample = engine.metrics.registry.get_sample_value
    assert sample("eslflow_instances_finished_total", {"flow": "steps"}) == 1


LOOPED = (
    "flow: looped\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - execute: {app: playback, arg: "TONE", loops: LOOPS, save: played}
  - execute: "set eslflow_after=${{ vars.played['variable_current_loop'] }}"
  - hangup: NORMAL_CLEARING
"""
)


@pytest.mark.parametrize(
    ("tone", "loops", "runs"),
    [
        # 0.6 s a run: FreeSWITCH repeats it (switch_ivr.c repeats runs of >= 0.5 s).
        ("tone_stream://%(600,0,440)", 3, 3),
        # 0.2 s: FreeSWITCH stops after the first run, and no event says so.
        ("tone_stream://%(200,0,440)", 2, 1),
    ],
)
async def test_an_execute_with_loops_completes_at_its_last_run(
    backend: Backend, tone: str, loops: int, runs: int
) -> None:
    flow = LOOPED.replace("TONE", tone).replace("LOOPS", str(loops))
    async with session(backend, flows(flow)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await ctl.gone(call)
    b = call.b_leg
    assert wire.lines(b) == [
        "execute answer",
        f"execute playback {tone}",
        f"execute set eslflow_after={runs}",
        "hangup NORMAL_CLEARING",
    ]
    # The set ran after the playback's last run completed, not between its runs.
    apps = [
        (e.get("Event-Name"), e.get("Application"), e.get("variable_current_loop"))
        for e in call.events
        if e.get("Unique-ID") == b and e.get("Application") in ("playback", "set")
    ]
    playback = [
        (name, "playback", str(n))
        for n in range(1, runs + 1)
        for name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    ]
    assert apps[: 2 * runs] == playback
    assert [(name, app) for name, app, _ in apps[2 * runs :]] == [
        ("CHANNEL_EXECUTE", "set"),
        ("CHANNEL_EXECUTE_COMPLETE", "set"),
    ]
    end = call.last("CHANNEL_HANGUP_COMPLETE", b)
    assert end is not None and end.get("variable_eslflow_after") == str(runs)
    sample = engine.metrics.registry.get_sample_value
    assert sample("eslflow_instances_finished_total", {"flow": "looped"}) == 1


OUTBOUND = r"""
flow: socket-call
trigger: {outbound: true}
when:
  - field: Caller-Destination-Number
    expression: ^(900[01])$
steps:
  - myevents
  - linger: 2s
  - execute: answer
  - execute: "playback tone_stream://%(200,0,440)"
  - execute: "set eslflow_socket=$1 ${{ trigger['Socket-Mode'] }}"
  - api: {command: uuid_getvar, args: "${{ uuid }} eslflow_socket", save: kept}
  - log: "socket kept: ${{ vars.kept }}"
  - hangup: NORMAL_CLEARING
"""


@pytest.mark.parametrize(("ext", "mode"), [("9000", "async"), ("9001", "static")])
async def test_an_outbound_socket_call_async_and_sync(
    backend: Backend, ext: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    async with session(backend, flows(OUTBOUND), inbound=False, outbound=True) as (
        engine,
        wire,
        ctl,
    ):
        call = await ctl.originate(ext)
        await ctl.gone(call)
        # The lingering socket closes after the hangup; the instance ends with it.
        while engine.active:
            await anyio.sleep(0.02)
    b = call.b_leg
    assert wire.lines(b) == [
        "myevents",
        "linger 2",
        "execute answer",
        "execute playback tone_stream://%(200,0,440)",
        f"execute set eslflow_socket={ext} {mode}",
        f"api uuid_getvar {b} eslflow_socket",
        "hangup NORMAL_CLEARING",
    ]
    assert f"socket kept: {ext} {mode}" in caplog.messages
    end = call.last("CHANNEL_HANGUP_COMPLETE", b)
    assert end is not None and end.get("variable_eslflow_socket") == f"{ext} {mode}"


HANGUP_MID_STEP = (
    "flow: long\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - execute: "playback tone_stream://%(20000,0,440)"
  - execute: "set eslflow_never=1"
on_hangup:
  - log: "caller left during the tone: ${{ event['Hangup-Cause'] }}"
"""
)


async def test_a_hangup_mid_step_ends_the_step_and_runs_on_hangup(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    async with session(backend, flows(HANGUP_MID_STEP)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await ctl.until(
            lambda: any(
                e.get("Event-Name") == "CHANNEL_EXECUTE" and e.get("Application") == "playback"
                for e in call.events
            )
        )
        await ctl.conn.api(f"uuid_kill {call.a_leg}")
        await ctl.gone(call)
        while engine.active:
            await anyio.sleep(0.02)
    assert wire.lines(call.b_leg) == [
        "execute answer",
        "execute playback tone_stream://%(20000,0,440)",
    ]
    # uuid_kill's default cause is NORMAL_CLEARING, and the b-leg follows with it.
    assert "caller left during the tone: NORMAL_CLEARING" in caplog.messages
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.a_leg)
    assert end is not None and end.get("Hangup-Cause") == "NORMAL_CLEARING"


ERRORS = (
    "flow: errors\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - api: "no_such_command now"
  - execute: "set eslflow_never=1"
on_error:
  - log: "failed: ${{ vars.error }}"
  - hangup: CALL_REJECTED
"""
)


async def test_an_err_reply_goes_to_on_error(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    async with session(backend, flows(ERRORS)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await ctl.gone(call)
    assert wire.lines(call.b_leg) == [
        "execute answer",
        "api no_such_command now",
        "hangup CALL_REJECTED",
    ]
    failed = [m for m in caplog.messages if m.startswith("failed: ")]
    assert failed == ["failed: api no_such_command failed: -ERR no_such_command Command not found!"]
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
    assert end is not None and end.get("Hangup-Cause") == "CALL_REJECTED"


CORRELATE = (
    "flow: correlate\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - execute: "set eslflow_me=${{ event['Caller-Caller-ID-Name'] }}"
  - bgapi: {command: uuid_getvar, args: "${{ uuid }} eslflow_me", save: who}
  - execute: "set eslflow_who=${{ vars.who }}"
  - hangup
"""
)


async def test_bgapi_results_go_to_the_call_that_asked(backend: Backend) -> None:
    names = ["Alice", "Bob", "Carol", "Dave"]
    async with session(backend, flows(CORRELATE)) as (engine, wire, ctl):
        calls = []
        for name in names:
            calls.append(await ctl.originate("9003", caller_name=name))
        for call in calls:
            await ctl.gone(call)
    for name, call in zip(names, calls, strict=True):
        end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
        assert end is not None and end.get("variable_eslflow_who") == name


PING = (
    "flow: ping\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - sendevent:
      event: CUSTOM
      subclass: "eslflow::ping"
      headers: {X-Ping-From: "$1"}
  - wait: {event: CUSTOM, subclass: "eslflow::pong", channel: any, timeout: 5s, save: pong}
  - execute: "set eslflow_pong=${{ vars.pong['X-Pong-For'] }}"
  - hangup
"""
)

PONG = r"""
flow: pong
trigger: {event: CUSTOM, subclass: "eslflow::ping"}
steps:
  - sendevent:
      event: CUSTOM
      subclass: "eslflow::pong"
      headers: {X-Pong-For: "${{ event['X-Ping-From'] }}"}
"""


async def test_sendevent_starts_a_channel_less_flow_and_wait_hears_its_answer(
    backend: Backend,
) -> None:
    async with session(backend, flows(PING, PONG)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await ctl.gone(call)
    assert [e.get("Event-Subclass") for e in ctl.custom] == ["eslflow::ping", "eslflow::pong"]
    assert ctl.custom[1].get("X-Pong-For") == "9003"
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
    assert end is not None and end.get("variable_eslflow_pong") == "9003"


DRAINED = (
    "flow: slow\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - sleep: 1s
  - execute: "set eslflow_finished=yes"
  - hangup
"""
)


async def test_a_drain_lets_the_running_call_finish_and_takes_no_new_one(
    backend: Backend,
) -> None:
    async with session(backend, flows(DRAINED)) as (engine, wire, ctl):
        first = await ctl.originate("9003")
        while not wire.lines(first.b_leg):
            await anyio.sleep(0.01)
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.drain, 10.0)
            await anyio.sleep(0.1)
            late = await ctl.originate("9003")
        await ctl.gone(first)
    assert wire.lines(first.b_leg) == [
        "execute answer",
        "execute set eslflow_finished=yes",
        "hangup NORMAL_CLEARING",
    ]
    assert wire.lines(late.b_leg) == []
    end = first.last("CHANNEL_HANGUP_COMPLETE", first.b_leg)
    assert end is not None and end.get("variable_eslflow_finished") == "yes"


ANSWERED = (
    "flow: answered\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - execute: "set eslflow_served=${{ event['Caller-Caller-ID-Name'] }}"
  - hangup
"""
)


async def test_the_engine_reconnects_after_the_switch_restarts(
    backend: Backend, tmp_path: Path
) -> None:
    with anyio.fail_after(60):
        async with (
            restartable(backend, tmp_path / "fs") as (sw, restart),
            engine_at(sw, flows(ANSWERED)) as (engine, wire),
        ):
            async with control(sw) as ctl:
                before = await ctl.originate("9003", caller_name="Before")
                await ctl.gone(before)
            await restart()
            sample = engine.metrics.registry.get_sample_value
            while not sample("eslflow_reconnects_total", {"node": f"127.0.0.1:{sw.port}"}):
                await anyio.sleep(0.05)
            async with control(sw) as ctl:
                after = await ctl.originate("9003", caller_name="After")
                await ctl.gone(after)
    for call, name in ((before, "Before"), (after, "After")):
        assert wire.lines(call.b_leg) == [
            "execute answer",
            f"execute set eslflow_served={name}",
            "hangup NORMAL_CLEARING",
        ]


# A caller-controlled text arrives in a CUSTOM event's header (sendevent headers are
# never expanded: mod_event_socket copies them); the flow copies it into `set`, whose
# value FreeSWITCH expands twice (mod_dptools base_set).
GUARDED = (
    "flow: guarded\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - wait:
      event: CUSTOM
      subclass: "eslflow::payload"
      channel: any
      timeout: 5s
      save: payload
  - execute: "set eslflow_copy=${{ vars.payload['X-Value'] }}"
  - hangup
on_error:
  - log: "refused: ${{ vars.error }}"
  - hangup: CALL_REJECTED
"""
)


async def waiting(engine: Engine, uuid: str, name: str = "CUSTOM") -> None:
    """Until the channel's instance waits for a `name` event: an instance takes events
    only while a step waits, so one sent before would be missed."""

    def armed() -> bool:
        for instance in engine.router.by_uuid.get(uuid, ()):
            wait = instance.waiting
            if wait is not None and wait.name == name:
                return True
        return False

    while not armed():
        await anyio.sleep(0.01)


async def copy_payload(
    backend: Backend, value: str, caplog: pytest.LogCaptureFixture
) -> tuple[Call, Wire]:
    """One call of GUARDED, with `value` arriving in the CUSTOM event it waits for."""
    caplog.set_level(logging.INFO, logger="runner")
    async with session(backend, flows(GUARDED)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await waiting(engine, call.b_leg)
        await ctl.conn.sendevent(
            "CUSTOM", {"X-For": call.b_leg, "X-Value": value}, subclass="eslflow::payload"
        )
        await ctl.gone(call)
    return call, wire


@pytest.mark.parametrize(
    "value",
    [
        "$\\'{system(touch MARKER)}",
        "${system(touch MARKER)}",
        "\\${system(touch MARKER)}",
        "$${system(touch MARKER)}",
    ],
)
async def test_a_caller_value_never_expands_on_the_switch(
    backend: Backend, value: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "pwned"
    call, wire = await copy_payload(backend, value.replace("MARKER", str(marker)), caplog)
    assert wire.lines(call.b_leg) == ["execute answer", "hangup CALL_REJECTED"]
    (refused,) = [m for m in caplog.messages if m.startswith("refused: ")]
    # The message names where the value came from; the reason depends on the value.
    assert refused.startswith("refused: value from variable payload['X-Value'] "), refused
    assert refused.endswith(
        "only if the value is trusted, mark the step `raw: true` or wrap it in raw(...)"
    ), refused
    assert not marker.exists()
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
    assert end is not None and end.get("Hangup-Cause") == "CALL_REJECTED"


@pytest.mark.parametrize("value", ["O'Brien", "50% off $5", "back\\slash", "Zoë {x} $5.00"])
async def test_an_ordinary_caller_value_reaches_the_switch_unchanged(
    backend: Backend, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    call, wire = await copy_payload(backend, value, caplog)
    assert wire.lines(call.b_leg) == [
        "execute answer",
        f"execute set eslflow_copy={value}",
        "hangup NORMAL_CLEARING",
    ]
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
    assert end is not None and end.get("variable_eslflow_copy") == value


KEYS = (
    "flow: keys\n"
    + INBOUND_9003
    + r"""
steps:
  - execute: answer
  - wait: {event: DTMF, timeout: 5s, save: key}
  - execute: "set eslflow_key=${{ vars.key['DTMF-Digit'] }}"
  - xferext:
      - "set eslflow_xfer=inline"
      - "hangup USER_BUSY"
"""
)


async def test_a_key_pressed_on_the_far_leg_and_an_inline_extension(backend: Backend) -> None:
    async with session(backend, flows(KEYS)) as (engine, wire, ctl):
        call = await ctl.originate("9003")
        await waiting(engine, call.b_leg, "DTMF")
        # DTMF sent on the a-leg is heard by the b-leg (mod_loopback).
        await ctl.conn.api(f"uuid_send_dtmf {call.a_leg} 7")
        await ctl.gone(call)
    assert wire.lines(call.b_leg) == ["execute answer", "execute set eslflow_key=7", "xferext"]
    end = call.last("CHANNEL_HANGUP_COMPLETE", call.b_leg)
    assert end is not None
    assert (end.get("variable_eslflow_key"), end.get("variable_eslflow_xfer")) == ("7", "inline")
    assert end.get("Hangup-Cause") == "USER_BUSY"
