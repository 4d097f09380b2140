"""Running one test case: the simulator and the engine in one process, on a virtual clock.

Both run on trio with `MockClock(autojump_threshold=0)`: whenever every task waits, the
clock jumps to the next deadline, so prompts, ringing, `wait` timeouts and a 30 s bridge
take no wall time. They talk over a `MemoryNetwork` (no socket waits on real I/O, which
would stop the clock from jumping). The simulator's clock and the engine's follow the
same virtual time, starting at the test's `at:`.

What happens is recorded as an `Outcome`:
- every command the engine sends (its `on_command` hook), tied to the flow step that
  sent it: the engine's observer is told of each step just before it runs, in the
  instance's own task, so a context variable set there marks every command that task
  sends until the next step;
- the flows that started, for which channel;
- the flows' log lines and the errors the engine logs;
- for each call of the test: answered or not, its hangup cause, its variables at the end.

The test ends once nothing is left to happen: every call, event and key press of the
test was placed, no flow instance runs, and that has held for a simulated second; or,
failing that, when its `timeout` of simulated time is over. Nothing in the run wakes
on a period while it waits (the harness sleeps until an input is done or an instance
ends, the simulator's heartbeat until someone listens), so idle days of simulated time
pass in one jump of the clock.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import anyio
import anyio.abc
import trio.testing

from runner.engine.instance import FlowInstance
from runner.engine.logs import CallContextFilter
from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.esl.inbound import Backoff
from runner.flow.errors import SourcePos
from runner.flow.flowset import FlowSet
from runner.flow.steps import StepBase
from runner.flowtest.models.case import TestCase
from runner.flowtest.models.inputs import Call, SwitchEvent, call_uuid
from runner.flowtest.models.stubs import AppStub
from runner.flowtest.traffic import SentCommand, parse_command
from runner.network import MemoryNetwork
from runner.sim import CallSpec, ChannelInfo, MediaConfig, SimClock, Simulator, SimulatorError

if TYPE_CHECKING:
    from runner.sim.channel import Channel
    from runner.sim.core import SwitchCore
    from runner.sim.session import Session

SWITCH_HOST: Final = "127.0.0.1"
SWITCH_PORT: Final = 8021
OUTBOUND_PORT: Final = 8084
# How often (simulated seconds) the test looks whether anything is left to happen, and
# for how many looks in a row nothing must be, before it ends.
TICK: Final = 0.5
QUIET_TICKS: Final = 2

_current_step: ContextVar[tuple[FlowInstance, StepBase] | None] = ContextVar(
    "eslflow_test_step", default=None
)


@dataclass(frozen=True, slots=True)
class StartedFlow:
    """A flow instance that ran: its flow, its channel ('' for none), when it started."""

    flow: str
    uuid: str
    time: float


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log line of a flow (`log` step) or an error the engine reported."""

    time: float
    level: str
    message: str
    uuid: str


@dataclass(slots=True)
class CallOutcome:
    """How one of the test's calls ended up."""

    index: int
    uuid: str
    placed: bool = False
    answered: bool = False
    hangup_cause: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    note: str | None = None


@dataclass(slots=True)
class Outcome:
    """Everything a test can check about one run."""

    commands: list[SentCommand] = field(default_factory=list)
    flows: list[StartedFlow] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    errors: list[LogLine] = field(default_factory=list)
    calls: list[CallOutcome] = field(default_factory=list)
    duration: float = 0.0
    timed_out: bool = False
    still_running: list[str] = field(default_factory=list)
    started_at: datetime | None = None


