"""The engine against the simulator, in one process, for end-to-end tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.esl.inbound import Backoff
from runner.flow import load_flow_sources
from runner.flow.flowset import FlowSet
from runner.sim import Simulator
from runner.sim.listener import Connection as SimConnection


def flows(*texts: str) -> FlowSet:
    return load_flow_sources([(f"flows/t{i}.yaml", text) for i, text in enumerate(texts)])


@dataclass
class Wire:
    """Every command the engine sent, by channel uuid, as the engine wrote it."""

    by_uuid: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    all: list[bytes] = field(default_factory=list)

    def __call__(self, uuid: str, data: bytes) -> None:
        self.by_uuid[uuid].append(data)
        self.all.append(data)

    def lines(self, uuid: str) -> list[str]:
        """A short line per command: `execute playback x.wav`, `hangup CAUSE`, `api ...`."""
        out = []
        for data in self.by_uuid[uuid]:
            head, _, body = data.decode().partition("\n\n")
            first, *rest = head.split("\n")
            fields = dict(line.split(": ", 1) for line in rest)
            command = fields.get("call-command")
            if command == "execute":
                arg = fields.get("execute-app-arg") or body
                out.append(f"execute {fields['execute-app-name']} {arg}".rstrip())
            elif command == "hangup":
                out.append(f"hangup {fields['hangup-cause']}")
            elif command is not None:
                out.append(command)
            else:
                out.append(first)
        return out


def sim_clients(sim: Simulator) -> list[SimConnection]:
    """The event-socket clients connected to the simulator now (inbound ones)."""
    return [s for s in sim.core.sinks if isinstance(s, SimConnection) and not s.outbound]


@asynccontextmanager
async def engine_on(
    sim: Simulator,
    flowset: FlowSet,
    *,
    inbound: bool = True,
    outbound: bool = False,
    unmatched_cause: str = "NO_ROUTE_DESTINATION",
) -> AsyncIterator[tuple[Engine, Wire]]:
    wire = Wire()
    engine = Engine(
        flowset,
        nodes=[NodeSpec("127.0.0.1", sim.port, "ClueCon")] if inbound else [],
        outbound=OutboundSpec("127.0.0.1", 0, unmatched_hangup_cause=unmatched_cause)
        if outbound
        else None,
        on_command=wire,
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        try:
            yield engine, wire
        finally:
            engine.stop()
