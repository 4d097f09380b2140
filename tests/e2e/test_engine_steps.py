"""The engine against the simulator: the step kinds the other e2e tests do not use
(repeat, call, goto to a flow, set, sleep, log, stop, nomedia, wait with on_timeout,
and the outbound connection steps), as they show on the wire."""

from __future__ import annotations

import logging

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

SPEED = 50  # simulated seconds per real second

COUNTING = r"""
flow: counting
trigger: CHANNEL_PARK
when:
  - field: Caller-Destination-Number
    expression: ^(7\d{3})$
vars: {tries: 0}
blocks:
  greet:
    - execute: "playback greet-$1.wav"
steps:
  - execute: answer
  - call: greet
  - repeat: 5
    counter: n
    until: {value: "${{ vars.n }}", equals: "3"}
    steps:
      - set: {tries: "${{ vars.n }}"}
      - execute: "playback try-${{ vars.n }}.wav"
  - sleep: 2s
  - log: "tried ${{ vars.tries }} times"
  - nomedia
  - goto: {flow: finish}
  - hangup: CALL_REJECTED      # goto does not come back
"""

FINISH = r"""
flow: finish
trigger: {event: CUSTOM, subclass: "t::never"}
steps:
  - api: "uuid_setvar ${{ uuid }} tries ${{ vars.tries }}"
  - stop: left parked
  - hangup: CALL_REJECTED      # stop ends the flow
"""


async def test_repeat_call_goto_set_sleep_log_nomedia_and_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with anyio.fail_after(10):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(COUNTING, FINISH)) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="7001"))
            started = anyio.current_time()
            while not engine.router.by_uuid.get(uuid):
                await anyio.sleep(0.005)
            while engine.active:
                await anyio.sleep(0.005)
            elapsed = anyio.current_time() - started
            # stop left the call as it was: still up, nothing more sent.
            live = sim.channel(uuid)
            assert live is not None and live.variables["tries"] == "3"
            sim.hangup(uuid)
            info = await sim.wait_for_hangup(uuid)
    assert wire.lines(uuid) == [
        "execute answer",
        "execute playback greet-7001.wav",
        "execute playback try-1.wav",
        "execute playback try-2.wav",
        "execute playback try-3.wav",
        "nomedia",
        f"api uuid_setvar {uuid} tries 3",
    ]
    assert wire.by_uuid[uuid][5] == (
        f"sendmsg {uuid}\ncall-command: nomedia\nnomedia-uuid: {uuid}\n\n".encode()
    )
    assert info.hangup_cause == "NORMAL_CLEARING"
    # `sleep: 2s` is eslflow's own wait, in real time: the simulator's speed does not
    # shorten it.
    assert elapsed >= 2.0
    assert "tried 3 times" in caplog.text


WAIT_TIMEOUT = r"""
flow: wait-for-a-key
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - wait: {event: DTMF, timeout: 300ms, save: key}
    on_timeout:
      - hangup: NO_USER_RESPONSE
  - api: "uuid_setvar ${{ uuid }} key ${{ vars.key['DTMF-Digit'] }}"
  - hangup
"""


@pytest.mark.parametrize(
    ("dtmf", "lines_after_answer", "cause"),
    [
        ([], ["hangup NO_USER_RESPONSE"], "NO_USER_RESPONSE"),
        (["5"], ["api uuid_setvar {uuid} key 5", "hangup NORMAL_CLEARING"], "NORMAL_CLEARING"),
    ],
)
async def test_wait_takes_the_event_or_runs_on_timeout(
    dtmf: list[str], lines_after_answer: list[str], cause: str
) -> None:
    with anyio.fail_after(10):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(WAIT_TIMEOUT)) as (engine, wire),
        ):
            uuid = await sim.place_call(CallSpec(destination="1000"))
            # Keys pressed before the flow waits for them are not its to take: press once
            # the `wait` step is armed (pressing at the first command raced the answer).
            while dtmf and not any(
                i.waiting is not None and i.waiting.name == "DTMF"
                for i in engine.router.by_uuid.get(uuid, ())
            ):
                await anyio.sleep(0.005)
            for digit in dtmf:
                sim.send_dtmf(uuid, digit)
            info = await sim.wait_for_hangup(uuid)
    expected = ["execute answer", *(line.format(uuid=uuid) for line in lines_after_answer)]
    assert wire.lines(uuid) == expected
    assert info.hangup_cause == cause


OUTBOUND_STEPS = r"""
flow: connection-steps
trigger: {outbound: true}
steps:
  - divert_events: true
  - linger: false
  - resume
  - execute: answer
  - divert_events: false
  - linger: 1s                 # the socket stays open after the hangup: eslflow says exit
  - hangup: USER_BUSY
"""


async def test_outbound_connection_steps_on_the_socket() -> None:
    with anyio.fail_after(10):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(OUTBOUND_STEPS), inbound=False, outbound=True) as (engine, _),
        ):
            assert engine.outbound_port is not None
            spec = CallSpec(
                destination="9000", socket=f"127.0.0.1:{engine.outbound_port} async full"
            )
            uuid = await sim.place_call(spec)
            info = await sim.wait_for_hangup(uuid)
            while engine.active:
                await anyio.sleep(0.01)
    (socket,) = [c for c in sim.traffic.connections if c.kind == "outbound"]
    assert socket.lines == [
        "connect",
        "myevents",
        "divert_events on",
        "nolinger",
        "resume",
        "sendmsg",
        "divert_events off",
        "linger 1",
        "sendmsg",
        "exit",
    ]
    assert socket.commands[5].header("execute-app-name") == "answer"
    assert socket.commands[8].header("hangup-cause") == "USER_BUSY"
    assert info.hangup_cause == "USER_BUSY"
