"""Loopback helpers the tests share: a free port, a raw HTTP GET of /healthz or /metrics."""

from __future__ import annotations

import contextlib
import socket

import anyio


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def http_get_bytes(port: int, path: str) -> bytes:
    """The whole raw response (status line, headers, body) of `GET path` on 127.0.0.1."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                data += await stream.receive()
    return data


async def http_get(port: int, path: str) -> str:
    return (await http_get_bytes(port, path)).decode()
