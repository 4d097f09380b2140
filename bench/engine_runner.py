"""The engine as bench/engine_bench.py runs it: `Engine` over one inbound node, plus two
timing hooks (the engine's own `on_event` / `on_command` observers), printing on SIGTERM
the latency from reading a call's triggering event to writing its first command.

    engine_runner.py PORT FLOWS_FILE [STEP_BUDGET]
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.aio import backend_options
from runner.engine.control import DEFAULT_STEP_BUDGET
from runner.engine.service import Engine, NodeSpec
from runner.esl.event import Event
from runner.flow import load_flows

parked: dict[str, float] = {}
first: dict[str, float] = {}


def on_event(node: str, event: Event) -> None:
    if event.get("Event-Name") == "CHANNEL_PARK":
        parked.setdefault(event.get("Unique-ID") or "", time.perf_counter())


def on_command(uuid: str, data: bytes) -> None:
    if uuid not in first:
        first[uuid] = time.perf_counter()


async def main(port: int, flows_file: str, step_budget: int) -> None:
    engine = Engine(
        load_flows([flows_file]),
        nodes=[NodeSpec("127.0.0.1", port, "ClueCon")],
        on_event=on_event,
        on_command=on_command,
        step_budget=step_budget,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        with anyio.open_signal_receiver(signal.SIGTERM) as signals:
            async for _ in signals:
                break
        latencies = sorted((first[u] - parked[u]) * 1000 for u in parked if u in first)
        print(json.dumps({"latencies_ms": latencies}), flush=True)
        os._exit(0)


if __name__ == "__main__":
    budget = int(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_STEP_BUDGET
    anyio.run(main, int(sys.argv[1]), sys.argv[2], budget, backend_options=backend_options())
