"""A flow that never waits cannot hold the engine (issue 10, finding 4).

The issue's own flow, a `goto` cycle with no wait in it, runs next to ordinary calls on
the simulator: it fails with the step-budget error (its on_error runs), the other calls
are served meanwhile, /healthz keeps answering. Loops that wait each round are not
affected by the budget, however many rounds they make.
"""

from __future__ import annotations

import logging

import anyio
import pytest
from helpers.engine_sim import engine_on, flows
from helpers.net import http_get_bytes

from runner.engine.metrics import serve_http
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

SPEED = 50

# The issue's flow, as written there, with an on_error that shows what it was told.
SPIN = """\
flow: spin
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^9999$}]
blocks:
  a: [{set: {x: 1}}, {goto: b}]
  b: [{goto: a}]
steps:
  - goto: a
on_error:
  - execute: "set spin_error=${{ vars.error }}"
  - hangup: CALL_REJECTED
"""

NORMAL = """\
flow: normal
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: '^(1\\d{3})$'}]
steps:
  - execute: answer
  - execute: "playback hello-$1.wav"
  - hangup: NORMAL_CLEARING
"""

BUDGET_ERROR = (
    "10000 steps ran without waiting for an event or sleeping "
    "(a goto or repeat loop that never waits?); the step budget is 10000"
)


async def _place_and_finish(sim: Simulator, destination: str) -> str:
    uuid = await sim.place_call(CallSpec(destination=destination))
    info = await sim.wait_for_hangup(uuid)
    return f"{uuid} {info.hangup_cause}"


async def test_the_issues_goto_cycle_fails_with_the_budget_error_and_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "runner")
    with anyio.fail_after(20):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(SPIN, NORMAL)) as (engine, wire),
        ):
            spin = await sim.place_call(CallSpec(destination="9999"))
            normal = await sim.place_call(CallSpec(destination="1001"))
            spin_info = await sim.wait_for_hangup(spin)
            normal_info = await sim.wait_for_hangup(normal)
            while engine.active:
                await anyio.sleep(0.01)
            # The next call after the runaway one is served as usual.
            after = await sim.place_call(CallSpec(destination="1002"))
            after_info = await sim.wait_for_hangup(after)
            variables = spin_info.variables
    assert wire.lines(spin) == [
        f"execute set spin_error={BUDGET_ERROR}",
        "hangup CALL_REJECTED",
    ]
    assert spin_info.hangup_cause == "CALL_REJECTED"
    assert variables["spin_error"] == BUDGET_ERROR
    assert wire.lines(normal) == [
        "execute answer",
        "execute playback hello-1001.wav",
        "hangup NORMAL_CLEARING",
    ]
    assert normal_info.hangup_cause == "NORMAL_CLEARING"
    assert wire.lines(after)[-1] == "hangup NORMAL_CLEARING"
    assert after_info.hangup_cause == "NORMAL_CLEARING"
    # The log line names the flow, the step and where it is written: the 10,001st step
    # of a-b-a-b... is block a's `set` (steps alternate set, goto b, goto a).
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"flows/t0.yaml:5:7: flow 'spin' step set: {BUDGET_ERROR}; running on_error" in warnings
    assert engine.metrics.instance_errors.labels(kind="budget")._value.get() == 1
    assert engine.metrics.instances_failed.labels(flow="spin")._value.get() == 1