class Recorder(logging.Handler):
    """Observer, command hook, event hook and log handler of one run."""

    def __init__(self, outcome: Outcome, flows: FlowSet) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(CallContextFilter())
        self.outcome = outcome
        self.t0 = 0.0
        self.recording = True
        self.running: dict[int, tuple[FlowInstance, StepBase]] = {}
        # Instances in the order their first step ran, with their start; commands carry
        # that number until finish() ranks the instances.
        self.numbers: dict[int, int] = {}
        self.starts: list[tuple[float, int, int, StartedFlow]] = []
        self.dispatch = {flow.flow: index for index, flow in enumerate(flows)}
        # Told when an instance ends (the harness looks whether the test is over).
        self.on_finished: Callable[[], None] | None = None

    def now(self) -> float:
        return anyio.current_time() - self.t0

    # -- engine hooks ----------------------------------------------------------------------
    def step(self, instance: FlowInstance, step: StepBase) -> None:
        """Observer.step: called in the instance's task just before `step` runs."""
        _current_step.set((instance, step))
        if not self.recording:
            return
        if id(instance) not in self.running:
            number = self.numbers[id(instance)] = len(self.numbers)
            started = StartedFlow(instance.started_flow, instance.uuid, self.now())
            order = self.dispatch.get(instance.started_flow, len(self.dispatch))
            self.starts.append((started.time, order, number, started))
        self.running[id(instance)] = (instance, step)

    def finished(self, instance: FlowInstance) -> None:
        """Observer.finished: an instance ended."""
        if self.on_finished is not None:
            self.on_finished()

    def command(self, uuid: str, data: bytes) -> None:
        """Engine.on_command: every command, from the task that sends it."""
        if not self.recording:
            return
        current = _current_step.get()
        flow: str | None = None
        pos: SourcePos | None = None
        number = -1
        if current is not None and current[0].uuid == uuid:
            instance, step = current
            flow, pos = instance.flow.flow, step.pos
            number = self.numbers.get(id(instance), -1)
        self.outcome.commands.append(
            parse_command(data, time=self.now(), uuid=uuid, flow=flow, pos=pos, instance=number)
        )

    def finish(self) -> None:
        """Stop recording; put the flows and commands in their canonical order.

        Flows started at the same simulated moment are listed in dispatch order (priority,
        then file), the order the engine tries them, not the order the scheduler happened
        to run them. Each instance's commands stay in the order it sent them; commands
        that flows running side by side sent at the same moment are listed by the rank of
        their flow. So a test sees the same lists on every run.
        """
        self.recording = False
        self.starts.sort(key=lambda start: start[:3])
        rank = {number: index for index, (_, _, number, _) in enumerate(self.starts)}
        self.outcome.flows = [start[3] for start in self.starts]
        self.outcome.commands = sorted(
            (replace(c, instance=rank.get(c.instance, -1)) for c in self.outcome.commands),
            key=lambda command: (command.time, command.instance),
        )

    # -- logging ---------------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        if not self.recording:
            return
        uuid = str(getattr(record, "uuid", None) or "")
        try:
            message = record.getMessage()
        except Exception:  # a broken log call must not break the test run
            message = str(record.msg)
        line = LogLine(self.now(), record.levelname.lower(), message, uuid)
        if record.name == "runner.flow" or record.name.startswith("runner.flow."):
            self.outcome.logs.append(line)
        elif record.levelno >= logging.ERROR:
            self.outcome.errors.append(line)

    def still_running(self) -> list[str]:
        out = []
        for instance, step in self.running.values():
            if not instance.finished:
                out.append(f"flow {instance.flow.flow} at {step.pos or '?'} ({step.kind})")
        return out


# Applications that connect the caller to a far end: answering shows as CHANNEL_BRIDGE.
BRIDGING_APPS = frozenset({"bridge", "att_xfer", "intercept"})


def _app_stub(app_name: str, stub: AppStub) -> Callable[[Session, str | None], Awaitable[None]]:
    """A dialplan application that behaves as the test says."""
    bridging = app_name in BRIDGING_APPS and stub.answer

    async def app(session: Session, data: str | None) -> None:
        if bridging:
            # The far end answers at once (switch_ivr_bridge.c fires CHANNEL_BRIDGE).
            session.fire(
                "CHANNEL_BRIDGE",
                "switch_ivr_bridge.c",
                "switch_ivr_multi_threaded_bridge",
                1719,
                before=[("Bridge-A-Unique-ID", session.channel.uuid)],
            )
        if stub.duration is not None and await session.wait(stub.duration):
            return  # the call hung up meanwhile
        channel = session.channel
        for name, value in stub.set.items():
            channel.set_var(name, value)
        if stub.response is not None:
            channel.set_var("current_application_response", stub.response)
        if stub.hangup is not None:
            session.hangup(stub.hangup)

    return app


