"""One flow spinning next to 1,000 normal calls: the normal calls' latency, side by side.

The flow is issue 10's `goto` cycle that never waits. The engine runs as in
bench/engine_bench.py (a subprocess pinned to CPU 0, the simulator in this process on
CPU 1) and the same 1,000 calls of the 5-step flow are offered at a fixed rate, three
times, each against a fresh engine:

- alone: no spinner;
- one spinner throughout: the spinning call arrives first, with a step budget so large
  (10^12) that it spins for the whole run; only the engine's yield every few steps lets
  the other calls through;
- spinners at the default budget: a new spinning call every 50 ms; each fails after
  10,000 steps (its on_error hangs it up).

Latency is measured inside the simulator, as engine_bench.py does: from the moment it
fires a call's CHANNEL_PARK to the moment the call's first `sendmsg` arrives.

    python bench/chaos_spin.py                     # 1,000 calls at 50 calls/s, 3 reps
    python bench/chaos_spin.py --calls 1000 --rate 200 --reps 1   # near saturation here
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from engine_bench import FIVE_STEPS, HISTORY, Probe, pin, runner_process, wait_for_client  # noqa: E402

from runner.engine.control import DEFAULT_STEP_BUDGET  # noqa: E402
from runner.sim import CallSpec, MediaConfig, Simulator  # noqa: E402

SPIN = """\
flow: spin
trigger: CHANNEL_PARK
priority: 1
when: [{field: Caller-Destination-Number, expression: ^9999$}]
blocks:
  a: [{set: {x: 1}}, {goto: b}]
  b: [{goto: a}]
steps:
  - goto: a
on_error:
  - hangup: CALL_REJECTED
---
"""

MODES = {
    "alone": "no spinner",
    "throughout": "one spinner throughout (budget 10^12)",
    "default": f"a spinner every 50 ms (budget {DEFAULT_STEP_BUDGET:,})",
}
SPINNER_EVERY = 0.05


async def one_run(mode: str, calls: int, rate: float, workdir: Path) -> tuple[list[float], int]:
    """Latencies (ms) of the normal calls, and how many spinning calls were placed."""
    media = MediaConfig(default_seconds=1.0)
    flows = workdir / "flows.yaml"
    flows.write_text(SPIN + FIVE_STEPS)
    budget = 10**12 if mode == "throughout" else DEFAULT_STEP_BUDGET
    async with Simulator(speed=1000, heartbeat_interval=3600, media=media, history=HISTORY) as sim:
        probe = Probe()
        probe.install(sim)
        proc = runner_process(sim.port, flows, str(budget))
        spinners = 0
        try:
            with anyio.fail_after(30):
                await wait_for_client(sim)
            async with anyio.create_task_group() as tg:
                if mode == "throughout":
                    await sim.place_call(CallSpec(destination="9999"))
                    spinners = 1
                    await anyio.sleep(0.5)  # it spins before the first normal call
                elif mode == "default":

                    async def spin() -> None:
                        nonlocal spinners
                        while True:
                            await sim.place_call(CallSpec(destination="9999"))
                            spinners += 1
                            await anyio.sleep(SPINNER_EVERY)

                    tg.start_soon(spin)
                start = time.perf_counter()
                uuids = []
                for i in range(calls):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await anyio.sleep(delay)
                    uuids.append(await sim.place_call(CallSpec(destination=str(1000 + i % 8000))))
                with anyio.move_on_after(30):
                    while any(u not in probe.destroyed for u in uuids):
                        await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
        finally:
            proc.kill()
            proc.wait()
    latencies = sorted(
        (probe.first_command[u] - probe.parked[u]) * 1000
        for u in uuids
        if u in probe.first_command and u in probe.parked
    )
    served = sum(1 for u in uuids if u in probe.destroyed)
    if served != calls:
        print(f"  {mode}: only {served}/{calls} normal calls completed", flush=True)
    return latencies, spinners


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    pin(1)
    results: dict[str, list[tuple[float, float, int, int]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="eslflow-spin-") as tmp:
        for rep in range(args.reps):
            for mode in MODES:
                latencies, spinners = anyio.run(
                    one_run, mode, args.calls, args.rate, Path(tmp),
                    backend_options={"use_uvloop": True},
                )  # fmt: skip
                row = (
                    quantile(latencies, 0.5),
                    quantile(latencies, 0.99),
                    len(latencies),
                    spinners,
                )
                results[mode].append(row)
                print(
                    f"rep {rep + 1} {MODES[mode]:40s} p50 {row[0]:.2f} ms  p99 {row[1]:.2f} ms  "
                    f"({row[2]} calls, {spinners} spinning calls)",
                    flush=True,
                )
    med = statistics.median
    print(
        f"\n### One spinning flow next to {args.calls:,} normal calls ({args.rate:g} calls/s, "
        f"median of {args.reps}; simulator fires CHANNEL_PARK -> receives the first sendmsg)\n"
    )
    print("| normal calls | p50 ms | p99 ms | normal calls with a first command | spinning calls |")
    print("|---|---:|---:|---:|---:|")
    for mode, rows in results.items():
        print(
            f"| {MODES[mode]} | {med(r[0] for r in rows):.2f} | {med(r[1] for r in rows):.2f} | "
            f"{med(r[2] for r in rows):.0f}/{args.calls} | {med(r[3] for r in rows):.0f} |"
        )


if __name__ == "__main__":
    main()
