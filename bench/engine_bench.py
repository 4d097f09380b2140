"""The engine under load: calls/s through a 5-step flow, latency, memory per instance.

The simulator runs in this process (pinned to CPU 1) and offers calls at a fixed rate;
the engine runs as `eslflow run` in a subprocess (pinned to CPU 0), as in production.
Beside it, in the same run, a raw-socket responder (`bench/raw_responder.py`: one
socket, a hand-written state machine per call, no flow language) does the same five
steps: the ceiling of what a Python process can do here.

Latency is measured inside the simulator, on one clock: from the moment it fires the
call's CHANNEL_PARK to the moment the first `sendmsg` for that call arrives. "sim CPU
%" is this process's CPU over the run: near 100%, the simulator, not the responder,
limits the rate.
Memory: 10,000 calls parked and waiting in a flow; the engine's RSS growth / 10,000.

    python bench/engine_bench.py                 # rates 250, 500, 750, 1000; 10,000 parked
    python bench/engine_bench.py --rates 500 --seconds 5 --parked 2000 --reps 3
    python bench/engine_bench.py --responders raw --rates 500,1000 --parked 0   # the simulator
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.sim import CallSpec, MediaConfig, Simulator  # noqa: E402
from runner.sim.listener import Connection as SimConnection  # noqa: E402

FIVE_STEPS = """\
flow: bench
trigger: CHANNEL_PARK
when: [{field: Caller-Destination-Number, expression: '^(\\d+)$'}]
steps:
  - execute: answer
  - execute: {app: playback, arg: "ivr/ivr-welcome.wav"}
  - set: {who: "${{ event['Caller-Caller-ID-Number'] }}"}
  - api: "uuid_setvar ${{ uuid }} routed $1"
  - hangup: NORMAL_CLEARING
"""

PARKED = """\
flow: parked
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - wait: DTMF
  - hangup
