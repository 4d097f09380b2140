"""Chaos benchmark of `eslflow run` (issue 10): the service under a switch that dies,
sockets that go silent, and a long stream of events.

    python bench/chaos_service.py                    # all three, full size
    python bench/chaos_service.py --only restarts --cycles 100
    python bench/chaos_service.py --smoke            # scaled down (the test suite runs it)

- restarts: the engine (a subprocess, text logs to a file) serves a simulated switch
  (`eslflow sim` in a subprocess) whose calls are mid-flow (a 5 s playback) when it is
  killed with SIGKILL and started again on the same port, `--cycles` times. Reported:
  tracebacks in the engine's log, reconnects made (from /metrics), the engine's RSS after
  the warm-up cycles and at the end.
- silent: `--silent` sockets answer the engine's `connect` and then never say a word;
  meanwhile `--calls` real calls (this script plays FreeSWITCH's side exactly as the
  captures show it, 10 at a time) are served. Reported: time from the call's TCP connect
  to the engine's first `sendmsg`, p50 and p99, without and with the silent sockets.
- soak: `eslflow sim --load N` streams N CHANNEL_* events to the engine, whose flows
  subscribe to them and never match. Reported: events received, the engine's RSS after
  the first tenth and at the end.

The engine runs with a fast reconnect backoff (`engine` subcommand below) so that a
hundred restarts take minutes, not the production backoff's half hour.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import anyio
import anyio.abc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CAPTURE = ROOT / "tests" / "data" / "captures" / "g1_outbound_async.O.recv.bin"

PARKED_FLOW = """\
flow: mid-flow
trigger: CHANNEL_PARK
steps:
  - execute: answer
  - execute: {app: playback, arg: "silence_stream://5000"}
  - hangup
"""
OUTBOUND_FLOW = """\
flow: answer
trigger: {outbound: true}
steps:
  - execute: answer
  - hangup
"""
# The soak: flows that subscribe to the load's events and never start.
SOAK_EVENTS = (
    "CHANNEL_CREATE",
    "CHANNEL_STATE",
    "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER",
    "CHANNEL_PARK",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
    "CHANNEL_OUTGOING",
)
SOAK_FLOW = """\
flow: never-{name}
trigger: {event}
when:
  - field: Caller-Destination-Number
    expression: ^never$
steps:
  - hangup
"""


# -- the engine under test ------------------------------------------------------------------


async def _engine_main(args: argparse.Namespace) -> None:
    from runner.engine.app import serve
    from runner.engine.config import EngineConfig, MetricsConfig, OutboundListener
    from runner.engine.logs import setup_logging
    from runner.engine.metrics import Metrics
    from runner.engine.service import Engine, NodeSpec, OutboundSpec
    from runner.esl.inbound import Backoff
    from runner.flow import load_flows

    setup_logging("text", "INFO")
    flows = load_flows([Path(args.flows)])
    metrics = Metrics()
    config = EngineConfig(
        flows=[Path(args.flows)],
        metrics=MetricsConfig(listen=f"127.0.0.1:{args.metrics}"),
        outbound=OutboundListener(listen=f"127.0.0.1:{args.outbound}") if args.outbound else None,
    )
    engine = Engine(
        flows,
        nodes=[NodeSpec("127.0.0.1", args.inbound, label="sim")] if args.inbound else [],
        outbound=OutboundSpec("127.0.0.1", args.outbound) if args.outbound else None,
        metrics=metrics,
        backoff=Backoff(initial=0.05, maximum=0.5, stable_after=1.0),
    )
    await serve(config, flows, engine=engine)


# -- helpers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def metric(port: int, name: str, labels: str = "") -> float:
    """The sum of a metric's samples whose label text contains `labels`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith(name) and (line[len(name)] in " {") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


