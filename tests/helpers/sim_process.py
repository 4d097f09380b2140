"""`eslflow sim` in a subprocess on a free port, for clients that need their own thread."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class SimProcess:
    port: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)


@contextmanager
def sim_process(*args: str, timeout: float = 10.0) -> Iterator[SimProcess]:
    """Run ``python -m runner sim --listen 127.0.0.1:0 ARGS``; stop it with SIGINT after.

    The simulator prints the port it bound; ``output`` collects every stdout line
    (including those printed when it stops).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    sim = SimProcess(0, process)
    try:
        for line in process.stdout:
            sim.output.append(line.rstrip("\n"))
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                sim.port = int(match.group(1))
                break
        assert sim.port, f"the simulator did not start: {sim.output}"
        yield sim
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Read through the text wrapper: lines it already buffered are not in the pipe.
        sim.output += process.stdout.read().splitlines()
        process.stdout.close()
