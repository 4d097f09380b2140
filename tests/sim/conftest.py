"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from helpers.esl_raw import RawClient

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