"""


def pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {cpu})


@dataclass
class Probe:
    """Per-call timestamps taken inside the simulator."""

    parked: dict[str, float] = field(default_factory=dict)
    first_command: dict[str, float] = field(default_factory=dict)
    destroyed: dict[str, float] = field(default_factory=dict)

    def install(self, sim: Simulator) -> None:
        core = sim.core
        fire = core.fire

        def timed_fire(event):  # type: ignore[no-untyped-def]
            name = event.name
            if name == "CHANNEL_PARK":
                self.parked.setdefault(event.get("Unique-ID") or "", time.perf_counter())
            elif name == "CHANNEL_DESTROY":
                self.destroyed[event.get("Unique-ID") or ""] = time.perf_counter()
            fire(event)

        core.fire = timed_fire  # type: ignore[method-assign]
        handle = SimConnection.handle
        first = self.first_command

        async def timed_handle(conn, command, *, reply=True):  # type: ignore[no-untyped-def]
            line = command.line
            if line.startswith("sendmsg "):
                uuid = line[8:].strip()
                if uuid not in first:
                    first[uuid] = time.perf_counter()
            await handle(conn, command, reply=reply)

        SimConnection.handle = timed_handle  # type: ignore[method-assign]


def engine_process(port: int, flows: Path, workdir: Path, metrics_port: int | None = None):  # type: ignore[no-untyped-def]
    config = workdir / "eslflow.yaml"
    text = f"flows: [{flows}]\nlog: {{level: warning}}\n"
    if metrics_port is not None:
        text += f"metrics: {{listen: 127.0.0.1:{metrics_port}}}\n"
    config.write_text(text)
    command = [sys.executable, "-m", "runner", "run", "--config", str(config),
               "--inbound", f"127.0.0.1:{port}"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, preexec_fn=lambda: pin(0), stderr=subprocess.DEVNULL)


def runner_process(port: int, flows: Path, *extra: str):  # type: ignore[no-untyped-def]
    command = [
        sys.executable, str(ROOT / "bench" / "engine_runner.py"), str(port), str(flows), *extra
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, preexec_fn=lambda: pin(0), stdout=subprocess.PIPE, text=True
    )


def raw_process(port: int):  # type: ignore[no-untyped-def]
    command = [sys.executable, str(ROOT / "bench" / "raw_responder.py"), str(port)]
    return subprocess.Popen(command, preexec_fn=lambda: pin(0))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_for_client(sim: Simulator, subscribed: str = "CHANNEL_PARK") -> None:
    while True:
        for sink in sim.core.sinks:
            if isinstance(sink, SimConnection) and subscribed in sink.event_types:
                return
        await anyio.sleep(0.05)


@dataclass
class Row:
    who: str
    offered: float
    calls: int
    done: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_percent: float
    sim_cpu_percent: float
    sim_cpu_seconds: float
    engine_p50_ms: float = float("nan")
    engine_p99_ms: float = float("nan")

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


# The bench never reads `sim.events`: keeping the last 10,000 events would cost the
# simulator ~5 us an event (~0.1 ms a call, ~15% of its core at 1,000 calls/s), a cost
# of the harness, not of the engine or the raw responder measured here.
HISTORY = 0


async def throughput(who: str, rate: float, seconds: float, workdir: Path) -> Row:
    media = MediaConfig(default_seconds=1.0)
    async with Simulator(speed=1000, heartbeat_interval=3600, media=media, history=HISTORY) as sim:
        probe = Probe()
        probe.install(sim)
        flows = workdir / "five.yaml"
        flows.write_text(FIVE_STEPS)
        proc = runner_process(sim.port, flows) if who == "eslflow" else raw_process(sim.port)
        try:
            with anyio.fail_after(30):
                await wait_for_client(sim)
            cpu0 = cpu_seconds(proc.pid)
            total = int(rate * seconds)
            sim_cpu0 = time.process_time()
            start = time.perf_counter()
            uuids = []
            for i in range(total):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
                uuids.append(await sim.place_call(CallSpec(destination=str(1000 + i % 9000))))
            with anyio.move_on_after(max(10.0, seconds)):
                while any(u not in probe.destroyed for u in uuids):
                    await anyio.sleep(0.01)
            # The simulator's CPU (this process) over the same window as its wall time.
            sim_cpu = time.process_time() - sim_cpu0
            sim_wall = time.perf_counter() - start
            done = [u for u in uuids if u in probe.destroyed]
            end = max((probe.destroyed[u] for u in done), default=time.perf_counter())
            cpu = cpu_seconds(proc.pid) - cpu0
            latencies = sorted(
                (probe.first_command[u] - probe.parked[u]) * 1000
                for u in uuids
                if u in probe.first_command and u in probe.parked
            )
            wall = end - start
            inside: list[float] = []
            if who == "eslflow":
                proc.send_signal(signal.SIGTERM)
                # The runner prints and exits at once, without the simulator: block here.
                out, _ = proc.communicate(timeout=10)
                inside = json.loads(out)["latencies_ms"]
        finally:
            proc.kill()  # measured already; a drain would only wait on parked calls
            proc.wait()

    def p(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    def q(values: list[float], quantile: float) -> float:
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(quantile * len(values)))]

    return Row(
        who, rate, total, len(done), wall, p(0.5), p(0.99), 100 * cpu / wall if wall else 0,
        100 * sim_cpu / sim_wall if sim_wall else 0, sim_cpu, q(inside, 0.5), q(inside, 0.99),
    )  # fmt: skip


async def parked_memory(count: int, workdir: Path) -> tuple[int, int, float]:
    """RSS of the engine before and with `count` instances waiting; KiB per instance."""
    async with Simulator(speed=1000, heartbeat_interval=3600, history=HISTORY) as sim:
        flows = workdir / "parked.yaml"
        flows.write_text(PARKED)
        proc = engine_process(sim.port, flows, workdir)
        try:
            with anyio.fail_after(30):
                await wait_for_client(sim, "DTMF")
            await anyio.sleep(1.0)
            before = rss_kib(proc.pid)
            answered = 0
            for i in range(count):
                await sim.place_call(CallSpec(destination="5000"))
                if i % 200 == 199:
                    await anyio.sleep(0.05)
            with anyio.fail_after(120):
                while answered < count:
                    answered = sum(1 for c in sim.core.channels.values() if c.answered)
                    await anyio.sleep(0.2)
            await anyio.sleep(1.0)  # let the engine settle on its `wait` step
            after = rss_kib(proc.pid)
        finally:
            proc.kill()  # measured already; a drain would only wait on parked calls
            proc.wait()
    return before, after, (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="250,500,750,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--parked", type=int, default=10_000)
    parser.add_argument("--responders", default="eslflow,raw", help="eslflow, raw or both")
    args = parser.parse_args()
    pin(1)
    rates = [float(r) for r in args.rates.split(",") if r]
    rows: dict[tuple[str, float], list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="eslflow-bench-") as tmp:
        work = Path(tmp)
        for rep in range(args.reps):
            for rate in rates:
                chosen = [w for w in ("eslflow", "raw") if w in args.responders.split(",")]
                order = chosen if rep % 2 == 0 else chosen[::-1]
                for who in order:
                    row = anyio.run(throughput, who, rate, args.seconds, work,
                                    backend_options={"use_uvloop": True})  # fmt: skip
                    rows.setdefault((who, rate), []).append(row)
                    print(
                        f"rep {rep + 1} {who:8s} {rate:6.0f}/s offered: {row.rate:7.1f} calls/s, "
                        f"{row.done}/{row.calls} done, p50 {row.p50_ms:.2f} ms, "
                        f"p99 {row.p99_ms:.2f} ms, in the engine p50 {row.engine_p50_ms:.2f} "
                        f"p99 {row.engine_p99_ms:.2f} ms, CPU {row.cpu_percent:.0f}%, "
                        f"sim CPU {row.sim_cpu_percent:.0f}% "
                        f"({1000 * row.sim_cpu_seconds / max(1, row.calls):.2f} ms per call)",
                        flush=True,
                    )
        memory = (
            anyio.run(parked_memory, args.parked, work, backend_options={"use_uvloop": True})
            if args.parked
            else None
        )
    med = statistics.median
    print(f"\n### Engine throughput (5-step flow, {args.seconds:g} s per run, median of "
          f"{args.reps}; end to end = simulator fires CHANNEL_PARK -> receives the first "
          "sendmsg; in the engine = engine reads the event -> writes the sendmsg)\n")  # fmt: skip
    print("| responder | offered calls/s | completed calls/s | done | end-to-end p50 ms "
          "| end-to-end p99 ms | in-engine p50 ms | in-engine p99 ms | CPU % "
          "| sim CPU % |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (who, rate), group in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(
            f"| {who} | {rate:.0f} | {med(r.rate for r in group):.1f} | "
            f"{med(r.done for r in group):.0f}/{group[0].calls} | "
            f"{med(r.p50_ms for r in group):.2f} | {med(r.p99_ms for r in group):.2f} | "
            f"{med(r.engine_p50_ms for r in group):.2f} | "
            f"{med(r.engine_p99_ms for r in group):.2f} | "
            f"{med(r.cpu_percent for r in group):.0f} | "
            f"{med(r.sim_cpu_percent for r in group):.0f} |"
        )
    if memory is not None:
        before, after, per = memory
        print(f"\n### Memory: {args.parked:,} calls parked in a flow's `wait` step\n")
        print("| engine RSS before | with the calls | per waiting instance |")
        print("|---:|---:|---:|")
        print(f"| {before / 1024:.1f} MiB | {after / 1024:.1f} MiB | {per:.2f} KiB |")


if __name__ == "__main__":
    main()
