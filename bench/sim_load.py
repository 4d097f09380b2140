"""How many events per second the simulator's load mode streams to one subscriber.

Starts `eslflow sim --load N` in a subprocess (the simulator gets a core of its own),
connects with a raw socket, subscribes (`event <format> ALL`), and counts framed
text/event-* messages until N have arrived; the rate is N over the time from the first
event byte to the last. Three runs per format; the table shows each run and the median.

    python bench/sim_load.py                  # N=200,000, plain and json, 3 runs
    python bench/sim_load.py --events 50000 --runs 5 --formats plain
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def count_events(port: int, fmt: str, total: int) -> tuple[float, int]:
    """Subscribe and read until ``total`` events arrived: (seconds, bytes)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.sendall(f"auth ClueCon\n\nevent {fmt} ALL\n\n".encode())
    buf = b""
    events = 0
    received = 0
    first: float | None = None
    tag = f"Content-Type: text/event-{fmt}".encode()
    while events < total:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError(f"simulator closed the connection after {events} events")
        if first is None and tag in chunk:
            first = time.perf_counter()
        received += len(chunk)
        buf += chunk
        pos = 0
        while True:
            end = buf.find(b"\n\n", pos)
            if end < 0:
                break
            head = buf[pos:end]
            length = 0
            cl = head.find(b"Content-Length: ")
            if cl >= 0:
                stop = head.find(b"\n", cl)
                length = int(head[cl + 16 : stop if stop >= 0 else len(head)])
            if len(buf) < end + 2 + length:
                break
            if tag in head:
                events += 1
            pos = end + 2 + length
        buf = buf[pos:]
    elapsed = time.perf_counter() - (first or time.perf_counter())
    sock.close()
    return elapsed, received


def one_run(fmt: str, total: int) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--load",
            str(total),
            "--heartbeat",
            "1000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        port = 0
        while not port:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("simulator exited before listening")
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else 0
        elapsed, received = count_events(port, fmt, total)
        return total / elapsed, received / elapsed / 1e6
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="plain,json")
    args = parser.parse_args()
    print(f"simulator load mode, {args.events:,} CHANNEL_* events per run, {args.runs} runs")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    header = f"{'format':<8}" + "".join(f"{'run ' + str(i + 1):>12}" for i in range(args.runs))
    print(header + f"{'median ev/s':>14}{'median MB/s':>13}")
    for fmt in args.formats.split(","):
        rates, volumes = [], []
        for _ in range(args.runs):
            rate, mbps = one_run(fmt, args.events)
            rates.append(rate)
            volumes.append(mbps)
        row = f"{fmt:<8}" + "".join(f"{r:>12,.0f}" for r in rates)
        print(row + f"{statistics.median(rates):>14,.0f}{statistics.median(volumes):>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