def _api_stub(output: str) -> Callable[[SwitchCore, str], Awaitable[str]]:
    text = output if output.endswith("\n") else output + "\n"

    async def api(core: SwitchCore, arg: str) -> str:
        await anyio.lowlevel.checkpoint()
        return text

    return api


class _Inputs:
    """What the test still has to do to the switch (calls, events, keys, hangups), and a
    wake-up for the harness whenever one of them is done or a flow instance ends."""

    def __init__(self) -> None:
        self.pending = 0
        self._changed = anyio.Event()

    def done(self) -> None:
        self.pending -= 1
        self.changed()

    def changed(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_changed(self) -> None:
        await self._changed.wait()


async def _run(case: TestCase, flows: FlowSet, outcome: Outcome, recorder: Recorder) -> None:
    recorder.t0 = anyio.current_time()
    start = case.at or datetime.now(UTC)
    outcome.started_at = start
    network = MemoryNetwork()
    calls = case.all_calls()
    outcome.calls = [
        CallOutcome(index, call.uuid or call_uuid(index)) for index, call in enumerate(calls)
    ]
    by_uuid = {call.uuid: call for call in outcome.calls}
    channels: dict[str, Channel] = {}

    def keep_channel(channel: Channel) -> None:
        if channel.uuid in by_uuid:
            channels[channel.uuid] = channel

    settings = case.switch
    media = MediaConfig()
    if settings.media.default is not None:
        media.default_seconds = settings.media.default
    media.durations.update(settings.media.files)
    try:
        async with Simulator(
            SWITCH_HOST,
            SWITCH_PORT,
            clock=SimClock(start=start.timestamp(), timer=anyio.current_time),
            network=network,
            media=media,
        ) as sim:
            if settings.answer_delay is not None:
                sim.core.answer_delay = settings.answer_delay
            for name, stub in settings.apps.items():
                sim.core.applications[name] = _app_stub(name, stub)
            for name, output in settings.api.items():
                sim.core.api_commands[name.lower()] = _api_stub(output)
            sim.core.on_new_channel(keep_channel)
            engine = Engine(
                flows,
                nodes=[NodeSpec(SWITCH_HOST, SWITCH_PORT, "ClueCon", label="switch")],
                outbound=OutboundSpec(SWITCH_HOST, OUTBOUND_PORT),
                clock=lambda: start + timedelta(seconds=recorder.now()),
                backoff=Backoff(initial=0.1, maximum=1.0),
                observer=recorder,
                on_command=recorder.command,
                network=network,
            )
            inputs = _Inputs()
            recorder.on_finished = inputs.changed
            async with anyio.create_task_group() as tg:
                await tg.start(engine.run)
                for index, call in enumerate(calls):
                    inputs.pending += 1
                    tg.start_soon(_place, sim, tg, call, outcome.calls[index], inputs)
                for event in case.events:
                    inputs.pending += 1
                    tg.start_soon(_fire, sim, event, inputs)
                with anyio.move_on_after(case.timeout) as limit:
                    await _until_quiet(engine, inputs, recorder.t0)
                outcome.timed_out = limit.cancelled_caught
                outcome.duration = recorder.now()
                recorder.finish()
                outcome.still_running = recorder.still_running() if outcome.timed_out else []
                for call_outcome in outcome.calls:
                    channel = channels.get(call_outcome.uuid)
                    if channel is not None:
                        info = ChannelInfo.of(channel)
                        call_outcome.answered = channel.answered
                        call_outcome.hangup_cause = info.hangup_cause
                        call_outcome.variables = info.variables
                engine.stop()
                tg.cancel_scope.cancel()
    finally:
        network.close()


async def _place(
    sim: Simulator,
    tg: anyio.abc.TaskGroup,
    call: Call,
    outcome: CallOutcome,
    inputs: _Inputs,
) -> None:
    try:
        if call.after is not None:
            await anyio.sleep(call.after)
        spec = CallSpec(
            destination=call.destination,
            caller_number=call.caller.number,
            caller_name=call.caller.name,
            context=call.context,
            variables=dict(call.variables),
            dtmf=[entry for entry in call.dtmf if isinstance(entry, str)],
            actions=list(call.actions) if call.actions is not None else None,
            socket=(
                f"{SWITCH_HOST}:{OUTBOUND_PORT} {call.socket} full"
                if call.socket is not None
                else None
            ),
            uuid=outcome.uuid,
        )
        uuid = await sim.place_call(spec)
        outcome.placed = True
        for entry in call.dtmf:
            if not isinstance(entry, str):
                inputs.pending += 1
                tg.start_soon(_later, entry.after, inputs, _press(sim, uuid, entry.digits, outcome))
        if call.hangup_after is not None:
            inputs.pending += 1
            tg.start_soon(_later, call.hangup_after, inputs, _hang_up(sim, uuid))
    finally:
        inputs.done()


def _press(sim: Simulator, uuid: str, digits: str, outcome: CallOutcome) -> Callable[[], None]:
    def press() -> None:
        try:
            sim.send_dtmf(uuid, digits)
        except SimulatorError:
            outcome.note = f"the call was gone before the caller pressed {digits}"

    return press


def _hang_up(sim: Simulator, uuid: str) -> Callable[[], None]:
    def hang_up() -> None:
        with contextlib.suppress(SimulatorError):  # the call ended before the caller did
            sim.hangup(uuid)

    return hang_up


async def _later(delay: float, inputs: _Inputs, action: Callable[[], None]) -> None:
    try:
        await anyio.sleep(delay)
        action()
    finally:
        inputs.done()


async def _fire(sim: Simulator, spec: SwitchEvent, inputs: _Inputs) -> None:
    try:
        if spec.after is not None:
            await anyio.sleep(spec.after)
        event = sim.core.new_event(spec.event, "eslflow_test", "fire", 0, subclass=spec.subclass)
        for name, value in spec.headers.items():
            event.add(name, value)
        if spec.body is not None:
            event.body = spec.body
        sim.core.fire(event)
    finally:
        inputs.done()


async def _until_quiet(engine: Engine, inputs: _Inputs, t0: float) -> None:
    """Return at the QUIET_TICKS-th tick in a row (ticks every TICK from `t0`) at which
    no input is pending and no instance runs. While something is, there is nothing to
    look at until an input is done or an instance ends: it waits for that, not for
    ticks, so a call placed 146 days after the first costs no more than one placed now."""
    quiet = 0
    while quiet < QUIET_TICKS:
        if not quiet and (inputs.pending or engine.active):
            await inputs.wait_changed()
        ticks = math.floor((anyio.current_time() - t0) / TICK) + 1
        await anyio.sleep_until(t0 + ticks * TICK)
        quiet = quiet + 1 if not inputs.pending and not engine.active else 0


def format_seconds(value: float) -> str:
    """Simulated seconds for people: `1.5`, `2`, `12614402` (never `1.26144e+07`)."""
    return f"{round(value, 3):.15g}"


@dataclass(slots=True)
class Run:
    """An outcome, and how long it took in wall time."""

    outcome: Outcome
    seconds: float


def run_case(case: TestCase, flows: FlowSet) -> Run:
    """Run `case` against `flows` on a fresh simulator and engine (blocking)."""
    outcome = Outcome()
    recorder = Recorder(outcome, flows)
    runner_logger = logging.getLogger("runner")
    flow_logger = logging.getLogger("runner.flow")
    saved_level = flow_logger.level
    flow_logger.setLevel(logging.DEBUG)
    runner_logger.addHandler(recorder)
    began = time.perf_counter()
    try:
        anyio.run(
            _run,
            case,
            flows,
            outcome,
            recorder,
            backend="trio",
            backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
        )
    finally:
        runner_logger.removeHandler(recorder)
        flow_logger.setLevel(saved_level)
    return Run(outcome, time.perf_counter() - began)
