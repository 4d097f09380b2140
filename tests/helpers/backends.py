"""One switch interface for end-to-end tests that run on the simulator and on FreeSWITCH.

A test gets a `Backend` (which switch), enters `backend.start()` for a `SwitchUnderTest`
— an event socket address, a password, and the port its test extensions 9000/9001
connect to — and drives it with the same code on both: the engine under test connects
to it, and a control connection places calls (`originate ... loopback/900x/default`)
and watches what happened. Both switches have the same test extensions: 9000 socket
async full, 9001 socket sync full, 9002 answer+park, 9003 park unanswered (the
simulator's catch-all parks unanswered too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc

from helpers.engine_sim import Wire
from helpers.freeswitch import RealSwitch, free_port, new_uuid, private_or_skip
from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.esl import commands
from runner.esl.buffer import EventBuffer
from runner.esl.event import Event
from runner.esl.inbound import Backoff, InboundConnection
from runner.flow.flowset import FlowSet
from runner.sim import Simulator


@dataclass(frozen=True)
class SwitchUnderTest:
    name: str
    host: str
    port: int
    password: str
    outbound_port: int


@dataclass(frozen=True)
class Backend:
    """Which switch a parametrized test runs on; `start()` brings it up for one test."""

    name: str
    real: RealSwitch | None = None

    @asynccontextmanager
    async def start(self) -> AsyncIterator[SwitchUnderTest]:
        if self.real is None:
            port = free_port()
            async with Simulator(outbound_target=f"127.0.0.1:{port}") as sim:
                yield SwitchUnderTest("sim", "127.0.0.1", sim.port, "ClueCon", port)
            return
        real = self.real
        assert real.outbound_port is not None, "the real switch needs its outbound target"
        yield SwitchUnderTest("freeswitch", real.host, real.port, real.password, real.outbound_port)


@dataclass
class Call:
    """A loopback call placed by the control connection: the a-leg we originated and
    the b-leg that ran the extension (the one flows see as the inbound call)."""

    a_leg: str
    b_leg: str = ""
    events: list[Event] = field(default_factory=list)

    def names(self, uuid: str) -> list[str]:
        return [e.get("Event-Name", "") for e in self.events if e.get("Unique-ID") == uuid]

    def last(self, name: str, uuid: str) -> Event | None:
        found = [e for e in self.events if e.get("Event-Name") == name]
        found = [e for e in found if e.get("Unique-ID") == uuid]
        return found[-1] if found else None


WATCHED = (
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_PARK",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CUSTOM",
    # A CUSTOM subscription names its subclasses (mod_event_socket's `event` command).
    "eslflow::ping",
    "eslflow::pong",
    "eslflow::payload",
)


class Control:
    """The test's own connection to the switch: places calls, records their events."""

    def __init__(self, conn: InboundConnection, buffer: EventBuffer) -> None:
        self.conn = conn
        self.buffer = buffer
        self.calls: dict[str, Call] = {}
        self.custom: list[Event] = []
        self._changed = anyio.Event()

    async def run(self) -> None:
        async for event in self.buffer:
            if event.get("Event-Name") == "CUSTOM":
                self.custom.append(event)
            uuid = event.get("Unique-ID", "")
            other = event.get("variable_other_loopback_leg_uuid", "")
            call = self.calls.get(uuid) or self.calls.get(other)
            if call is not None:
                if uuid != call.a_leg and not call.b_leg:
                    call.b_leg = uuid
                call.events.append(event)
            self._changed.set()
            self._changed = anyio.Event()

    async def originate(
        self,
        ext: str,
        *,
        caller_number: str = "1002",
        caller_name: str = "Alice",
        variables: dict[str, str] | None = None,
    ) -> Call:
        """Place `loopback/EXT/default` with a fresh uuid; return once its b-leg exists.

        By bgapi: an api originate would wait for the b-leg to answer."""
        call = Call(a_leg=new_uuid())
        self.calls[call.a_leg] = call
        dial_vars = {
            "origination_uuid": call.a_leg,
            "origination_caller_id_number": caller_number,
            "origination_caller_id_name": caller_name,
            "originate_timeout": "20",
            **(variables or {}),
        }
        block = ",".join(f"{k}={v}" for k, v in dial_vars.items())
        await self.conn.command(
            commands.bgapi(f"originate {{{block}}}loopback/{ext}/default &park()")
        )
        await self.until(lambda: bool(call.b_leg))
        return call

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        with anyio.fail_after(timeout):
            while not condition():
                await self._changed.wait()

    async def gone(self, call: Call, timeout: float = 10.0) -> None:
        """Wait until both legs have sent CHANNEL_HANGUP_COMPLETE."""
        await self.until(
            lambda: (
                bool(call.b_leg)
                and "CHANNEL_HANGUP_COMPLETE" in call.names(call.a_leg)
                and "CHANNEL_HANGUP_COMPLETE" in call.names(call.b_leg)
            ),
            timeout,
        )


