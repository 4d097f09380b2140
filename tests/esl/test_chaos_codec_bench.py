"""bench/chaos_codec.py keeps working: a short run finds no surprise and says so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent.parent / "bench" / "chaos_codec.py"


def count(output: str, label: str) -> int:
    found = re.search(rf"^{re.escape(label)}:\s+(\d+)", output, re.M)
    assert found, f"no {label!r} line in:\n{output}"
    return int(found.group(1))


def test_the_chaos_benchmark_runs_2000_frames_without_a_surprise() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--frames", "2000", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert count(output, "frames") == 2000
    assert count(output, "other exceptions") == 0
    assert count(output, "hangs") == 0
    # The mutations do reach both outcomes: messages and protocol errors.
    assert count(output, "messages") > 500
    assert count(output, "EslProtocolError") > 100
    assert 0 < count(output, "peak buffered bytes") <= 16 * 1024 * 1024 + 64 * 1024
