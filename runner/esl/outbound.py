"""Outbound mode: FreeSWITCH's `socket` application connects to us, once per call.

    async def handle(call: OutboundConnection) -> None:
        await call.myevents()
        await call.execute("answer", wait=True)
        await call.execute("playback", "ivr/ivr-welcome.wav", wait=True)
        await call.hangup()

    server = OutboundServer(handle, host="127.0.0.1", port=8084)
    async with anyio.create_task_group() as tg:
        port = await tg.start(server.serve)

FreeSWITCH sends nothing until we send `connect`; the reply carries the channel data
(capture g1_outbound_async.O). Each call runs in its own exception barrier: a handler
that raises is logged with its call's uuid and never disturbs the other calls.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from runner.esl import commands
from runner.esl.connection import Connection, EventFormat
from runner.esl.errors import EslError, EslProtocolError
from runner.esl.event import Event
from runner.esl.messages import CommandReply
from runner.network import TCP, Network

log = logging.getLogger("runner.esl")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")


class OutboundConnection(Connection):
    """One call's socket: `sendmsg` without a uuid acts on this channel.

    `channel_data` is the Event FreeSWITCH answered `connect` with (~200 headers:
    Unique-ID, Caller-*, variable_*, and `Socket-Mode: async|static`, `Control: full`).
    """

    channel_data: Event
    peer: str = ""  # the switch's address, as the listener saw it

    @property
    def uuid(self) -> str:
        return self.channel_data.get("Unique-ID", "")

    @property
    def async_mode(self) -> bool:
        """True for `socket ... async`; a sync socket reports `Socket-Mode: static`,
        and then each sendmsg is answered only when its application finished."""
        return self.channel_data.get("Socket-Mode") == "async"

    async def connect(self, *, timeout: float = 5.0) -> Event:
        """Send `connect` and keep the channel data FreeSWITCH answers with."""
        reply = await self.send(commands.connect(), timeout=timeout)
        if not isinstance(reply, CommandReply) or not reply.ok:
            raise EslProtocolError(f"{self.name}: unexpected answer to connect: {reply!r}")
        self.channel_data = reply.channel_data()
        return self.channel_data

    async def myevents(
        self, uuid: str | None = None, format: EventFormat | None = None
    ) -> CommandReply:
        """`myevents`: every event of this channel from now on (ends with the call)."""
        return await super().myevents(uuid, format)

    async def linger(self, seconds: int | None = None) -> CommandReply:
        """`linger [seconds]`: keep the socket after hangup to read the last events.

        Bare `linger` is `Linger-Time: -1`: FreeSWITCH then never closes (capture g1).
        """
        return await self.command(commands.linger(seconds))

    async def nolinger(self) -> CommandReply:
        return await self.command(commands.nolinger())

    async def resume(self) -> CommandReply:
        """`resume`: when this socket closes, the dialplan goes on instead of hanging up."""
        return await self.command(commands.resume())

    async def getvar(self, name: str) -> str:
        """`getvar <name>`: a variable of this channel (the reply text after +OK)."""
        reply = await self.command(commands.getvar(name))
        return reply.reply_text.removeprefix("+OK").strip()


Handler = Callable[[OutboundConnection], Awaitable[None]]


def parse_networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """Parse an allow-list; a bad entry raises ValueError naming it."""
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid network in allow-list: {cidr!r} ({exc})") from None
    return networks


def is_allowed(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


class OutboundServer:
    """A TCP listener for FreeSWITCH's `socket` application (default 127.0.0.1:8084)."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 8084,
        allow: Iterable[str] = DEFAULT_ALLOW,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 60.0,
        network: Network = TCP,
    ) -> None:
        self.handler = handler
        self.network = network
        self.host = host
        self.port = port
        self.allow = parse_networks(allow)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.active = 0
        self.served = 0
        self.refused = 0
        self._accepting = anyio.CancelScope()

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen and serve until cancelled; reports the bound port to `tg.start`.

        After `stop_accepting()` the listener closes and `serve` returns once the calls
        in progress have ended (a drain).
        """
        listener = await self.network.create_tcp_listener(self.host, self.port)
        async with anyio.create_task_group() as calls:
            async with listener:
                port = listener.extra(SocketAttribute.local_port)
                log.info("outbound socket server listening on %s:%d", self.host, port)
                task_status.started(port)
                with self._accepting:
                    await listener.serve(self._serve_one, task_group=calls)
            log.info("outbound socket server no longer accepts calls")

    def stop_accepting(self) -> None:
        """Close the listener; calls in progress go on."""
        self._accepting.cancel()

    async def _serve_one(self, stream: anyio.abc.ByteStream) -> None:
        # The exception barrier of one call: nothing escapes to the listener.
        try:
            peer = stream.extra(SocketAttribute.remote_address)
            address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        except Exception:  # pragma: no cover - a socket without an address
            address = "?"
        if not is_allowed(address, self.allow):
            self.refused += 1
            log.warning("outbound connection from %s refused: not in the allow-list", address)
            await stream.aclose()
            return
        self.active += 1
        try:
            await self._run_call(stream, address)
        except Exception:
            log.exception("outbound connection from %s failed", address)
        finally:
            self.active -= 1
            self.served += 1

    async def _run_call(self, stream: anyio.abc.ByteStream, address: str) -> None:
        conn = OutboundConnection(
            stream, name=f"outbound {address}", command_timeout=self.command_timeout
        )
        conn.peer = address
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn.run)
            try:
                try:
                    await conn.connect(timeout=self.connect_timeout)
                except EslError as exc:
                    log.error("outbound connection from %s: connect failed: %s", address, exc)
                    return
                conn.name = f"outbound {conn.uuid}"
                try:
                    await self.handler(conn)
                except EslError as exc:
                    log.error("call %s: %s", conn.uuid, exc)
                except Exception:
                    log.exception("call %s: the handler failed", conn.uuid)
            finally:
                await conn.aclose()
                tg.cancel_scope.cancel()
