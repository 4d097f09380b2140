"""What each step kind does: one executor per kind, dispatched by table (`EXECUTORS`).

Executors raise `StepFailed` (or the flow language's `FlowRuntimeError`, or an ESL
error) when the step cannot do its job; the instance turns that into `on_error`.
Every value bound for the wire is rendered by the flow language's `render_*` helpers,
which apply the right guard: no CR/LF in headers or command lines, and no substituted
value that FreeSWITCH could expand or that would reshape an api command, unless `raw`
(runner/flow/expansion.py).
"""

from __future__ import annotations

import logging
import math
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from runner.engine.control import MAX_CALL_DEPTH, GotoFlow, StopFlow
from runner.engine.link import StepFailed
from runner.engine.running import Running
from runner.esl import commands
from runner.esl.loops import LOOP_SETTLE, LoopRuns
from runner.flow.conditions import holds, match
from runner.flow.context import RenderContext
from runner.flow.models import Flow
from runner.flow.steps import (
    ApiStep,
    BgapiStep,
    CallStep,
    DivertEventsStep,
    ExecuteStep,
    GotoStep,
    HangupStep,
    IfStep,
    LingerStep,
    LogStep,
    MyeventsStep,
    NomediaStep,
    RepeatStep,
    ResumeStep,
    SendeventStep,
    SetStep,
    SleepStep,
    Step,
    StopStep,
    SwitchStep,
    Target,
    UnicastStep,
    WaitStep,
    XferextStep,
)
from runner.flow.template import Template

flow_log = logging.getLogger("runner.flow")

Executor = Callable[[Running, Any], Awaitable[None]]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def initial_vars(flow: Flow, ctx: RenderContext) -> dict[str, object]:
    """The flow's `vars:`, in order (a later one may use an earlier one)."""
    if not flow.vars:
        return {}
    values: dict[str, object] = dict(ctx.vars)
    scoped = RenderContext(ctx.captures, ctx.event, ctx.trigger, values, ctx.uuid)
    for name, value in flow.vars.items():
        where = f"{flow.pos}: flow '{flow.flow}' vars.{name}" if flow.pos else name
        values[name] = value.evaluate(scoped, where=where) if isinstance(value, Template) else value
    return {name: values[name] for name in flow.vars}


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- sendmsg ---------------------------------------------------------------------------------


# Applications whose completion is the end of a whole conversation: for them `timeout`
# is how long the far end may take to answer (CHANNEL_BRIDGE), not the call's length.
BRIDGING_APPS = frozenset({"bridge", "att_xfer", "intercept"})


async def execute(inst: Running, step: ExecuteStep) -> None:
    args = step.execute
    arg = step.render_arg(inst.context())
    app_uuid = str(uuidlib.uuid4())
    wait = None
    bridged = False
    # With `loops`, FreeSWITCH ends every run with its own CHANNEL_EXECUTE_COMPLETE under
    # the same Application-UUID; the step completes at the last (runner/esl/loops.py).
    runs = LoopRuns(args.loops) if args.wait == "complete" else None
    settle_at = math.inf  # when a completion that may not be the last stands as the last
    if args.wait != "none":
        name = "CHANNEL_EXECUTE_COMPLETE" if args.wait == "complete" else "CHANNEL_EXECUTE"
        watch_bridge = args.app in BRIDGING_APPS and args.timeout is not None

        def accepts(event: Mapping[str, str]) -> bool:
            nonlocal bridged, settle_at
            # Completion is the event whose Application-UUID is our Event-UUID (capture
            # e_sendmsg: FreeSWITCH copies sendmsg's Event-UUID into it).
            if event.get("Application-UUID") == app_uuid:
                kind = event.get("Event-Name")
                if kind == name:
                    if runs is None or runs.completed(event):
                        return True
                    settle_at = anyio.current_time() + LOOP_SETTLE
                    return False
                if runs is not None and kind == "CHANNEL_EXECUTE":
                    runs.started(event)  # another run: the completion before was not last
                    settle_at = math.inf
                    return False
            if watch_bridge and event.get("Event-Name") == "CHANNEL_BRIDGE":
                bridged = True  # answered: from now on the call may last as long as it likes
            return False

        wait = inst.arm(name, accepts)
    await inst.link.execute(
        args.app,
        arg,
        event_uuid=app_uuid,
        loops=args.loops,
        lock=args.lock,
        hold_bleg=args.hold_bleg,
    )
    if wait is None:
        return
    deadline = math.inf if args.timeout is None else anyio.current_time() + args.timeout
    while True:
        now = anyio.current_time()
        if runs is not None and runs.last is not None and settle_at <= now:
            inst.settle(wait, runs.last)  # no further run started: that one was the last
        if not bridged and now >= deadline:
            event = await inst.wait_for(wait, 0)  # disarms; the event, if it just came
            break
        # Once a bridging app's far end answered, the call may last as long as it likes.
        limit = settle_at if bridged else min(deadline, settle_at)
        timeout = None if limit == math.inf else limit - now
        event = await inst.wait_for(wait, timeout, keep_armed=True)
        if event is not None:
            break
    if event is None:
        assert args.timeout is not None
        if args.app in BRIDGING_APPS:
            raise StepFailed(f"{args.app}: no answer within {_seconds(args.timeout)}")
        verb = "complete" if args.wait == "complete" else "start"
        raise StepFailed(f"{args.app} did not {verb} within {_seconds(args.timeout)}")
    inst.event = event
    if args.save:
        inst.vars[args.save] = event