@contextlib.contextmanager
def engine_process(
    workdir: Path, flows: str, *, inbound: int = 0, outbound: int = 0, wait: bool = True
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """The engine in a subprocess: (process, metrics port, log file). It serves /metrics
    only once its node is connected: with `wait=False` the caller waits for that."""
    flow_dir = workdir / "flows"
    flow_dir.mkdir(exist_ok=True)
    for old in flow_dir.glob("*.yaml"):
        old.unlink()
    for index, text in enumerate(flows.split("\n---\n")):
        (flow_dir / f"f{index}.yaml").write_text(text)
    metrics = free_port()
    log = workdir / "engine.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, __file__, "engine", "--flows", str(flow_dir),
             "--metrics", str(metrics), "--inbound", str(inbound), "--outbound", str(outbound)],
            stderr=sink,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )  # fmt: skip
    try:
        if wait:
            wait_until(lambda: metric(metrics, "eslflow_instances_active") >= 0, "the engine")
        yield proc, metrics, log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_sim(port: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim", "--listen", f"127.0.0.1:{port}",
         "--heartbeat", "1000000", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "listening on" in line:
            return proc
    raise RuntimeError("the simulator exited before listening")


# -- restarts --------------------------------------------------------------------------------


def restarts(cycles: int, calls: int, workdir: Path) -> dict[str, object]:
    port = free_port()
    scenario = workdir / "calls.yaml"
    scenario.write_text(
        # Placed once the engine has surely reconnected (it retries every 0.5 s at most).
        f"calls:\n  - destination: '5000'\n    at: 2.0\n    repeat: {calls}\n    every: 0.05\n"
    )
    samples: list[int] = []
    started_total = 0.0
    with engine_process(workdir, PARKED_FLOW, inbound=port, wait=False) as (engine, metrics, log):
        sim = start_sim(port, "--scenario", str(scenario))
        try:
            for cycle in range(cycles):
                if cycle:
                    sim = start_sim(port, "--scenario", str(scenario))
                wait_until(
                    lambda: metric(metrics, "eslflow_connections_up") == 1, "the reconnect", 60
                )
                target = started_total + calls
                wait_until(
                    lambda: metric(metrics, "eslflow_instances_started_total") >= target,  # noqa: B023
                    "calls mid-flow",
                )
                started_total = metric(metrics, "eslflow_instances_started_total")
                sim.send_signal(signal.SIGKILL)  # calls are in their 5 s playback
                sim.wait()
                wait_until(lambda: metric(metrics, "eslflow_connections_up") == 0, "the loss")
                samples.append(rss_kb(engine.pid))
            sim = start_sim(port)
            wait_until(lambda: metric(metrics, "eslflow_connections_up") == 1, "the last one")
            reconnects = metric(metrics, "eslflow_reconnects_total")
            restarts_seen = metric(metrics, "eslflow_switch_restarts_total")
            wait_until(lambda: metric(metrics, "eslflow_instances_active") == 0, "the calls' end")
        finally:
            sim.kill()
            sim.wait()
    text = log.read_text(errors="replace")
    warm = samples[min(len(samples) - 1, max(1, cycles // 10))]
    return {
        "cycles": cycles,
        "calls_per_cycle": calls,
        "instances_started": started_total,
        "reconnects": reconnects,
        "switch_restarts_seen": restarts_seen,
        "tracebacks": text.count("Traceback"),
        "none_in_messages": text.count("(None)"),
        "rss_kb_after_warmup": warm,
        "rss_kb_end": samples[-1],
        "rss_growth_pct": round((samples[-1] - warm) / warm * 100, 2),
    }


# -- silent sockets -----------------------------------------------------------------------------


def _connect_reply() -> bytes:
    data = CAPTURE.read_bytes()
    return data[: data.index(b"\n\n") + 2]


def _reply(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def _plain_event(headers: dict[str, str]) -> bytes:
    inner = ("".join(f"{k}: {quote(v, safe='/')}\n" for k, v in headers.items()) + "\n").encode()
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(inner), inner)


async def _commands(stream: anyio.abc.SocketStream) -> AsyncIterator[bytes]:
    buf = b""
    while True:
        while b"\n\n" not in buf:
            buf += await stream.receive()
        head, _, rest = buf.partition(b"\n\n")
        length = 0
        for line in head.split(b"\n"):
            if line.lower().startswith(b"content-length: "):
                length = int(line.split(b": ")[1])
        while len(rest) < length:
            rest += await stream.receive()
        buf = rest[length:]
        yield head + b"\n\n" + rest[:length]


async def _silent(port: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            async for command in _commands(stream):
                if command.startswith(b"connect"):
                    await stream.send(_connect_reply())
                    task_status.started()
            # ... and never another word


async def _real_call(port: int, first_commands: list[float]) -> None:
    """One call, FreeSWITCH's side: time from connect to the first sendmsg."""
    unique = str(uuidlib.uuid4())
    reply = _connect_reply().replace(b"24ac830d-29b5-44f6-a48d-6a00d0fff2d8", unique.encode())
    started = time.perf_counter()
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        seen_first = False
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            async for command in _commands(stream):
                first = command.split(b"\n", 1)[0]
                if first == b"connect":
                    await stream.send(reply)
                elif first == b"myevents":
                    await stream.send(_reply("+OK Events Enabled"))
                elif first == b"sendmsg":
                    if not seen_first:
                        seen_first = True
                        first_commands.append(time.perf_counter() - started)
                    text = command.decode()
                    out = _reply("+OK")
                    if "Event-UUID: " in text:
                        app_uuid = text.split("Event-UUID: ", 1)[1].split("\n", 1)[0]
                        out += _plain_event(
                            {"Event-Name": "CHANNEL_EXECUTE_COMPLETE", "Unique-ID": unique,
                             "Application": "answer", "Application-UUID": app_uuid}
                        )  # fmt: skip
                    if "call-command: hangup" in text:
                        out += _plain_event({"Event-Name": "CHANNEL_HANGUP", "Unique-ID": unique})
                    await stream.send(out)
                elif first == b"exit":
                    await stream.send(_reply("+OK bye"))
                    return


async def _serve_calls(port: int, calls: int, silent: int) -> tuple[list[float], float]:
    times: list[float] = []
    async with anyio.create_task_group() as tg:
        started = time.perf_counter()
        for _ in range(silent):
            await tg.start(_silent, port)
        opened = time.perf_counter() - started
        limiter = anyio.CapacityLimiter(10)

        async def one() -> None:
            async with limiter:
                await _real_call(port, times)

        async with anyio.create_task_group() as real:
            for _ in range(calls):
                real.start_soon(one)
        tg.cancel_scope.cancel()
    return times, opened


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def silent(count: int, calls: int, workdir: Path) -> dict[str, object]:
    port = free_port()
    out: dict[str, object] = {"silent_sockets": count, "real_calls": calls}
    with engine_process(workdir, OUTBOUND_FLOW, outbound=port) as (engine, metrics, log):
        wait_until(lambda: socket.create_connection(("127.0.0.1", port)).close() is None, "listen")
        for label, silent_count in (("without", 0), ("with", count)):
            times, opened = anyio.run(_serve_calls, port, calls, silent_count)
            assert len(times) == calls, (label, len(times))
            out[f"first_command_ms_p50_{label}_silent"] = round(statistics.median(times) * 1e3, 2)
            out[f"first_command_ms_p99_{label}_silent"] = round(_percentile(times, 0.99) * 1e3, 2)
            if silent_count:
                out["seconds_to_open_silent"] = round(opened, 2)
        out["served"] = metric(metrics, "eslflow_instances_finished_total")
        out["rss_kb_end"] = rss_kb(engine.pid)
    out["tracebacks"] = log.read_text(errors="replace").count("Traceback")
    return out


# -- soak ------------------------------------------------------------------------------------------


def soak(events: int, workdir: Path) -> dict[str, object]:
    port = free_port()
    sim = start_sim(port, "--load", str(events))
    flows = "\n---\n".join(SOAK_FLOW.format(name=e.lower(), event=e) for e in SOAK_EVENTS)
    samples: list[tuple[float, int]] = []
    try:
        with engine_process(workdir, flows, inbound=port) as (engine, metrics, log):
            assert sim.stdout is not None
            offered = 0
            for line in sim.stdout:
                match = re.search(r"offered (\d+) events", line)
                if match:
                    offered = int(match.group(1))
                    break
                received = metric(metrics, "eslflow_events_received_total")
                samples.append((received, rss_kb(engine.pid)))
            last = -1.0
            while True:  # until the engine has read everything it was sent
                received = metric(metrics, "eslflow_events_received_total")
                samples.append((received, rss_kb(engine.pid)))
                if received == last:
                    break
                last = received
                time.sleep(0.5)
            dropped = metric(metrics, "eslflow_events_dropped_total")
    finally:
        sim.kill()
        sim.wait()
    tenth = next((rss for got, rss in samples if got >= last / 10), samples[0][1])
    return {
        "events_offered": offered,
        "events_received": last,
        "events_dropped": dropped,
        "rss_kb_after_first_tenth": tenth,
        "rss_kb_end": samples[-1][1],
        "rss_growth_pct": round((samples[-1][1] - tenth) / tenth * 100, 2),
        "tracebacks": log.read_text(errors="replace").count("Traceback"),
    }


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "engine":
        parser = argparse.ArgumentParser()
        parser.add_argument("engine")
        parser.add_argument("--flows", required=True)
        parser.add_argument("--metrics", type=int, required=True)
        parser.add_argument("--inbound", type=int, default=0)
        parser.add_argument("--outbound", type=int, default=0)
        anyio.run(_engine_main, parser.parse_args())
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("restarts", "silent", "soak"), action="append")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--calls-per-cycle", type=int, default=5)
    parser.add_argument("--silent", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 3 cycles, ...")
    args = parser.parse_args()
    if args.smoke:
        args.cycles, args.calls_per_cycle, args.silent = 3, 2, 50
        args.calls, args.events = 20, 20_000
    parts = args.only or ["restarts", "silent", "soak"]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts:
            workdir = Path(tmp) / part
            workdir.mkdir()
            if part == "restarts":
                results[part] = restarts(args.cycles, args.calls_per_cycle, workdir)
            elif part == "silent":
                results[part] = silent(args.silent, args.calls, workdir)
            else:
                results[part] = soak(args.events, workdir)
            print(json.dumps({part: results[part]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
