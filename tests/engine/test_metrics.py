"""/metrics and /healthz over plain HTTP, no threads."""

from __future__ import annotations

import anyio
import pytest

from runner.engine.metrics import Metrics, serve_http

pytestmark = pytest.mark.anyio


async def get(port: int, path: str, method: str = "GET") -> tuple[str, bytes]:
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while True:
            try:
                data += await stream.receive()
            except anyio.EndOfStream:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(), body


async def test_metrics_and_health() -> None:
    metrics = Metrics()
    metrics.instances_started.labels(flow="ivr").inc(3)
    metrics.events_received.labels(node="fs1", event="CHANNEL_PARK").inc()
    up = {"value": False}
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                serve_http,
                "127.0.0.1",
                0,
                metrics,
                lambda: None if up["value"] else "no FreeSWITCH connected",
            )
            status, body = await get(port, "/metrics")
            assert status == "HTTP/1.1 200 OK"
            text = body.decode()
            assert 'eslflow_instances_started_total{flow="ivr"} 3.0' in text
            assert 'eslflow_events_received_total{event="CHANNEL_PARK",node="fs1"} 1.0' in text
            assert await get(port, "/healthz") == (
                "HTTP/1.1 503 Service Unavailable",
                b"no FreeSWITCH connected\n",
            )
            up["value"] = True
            assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", b"ok\n")
            assert await get(port, "/nope") == ("HTTP/1.1 404 Not Found", b"not found\n")
            assert await get(port, "/metrics", "POST") == (
                "HTTP/1.1 405 Method Not Allowed",
                b"GET only\n",
            )
            tg.cancel_scope.cancel()


def test_event_names_freeswitch_does_not_define_count_as_other() -> None:
    # A made-up name that is not UTF-8 (a surrogate escape from the codec) made every
    # later /metrics fail to encode; made-up names would each add a series (issue 10).
    metrics = Metrics()
    for name in ("CHANNEL_PARK", "X\udcff", "MADE_UP_1", "MADE_UP_2", "CHANNEL_PARK"):
        metrics.event_received("fs1", name)
    lines = [
        line
        for line in metrics.exposition().decode("utf-8").splitlines()
        if line.startswith("eslflow_events_received_total")
    ]
    assert sorted(lines) == [
        'eslflow_events_received_total{event="CHANNEL_PARK",node="fs1"} 2.0',
        'eslflow_events_received_total{event="other",node="fs1"} 3.0',
    ]
