"""`eslflow run` with a flow that never waits (issue 10, finding 4): the service keeps
answering /healthz while the flow spins, the flow fails with the step-budget error, and
SIGTERM still drains and ends the process."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import anyio
import pytest
from helpers.fake_switch import FakeSwitch, plain_event, running
from helpers.net import free_port, http_get

pytestmark = pytest.mark.anyio

SPIN = """\
flow: spin
trigger: CHANNEL_PARK
blocks:
  a: [{set: {x: 1}}, {goto: b}]
  b: [{goto: a}]
steps:
  - goto: a
"""

PARK = {
    "Event-Name": "CHANNEL_PARK",
    "Core-UUID": "c0c0c0c0-0000-4000-8000-000000000000",
    "Unique-ID": "5a5a5a5a-0000-4000-8000-000000000001",
    "Caller-Destination-Number": "9999",
}


async def _run_spinning(
    tmp_path: Path, budget: int, until: str = ""
) -> tuple[int, str, list[str], float]:
    """Start `eslflow run`, trigger the spinning flow, ask /healthz twice while it runs,
    wait for `until` on stderr, then SIGTERM: exit code, stderr, the /healthz answers,
    seconds SIGTERM took."""
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "spin.yaml").write_text(SPIN)
    metrics_port = free_port()
    config = tmp_path / "eslflow.yaml"
    config.write_text(
        f"flows: [flows]\nmetrics: {{listen: 127.0.0.1:{metrics_port}}}\n"
        f"drain_timeout: 1s\nstep_budget: {budget}\n"
    )
    health: list[str] = []
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(40):
            async with await anyio.open_process(
                [sys.executable, "-m", "runner", "run", "--config", str(config),
                 "--inbound", f"127.0.0.1:{switch.port}"],
                env={**os.environ, "ESL_PASSWORD": "ClueCon"},
            ) as process:  # fmt: skip
                while not switch.peers or len(switch.peers[0].commands) < 2:
                    await anyio.sleep(0.05)
                await switch.peers[0].send(plain_event(PARK))
                for _ in range(2):
                    await anyio.sleep(0.5)
                    health.append((await http_get(metrics_port, "/healthz")).split("\r\n")[0])
                assert process.stderr is not None
                chunks = []
                while until not in b"".join(chunks).decode():
                    chunks.append(await process.stderr.receive())
                process.send_signal(signal.SIGTERM)
                began = anyio.current_time()
                code = await process.wait()
                took = anyio.current_time() - began
                with contextlib.suppress(anyio.EndOfStream):
                    while True:
                        chunks.append(await process.stderr.receive())
    return code, b"".join(chunks).decode(), health, took


async def test_a_spinning_flow_fails_with_the_budget_error_and_the_service_serves_on(
    tmp_path: Path,
) -> None:
    budget_error = (
        "flows/spin.yaml:4:7: flow 'spin' step set: 10000 steps ran without waiting for "
        "an event or sleeping (a goto or repeat loop that never waits?); the step budget "
        "is 10000"
    )
    code, stderr, health, _ = await _run_spinning(tmp_path, 10_000, until="flow spin failed")
    assert code == 0, stderr
    assert health == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]
    (line,) = [line for line in stderr.splitlines() if " ERROR " in line]
    assert line.endswith(f"{tmp_path / budget_error}"), stderr


async def test_sigterm_ends_the_service_while_a_flow_spins(tmp_path: Path) -> None:
    """A budget too large to run out: the flow still spins at SIGTERM; the drain gives
    it its 1 s and stops it."""
    code, stderr, health, took = await _run_spinning(tmp_path, 100_000_000)
    assert code == 0, stderr
    assert health == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]
    # The drain's 1 s, plus the time to close: the spinning flow did not hold it up.
    assert took < 10
    assert " ERROR " not in stderr
