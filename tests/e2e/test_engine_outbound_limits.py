"""Outbound limits end to end (issue 10, finding 7): silent sockets, the cap, expiry."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import anyio.abc
import pytest
from helpers.engine_sim import Wire, flows

from runner.engine.service import Engine, OutboundSpec
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

CAPTURE = Path(__file__).parent.parent / "data" / "captures" / "g1_outbound_async.O.recv.bin"
ANSWER = r"""
flow: answer
trigger: {outbound: true}
steps:
  - execute: answer
  - hangup: NORMAL_CLEARING
"""


def connect_reply() -> bytes:
    data = CAPTURE.read_bytes()
    return data[: data.index(b"\n\n") + 2]


class SilentPeer:
    """Plays a `socket` application that answers `connect` and then never says a word."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed = anyio.Event()

    async def run(self, port: int, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            task_status.started()
            answered = False
            try:
                while True:
                    self.received += await stream.receive()
                    if not answered and b"connect\n\n" in self.received:
                        answered = True
                        await stream.send(connect_reply())
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass
        self.closed.set()


def count(engine: Engine, result: str) -> float:
    value = engine.metrics.registry.get_sample_value(
        "eslflow_outbound_connections_total", {"result": result}
    )
    return value or 0.0


async def start_silent_peers(
    tg: anyio.abc.TaskGroup, engine: Engine, count: int
) -> list[SilentPeer]:
    """`count` peers connected, each past `connect` and sent `myevents` by the engine."""
    port = engine.outbound_port
    assert port is not None
    peers = [SilentPeer() for _ in range(count)]
    for peer in peers:
        await tg.start(peer.run, port)
    while sum(p.received.count(b"myevents\n\n") for p in peers) < count:
        await anyio.sleep(0.05)
    return peers


async def test_a_thousand_silent_sockets_do_not_stop_a_real_call() -> None:
    wire = Wire()
    spec = OutboundSpec("127.0.0.1", 0, max_connections=1100)
    engine = Engine(flows(ANSWER), outbound=spec, on_command=wire)
    with anyio.fail_after(60):
        async with Simulator(speed=50) as sim, anyio.create_task_group() as tg:
            await tg.start(engine.run)
            await start_silent_peers(tg, engine, 1000)
            assert engine.outbound_server is not None
            assert engine.outbound_server.active == 1000
            started = anyio.current_time()
            uuid = await sim.place_call(
                CallSpec(destination="9000", socket=f"127.0.0.1:{engine.outbound_port} async full")
            )
            info = await sim.wait_for_hangup(uuid)
            served_in = anyio.current_time() - started
            engine.stop()
    assert info.hangup_cause == "NORMAL_CLEARING"
    assert wire.lines(uuid) == ["myevents", "execute answer", "hangup NORMAL_CLEARING"]
    assert served_in < 2.0


async def test_silent_calls_are_hung_up_and_closed_at_the_maximum_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    spec = OutboundSpec("127.0.0.1", 0, max_call_duration=1.5)
    engine = Engine(flows(ANSWER), outbound=spec)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            peers = await start_silent_peers(tg, engine, 20)
            for peer in peers:
                await peer.closed.wait()
            engine.stop()
    assert count(engine, "expired") == 20
    assert count(engine, "matched") == 20
    expected = (
        b"connect\n\nmyevents\n\n"
        b"sendmsg\ncall-command: hangup\nhangup-cause: ALLOTTED_TIMEOUT\n\nexit\n\n"
    )
    assert {bytes(p.received) for p in peers} == {expected}
    assert (
        "call 24ac830d-29b5-44f6-a48d-6a00d0fff2d8: still connected after the maximum call "
        "duration (1.5 s); hanging up with ALLOTTED_TIMEOUT"
    ) in caplog.text


async def test_over_the_cap_a_call_is_refused_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="runner")
    spec = OutboundSpec("127.0.0.1", 0, max_connections=3)
    engine = Engine(flows(ANSWER), outbound=spec)
    peers = [SilentPeer() for _ in range(3)]
    with anyio.fail_after(20):
        async with Simulator(speed=50) as sim, anyio.create_task_group() as tg:
            await tg.start(engine.run)
            port = engine.outbound_port
            assert port is not None and engine.outbound_server is not None
            for peer in peers:
                await tg.start(peer.run, port)
            while engine.outbound_server.active < 3:
                await anyio.sleep(0.01)
            uuids = [
                await sim.place_call(
                    CallSpec(destination="9000", socket=f"127.0.0.1:{port} async full")
                )
                for _ in range(2)
            ]
            infos = [await sim.wait_for_hangup(uuid) for uuid in uuids]
            engine.stop()
    # The socket application failed at once: FreeSWITCH goes on with the dialplan, which
    # has nothing more for these calls.
    assert [info.answer_state for info in infos] == ["hangup", "hangup"], infos
    assert count(engine, "over_cap") == 2
    assert count(engine, "matched") == 3
    lines = [r.getMessage() for r in caplog.records if "the maximum" in r.getMessage()]
    assert lines == [
        "outbound: 3 connections open, the maximum; refusing new ones",
        "outbound: below the maximum of 3 connections again; 2 refused meanwhile",
    ]
