"""A reload is refused, with the old flows serving, whatever the loader raised
(issue 10, finding 3): in process, with `watch`, and through `eslflow run` and SIGHUP."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

import anyio
import pytest
from helpers.fake_switch import FakeSwitch, running

from runner.engine import app
from runner.engine.config import EngineConfig, OutboundListener
from runner.flow import load_flows

pytestmark = pytest.mark.anyio

FLOW = """\
flow: parked
trigger: CHANNEL_PARK
steps:
  - execute: answer
"""

# A document nested deeper than the YAML parser can recurse (the loader raised
# RecursionError on it when this test was written).
DEEP = "flow: deep\ntrigger: CHANNEL_PARK\nsteps: " + "[" * 3000 + "]" * 3000 + "\n"

RAISED = [
    (
        FileNotFoundError(2, "No such file or directory", "flows/gone.yaml"),
        "reload refused: cannot read flows/gone.yaml: No such file or directory",
    ),
    (
        PermissionError(13, "Permission denied", "flows/secret.yaml"),
        "reload refused: cannot read flows/secret.yaml: Permission denied",
    ),
    (
        IsADirectoryError(21, "Is a directory", "flows/ivr.yaml"),
        "reload refused: cannot read flows/ivr.yaml: Is a directory",
    ),
    (
        MemoryError(),
        "reload refused: loading the flows failed: MemoryError",
    ),
    (
        RecursionError("maximum recursion depth exceeded"),
        "reload refused: loading the flows failed: RecursionError: "
        "maximum recursion depth exceeded",
    ),
    (
        KeyError("steps"),
        "reload refused: loading the flows failed: KeyError: 'steps'",
    ),
]


@pytest.mark.parametrize(("raised", "line"), RAISED, ids=[type(r).__name__ for r, _ in RAISED])
def test_whatever_the_loader_raises_the_reload_is_refused_with_one_clear_line(
    raised: BaseException,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def load(paths: object) -> object:
        raise raised

    monkeypatch.setattr(app, "load_flows", load)
    caplog.set_level(logging.DEBUG, "runner")
    assert app.load_or_log([Path("flows")]) is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [line]
    # No traceback at error level (one at debug level for what nobody foresaw).
    assert all(r.exc_info is None for r in errors)


async def test_watch_refuses_a_file_the_loader_chokes_on_and_takes_the_next_good_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app, "WATCH_INTERVAL", 0.02)
    caplog.set_level(logging.INFO, "runner")
    flow_file = tmp_path / "parked.yaml"
    flow_file.write_text(FLOW)
    config = EngineConfig(
        flows=[tmp_path], outbound=OutboundListener(listen="127.0.0.1:0"), watch=True
    )
    first = load_flows([tmp_path])

    async def reloaded(count: int) -> None:
        while len([r for r in caplog.records if "reload" in r.getMessage()]) < count:
            await anyio.sleep(0.01)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            engine = await tg.start(app.serve, config, first)
            await anyio.sleep(0.05)
            (tmp_path / "deep.yaml").write_text(DEEP)
            await reloaded(1)
            assert engine.flows is first  # the old set serves
            (tmp_path / "deep.yaml").unlink()
            flow_file.write_text(FLOW.replace("parked", "parked-again"))
            while engine.flows is first:
                await anyio.sleep(0.01)
            engine.stop()
    assert [flow.flow for flow in engine.flows] == ["parked-again"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("reload refused: ")
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.ERROR)


async def test_sighup_with_a_file_the_loader_chokes_on_keeps_the_service(tmp_path: Path) -> None:
    flow_file = tmp_path / "parked.yaml"
    flow_file.write_text(FLOW)
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(30):
            async with await anyio.open_process(
                [sys.executable, "-m", "runner", "run", "--flows", str(tmp_path),
                 "--inbound", f"127.0.0.1:{switch.port}"],
                env={**os.environ, "ESL_PASSWORD": "ClueCon"},
            ) as process:  # fmt: skip
                while not switch.peers or len(switch.peers[0].commands) < 2:
                    await anyio.sleep(0.05)
                (tmp_path / "deep.yaml").write_text(DEEP)
                process.send_signal(signal.SIGHUP)
                await anyio.sleep(1.0)
                assert process.returncode is None  # still serving
                # The next good edit is taken: a wait for DTMF adds that subscription.
                (tmp_path / "deep.yaml").unlink()
                flow_file.write_text(FLOW + "  - wait: DTMF\n")
                process.send_signal(signal.SIGHUP)
                while len(switch.peers[0].commands) < 3:
                    await anyio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                code = await process.wait()
                assert process.stderr is not None
                chunks = []
                with contextlib.suppress(anyio.EndOfStream):
                    while True:
                        chunks.append(await process.stderr.receive())
        commands = switch.peers[0].commands
    stderr = b"".join(chunks).decode()
    assert code == 0, stderr
    assert commands[2] == b"event json DTMF\n\n"
    assert len(switch.peers) == 1  # the one connection lived through the bad reload
    refused = [line for line in stderr.splitlines() if "reload refused" in line]
    assert len(refused) == 1, stderr
    assert "Traceback" not in stderr
