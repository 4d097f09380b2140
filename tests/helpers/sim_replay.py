"""Replays a capture's writes against a fresh simulator and collects what it answers."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import SocketStream

from helpers.esl_frames import Msg, frame
from runner.sim import Simulator

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Send:
    t: float
    data: bytes


@dataclass
class CaptureConn:
    """One connection of a capture: its writes, what it received, and what it had read."""

    name: str
    expected: list[Msg]
    sends: list[Send] = field(default_factory=list)
    # for each of its writes: how many messages every connection had fully received
    seen_before: list[dict[str, int]] = field(default_factory=list)


@dataclass
class CaptureScenario:
    conns: dict[str, CaptureConn]
    # (connection, index of its write) in the order the writes happened
    order: list[tuple[str, int]]


def load_scenario(scenario: str) -> CaptureScenario:
    """Read ``<scenario>[.X].recv.bin``/``.sent.bin`` and ``<scenario>.order``.

    ``.order`` (derived from the capture's timeline) lists every write in order as
    ``<connection> <t> <bytes written>`` and the bytes every connection had received.
    """
    conns: dict[str, CaptureConn] = {}
    raw_sent: dict[str, bytes] = {}
    raw_recv: dict[str, bytes] = {}
    for recv in sorted(CAPTURES.glob(f"{scenario}*.recv.bin")):
        stem = recv.name[: -len(".recv.bin")]
        suffix = stem[len(scenario) :]
        if suffix and not re.fullmatch(r"\.[A-Z]", suffix):
            continue
        name = suffix[1:] if suffix else "A"
        raw_recv[name] = recv.read_bytes()
        expected, rest = frame(raw_recv[name])
        assert not rest, f"{recv.name}: unframed trailing bytes"
        conns[name] = CaptureConn(name, expected)
        raw_sent[name] = (CAPTURES / f"{stem}.sent.bin").read_bytes()
    assert conns, f"no capture files for {scenario}"
    offsets = dict.fromkeys(conns, 0)
    order: list[tuple[str, int]] = []
    columns: list[str] = []
    for line in (CAPTURES / f"{scenario}.order").read_text().splitlines():
        if line.startswith("# then the bytes each connection had received by then:"):
            columns = line.split(":", 1)[1].split()
        if not line or line.startswith("#"):
            continue
        name, t, size, *received = line.split(" ")
        conn = conns[name]
        start = offsets[name]
        offsets[name] += int(size)
        order.append((name, len(conn.sends)))
        conn.sends.append(Send(float(t), raw_sent[name][start : offsets[name]]))
        conn.seen_before.append(
            {
                other: len(frame(raw_recv[other][: int(count)])[0])
                for other, count in zip(columns, received, strict=True)
            }
        )
    for name in conns:
        assert offsets[name] == len(raw_sent[name]), (
            f"{scenario}.{name}: .order does not cover .sent.bin"
        )
    return CaptureScenario(conns, order)


@dataclass
class Replay:
    """What each connection received when a capture's commands were replayed."""

    received: dict[str, list[Msg]] = field(default_factory=dict)
    eof: dict[str, bool] = field(default_factory=dict)
    sim: Simulator | None = None


async def replay_scenario(
    scenario: str,
    *,
    speed: float = 25.0,
    heartbeat: float = 1e6,
    acl: tuple[str, ...] = ("127.0.0.0/8",),
    timeout: float = 8.0,
) -> tuple[dict[str, CaptureConn], Replay]:
    """Send a capture's bytes to a fresh simulator with the capture's timing (scaled).

    Inbound connections connect at the start; connection ``O`` is the outbound socket the
    simulator opens to us (extensions 9000/9001 point at our listener). Captured UUIDs
    of channels the simulator names differently are substituted before sending.
    """
    capture = load_scenario(scenario)
    conns = capture.conns
    result = Replay()
    uuid_map: dict[bytes, bytes] = {}
    buffers: dict[str, bytearray] = {name: bytearray() for name in conns}
    streams: dict[str, SocketStream] = {}
    accepted = anyio.Event()
    finished = {name: anyio.Event() for name in conns}
    outbound_listener = None
    out_port = 8084
    if "O" in conns:
        outbound_listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        out_port = outbound_listener.extra(anyio.abc.SocketAttribute.local_port)

    def done(name: str) -> bool:
        msgs, _ = frame(bytes(buffers[name]))
        return len(msgs) >= len(conns[name].expected)

    async def reader(name: str, stream: SocketStream) -> None:
        try:
            while True:
                buffers[name] += await stream.receive()
                if name == "O" and not uuid_map:
                    msgs, _ = frame(bytes(buffers[name]))
                    if msgs:
                        captured = conns["O"].expected[0].get("Unique-ID")
                        mine = msgs[0].get("Unique-ID")
                        if captured and mine:
                            uuid_map[captured.encode()] = mine.encode()
                if done(name):
                    finished[name].set()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            result.eof[name] = True
            finished[name].set()

    async with Simulator(
        port=0,
        speed=speed,
        heartbeat_interval=heartbeat,
        acl=acl,
        outbound_target=f"127.0.0.1:{out_port}",
        hostname="vm",
    ) as sim:
        result.sim = sim
        async with anyio.create_task_group() as tg:

            async def accept_outbound() -> None:
                assert outbound_listener is not None
                async with outbound_listener:
                    stream = await outbound_listener.listeners[0].accept()
                    streams["O"] = stream
                    accepted.set()
                    await reader("O", stream)

            if "O" in conns:
                tg.start_soon(accept_outbound)
            order = sorted(
                (n for n in conns if n != "O"),
                key=lambda n: conns[n].sends[0].t if conns[n].sends else 0,
            )
            for name in order:
                stream = await anyio.connect_tcp("127.0.0.1", sim.port)
                streams[name] = stream
                tg.start_soon(reader, name, stream)
            sends = []
            for name, i in capture.order:
                send = conns[name].sends[i]
                sends.append((send.t, i, name, send.data, conns[name].seen_before[i]))
            start = anyio.current_time()
            # A connection still waiting at the deadline shows up as missing messages.
            with anyio.move_on_after(timeout):
                for t, _, name, data, seen in sends:
                    delay = start + t / speed - anyio.current_time()
                    if delay > 0:
                        await anyio.sleep(delay)
                    # Causality: by this write the capture's connections had received
                    # `seen` messages each; wait (briefly) until the simulator sent as many.
                    with anyio.move_on_after(0.5):
                        for other, count in seen.items():
                            while len(
                                frame(bytes(buffers[other]))[0]
                            ) < count and not result.eof.get(other):
                                await anyio.sleep(0.001)
                    if name == "O":
                        await accepted.wait()
                        captured = (conns["O"].expected[0].get("Unique-ID") or "").encode()
                        if captured and captured in data:
                            while captured not in uuid_map:
                                await anyio.sleep(0.001)
                    for old, new in uuid_map.items():
                        data = data.replace(old, new)
                    # A2 of h2 writes to a connection FreeSWITCH already closed.
                    with contextlib.suppress(
                        anyio.BrokenResourceError, anyio.ClosedResourceError, OSError
                    ):
                        await streams[name].send(data)
                for name in conns:
                    await finished[name].wait()
                # Anything the simulator sends beyond the capture would show up now.
                await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
        for stream in streams.values():
            await stream.aclose()
    for name in conns:
        result.received[name], _ = frame(bytes(buffers[name]))
    return conns, result


def uuid_norm(text: str) -> str:
    return UUID_RE.sub("<uuid>", text)


def iter_events(msgs: list[Msg]) -> Iterator[tuple[int, Msg, list[tuple[str, str]]]]:
    for i, msg in enumerate(msgs):
        headers = msg.event()
        if headers is not None:
            yield i, msg, headers
