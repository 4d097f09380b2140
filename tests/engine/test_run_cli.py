"""`eslflow run` as a process: refuses bad flows, subscribes, drains on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import anyio
import pytest
from helpers.fake_switch import FakeSwitch, running
from helpers.net import free_port, http_get

pytestmark = pytest.mark.anyio

FLOW = """\
flow: parked
trigger: CHANNEL_PARK
steps:
  - execute: answer
"""


async def test_invalid_flow_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "flow: x\ntrigger: CHANNEL_PARK\nsteps:\n  - exectue: answer\n"
    )
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(20):
            result = await anyio.run_process(
                [sys.executable, "-m", "runner", "run", "--flows", str(tmp_path),
                 "--inbound", f"127.0.0.1:{switch.port}"],
                check=False,
            )  # fmt: skip
        assert switch.connections == 0
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"{tmp_path / 'bad.yaml'}:4:5: unknown step 'exectue' — did you mean 'execute'?" in err
    assert err.rstrip().endswith("eslflow run: refusing to start: 1 error")


async def test_nothing_to_serve_is_a_usage_error() -> None:
    with anyio.fail_after(20):
        result = await anyio.run_process([sys.executable, "-m", "runner", "run"], check=False)
    assert result.returncode == 2
    assert b"nothing to serve" in result.stderr


async def test_subscribes_to_what_the_flows_need_and_drains_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "parked.yaml").write_text(FLOW)
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(20):
            async with await anyio.open_process(
                [sys.executable, "-m", "runner", "run", "--flows", str(tmp_path),
                 "--inbound", f"127.0.0.1:{switch.port}", "--log-format", "json"],
                env={**os.environ, "ESL_PASSWORD": "ClueCon"},
            ) as process:  # fmt: skip
                while not switch.peers or len(switch.peers[0].commands) < 2:
                    await anyio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                code = await process.wait()
        commands = switch.peers[0].commands
    assert code == 0
    assert commands == [
        b"auth ClueCon\n\n",
        b"event json CHANNEL_BRIDGE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP "
        b"CHANNEL_HANGUP_COMPLETE CHANNEL_PARK\n\n",
        b"exit\n\n",
    ]


async def _wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(15):
        while not predicate():
            await anyio.sleep(0.05)


async def test_sighup_reloads_valid_flows_and_refuses_invalid_ones(tmp_path: Path) -> None:
    flow_file = tmp_path / "parked.yaml"
    flow_file.write_text(FLOW)
    metrics_port = free_port()
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(30):
            async with await anyio.open_process(
                [sys.executable, "-m", "runner", "run", "--flows", str(tmp_path),
                 "--inbound", f"127.0.0.1:{switch.port}", "--log-format", "json",
                 "--metrics", f"127.0.0.1:{metrics_port}"],
            ) as process:  # fmt: skip
                await _wait_for(
                    lambda: switch.peers and len(switch.peers[0].commands) >= 2, "subscribed"
                )
                health = await http_get(metrics_port, "/healthz")
                assert health.startswith("HTTP/1.1 200 OK")
                metrics = await http_get(metrics_port, "/metrics")
                assert 'eslflow_connections_up{node="127.0.0.1:' in metrics
                # A broken edit is refused; the old flows keep serving.
                flow_file.write_text(FLOW.replace("execute: answer", "exectue: answer"))
                process.send_signal(signal.SIGHUP)
                await anyio.sleep(0.5)
                # A valid edit that waits for DTMF adds that subscription.
                flow_file.write_text(FLOW + "  - wait: DTMF\n")
                process.send_signal(signal.SIGHUP)
                await _wait_for(lambda: len(switch.peers[0].commands) >= 3, "resubscribed")
                process.send_signal(signal.SIGTERM)
                assert await process.wait() == 0
                assert process.stderr is not None
                chunks = []
                with contextlib.suppress(anyio.EndOfStream):
                    while True:
                        chunks.append(await process.stderr.receive())
                stderr = b"".join(chunks).decode()
        commands = switch.peers[0].commands
    assert commands[2] == b"event json DTMF\n\n"
    assert "reload refused" in stderr
    assert "unknown step 'exectue'" in stderr