# FreeSWITCH answers `sendmsg hangup` with +OK at once and ends the call on the
# session's own thread; CHANNEL_HANGUP follows. The step lasts until it comes (it then
# cancels the steps and runs on_hangup), so nothing after a hangup races the call's end.
HANGUP_WAIT = 10.0


async def hangup(inst: Running, step: HangupStep) -> None:
    gone = inst.hung_up or inst.after_hangup  # in on_hangup, or a flow started by a hangup
    await inst.link.hangup(step.cause)
    if gone:
        return
    await anyio.sleep(HANGUP_WAIT)  # CHANNEL_HANGUP cancels it
    raise StepFailed(f"the channel was still up {HANGUP_WAIT:g} s after the hangup command")


async def unicast(inst: Running, step: UnicastStep) -> None:
    args = step.unicast
    headers = [("call-command", "unicast")]
    for name, value in (
        ("local-ip", args.local_ip),
        ("local-port", args.local_port),
        ("remote-ip", args.remote_ip),
        ("remote-port", args.remote_port),
        ("transport", args.transport),
        ("flags", args.flags),
    ):
        if value is not None:
            headers.append((name, str(value)))
    await inst.link.sendmsg(headers)


async def nomedia(inst: Running, step: NomediaStep) -> None:
    target = step.render_uuid(inst.context())
    await inst.link.sendmsg([("call-command", "nomedia"), ("nomedia-uuid", target)])


async def xferext(inst: Running, step: XferextStep) -> None:
    apps = step.render_apps(inst.context())
    await inst.link.sendmsg([("call-command", "xferext"), *(("application", a) for a in apps)])


# -- commands ----------------------------------------------------------------------------------


async def sendevent(inst: Running, step: SendeventStep) -> None:
    ctx = inst.context()
    args = step.sendevent
    await inst.link.sendevent(
        args.event, step.render_headers(ctx), step.render_body(ctx), args.subclass
    )


async def api(inst: Running, step: ApiStep) -> None:
    # With `save`, a "-ERR ..." output is the flow's to look at; without, it fails the step.
    save = step.api.save
    output = await inst.link.api(step.render_command(inst.context()), errors_ok=bool(save))
    if save:
        inst.vars[save] = output


async def bgapi(inst: Running, step: BgapiStep) -> None:
    save = step.bgapi.save
    output = await inst.link.bgapi(
        step.render_command(inst.context()), step.bgapi.timeout, errors_ok=bool(save)
    )
    if save:
        inst.vars[save] = output


# -- flow control --------------------------------------------------------------------------------


async def set_(inst: Running, step: SetStep) -> None:
    inst.vars.update(step.values(inst.context()))


async def wait(inst: Running, step: WaitStep) -> None:
    spec = step.wait
    channel_only = spec.channel == "this"

    def accepts(event: Mapping[str, str]) -> bool:
        if event.get("Event-Name") != spec.event:
            return False
        if spec.subclass is not None and event.get("Event-Subclass") != spec.subclass:
            return False
        if channel_only and event.get("Unique-ID") != inst.uuid:
            return False
        return step.accepts(event, inst.clock(), inst.context())

    if channel_only and not inst.uuid:
        raise StepFailed("wait for an event of this channel, but the flow has no channel")
    armed = inst.arm(spec.event, accepts, any_channel=not channel_only)
    event = await inst.wait_for(armed, spec.timeout)
    if event is None:
        assert spec.timeout is not None
        if step.on_timeout:
            await inst.run_steps(step.on_timeout)
            return
        raise StepFailed(f"no {spec.event} event within {_seconds(spec.timeout)}")
    inst.event = event
    if spec.save:
        inst.vars[spec.save] = event


