"""Operations (issue 10): /healthz while draining, a second SIGTERM, the start-up line,
node names in log lines."""

from __future__ import annotations

import contextlib
import io
import logging
import signal
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from helpers.fake_switch import FakeSwitch, running
from helpers.net import free_port, http_get

from runner.engine.logs import setup_logging
from runner.engine.metrics import serve_http
from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.esl.inbound import Backoff
from runner.flow import load_flow_sources

pytestmark = pytest.mark.anyio

CAPTURE = Path(__file__).parent.parent / "data" / "captures" / "g1_outbound_async.O.recv.bin"
PLAYS = """\
flow: plays
trigger: {outbound: true}
steps:
  - execute: {app: playback, arg: "ivr/ivr-welcome.wav"}
"""


def connect_reply() -> bytes:
    data = CAPTURE.read_bytes()
    return data[: data.index(b"\n\n") + 2]


async def quiet_call(port: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    """A `socket` application that answers every command with +OK and never sends an
    event: the call's flow waits for its playback forever."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        buf = b""
        answered = 0
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            while True:
                buf += await stream.receive()
                while b"\n\n" in buf:
                    head, _, rest = buf.partition(b"\n\n")
                    length = 0
                    for line in head.split(b"\n"):
                        if line.startswith(b"content-length: "):
                            length = int(line.split(b": ")[1])
                    if len(rest) < length:
                        break
                    buf = rest[length:]
                    if head == b"connect":
                        await stream.send(connect_reply())
                    else:
                        await stream.send(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
                        answered += 1
                        if answered == 2:  # myevents and the playback: the flow waits
                            task_status.started()


async def test_healthz_is_503_draining_during_a_drain_and_abandon_counts() -> None:
    flows = load_flow_sources([("flows/plays.yaml", PLAYS)])
    engine = Engine(flows, outbound=OutboundSpec("127.0.0.1", 0))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            http = await tg.start(serve_http, "127.0.0.1", 0, engine.metrics, engine.health)
            assert engine.outbound_port is not None
            assert (await http_get(http, "/healthz")).endswith("\r\n\r\nok\n")
            await tg.start(quiet_call, engine.outbound_port)
            tg.start_soon(engine.drain, 30.0)
            await anyio.sleep(0.1)
            health = await http_get(http, "/healthz")
            assert health.startswith("HTTP/1.1 503 Service Unavailable\r\n")
            assert health.endswith("\r\n\r\ndraining\n")
            assert engine.abandon() == 1
            await engine.wait_stopped()
            tg.cancel_scope.cancel()
    get = engine.metrics.registry.get_sample_value
    assert get("eslflow_instances_abandoned_total", {"flow": "plays"}) == 1
    assert get("eslflow_instances_finished_total", {"flow": "plays"}) is None


async def test_a_second_sigterm_exits_at_once_and_says_what_it_abandoned(tmp_path: Path) -> None:
    (tmp_path / "plays.yaml").write_text(PLAYS)
    outbound, metrics = free_port(), free_port()
    with anyio.fail_after(30):
        async with (
            await anyio.open_process(
                [sys.executable, "-m", "runner", "run", "--flows", str(tmp_path),
                 "--outbound", f"127.0.0.1:{outbound}", "--metrics", f"127.0.0.1:{metrics}"],
            ) as process,
            anyio.create_task_group() as tg,
        ):  # fmt: skip
            while True:
                with contextlib.suppress(OSError):
                    await http_get(metrics, "/healthz")
                    break
                await anyio.sleep(0.1)
            await tg.start(quiet_call, outbound)
            process.send_signal(signal.SIGTERM)
            health = ""
            while not health.endswith("draining\n"):
                await anyio.sleep(0.05)
                health = await http_get(metrics, "/healthz")
            assert health.startswith("HTTP/1.1 503 ")
            process.send_signal(signal.SIGTERM)
            started = anyio.current_time()
            code = await process.wait()
            took = anyio.current_time() - started
            assert process.stderr is not None
            chunks = []
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    chunks.append(await process.stderr.receive())
            tg.cancel_scope.cancel()
    stderr = b"".join(chunks).decode()
    assert code == 0, stderr
    assert took < 3.0
    lines = stderr.splitlines()
    assert any(
        line.endswith(
            "INFO  eslflow serving 1 flows (plays); inbound nodes: none; "
            f"outbound listener: 127.0.0.1:{outbound}"
        )
        for line in lines
    ), stderr
    assert any(
        line.endswith("WARNING SIGTERM again: exiting now, abandoning 1 running flow instances")
        for line in lines
    ), stderr
    assert "flow plays abandoned after" in stderr
    assert "Traceback" not in stderr
    assert "(None)" not in stderr


async def test_node_names_from_the_config_are_in_the_log_lines() -> None:
    out = io.StringIO()
    handler = setup_logging("text", "INFO", out)
    flows = load_flow_sources([("flows/plays.yaml", PLAYS)])
    try:
        async with running(FakeSwitch()) as switch:
            engine = Engine(
                flows,
                nodes=[NodeSpec("127.0.0.1", switch.port, label="pbx1")],
                backoff=Backoff(initial=0.01, maximum=0.05),
            )
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    await tg.start(engine.run)
                    await switch.peers[0].close()
                    while len(switch.peers) < 2 or not engine.healthy():
                        await anyio.sleep(0.01)
                    engine.stop()
    finally:
        logging.getLogger("runner").removeHandler(handler)
    lost = [line for line in out.getvalue().splitlines() if "connection lost" in line]
    assert len(lost) == 1, out.getvalue()
    assert f"WARNING [pbx1] 127.0.0.1:{switch.port}: connection lost (" in lost[0]
    assert "(None)" not in out.getvalue()
