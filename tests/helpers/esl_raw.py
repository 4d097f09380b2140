"""A raw-socket event-socket client for tests: send bytes, read framed messages."""

from __future__ import annotations

import anyio
import anyio.abc
from anyio.abc import SocketStream

from helpers.esl_frames import Msg, frame


class RawClient:
    """Talks to the simulator byte for byte; every read is bounded by ``timeout``."""

    def __init__(self, stream: SocketStream, timeout: float = 5.0) -> None:
        self.stream = stream
        self.timeout = timeout
        self.buffer = b""
        self.messages: list[Msg] = []
        self.eof = False

    @classmethod
    async def connect(cls, port: int, *, auth: str | None = "ClueCon") -> RawClient:
        client = cls(await anyio.connect_tcp("127.0.0.1", port))
        greeting = await client.read()
        assert greeting.content_type == "auth/request", greeting
        if auth is not None:
            reply = await client.command(f"auth {auth}")
            assert reply.get("Reply-Text") == "+OK accepted", reply
        return client

    async def send(self, data: str | bytes) -> None:
        await self.stream.send(data.encode() if isinstance(data, str) else data)

    async def read(self) -> Msg:
        with anyio.fail_after(self.timeout):
            while True:
                msgs, self.buffer = frame(self.buffer)
                if msgs:
                    first, rest = msgs[0], msgs[1:]
                    self.buffer = b"".join(_raw(m) for m in rest) + self.buffer
                    self.messages.append(first)
                    return first
                if self.eof:
                    raise EOFError("connection closed")
                try:
                    self.buffer += await self.stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    self.eof = True

    async def command(self, line: str) -> Msg:
        """Send one command and return the next message that is not an event."""
        await self.send(line + "\n\n")
        while True:
            msg = await self.read()
            if not msg.content_type.startswith("text/event-") and msg.content_type != "log/data":
                return msg

    async def reply(self, line: str) -> str:
        msg = await self.command(line)
        assert msg.content_type == "command/reply", msg
        return msg.get("Reply-Text") or ""

    async def api(self, line: str) -> str:
        msg = await self.command(f"api {line}")
        assert msg.content_type == "api/response", msg
        return msg.body.decode()

    async def event(self, name: str | None = None) -> Msg:
        """The next event (named ``name``, if given), skipping others."""
        while True:
            msg = await self.read()
            if msg.content_type.startswith("text/event-") and (
                name is None or msg.event_get("Event-Name") == name
            ):
                return msg

    async def until_closed(self) -> list[Msg]:
        """Read everything until the simulator closes the connection."""
        out = []
        while True:
            try:
                out.append(await self.read())
            except EOFError:
                return out

    async def aclose(self) -> None:
        await self.stream.aclose()


class OutboundSocket:
    """A listening socket standing in for an outbound ESL server in tests."""

    def __init__(self, listener: anyio.abc.SocketListener) -> None:
        self.listener = listener
        self.port: int = listener.extra(anyio.abc.SocketAttribute.local_port)
        self.clients: list[RawClient] = []

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def accept(self) -> RawClient:
        """The simulator's next connection (the `socket` application's), no greeting."""
        with anyio.fail_after(5):
            client = RawClient(await self.listener.accept())
        self.clients.append(client)
        return client


def _raw(msg: Msg) -> bytes:
    head = "".join(f"{k}: {v}\n" for k, v in msg.headers) + "\n"
    return head.encode() + msg.body
