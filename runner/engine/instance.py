"""`FlowInstance`: one run of one flow for one channel (or one channel-less event).

The instance runs its steps in order. It never reads a connection: the router offers it
the events of its channel, and it takes one only while a step waits for it (an
execute's completion, a `wait`). So an idle instance holds no queue, and the reader
never waits on a flow. A CHANNEL_HANGUP for its channel cancels whatever step runs and
starts `on_hangup`; a failing step (a `-ERR`, a timeout, a refused value) runs
`on_error` with `vars.error`, or, without one, is logged with the flow, the step and
its `file:line:col`, and ends the instance. No instance outlives its channel.

Nothing raised inside an instance leaves it: an exception eslflow did not foresee, from
any step, condition or handler, is that step's error like any other (its traceback is
logged at debug level). And no instance holds the event loop: it yields every few steps,
a long run of steps without waiting for an event is paced (`pacing.py`), and a run of
`step_budget` such steps (a `goto` loop that never waits) fails the step that would go
over it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import anyio

from runner.engine.control import DEFAULT_STEP_BUDGET, GotoFlow, StopFlow
from runner.engine.link import InboundLink, Link, StepFailed
from runner.engine.logs import call_uuid, flow_name, step_where
from runner.engine.pacing import RUNAWAY_STEPS, Pacer
from runner.engine.running import EventAccepts, Wait
from runner.engine.slim import Interest
from runner.engine.steps import EXECUTORS, SWITCH_STEPS, initial_vars
from runner.esl.errors import EslError
from runner.flow.context import RenderContext
from runner.flow.errors import FlowRuntimeError
from runner.flow.flowset import FlowSet
from runner.flow.models import Flow
from runner.flow.steps import Step, StepBase

if TYPE_CHECKING:
    from runner.engine.metrics import Metrics

log = logging.getLogger("runner.engine")

HANGUP_EVENTS = frozenset({"CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"})
# Handlers get this long after a hangup or an error before they are cut off.
HANDLER_TIMEOUT = 30.0
# A run of steps without a wait yields to the event loop every this many steps: other
# calls, /healthz and signals get their turn while a busy flow runs. A yield at every
# step made such a loop 13% to 75% slower per step (bench/step_cost.py, on a shared
# machine); one every 8 costs nothing measurable, and ordinary flows, which wait every
# step or two (bench/engine_bench.py's 5-step flow), never reach one.
CHECKPOINT_EVERY = 8


class Observer(Protocol):
    """Watches what instances do (the demo's trace, `eslflow test`)."""

    def step(self, instance: FlowInstance, step: StepBase) -> None: ...

    def finished(self, instance: FlowInstance) -> None:
        """The instance ended (its steps and handlers ran, or it was stopped)."""
        ...


class FlowInstance:
    """Runs one flow; see the module docstring for its lifecycle."""

    def __init__(
        self,
        flow: Flow,
        flows: FlowSet,
        link: Link,
        trigger: Mapping[str, str],
        captures: tuple[str, ...],
        *,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        on_finish: Callable[[FlowInstance], None] | None = None,
        any_waiters: set[FlowInstance] | None = None,
        interest: Interest | None = None,
        step_budget: int = DEFAULT_STEP_BUDGET,
        pacer: Pacer | None = None,
    ) -> None:
        self.flow = flow
        self.flows = flows
        self.link = link
        self.uuid = link.uuid
        # Events the instance keeps hold only the headers its flows can read.
        self.interest = interest or Interest.of(None)
        trigger = self.interest.slim(trigger)
        self.trigger = trigger
        self.event: Mapping[str, str] = trigger
        self.captures = captures
        self.vars: dict[str, object] = {}
        self.clock = clock
        self.metrics = metrics
        self.on_finish = on_finish
        # The router's set of instances waiting for an event of any channel.
        self.any_waiters = any_waiters if any_waiters is not None else set()
        self.waiting: Wait | None = None
        # An event satisfied the armed wait and the flow has not resumed yet: the
        # instance is behind the event stream (the router's on_busy looks at this).
        self.woken = False
        # How many waits the instance has armed; tells the router whether it went on
        # waiting after being woken.
        self.arms = 0
        self.hung_up = False
        # Started by a hangup event: the channel is gone already, the flow runs anyway
        # (a CDR flow on CHANNEL_HANGUP_COMPLETE), and later hangup events do not stop it.
        self.after_hangup = trigger.get("Event-Name") in HANGUP_EVENTS
        self.started_flow = flow.flow
        self.observer: Observer | None = None
        self.hangup_event: Mapping[str, str] | None = None
        self.finished = False
        self.failed = False
        # Cut off by a second SIGTERM: counted as abandoned, neither finished nor failed.
        self.abandoned = False
        self.depth = 0
        # Steps run since the instance last waited for an event or slept, and how many
        # it may run so (see the module docstring).
        self.step_budget = step_budget
        self.unwaited = 0
        # Shared by the engine's instances; and when the instance last took the loop.
        self.pacer = pacer or Pacer()
        self._resumed = time.perf_counter()
        self._scope: anyio.CancelScope | None = None
        self._stopping = False

    def __repr__(self) -> str:
        return f"<FlowInstance {self.flow.flow} {self.uuid or '-'}>"

    # -- what the router calls (never blocks) -------------------------------------------------
    def offer(self, event: Mapping[str, str]) -> None:
        """An event of this instance's channel (or any, for `channel: any` waits)."""
        waiting = self.waiting
        if waiting is None:
            return
        try:
            taken = waiting.accepts(event)
        except Exception as exc:  # a wait condition that cannot be evaluated (or a bug)
            waiting.error = exc
            taken = True
        if taken:
            waiting.event = self.interest.slim(event)
            self.woken = True
            self._disarm(waiting)
            waiting.done.set()

    def settle(self, wait: Wait, event: Mapping[str, str]) -> None:
        """Satisfy `wait` with `event`, an event it saw and held: a looped execute's
        completion that no further run followed (runner/esl/loops.py)."""
        if self.waiting is wait and not wait.done.is_set():
            wait.event = self.interest.slim(event)
            self._disarm(wait)
            wait.done.set()

    def channel_gone(self, event: Mapping[str, str]) -> None:
        """CHANNEL_HANGUP (or a later hangup event): stop the steps, run on_hangup."""
        if self.hung_up or self.finished or self.after_hangup:
            return
        self.hung_up = True
        self.hangup_event = self.interest.slim(event)
        if self._scope is not None:
            self._scope.cancel()

    def miss(self, wait: Wait, message: str) -> None:
        """`wait`'s event may have been lost (a reconnect): the waiting step fails with
        `message` instead of waiting forever. A no-op once the wait was satisfied."""
        if self.waiting is wait and not wait.done.is_set():
            wait.error = FlowRuntimeError(message)
            self._disarm(wait)
            wait.done.set()

    def stop(self) -> None:
        """Stop the instance (replaced by a newer one, or the engine stops); no handlers."""
        self._stopping = True
        if self._scope is not None:
            self._scope.cancel()

    # -- running ---------------------------------------------------------------------------------
    def context(self) -> RenderContext:
        return RenderContext(
            captures=self.captures,
            event=self.event,
            trigger=self.trigger,
            vars=self.vars,
            uuid=self.uuid,
        )

    async def run(self) -> None:
        """Run the flow to its end; never raises (except cancellation from outside)."""
        call_uuid.set(self.uuid or None)
        flow_name.set(self.flow.flow)
        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.instances_started.labels(flow=self.flow.flow).inc()
            self.metrics.instances_active.inc()
        log.info("flow %s started", self.flow.flow)
        try:
            await self._run_flow()
        except Exception as exc:  # a bug outside any step: still this instance's alone
            self.failed = True
            self._count("unexpected")
            log.debug("unexpected error in flow %s", self.flow.flow, exc_info=exc)
            log.error("flow '%s': %s", self.flow.flow, unexpected(exc))
        finally:
            self.finished = True
            if self.waiting is not None:
                self._disarm(self.waiting)
            if self.metrics is not None:
                self.metrics.instances_active.dec()
                counter = (
                    self.metrics.instances_abandoned
                    if self.abandoned
                    else self.metrics.instances_failed
                    if self.failed
                    else self.metrics.instances_finished
                )
                counter.labels(flow=self.flow.flow).inc()
            log.info(
                "flow %s %s after %.1f ms",
                self.flow.flow,
                self._outcome(),
                (time.perf_counter() - started) * 1000,
            )
            if self.on_finish is not None:
                self.on_finish(self)
            if self.observer is not None:
                self.observer.finished(self)

    def _outcome(self) -> str:
        if self.abandoned:
            return "abandoned"
        if self.failed:
            return "failed"
        return "ended by hangup" if self.hung_up else "finished"

    async def _run_flow(self) -> None:
        # Flow-level vars first: they may use captures and the trigger.
        try:
            self.vars.update(initial_vars(self.flow, self.context()))
        except FlowRuntimeError as exc:
            self._count("step")
            await self._fail(str(exc), None)
            return
        except Exception as exc:
            self._count("unexpected")
            log.debug("unexpected error in the vars of flow %s", self.flow.flow, exc_info=exc)
            await self._fail(unexpected(exc), None)
            return
        steps: tuple[Step, ...] = self.flow.steps
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self.hung_up or self._stopping:
                scope.cancel()
            while True:
                try:
                    await self.run_steps(steps)
                except GotoFlow as jump:
                    if jump.flow is not self.flow:
                        self.flow = jump.flow
                        flow_name.set(jump.flow.flow)
                    steps = jump.steps
                    continue
                except StopFlow:
                    pass
                except _Failure as failure:
                    await self._on_error(failure)
                break
        self._scope = None
        if self.hung_up and not self._stopping:
            await self._on_hangup()

    async def run_steps(self, steps: tuple[Step, ...]) -> None:
        """Run a list of steps in order (nested lists of if/switch/repeat/call too)."""
        for step in steps:
            step_where.set(step)
            self.unwaited += 1
            if self.unwaited > self.step_budget:
                raise self._failure(step, "budget", self._over_budget())
            if self.unwaited % CHECKPOINT_EVERY == 0:
                await self._yield()
            started = time.perf_counter()
            try:
                if self.observer is not None:
                    self.observer.step(self, step)
                await EXECUTORS[step.kind](self, step)
            except (StopFlow, GotoFlow, _Failure):
                raise
            except StepFailed as exc:
                raise self._failure(step, "step", str(exc)) from None
            except FlowRuntimeError as exc:
                message = str(exc)
                # The flow language names the step itself; the log line adds it once.
                message = message.removeprefix(f"{step.where}: ")
                raise self._failure(step, "step", message) from None
            except EslError as exc:
                raise self._failure(step, "step", str(exc)) from None
            except Exception as exc:
                log.debug("%s: unexpected error", step.where, exc_info=exc)
                raise self._failure(step, "unexpected", unexpected(exc)) from None
            finally:
                ended = time.perf_counter()
                if step.kind in SWITCH_STEPS:
                    self._resumed = ended  # its time was the switch's: not held CPU
                if self.metrics is not None:
                    self.metrics.step_took(self.flow.flow, step.kind, ended - started)

    def rested(self) -> None:
        """The instance waited for an event or slept: its step budget starts over."""
        self.unwaited = 0
        self._resumed = time.perf_counter()

    async def _yield(self) -> None:
        """Let other tasks run; a runaway also waits its turn on the engine's pacer."""
        if self.unwaited < RUNAWAY_STEPS:
            await anyio.lowlevel.checkpoint()
        else:
            await self.pacer.pause(time.perf_counter() - self._resumed)
        self._resumed = time.perf_counter()

    def _over_budget(self) -> str:
        return (
            f"{self.step_budget} steps ran without waiting for an event or sleeping "
            f"(a goto or repeat loop that never waits?); the step budget is {self.step_budget}"
        )

    def _failure(self, step: StepBase, kind: str, message: str) -> _Failure:
        self._count(kind)
        return _Failure(step, message, kind)

    def _count(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.instance_errors.labels(kind=kind).inc()

    async def _on_error(self, failure: _Failure) -> None:
        handlers = self.flow.on_error
        self.rested()  # the handlers get a step budget of their own
        self.vars["error"] = failure.message
        self.failed = True  # also when a hangup in the handlers ends them
        if not handlers:
            await self._fail(failure.message, failure.step)
            return
        # An exception nobody foresaw is a bug to look at, even when on_error copes.
        level = logging.ERROR if failure.kind == "unexpected" else logging.WARNING
        log.log(level, "%s: %s; running on_error", failure.step.where, failure.message)
        try:
            with anyio.move_on_after(HANDLER_TIMEOUT):
                await self.run_steps(handlers)
        except (StopFlow, GotoFlow):
            pass
        except _Failure as again:
            await self._fail(f"on_error failed too: {again.message}", again.step)
            return
        self.failed = True

    async def _fail(self, message: str, step: StepBase | None) -> None:
        self.failed = True
        where = step.where if step is not None else f"flow '{self.flow.flow}'"
        log.error("%s: %s", where, message)

    async def _on_hangup(self) -> None:
        handlers = self.flow.on_hangup
        if not handlers:
            return
        if self.hangup_event is not None:
            self.event = self.hangup_event
        log.info("channel hung up; running on_hangup")
        self.rested()
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                with anyio.move_on_after(HANDLER_TIMEOUT):
                    await self.run_steps(handlers)
            except (StopFlow, GotoFlow):
                pass
            except _Failure as failure:
                await self._fail(f"on_hangup: {failure.message}", failure.step)
        self._scope = None

    # -- waiting for events ------------------------------------------------------------------------
    def arm(self, name: str, accepts: EventAccepts, *, any_channel: bool = False) -> Wait:
        """Start taking the first event `accepts` says yes to (before sending the command
        that causes it, so it cannot slip by)."""
        wait = Wait(name, accepts, any_channel)
        link = self.link
        wait.offline = isinstance(link, InboundLink) and not link.node.connected
        self.waiting = wait
        self.woken = False
        self.arms += 1
        if any_channel:
            self.any_waiters.add(self)
        return wait

    def _disarm(self, wait: Wait) -> None:
        if self.waiting is wait:
            self.waiting = None
        if wait.any_channel:
            self.any_waiters.discard(self)

    async def wait_for(
        self, wait: Wait, timeout: float | None, *, keep_armed: bool = False
    ) -> Mapping[str, str] | None:
        """The armed event, or None when `timeout` passed first (then, with
        `keep_armed`, the wait stays armed for another `wait_for`)."""
        try:
            if timeout is None:
                await wait.done.wait()
            else:
                with anyio.move_on_after(timeout):
                    await wait.done.wait()
        except BaseException:
            self._disarm(wait)
            raise
        self.woken = False  # resumed: caught up with the event stream
        self.rested()
        if wait.done.is_set() or not keep_armed:
            self._disarm(wait)
        if wait.error is not None:
            raise wait.error
        return wait.event


def unexpected(exc: BaseException) -> str:
    """How an exception eslflow did not foresee reads in a log line: its type and text."""
    text = str(exc)
    return f"unexpected {type(exc).__name__}" + (f": {text}" if text else "")


class _Failure(Exception):
    """A step failed: unwinds nested step lists up to the instance's error handling."""

    def __init__(self, step: StepBase, message: str, kind: str = "step") -> None:
        self.step = step
        self.message = message
        self.kind = kind  # step, budget or unexpected (the metric's label)
        super().__init__(message)
