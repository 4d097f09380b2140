"""`eslflow demo`: the example flows, the engine and the simulator in one process.

The simulator listens on a loopback port like FreeSWITCH's event socket; the engine
connects to it (inbound mode) and listens for its `socket` application (outbound mode),
exactly as `eslflow run` does against a real switch. A few simulated calls exercise the
flows in `flows/`, and every call is traced: events in (`<-`), commands out (`->`), and
the flow and step (`file:line:col`) that sent them.

The engine's clock is fixed to a Monday, 10:00 in Berlin, so the business-hours
conditions of the examples hold whenever the demo runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import anyio

from runner.engine.logs import CallContextFilter
from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.engine.trace import Tracer
from runner.esl.inbound import Backoff
from runner.flow import load_flows
from runner.sim import CallSpec, Simulator
from runner.sim.core import SwitchCore
from runner.sim.session import Session

DEMO_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
SPEED = 25.0  # simulated seconds per real second
CALL_TIMEOUT = 30.0  # real seconds a call may take before the demo gives up on it


@dataclass(frozen=True)
class DemoCall:
    title: str
    spec: CallSpec
    outbound: bool = False


def demo_calls() -> list[DemoCall]:
    return [
        DemoCall(
            "IVR on 5000: the caller presses 0 and is put through to the operator",
            CallSpec(destination="5000", caller_number="1002", caller_name="Alice",
                     dtmf=["0"], hangup_after=15),
        ),
        DemoCall(
            "Support line 1001 from example.com in office hours",
            CallSpec(destination="1001", caller_number="+4930123456", caller_name="Bob",
                     variables={"sip_from_host": "example.com"}, hangup_after=9),
        ),
        DemoCall(
            "Team line 3001: announced and recorded",
            CallSpec(destination="3001", caller_number="1003", caller_name="Carol",
                     hangup_after=8),
        ),
        DemoCall(
            "Outbound socket: 9123 asks for a PIN (1234#) before bridging",
            CallSpec(destination="9123", caller_number="1004", caller_name="Dave",
                     dtmf=["1234#"], hangup_after=12),
            outbound=True,
        ),
        DemoCall(
            "Callback: *99 hangs up and is called back",
            CallSpec(destination="*99", caller_number="1005", caller_name="Erin"),
        ),
    ]  # fmt: skip


def default_flows_path() -> Path:
    if Path("flows").is_dir():
        return Path("flows")  # relative, so the trace shows flows/ivr.yaml:12:5
    return Path(__file__).resolve().parent.parent / "flows"


async def _voicemail(session: Session, data: str | None) -> None:
    """The simulator has no mod_voicemail: a stand-in that records for a few seconds."""
    await session.wait(4.0)


async def _record_session(session: Session, data: str | None) -> None:
    """record_session starts recording in the background and returns at once."""
    session.channel.set_var("record_session_path", data or "")


async def _sofia(core: SwitchCore, arg: str) -> str:
    """No SIP stack in the simulator: `sofia profile <p> flush_inbound_reg` is accepted."""
    await anyio.lowlevel.checkpoint()
    return "+OK\n"


class _TraceLogs(logging.Handler):
    """Flow `log:` lines and engine warnings, in the trace of the call they belong to."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__(logging.INFO)
        self.tracer = tracer
        self.addFilter(CallContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("runner.esl") and record.levelno <= logging.INFO:
            return  # connections opening: not part of any call's story
        uuid = getattr(record, "uuid", None)
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        self.tracer.note(uuid, f"   {level}{record.getMessage()}")


async def run_demo(flows_path: Path, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns the number of calls that did not end as expected."""
    flows = load_flows([flows_path])
    tracer = Tracer(out)
    started = anyio.current_time()

    def clock() -> datetime:
        return DEMO_TIME.fromtimestamp(
            DEMO_TIME.timestamp() + (anyio.current_time() - started) * SPEED, UTC
        )

    handler = _TraceLogs(tracer)
    root = logging.getLogger("runner")
    saved = (root.level, root.propagate)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    failures = 0
    try:
        async with Simulator(speed=SPEED, heartbeat_interval=3600) as sim:
            sim.core.applications["voicemail"] = _voicemail
            sim.core.applications["record_session"] = _record_session
            sim.core.api_commands["sofia"] = _sofia
            engine = Engine(
                flows,
                nodes=[NodeSpec("127.0.0.1", sim.port, "ClueCon", label="simulator")],
                outbound=OutboundSpec("127.0.0.1", 0),
                clock=clock,
                backoff=Backoff(initial=0.05, maximum=0.5),
                observer=tracer,
                on_command=tracer.command,
                on_event=tracer.event,
            )
            print(
                f"eslflow demo: {len(flows)} example flows from {flows_path}, the simulator "
                f"on 127.0.0.1:{sim.port}, simulated time x{SPEED:g}\n",
                file=out,
            )
            async with anyio.create_task_group() as tg:
                await tg.start(engine.run)
                for number, call in enumerate(demo_calls(), 1):
                    failures += await _one_call(sim, engine, tracer, number, call, out)
                failures += await _registration(sim, engine, tracer, out)
                engine.stop()
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        root.propagate = saved[1]
    print(
        "\nDone: every call above ran through the engine over a real event socket."
        if failures == 0
        else f"\n{failures} call(s) did not end as expected.",
        file=out,
    )
    return failures


async def _settle(engine: Engine) -> None:
    """Wait until no flow instance runs (a callback may start more calls meanwhile)."""
    quiet = 0
    while quiet < 5:
        await anyio.sleep(0.05)
        quiet = quiet + 1 if engine.active == 0 else 0


async def _one_call(
    sim: Simulator, engine: Engine, tracer: Tracer, number: int, call: DemoCall, out: TextIO
) -> int:
    print(f"── {number}. {call.title}", file=out)
    spec = call.spec
    if call.outbound:
        spec = replace(spec, socket=f"127.0.0.1:{engine.outbound_port} async full")
    uuid = await sim.place_call(spec)
    tracer.label(uuid)
    with anyio.move_on_after(CALL_TIMEOUT) as scope:
        info = await sim.wait_for_hangup(uuid)
        await _settle(engine)
    if scope.cancelled_caught:
        print(f"   the call did not end within {CALL_TIMEOUT:g} s", file=out)
        return 1
    print(f"   call ended: {info.hangup_cause}\n", file=out)
    return 0


async def _registration(sim: Simulator, engine: Engine, tracer: Tracer, out: TextIO) -> int:
    print("── 6. A SIP scanner registers: the registration monitor flushes it", file=out)
    async with await anyio.connect_tcp("127.0.0.1", sim.port) as stream:
        await stream.receive()
        await stream.send(
            b"auth ClueCon\n\nsendevent CUSTOM\nEvent-Subclass: sofia::register\n"
            b"profile-name: internal\nfrom-user: 1009\nfrom-host: example.com\n"
            b"network-ip: 203.0.113.7\nuser-agent: friendly-scanner\n\n"
        )
        with anyio.move_on_after(5):
            received = b""
            while received.count(b"Reply-Text") < 2:
                received += await stream.receive()
    await _settle(engine)
    print("", file=out)
    return 0


def main(flows: Sequence[Path] | None = None) -> int:
    from runner.aio import run

    return run(run_demo, flows[0] if flows else default_flows_path())