@asynccontextmanager
async def control(sw: SwitchUnderTest) -> AsyncIterator[Control]:
    async with InboundConnection.connect(sw.host, sw.port, sw.password) as conn:
        buffer = conn.event_buffer()
        await conn.subscribe(WATCHED, "json")
        ctl = Control(conn, buffer)
        async with anyio.create_task_group() as tg:
            tg.start_soon(ctl.run)
            try:
                yield ctl
            finally:
                await conn.api("hupall")
                tg.cancel_scope.cancel()


@asynccontextmanager
async def engine_at(
    sw: SwitchUnderTest, flowset: FlowSet, *, inbound: bool = True, outbound: bool = False
) -> AsyncIterator[tuple[Engine, Wire]]:
    """The engine under test, connected to `sw` (and listening where its socket
    extensions connect, with `outbound`)."""
    wire = Wire()
    engine = Engine(
        flowset,
        nodes=[NodeSpec(sw.host, sw.port, sw.password)] if inbound else [],
        outbound=OutboundSpec("127.0.0.1", sw.outbound_port) if outbound else None,
        on_command=wire,
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        try:
            yield engine, wire
        finally:
            engine.stop()


@asynccontextmanager
async def restartable(
    backend: Backend, directory: Path
) -> AsyncIterator[tuple[SwitchUnderTest, Callable[[], Awaitable[None]]]]:
    """A switch of the backend's kind that the test may kill and start again on the same
    port (a private one, not the shared real switch): yields it and `restart()`."""
    port, outbound_port = free_port(), free_port()
    sw = SwitchUnderTest(backend.name, "127.0.0.1", port, "ClueCon", outbound_port)
    if backend.real is not None:
        with ExitStack() as stack:

            async def restart_real() -> None:
                stack.close()
                stack.enter_context(
                    private_or_skip(directory, outbound_port=outbound_port, esl_port=port)
                )

            stack.enter_context(
                private_or_skip(directory, outbound_port=outbound_port, esl_port=port)
            )
            yield sw, restart_real
        return

    class Running:
        def __init__(self) -> None:
            self.scope = anyio.CancelScope()
            self.ended = anyio.Event()

    async def run_sim(*, task_status: anyio.abc.TaskStatus[Running]) -> None:
        running = Running()
        try:
            with running.scope:
                async with Simulator(port=port, outbound_target=f"127.0.0.1:{outbound_port}"):
                    task_status.started(running)
                    await anyio.sleep_forever()
        finally:
            running.ended.set()

    async with anyio.create_task_group() as tg:
        current: list[Running] = [await tg.start(run_sim)]

        async def restart_sim() -> None:
            # Like a kill: the switch's sockets close under the engine; once its listener
            # is gone, a new switch (a new Core-UUID) listens on the same port.
            current[0].scope.cancel()
            await current[0].ended.wait()
            current[0] = await tg.start(run_sim)

        try:
            yield sw, restart_sim
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def session(
    backend: Backend,
    flowset: FlowSet,
    *,
    inbound: bool = True,
    outbound: bool = False,
    timeout: float = 30.0,
) -> AsyncIterator[tuple[Engine, Wire, Control]]:
    """A switch of `backend`'s kind, the engine under test on it, and the test's own
    control connection, all bounded by `timeout`."""
    with anyio.fail_after(timeout):
        async with (
            backend.start() as sw,
            engine_at(sw, flowset, inbound=inbound, outbound=outbound) as (engine, wire),
            control(sw) as ctl,
        ):
            yield engine, wire, ctl
