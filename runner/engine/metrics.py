"""Prometheus metrics and the health endpoint, served without threads.

prometheus-client's own HTTP server runs in a thread; ours is a few lines of anyio
that answer `GET /metrics` (the text exposition format) and `GET /healthz`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import anyio
import anyio.abc
from anyio.abc import SocketAttribute
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from runner.flow.fields import EVENT_NAMES

log = logging.getLogger("runner.engine")

# The label of an event whose name FreeSWITCH does not define: a peer's made-up names
# (any bytes, not UTF-8 perhaps) would otherwise each add a series, and one that is not
# UTF-8 would make every later /metrics fail to encode.
OTHER_EVENT: Final = "other"

STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric the engine exports, in a registry of its own (tests run many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections_up = Gauge(
            "eslflow_connections_up", "Inbound ESL connections that are up.", ["node"], registry=r
        )
        self.reconnects = Counter(
            "eslflow_reconnects", "Inbound ESL reconnections.", ["node"], registry=r
        )
        self.switch_restarts = Counter(
            "eslflow_switch_restarts",
            "FreeSWITCH restarts seen (a new Core-UUID on a node).",
            ["node"],
            registry=r,
        )
        self.events_missed = Counter(
            "eslflow_events_missed",
            "Events the switch fired while the node was disconnected (the Event-Sequence "
            "gap across a reconnect: an upper bound, it counts events of every listener).",
            ["node"],
            registry=r,
        )
        self.events_received = Counter(
            "eslflow_events_received", "Events received, by name.", ["node", "event"], registry=r
        )
        self.events_dropped = Counter(
            "eslflow_events_dropped",
            "Events dropped because a flow instance fell behind.",
            ["flow"],
            registry=r,
        )
        self.instances_started = Counter(
            "eslflow_instances_started", "Flow instances started.", ["flow"], registry=r
        )
        self.instances_finished = Counter(
            "eslflow_instances_finished",
            "Flow instances that ended normally.",
            ["flow"],
            registry=r,
        )
        self.instances_failed = Counter(
            "eslflow_instances_failed", "Flow instances that ended in error.", ["flow"], registry=r
        )
        self.condition_timeouts = Counter(
            "eslflow_condition_timeouts",
            "Trigger conditions whose regex search ran past regex_timeout (did not match).",
            ["flow"],
            registry=r,
        )
        self.instances_abandoned = Counter(
            "eslflow_instances_abandoned",
            "Flow instances cut off by a second SIGTERM (not counted as finished).",
            ["flow"],
            registry=r,
        )
        self.instance_errors = Counter(
            "eslflow_instance_errors",
            "Errors that ended a flow's steps, by kind: step (the step could not do its "
            "job), budget (a loop that never waits), unexpected (an exception eslflow "
            "did not foresee; the traceback is logged at debug level).",
            ["kind"],
            registry=r,
        )
        self.instances_active = Gauge(
            "eslflow_instances_active", "Flow instances running now.", registry=r
        )
        self.outbound_connections = Counter(
            "eslflow_outbound_connections",
            "Outbound socket connections, by result: matched, unmatched, refused (allow-list), "
            "over_cap (max_connections), connect_failed, expired (max_call_duration).",
            ["result"],
            registry=r,
        )
        self.step_seconds = Histogram(
            "eslflow_step_seconds",
            "Time a step took, by flow and step kind.",
            ["flow", "step"],
            buckets=STEP_BUCKETS,
            registry=r,
        )

        # labels() takes a lock and builds a key on every call: the hot paths (an event
        # received, a step run) look their children up here instead.
        self._received: dict[tuple[str, str], Counter] = {}
        self._steps: dict[tuple[str, str], Histogram] = {}

    def event_received(self, node: str, event: str) -> None:
        child = self._received.get((node, event))
        if child is None:
            if event not in EVENT_NAMES:
                event = OTHER_EVENT
            child = self._received[node, event] = self.events_received.labels(
                node=node, event=event
            )
        child.inc()

    def step_took(self, flow: str, step: str, seconds: float) -> None:
        child = self._steps.get((flow, step))
        if child is None:
            child = self._steps[flow, step] = self.step_seconds.labels(flow=flow, step=step)
        child.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


async def serve_http(
    host: str,
    port: int,
    metrics: Metrics,
    health: Callable[[], str | None],
    *,
    task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `/metrics` and `/healthz` until cancelled: 200 `ok` when `health()` is None,
    else 503 with the reason it gives (`draining`, `no FreeSWITCH connected`)."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            try:
                with anyio.fail_after(5):
                    request = b""
                    while b"\r\n\r\n" not in request and b"\n\n" not in request:
                        chunk = await stream.receive(4096)
                        request += chunk
                        if len(request) > 16384:
                            return
            except (TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError):
                return
            parts = request.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split()
            method, path = (parts[0], parts[1]) if len(parts) >= 2 else (b"", b"")
            path = path.split(b"?", 1)[0]
            if method not in (b"GET", b"HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"GET only\n"
            elif path == b"/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, metrics.exposition()
            elif path == b"/healthz":
                problem = health()
                status = "200 OK" if problem is None else "503 Service Unavailable"
                ctype, body = "text/plain", f"{problem or 'ok'}\n".encode()
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            try:
                await stream.send(head + (b"" if method == b"HEAD" else body))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return

    async with listener:
        bound = listener.extra(SocketAttribute.local_port)
        log.info("metrics and /healthz on http://%s:%d", host, bound)
        task_status.started(bound)
        await listener.serve(handle)
