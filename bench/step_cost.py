"""What a step costs in a loop that never waits, by how often the instance yields.

Runs issue 10's `goto` cycle (`a: [set, goto b]`, `b: [goto a]`) in one FlowInstance
until its step budget (100,000 steps) ends it, with pacing switched off, and prints the
median time per step for a yield never, every CHECKPOINT_EVERY steps (the engine's
choice) and every step. It is the cost the engine's yields add to a busy flow.

    python bench/step_cost.py [--steps 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import runner.engine.instance as instance_module
from runner.aio import backend_options
from runner.engine.instance import CHECKPOINT_EVERY, FlowInstance
from runner.engine.link import Link
from runner.flow import load_flow_sources

SPIN = """\
flow: spin
trigger: CHANNEL_PARK
blocks:
  a: [{set: {x: 1}}, {goto: b}]
  b: [{goto: a}]
steps:
  - goto: a
"""
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def one_run(steps: int) -> float:
    flows = load_flow_sources([("flows/spin.yaml", SPIN)])
    trigger = {"Event-Name": "CHANNEL_PARK", "Unique-ID": "u"}
    instance = FlowInstance(
        flows.flows[0], flows, Link("u"), trigger, (), clock=lambda: NOW, step_budget=steps
    )
    began = time.perf_counter()
    await instance.run()
    return (time.perf_counter() - began) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the budget error of every run
    instance_module.RUNAWAY_STEPS = sys.maxsize  # no pacing: the yields alone
    print("| yield | us per step (median) |\n|---|---:|")
    for every, label in (
        (sys.maxsize, "never"),
        (CHECKPOINT_EVERY, f"every {CHECKPOINT_EVERY} steps"),
        (1, "every step"),
    ):
        instance_module.CHECKPOINT_EVERY = every
        runs = [
            anyio.run(one_run, args.steps, backend_options=backend_options())
            for _ in range(args.runs)
        ]
        print(f"| {label} | {statistics.median(runs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
