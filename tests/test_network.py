"""The in-memory network: connections and listeners addressed like TCP, without sockets."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable

import anyio
import pytest
from anyio.abc import SocketAttribute

from runner.network import TCP, MemoryByteStream, MemoryNetwork

pytestmark = pytest.mark.anyio


def keep_in(served: list[MemoryByteStream]) -> Callable[[MemoryByteStream], Awaitable[None]]:
    """A connection handler that keeps each connection for the test to use."""

    async def keep(stream: MemoryByteStream) -> None:
        served.append(stream)

    return keep


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_connection_carries_bytes_both_ways_and_ends_with_eof() -> None:
    net = MemoryNetwork()
    received: list[bytes] = []

    async def echo(stream: MemoryByteStream) -> None:
        async with stream:
            data = await stream.receive()
            received.append(data)
            await stream.send(data.upper())
            await stream.send_eof()

    with anyio.fail_after(5):
        listener = await net.create_tcp_listener("127.0.0.1", 8021)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, echo)
            client = await net.connect_tcp("127.0.0.1", 8021)
            await client.send(b"auth ClueCon\n\n")
            assert await client.receive() == b"AUTH CLUECON\n\n"
            with pytest.raises(anyio.EndOfStream):
                await client.receive()
            await client.aclose()
            await listener.aclose()
    assert received == [b"auth ClueCon\n\n"]


async def test_receive_returns_at_most_max_bytes_and_keeps_the_rest() -> None:
    net = MemoryNetwork()
    served: list[MemoryByteStream] = []

    async def keep(stream: MemoryByteStream) -> None:
        served.append(stream)

    with anyio.fail_after(5):
        listener = await net.create_tcp_listener("127.0.0.1", 0)
        port = listener.extra(SocketAttribute.local_port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, keep)
            client = await net.connect_tcp("localhost", port)
            await client.send(b"0123456789")
            while not served:
                await anyio.sleep(0)
            assert await served[0].receive(4) == b"0123"
            assert await served[0].receive(4) == b"4567"
            assert await served[0].receive(4) == b"89"
            tg.cancel_scope.cancel()
    net.close()


async def test_both_ends_show_loopback_addresses_as_a_tcp_socket_would() -> None:
    net = MemoryNetwork()
    served: list[MemoryByteStream] = []
    with anyio.fail_after(5):
        listener = await net.create_tcp_listener("127.0.0.1", 8084)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, keep_in(served))
            client = await net.connect_tcp("127.0.0.1", 8084)
            while not served:
                await anyio.sleep(0)
            tg.cancel_scope.cancel()
    net.close()
    server = served[0]
    assert server.extra(SocketAttribute.local_address) == ("127.0.0.1", 8084)
    assert server.extra(SocketAttribute.remote_address) == client.extra(
        SocketAttribute.local_address
    )
    host, port = client.extra(SocketAttribute.local_address)
    assert host == "127.0.0.1" and port != 8084
    assert client.extra(SocketAttribute.remote_port) == 8084


async def test_nothing_listening_is_connection_refused() -> None:
    net = MemoryNetwork()
    with pytest.raises(ConnectionRefusedError) as refused:
        await net.connect_tcp("127.0.0.1", 8021)
    assert refused.value.errno == errno.ECONNREFUSED
    listener = await net.create_tcp_listener("127.0.0.1", 8021)
    await listener.aclose()
    with pytest.raises(ConnectionRefusedError):
        await net.connect_tcp("127.0.0.1", 8021)


async def test_a_port_in_use_is_refused_and_any_address_listens_everywhere() -> None:
    net = MemoryNetwork()
    first = await net.create_tcp_listener("0.0.0.0", 8021)
    with pytest.raises(OSError) as taken:
        await net.create_tcp_listener("0.0.0.0", 8021)
    assert taken.value.errno == errno.EADDRINUSE
    assert net._find("10.1.2.3", 8021) is first
    net.close()
    assert net._find("10.1.2.3", 8021) is None


async def test_writing_to_a_closed_peer_is_a_broken_resource() -> None:
    net = MemoryNetwork()
    served: list[MemoryByteStream] = []
    with anyio.fail_after(5):
        listener = await net.create_tcp_listener("127.0.0.1", 8021)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, keep_in(served))
            client = await net.connect_tcp("127.0.0.1", 8021)
            while not served:
                await anyio.sleep(0)
            await served[0].aclose()
            with pytest.raises(anyio.BrokenResourceError):
                await client.send(b"api status\n\n")
            tg.cancel_scope.cancel()
    net.close()


async def test_the_tcp_network_is_anyio_sockets() -> None:
    with anyio.fail_after(5):
        listener = await TCP.create_tcp_listener("127.0.0.1", 0)
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:

            async def greet(stream: anyio.abc.ByteStream) -> None:
                async with stream:
                    await stream.send(b"Content-Type: auth/request\n\n")

            tg.start_soon(listener.serve, greet)
            async with await TCP.connect_tcp("127.0.0.1", port) as client:
                assert await client.receive() == b"Content-Type: auth/request\n\n"
            tg.cancel_scope.cancel()