async def sleep(inst: Running, step: SleepStep) -> None:
    await anyio.sleep(step.sleep)
    inst.rested()  # a loop that sleeps each round is paced: not a runaway


async def if_(inst: Running, step: IfStep) -> None:
    ctx = inst.context()
    captures = match(step.if_, inst.event, inst.clock(), ctx)
    if captures is None:
        await inst.run_steps(step.else_)
        return
    if not captures:
        await inst.run_steps(step.then)
        return
    # Like a dialplan condition's actions, `then` sees this condition's captures.
    saved = inst.captures
    inst.captures = captures
    try:
        await inst.run_steps(step.then)
    finally:
        inst.captures = saved


async def switch(inst: Running, step: SwitchStep) -> None:
    await inst.run_steps(step.choose(inst.context()))


async def repeat(inst: Running, step: RepeatStep) -> None:
    for number in range(1, step.repeat + 1):
        if step.counter:
            inst.vars[step.counter] = number
        await inst.run_steps(step.steps)
        if step.until and holds(step.until, inst.event, inst.clock(), inst.context()):
            return


def _target(inst: Running, target: Target) -> tuple[tuple[Step, ...], Flow]:
    if target.kind == "block":
        steps = inst.flow.blocks.get(target.target)
        if steps is None:
            raise StepFailed(f"flow '{inst.flow.flow}' has no block '{target.target}'")
        return steps, inst.flow
    flow = inst.flows.get(target.target)
    if flow is None:
        raise StepFailed(f"no flow named '{target.target}' is loaded")
    return flow.steps, flow


async def goto(inst: Running, step: GotoStep) -> None:
    steps, flow = _target(inst, step.goto)
    if flow is not inst.flow and flow.when:
        # Like a transfer into another extension: its conditions, tested on the event
        # that started the call, give its own $1..$9 when they hold.
        captures = match(flow.when, inst.trigger, inst.clock(), inst.context())
        if captures is not None:
            inst.captures = captures
    raise GotoFlow(steps, flow)


async def call(inst: Running, step: CallStep) -> None:
    steps, flow = _target(inst, step.call)
    if inst.depth >= MAX_CALL_DEPTH:
        raise StepFailed(f"call nested more than {MAX_CALL_DEPTH} deep (a loop of calls?)")
    caller = inst.flow
    inst.flow = flow  # blocks named inside the called flow are its own
    inst.depth += 1
    try:
        await inst.run_steps(steps)
    finally:
        inst.depth -= 1
        inst.flow = caller


async def log_(inst: Running, step: LogStep) -> None:
    flow_log.log(_LEVELS[step.log.level], "%s", step.render_message(inst.context()))


async def stop(inst: Running, step: StopStep) -> None:
    if step.stop:
        flow_log.info("stop: %s", step.stop)
    raise StopFlow


# -- the outbound socket ---------------------------------------------------------------------------


async def linger(inst: Running, step: LingerStep) -> None:
    if step.linger is False:
        await inst.link.socket_command(commands.nolinger())
    else:
        await inst.link.socket_command(commands.linger(step.seconds))


async def myevents(inst: Running, step: MyeventsStep) -> None:
    await inst.link.socket_command(commands.myevents())


async def divert_events(inst: Running, step: DivertEventsStep) -> None:
    await inst.link.socket_command(commands.divert_events(step.divert_events))


async def resume(inst: Running, step: ResumeStep) -> None:
    await inst.link.socket_command(commands.resume())


# Steps that send a command and wait for the switch's reply: the time they take is the
# switch's, not the event loop's, so the pacing of runaway loops does not count it.
SWITCH_STEPS = frozenset(
    {
        "execute",
        "hangup",
        "unicast",
        "nomedia",
        "xferext",
        "sendevent",
        "api",
        "bgapi",
        "linger",
        "myevents",
        "divert_events",
        "resume",
    }
)

EXECUTORS: dict[str, Executor] = {
    "execute": execute,
    "hangup": hangup,
    "unicast": unicast,
    "nomedia": nomedia,
    "xferext": xferext,
    "sendevent": sendevent,
    "api": api,
    "bgapi": bgapi,
    "set": set_,
    "wait": wait,
    "sleep": sleep,
    "if": if_,
    "switch": switch,
    "repeat": repeat,
    "goto": goto,
    "call": call,
    "log": log_,
    "stop": stop,
    "linger": linger,
    "myevents": myevents,
    "divert_events": divert_events,
    "resume": resume,
}