async def test_while_a_flow_spins_other_calls_and_healthz_are_served() -> None:
    """With a budget large enough to spin for many seconds, the spinner yields: a call
    placed next to it runs to its end and /healthz answers, while it still spins; its
    caller hanging up stops it."""
    with anyio.fail_after(20):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(SPIN, NORMAL)) as (engine, wire),
            anyio.create_task_group() as tg,
        ):
            engine.step_budget = 100_000_000
            port = await tg.start(serve_http, "127.0.0.1", 0, engine.metrics, engine.health)
            spin = await sim.place_call(CallSpec(destination="9999"))
            while not engine.router.by_uuid.get(spin):
                await anyio.sleep(0.005)
            (spinner,) = engine.router.by_uuid[spin]
            began = anyio.current_time()
            health = await http_get_bytes(port, "/healthz")
            normal = await sim.place_call(CallSpec(destination="1001"))
            normal_info = await sim.wait_for_hangup(normal)
            served_in = anyio.current_time() - began
            assert not spinner.finished and spinner.unwaited > 100
            sim.hangup(spin)
            await sim.wait_for_hangup(spin)
            while engine.active:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert health.startswith(b"HTTP/1.1 200 OK\r\n") and health.endswith(b"\r\n\r\nok\n")
    assert wire.lines(normal) == [
        "execute answer",
        "execute playback hello-1001.wav",
        "hangup NORMAL_CLEARING",
    ]
    assert normal_info.hangup_cause == "NORMAL_CLEARING"
    assert served_in < 5
    # Ended by its caller's hangup, not by an error: nothing was sent for it.
    assert wire.lines(spin) == []
    assert spinner.hung_up and not spinner.failed


# `repeat` takes at most 1,000 rounds: nested, they make a million.
LOOPS = {
    "repeat": (
        """\
flow: loop
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^5555$}]
steps:
  - repeat: 1000
    steps:
      - repeat: 1000
        steps:
          - set: {x: 1}
""",
        "flows/t0.yaml:9:13: flow 'loop' step set",
    ),
    "repeat until": (
        """\
flow: loop
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^5555$}]
steps:
  - repeat: 1000
    steps:
      - repeat: 1000
        counter: n
        until: {test: "vars.n < 0"}
        steps:
          - set: {x: 1}
""",
        "flows/t0.yaml:11:13: flow 'loop' step set",
    ),
    "call in a repeat": (
        """\
flow: loop
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^5555$}]
blocks:
  inner:
    - repeat: 1000
      steps: [{set: {x: 1}}]
steps:
  - repeat: 1000
    steps: [{call: inner}]
""",
        "flows/t0.yaml:7:15: flow 'loop' step set",
    ),
}


@pytest.mark.parametrize("loop", LOOPS)
async def test_loops_that_never_wait_fail_with_the_budget_error(
    loop: str, caplog: pytest.LogCaptureFixture
) -> None:
    text, where = LOOPS[loop]
    with anyio.fail_after(20):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(text, NORMAL)) as (engine, wire),
        ):
            spin = await sim.place_call(CallSpec(destination="5555"))
            normal = await sim.place_call(CallSpec(destination="1001"))
            await sim.wait_for_hangup(normal)
            while engine.active:
                await anyio.sleep(0.01)
            sim.hangup(spin)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"{where}: {BUDGET_ERROR}"]
    assert wire.lines(spin) == []
    assert wire.lines(normal)[-1] == "hangup NORMAL_CLEARING"


WAITING_LOOP = """\
flow: patient
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - repeat: 60
    counter: n
    steps:
      - set: {round: "${{ vars.n }}"}
      - set: {other: 1}
      - execute: "playback round-${{ vars.n }}.wav"
  - repeat: 60
    steps:
      - set: {x: 1}
      - set: {y: 1}
      - sleep: 1ms
  - api: "uuid_setvar ${{ uuid }} rounds ${{ vars.round }}"
  - hangup: NORMAL_CLEARING
"""


async def test_a_long_loop_that_waits_each_round_is_not_stopped_by_the_budget() -> None:
    """240 steps against a budget of 100: each round waits (an execute's completion,
    a sleep), so the budget starts over every round."""
    with anyio.fail_after(20):
        async with (
            Simulator(speed=1000) as sim,
            engine_on(sim, flows(WAITING_LOOP)) as (engine, wire),
        ):
            engine.step_budget = 100
            uuid = await sim.place_call(CallSpec(destination="1"))
            info = await sim.wait_for_hangup(uuid)
            variables = info.variables
    lines = wire.lines(uuid)
    assert lines[1:61] == [f"execute playback round-{n}.wav" for n in range(1, 61)]
    assert lines[61:] == [f"api uuid_setvar {uuid} rounds 60", "hangup NORMAL_CLEARING"]
    assert variables["rounds"] == "60"
    assert info.hangup_cause == "NORMAL_CLEARING"
    assert engine.metrics.instance_errors.labels(kind="budget")._value.get() == 0
