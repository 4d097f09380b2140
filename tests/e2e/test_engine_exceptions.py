"""Nothing raised inside a flow instance leaves it (issue 10, the instance contract).

Exceptions eslflow does not foresee are injected at every layer a step goes through (a
step executor, a condition, the rendering of a value, the connection's send) and into
the on_error and on_hangup handlers: each time that instance fails cleanly (its
on_error runs, one error line names the flow, the step, its file:line:col and the
exception; the traceback is at debug level), the next call is served as usual and
nothing escapes the engine's task group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.engine import steps as engine_steps
from runner.esl.connection import Connection
from runner.flow.steps import ExecuteStep
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

SPEED = 50

BROKEN = """\
flow: broken
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^2000$}]
steps:
  - execute: answer
  - set: {who: caller}
  - if: [{field: Caller-Destination-Number, expression: ^2}]
    then: [{log: two}]
  - execute: "playback FAIL-ME.wav"
  - api: "uuid_setvar ${{ uuid }} reached end"
  - hangup: NORMAL_CLEARING
on_error:
  - hangup: CALL_REJECTED
"""

NORMAL = """\
flow: normal
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^1001$}]
steps:
  - execute: answer
  - execute: "playback hello.wav"
  - hangup: NORMAL_CLEARING
"""

EXCEPTIONS = [
    ValueError("bad value"),
    KeyError("Caller-Name"),
    RuntimeError("boom"),
    UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"),
    RecursionError("maximum recursion depth exceeded"),
]


def _raiser(exc: Exception) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise exc

    return fail


def _async_raiser(exc: Exception) -> Callable[..., object]:
    async def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


def _inject(monkeypatch: pytest.MonkeyPatch, where: str, exc: Exception) -> None:
    if where == "set executor":
        monkeypatch.setitem(engine_steps.EXECUTORS, "set", _async_raiser(exc))
    elif where == "api executor":
        monkeypatch.setitem(engine_steps.EXECUTORS, "api", _async_raiser(exc))
    elif where == "condition":
        monkeypatch.setattr(engine_steps, "match", _raiser(exc))
    elif where == "render":
        original = ExecuteStep.render_arg

        def render_arg(self: ExecuteStep, ctx: object) -> str | None:
            arg = original(self, ctx)  # type: ignore[arg-type]
            if arg is not None and "FAIL-ME" in arg:
                raise exc
            return arg

        monkeypatch.setattr(ExecuteStep, "render_arg", render_arg)
    else:
        original_command = Connection.command

        async def command(self: Connection, data: bytes, **kwargs: object) -> object:
            if b"FAIL-ME" in data:
                raise exc
            return await original_command(self, data, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Connection, "command", command)


# Where each injection makes the flow fail: the step's place and label.
FAILS_AT = {
    "set executor": "flows/t0.yaml:6:5: flow 'broken' step set",
    "condition": "flows/t0.yaml:7:5: flow 'broken' step if",
    "render": "flows/t0.yaml:9:5: flow 'broken' step execute",
    "connection send": "flows/t0.yaml:9:5: flow 'broken' step execute",
    "api executor": "flows/t0.yaml:10:5: flow 'broken' step api",
}


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("where", FAILS_AT)
async def test_an_unexpected_exception_fails_only_its_instance(
    where: str,
    exc: Exception,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "runner")
    _inject(monkeypatch, where, exc)
    with anyio.fail_after(20):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(BROKEN, NORMAL)) as (engine, wire),
        ):
            broken = await sim.place_call(CallSpec(destination="2000"))
            broken_info = await sim.wait_for_hangup(broken)
            while engine.active:
                await anyio.sleep(0.01)
            normal = await sim.place_call(CallSpec(destination="1001"))
            normal_info = await sim.wait_for_hangup(normal)
    text = str(exc)
    expected = f"{FAILS_AT[where]}: unexpected {type(exc).__name__}: {text}"
    # An error line (a bug to look at, even though on_error copes), not a warning.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [f"{expected}; running on_error"]
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.ERROR]
    # The traceback is there, at debug level only.
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert [(r.levelno, r.exc_info[1] if r.exc_info else None) for r in tracebacks] == [
        (logging.DEBUG, exc)
    ]
    assert wire.lines(broken)[-1] == "hangup CALL_REJECTED"
    assert broken_info.hangup_cause == "CALL_REJECTED"
    assert "reached" not in broken_info.variables
    assert wire.lines(normal) == [
        "execute answer",
        "execute playback hello.wav",
        "hangup NORMAL_CLEARING",
    ]
    assert normal_info.hangup_cause == "NORMAL_CLEARING"
    assert engine.metrics.instance_errors.labels(kind="unexpected")._value.get() == 1
    assert engine.metrics.instances_failed.labels(flow="broken")._value.get() == 1


HANDLERS = """\
flow: handlers
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^3000$}]
steps:
  - execute: answer
  - api: "no_such_command"
on_error:
  - log: "on_error runs"
  - hangup: CALL_REJECTED
---
flow: hangup-handler
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: ^3001$}]
steps:
  - execute: answer
  - wait: DTMF
on_hangup:
  - log: "on_hangup runs"
"""


async def test_handlers_that_raise_end_their_instance_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "runner")
    monkeypatch.setitem(engine_steps.EXECUTORS, "log", _async_raiser(RuntimeError("log broke")))
    with anyio.fail_after(20):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(HANDLERS, NORMAL)) as (engine, wire),
        ):
            on_error = await sim.place_call(CallSpec(destination="3000"))
            on_hangup = await sim.place_call(CallSpec(destination="3001"))
            while len(wire.lines(on_hangup)) < 1 or engine.active > 1:
                await anyio.sleep(0.01)
            sim.hangup(on_hangup)
            while engine.active:
                await anyio.sleep(0.01)
            sim.hangup(on_error)
            normal = await sim.place_call(CallSpec(destination="1001"))
            normal_info = await sim.wait_for_hangup(normal)
    errors = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert errors == [
        "flows/t0.yaml:18:5: flow 'hangup-handler' step log: "
        "on_hangup: unexpected RuntimeError: log broke",
        "flows/t0.yaml:8:5: flow 'handlers' step log: "
        "on_error failed too: unexpected RuntimeError: log broke",
    ]
    # on_error stopped at its failing first step: the hangup after it was not sent.
    assert wire.lines(on_error) == ["execute answer", "api no_such_command"]
    assert normal_info.hangup_cause == "NORMAL_CLEARING"
    assert wire.lines(normal)[-1] == "hangup NORMAL_CLEARING"
