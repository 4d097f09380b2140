"""bench/chaos_service.py, scaled down: the chaos benchmark of issue 10 runs and holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)
def test_the_chaos_benchmark_smoke_run_holds() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos_service.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parts: dict[str, dict[str, float]] = {}
    for line in result.stdout.splitlines():
        parts.update(json.loads(line))
    restarts, silent, soak = parts["restarts"], parts["silent"], parts["soak"]
    # 3 kill -9 cycles with 2 calls mid-flow each: every reconnect made, nothing thrown.
    assert restarts["reconnects"] == 3
    assert restarts["instances_started"] >= 6
    assert (restarts["tracebacks"], restarts["none_in_messages"]) == (0, 0)
    assert abs(restarts["rss_growth_pct"]) < 5
    # 50 silent sockets: the 20 + 20 real calls were all served.
    assert silent["served"] == 40
    assert silent["tracebacks"] == 0
    # 20,000 events streamed: all read, none dropped, memory flat.
    assert soak["events_received"] > 0
    assert soak["events_dropped"] == 0
    assert soak["tracebacks"] == 0
    assert abs(soak["rss_growth_pct"]) < 5
