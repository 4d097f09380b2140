"""A scripted event-socket peer for connection tests: exact control over every byte.

The simulator (runner/sim) is the faithful FreeSWITCH stand-in; this double exists to
produce what a healthy switch never does on demand — garbage, a vanished peer, a reply
held back — so the connection layer's edges can be tested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import anyio
import anyio.abc
from anyio.abc import SocketAttribute


def reply(text: str, **extra: str) -> bytes:
    lines = [f"Content-Type: command/reply\nReply-Text: {text}\n"]
    lines += [f"{k.replace('_', '-')}: {v}\n" for k, v in extra.items()]
    return ("".join(lines) + "\n").encode()


def api_response(body: str) -> bytes:
    raw = body.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(raw), raw)


def plain_event(headers: dict[str, str], body: str | None = None) -> bytes:
    lines = "".join(f"{k}: {quote(v, safe='/')}\n" for k, v in headers.items())
    if body is not None:
        raw = body.encode()
        inner = (lines + f"Content-Length: {len(raw)}\n\n").encode() + raw
    else:
        inner = (lines + "\n").encode()
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(inner), inner)


DISCONNECT = (
    b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
    b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
)


@dataclass
class Peer:
    """One accepted connection: the commands it received, and a way to talk back."""

    stream: anyio.abc.SocketStream
    commands: list[bytes] = field(default_factory=list)

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def close(self) -> None:
        await self.stream.aclose()


@dataclass
class FakeSwitch:
    """Answers like mod_event_socket for the basics; `on_command` overrides per test."""

    password: str = "ClueCon"
    port: int = 0
    peers: list[Peer] = field(default_factory=list)
    on_command: Callable[[Peer, bytes], bytes | None] | None = None
    greeting: bytes = b"Content-Type: auth/request\n\n"
    accept: bool = True
    connections: int = 0

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await self._handle(stream)

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        peer = Peer(stream)
        self.peers.append(peer)
        if not self.accept:
            await stream.aclose()
            return
        try:
            await stream.send(self.greeting)
            buf = b""
            while True:
                try:
                    buf += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return
                while b"\n\n" in buf:
                    head, _, rest = buf.partition(b"\n\n")
                    length = 0
                    for line in head.split(b"\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    if len(rest) < length:
                        break
                    command, buf = head + b"\n\n" + rest[:length], rest[length:]
                    peer.commands.append(command)
                    if not await self.answer(peer, command):
                        return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return

    async def answer(self, peer: Peer, command: bytes) -> bool:
        if self.on_command is not None:
            custom = self.on_command(peer, command)
            if custom is not None:
                if custom == b"CLOSE":
                    await peer.close()
                    return False
                if custom != b"SILENT":
                    await peer.send(custom)
                return True
        line = command.split(b"\n", 1)[0].decode()
        word, _, rest = line.partition(" ")
        if word == "auth":
            if rest == self.password:
                await peer.send(reply("+OK accepted"))
                return True
            await peer.send(reply("-ERR invalid") + DISCONNECT)
            await peer.close()
            return False
        if word == "exit":
            await peer.send(reply("+OK bye") + DISCONNECT)
            await peer.close()
            return False
        if word == "api":
            await peer.send(api_response(f"+OK {rest}"))
        elif word == "bgapi":
            job = next(
                line.split(": ", 1)[1]
                for line in command.decode().splitlines()
                if line.startswith("Job-UUID: ")
            )
            cmd = rest.split("\n")[0]
            await peer.send(
                reply(f"+OK Job-UUID: {job}", Job_UUID=job)
                + plain_event(
                    {"Event-Name": "BACKGROUND_JOB", "Job-UUID": job, "Job-Command": cmd},
                    f"+OK result of {cmd}\n",
                )
            )
        elif word == "event":
            fmt = rest.split(" ")[0]
            await peer.send(reply(f"+OK event listener enabled {fmt}"))
        elif word == "filter":
            await peer.send(reply("+OK filter added."))
        elif word == "sendmsg":
            await peer.send(reply("+OK"))
            text = command.decode()
            if "Event-UUID: " in text:
                app_uuid = text.split("Event-UUID: ", 1)[1].split("\n", 1)[0]
                app = text.split("execute-app-name: ", 1)[1].split("\n", 1)[0]
                await peer.send(
                    plain_event(
                        {
                            "Event-Name": "CHANNEL_EXECUTE_COMPLETE",
                            "Unique-ID": rest or "u-outbound",
                            "Application": app,
                            "Application-Response": "_none_",
                            "Application-UUID": app_uuid,
                        }
                    )
                )
        else:
            await peer.send(reply("-ERR command not found"))
        return True


@asynccontextmanager
async def running(switch: FakeSwitch) -> AsyncIterator[FakeSwitch]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=switch.port)
    switch.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, switch.handle)
        try:
            yield switch
        finally:
            tg.cancel_scope.cancel()
