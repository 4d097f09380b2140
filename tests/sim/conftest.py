"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.abc
import pytest
from helpers.esl_raw import OutboundSocket, RawClient

Connect = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``await connect(port, auth="ClueCon")``: a `RawClient`, closed after the test."""
    clients: list[RawClient] = []

    async def open_client(port: int, *, auth: str | None = "ClueCon") -> RawClient:
        client = await RawClient.connect(port, auth=auth)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.aclose()


@pytest.fixture
async def outbound() -> AsyncIterator[OutboundSocket]:
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    socket = OutboundSocket(multi.listeners[0])
    yield socket
    for client in socket.clients:
        await client.aclose()
    await multi.aclose()
