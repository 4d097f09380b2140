"""How eslflow's parts reach each other: TCP by default, or an in-memory network.

Everything that opens a connection or listens (the inbound client, the outbound server,
the simulator's event socket and its `socket` application) takes a `Network`. `TCP` is
anyio's sockets. `MemoryNetwork` connects the parts inside one process without a socket:
`eslflow test` runs the simulator and the engine on a virtual clock that jumps ahead
whenever every task waits, which only holds when nothing waits on real I/O.

    net = MemoryNetwork()
    listener = await net.create_tcp_listener("127.0.0.1", 8021)
    stream = await net.connect_tcp("127.0.0.1", 8021)      # the listener's handler gets
                                                          # the other end
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import anyio
import anyio.abc
from anyio.abc import ByteStream, Listener, SocketAttribute, TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

# Chunks one direction of a memory connection holds before the writer waits, as a full
# socket buffer would make it wait.
STREAM_BUFFER: Final = 1024
# Connections a memory listener holds before connect_tcp waits (the accept backlog).
BACKLOG: Final = 128
_ANY_HOST: Final = frozenset({"", "0.0.0.0", "::"})
_ALIASES: Final = {"localhost": "127.0.0.1"}


class Network(Protocol):
    """Opens connections and listeners; `TCP` and `MemoryNetwork` implement it."""

    async def connect_tcp(self, host: str, port: int) -> ByteStream:
        """A connection to `host:port`; OSError when nothing listens there."""
        ...

    async def create_tcp_listener(self, host: str, port: int) -> Listener[Any]:
        """A listener on `host:port` (port 0: any free port; read it with
        `listener.extra(SocketAttribute.local_port)`); OSError when the port is taken."""
        ...


class TcpNetwork:
    """anyio's TCP sockets: what eslflow uses in production."""

    async def connect_tcp(self, host: str, port: int) -> ByteStream:
        return await anyio.connect_tcp(host, port)

    async def create_tcp_listener(self, host: str, port: int) -> Listener[Any]:
        return await anyio.create_tcp_listener(local_host=host, local_port=port)


TCP: Final = TcpNetwork()
"""The default network of every part."""


class MemoryByteStream(ByteStream):
    """One end of an in-memory connection, with the socket attributes of a loopback TCP
    connection (servers read the peer's address to apply their allow-lists)."""

    def __init__(
        self,
        send: MemoryObjectSendStream[bytes],
        receive: MemoryObjectReceiveStream[bytes],
        local: tuple[str, int],
        remote: tuple[str, int],
    ) -> None:
        self._send = send
        self._receive = receive
        self._pending = b""
        self._local = local
        self._remote = remote

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if not self._pending:
            self._pending = await self._receive.receive()  # EndOfStream once the peer closed
        data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    async def send(self, item: bytes) -> None:
        if item:
            await self._send.send(bytes(item))

    async def send_eof(self) -> None:
        self._send.close()

    def close(self) -> None:
        self._send.close()
        self._receive.close()

    async def aclose(self) -> None:
        self.close()
        await anyio.lowlevel.checkpoint()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return {
            SocketAttribute.local_address: lambda: self._local,
            SocketAttribute.local_port: lambda: self._local[1],
            SocketAttribute.remote_address: lambda: self._remote,
            SocketAttribute.remote_port: lambda: self._remote[1],
        }


def memory_stream_pair(
    a: tuple[str, int], b: tuple[str, int]
) -> tuple[MemoryByteStream, MemoryByteStream]:
    """Two connected ends: what one sends, the other receives (`a` and `b` are addresses)."""
    a_to_b_send, a_to_b_receive = anyio.create_memory_object_stream[bytes](STREAM_BUFFER)
    b_to_a_send, b_to_a_receive = anyio.create_memory_object_stream[bytes](STREAM_BUFFER)
    return (
        MemoryByteStream(a_to_b_send, b_to_a_receive, local=a, remote=b),
        MemoryByteStream(b_to_a_send, a_to_b_receive, local=b, remote=a),
    )


class MemoryListener(Listener[MemoryByteStream]):
    """A listener of a `MemoryNetwork`: `serve` hands each new connection to a handler."""

    def __init__(self, network: MemoryNetwork, address: tuple[str, int]) -> None:
        self._network = network
        self.address = address
        self._accept_send, self._accept_receive = anyio.create_memory_object_stream[
            MemoryByteStream
        ](BACKLOG)

    async def _offer(self, stream: MemoryByteStream) -> None:
        try:
            await self._accept_send.send(stream)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"connection refused: {self.address[0]}:{self.address[1]}"
            ) from None

    async def serve(
        self,
        handler: Callable[[MemoryByteStream], Any],
        task_group: TaskGroup | None = None,
    ) -> None:
        async with anyio.create_task_group() as own:
            group = task_group or own
            try:
                async for stream in self._accept_receive:
                    group.start_soon(handler, stream)
            except anyio.ClosedResourceError:
                return  # the listener was closed

    def close(self) -> None:
        self._network._forget(self)
        self._accept_send.close()
        # Connections offered but never served are closed with the listener.
        while True:
            try:
                self._accept_receive.receive_nowait().close()
            except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.EndOfStream):
                break
        self._accept_receive.close()

    async def aclose(self) -> None:
        self.close()
        await anyio.lowlevel.checkpoint()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return {
            SocketAttribute.local_address: lambda: self.address,
            SocketAttribute.local_port: lambda: self.address[1],
        }


class MemoryNetwork:
    """Listeners and connections inside one process, addressed like TCP (host, port).

    Meant for one run (a test): it keeps every connection it made until `close()`.
    """

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, int], MemoryListener] = {}
        self._streams: list[MemoryByteStream] = []
        self._ports = itertools.count(40000)

    def close(self) -> None:
        """Close every listener and connection of this network (when its users are gone)."""
        for listener in list(self._listeners.values()):
            listener.close()
        for stream in self._streams:
            stream.close()
        self._streams.clear()

    def _free_port(self) -> int:
        return next(port for port in self._ports if not self._taken(port))

    def _taken(self, port: int) -> bool:
        return any(bound == port for _, bound in self._listeners)

    async def create_tcp_listener(self, host: str, port: int) -> MemoryListener:
        await anyio.lowlevel.checkpoint()
        host = _ALIASES.get(host, host)
        port = port or self._free_port()
        if (host, port) in self._listeners:
            raise OSError(errno.EADDRINUSE, f"address already in use: {host}:{port}")
        listener = MemoryListener(self, (host, port))
        self._listeners[(host, port)] = listener
        return listener

    def _forget(self, listener: MemoryListener) -> None:
        if self._listeners.get(listener.address) is listener:
            del self._listeners[listener.address]

    def _find(self, host: str, port: int) -> MemoryListener | None:
        found = self._listeners.get((host, port))
        if found is not None:
            return found
        for (bound_host, bound_port), listener in self._listeners.items():
            if bound_port == port and bound_host in _ANY_HOST:
                return listener
        return None

    async def connect_tcp(self, host: str, port: int) -> MemoryByteStream:
        host = _ALIASES.get(host, host)
        listener = self._find(host, port)
        if listener is None:
            await anyio.lowlevel.checkpoint()
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection refused: {host}:{port}")
        client_address = ("127.0.0.1", self._free_port())
        client, server = memory_stream_pair(client_address, (host, port))
        self._streams += (client, server)
        await listener._offer(server)
        return client
