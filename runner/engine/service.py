"""`Engine`: flows run against live ESL connections, inbound and outbound, as a service.

    engine = Engine(flows, nodes=[NodeSpec("127.0.0.1", 8021, "ClueCon")],
                    outbound=OutboundSpec("127.0.0.1", 8084))
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        ...
        await engine.drain()          # stop taking calls, let running ones finish

Each inbound node is one reconnecting `InboundConnection`, subscribed to exactly the
events the flows trigger on or wait for plus what the engine needs. Its events go
through the `Router`, synchronously: the connection's reader never waits on a flow.
Each outbound connection runs the first outbound flow whose conditions hold on its
channel data; a connection no flow wants is hung up with a configurable cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import anyio
import anyio.abc

from runner.engine.control import DEFAULT_STEP_BUDGET
from runner.engine.instance import HANGUP_EVENTS, FlowInstance, Observer
from runner.engine.link import CommandObserver, InboundLink, OutboundLink
from runner.engine.logs import node_name
from runner.engine.metrics import Metrics
from runner.engine.pacing import Pacer
from runner.engine.resync import Resync
from runner.engine.router import Router
from runner.esl import commands
from runner.esl.errors import EslAuthError, EslError
from runner.esl.event import Event
from runner.esl.inbound import Backoff, InboundConnection
from runner.esl.outbound import OutboundConnection, OutboundServer
from runner.flow.flowset import EventKey, FlowSet
from runner.network import TCP, Network

log = logging.getLogger("runner.engine")

EventFormat = Literal["plain", "json", "xml"]

# What the engine itself listens to, whatever the flows say: completions of the
# applications it runs, bridges (answered calls), hangups (BACKGROUND_JOB is added
# by the first bgapi).
ENGINE_EVENTS = frozenset(
    {
        EventKey("CHANNEL_BRIDGE"),
        EventKey("CHANNEL_EXECUTE"),
        EventKey("CHANNEL_EXECUTE_COMPLETE"),
        EventKey("CHANNEL_HANGUP"),
        EventKey("CHANNEL_HANGUP_COMPLETE"),
    }
)


@dataclass(frozen=True)
class NodeSpec:
    """One FreeSWITCH to connect to (inbound mode)."""

    host: str = "127.0.0.1"
    port: int = 8021
    password: str = field(default="ClueCon", repr=False)
    format: EventFormat = "json"
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.host}:{self.port}"


@dataclass(frozen=True)
class OutboundSpec:
    """The listener for FreeSWITCH's `socket` application (outbound mode)."""

    host: str = "127.0.0.1"
    port: int = 8084
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    unmatched_hangup_cause: str = "NO_ROUTE_DESTINATION"
    max_connections: int | None = 2000
    max_call_duration: float | None = 4 * 3600.0
    connect_timeout: float = 5.0


def subscription_words(keys: Iterable[EventKey]) -> list[str]:
    """`event` command words: plain names, then `CUSTOM sub1 sub2` (mod_event_socket
    reads the subclasses after the CUSTOM keyword)."""
    names = sorted({k.name for k in keys if k.name != "CUSTOM"})
    if "ALL" in names:
        return ["ALL"]
    subclasses = sorted({k.subclass for k in keys if k.name == "CUSTOM" and k.subclass})
    return [*names, *(["CUSTOM", *subclasses] if subclasses else [])]


class _Node:
    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.conn: InboundConnection | None = None
        self.subscribed: frozenset[EventKey] = frozenset()
        self.resync: Resync | None = None


class Engine:
    """Runs flows for many calls at once; see the module docstring."""

    def __init__(
        self,
        flows: FlowSet,
        *,
        nodes: Iterable[NodeSpec] = (),
        outbound: OutboundSpec | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] | None = None,
        backoff: Backoff | None = None,
        observer: Observer | None = None,
        on_command: CommandObserver | None = None,
        on_event: Callable[[str, Event], None] | None = None,
        event_buffer: int = 100_000,
        network: Network = TCP,
        step_budget: int = DEFAULT_STEP_BUDGET,
    ) -> None:
        self.metrics = metrics or Metrics()
        # How nodes are reached and the outbound listener listens (`eslflow test`: memory).
        self.network = network
        self.clock = clock or (lambda: datetime.now(UTC))
        self.backoff = backoff or Backoff()
        self.observer = observer
        self.on_command = on_command
        self.on_event = on_event
        self.event_buffer = event_buffer
        self.step_budget = step_budget
        self.pacer = Pacer()  # runaway instances share one slice of the loop
        self.nodes = [_Node(spec) for spec in nodes]
        self.outbound_spec = outbound
        self.outbound_server: OutboundServer | None = None
        self.outbound_port: int | None = None
        self.router = Router(flows, self._spawn, clock=self.clock, metrics=self.metrics)
        self.router.configure = self._configure
        self.outbound_calls: set[FlowInstance] = set()
        self.draining = False
        self._tg: anyio.abc.TaskGroup | None = None
        self._instances_done = anyio.Event()
        self._stopped = anyio.Event()

    # -- state ---------------------------------------------------------------------------------
    @property
    def flows(self) -> FlowSet:
        return self.router.flows

    @property
    def active(self) -> int:
        return self.router.active + len(self.outbound_calls)

    def healthy(self) -> bool:
        """Up when an inbound node is connected (or, without nodes, the listener is up)."""
        if not self.nodes:
            return self.outbound_server is not None
        return any(node.conn is not None and node.conn.connected for node in self.nodes)

    def health(self) -> str | None:
        """What /healthz reports: None when serving, else why not (a load balancer
        stops sending calls to a draining or disconnected engine)."""
        if self.draining:
            return "draining"
        if not self.healthy():
            return "no FreeSWITCH connected" if self.nodes else "not listening"
        return None

    def describe(self) -> str:
        """One line for the start-up log: the flows loaded, the nodes, the listener."""
        names = ", ".join(sorted(flow.flow for flow in self.flows)) or "none"
        nodes = ", ".join(
            node.spec.label
            if node.spec.label == f"{node.spec.host}:{node.spec.port}" or not node.spec.label
            else f"{node.spec.label} ({node.spec.host}:{node.spec.port})"
            for node in self.nodes
        )
        text = f"{len(self.flows)} flows ({names}); inbound nodes: {nodes or 'none'}"
        if self.outbound_spec is not None:
            port = self.outbound_port if self.outbound_port is not None else self.outbound_spec.port
            text += f"; outbound listener: {self.outbound_spec.host}:{port}"
        return text

    def subscriptions(self) -> frozenset[EventKey]:
        """What the flows need, plus what running instances started on older flow sets
        still wait for (after a reload), plus the engine's own needs."""
        keys = set(self.flows.subscriptions()) | ENGINE_EVENTS
        for flows in {id(i.flows): i.flows for i in self.router.instances()}.values():
            if flows is not self.flows:
                keys |= flows.subscriptions()
        return frozenset(keys)

    # -- running -------------------------------------------------------------------------------
    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect every node, serve outbound, run instances; until cancelled or drained."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            for node in self.nodes:
                await tg.start(self._run_node, node)
            if self.outbound_spec is not None:
                spec = self.outbound_spec
                self.outbound_server = OutboundServer(
                    self._outbound_call,
                    host=spec.host,
                    port=spec.port,
                    allow=spec.allow,
                    connect_timeout=spec.connect_timeout,
                    max_connections=spec.max_connections,
                    max_call_duration=spec.max_call_duration,
                    on_outcome=self._outbound_outcome,
                    network=self.network,
                )
                self.outbound_port = await tg.start(self.outbound_server.serve)
            task_status.started()
            await self._stopped.wait()
            tg.cancel_scope.cancel()

    async def _run_node(
        self, node: _Node, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        spec = node.spec
        label = spec.name
        node_name.set(label)  # every line logged for this node, and its calls, names it
        started = False
        try:
            async with InboundConnection.connect(
                spec.host,
                spec.port,
                spec.password,
                reconnect=True,
                backoff=self.backoff,
                network=self.network,
            ) as conn:
                node.conn = conn
                resync = node.resync = Resync(conn, label, self.metrics)
                conn.on_connect.append(lambda c: self._connected(node))
                conn.on_disconnect.append(lambda c: self._disconnected(node))
                events = conn.events(maxsize=self.event_buffer)
                await self._subscribe(node)
                self._connected(node, first=True)
                started = True
                task_status.started()
                route = self.router.route
                link_for = self._link_factory(conn)
                received = self.metrics.event_received
                on_event = self.on_event
                async for event in events:
                    name = event.get("Event-Name", "")
                    received(label, name)
                    resync.seen(event)
                    if on_event is not None:
                        on_event(label, event)
                    try:
                        route(event, link_for)
                    except Exception:  # a routing bug must not stop the node
                        what = event.get("Event-Name") or "an event without Event-Name"
                        log.exception("%s: routing %s failed", label, what)
        except EslAuthError as exc:
            log.error("%s: %s; this node is not served", label, exc)
            if not started:
                task_status.started()
        finally:
            self.metrics.connections_up.labels(node=label).set(0)

    def _connected(self, node: _Node, first: bool = False) -> None:
        self.metrics.connections_up.labels(node=node.spec.name).set(1)
        if first:
            return
        self.metrics.reconnects.labels(node=node.spec.name).inc()
        if self._tg is not None and node.resync is not None:
            node.resync.reconnected = True
            self._tg.start_soon(node.resync.recheck, self.router.instances)

    def _disconnected(self, node: _Node) -> None:
        self.metrics.connections_up.labels(node=node.spec.name).set(0)
        if node.resync is not None:
            node.resync.lost(self.router.instances)

    async def _subscribe(self, node: _Node) -> None:
        assert node.conn is not None
        wanted = self.subscriptions()
        added = wanted - node.subscribed
        removed = {k for k in node.subscribed - wanted if k.name != "CUSTOM"}
        if added:
            await node.conn.subscribe(subscription_words(added), node.spec.format)
        if removed:
            await node.conn.nixevent(sorted({k.name for k in removed}))
        node.subscribed = wanted

    def _link_factory(self, conn: InboundConnection) -> Callable[[str], InboundLink]:
        def make(uuid: str) -> InboundLink:
            return InboundLink(conn, uuid, self.on_command)

        return make

    def _configure(self, instance: FlowInstance) -> None:
        instance.observer = self.observer
        instance.step_budget = self.step_budget
        instance.pacer = self.pacer

    def _spawn(self, instance: FlowInstance) -> None:
        assert self._tg is not None
        self._tg.start_soon(instance.run)

    # -- outbound ------------------------------------------------------------------------------
    def _outbound_outcome(self, result: str) -> None:
        self.metrics.outbound_connections.labels(result=result).inc()

    async def _outbound_call(self, conn: OutboundConnection) -> None:
        found = None
        if self.router.accepting:
            found = self.flows.match_outbound(
                conn.channel_data, self.clock(), self.router.condition_error
            )
        if found is None:
            spec = self.outbound_spec
            cause = spec.unmatched_hangup_cause if spec else "NO_ROUTE_DESTINATION"
            log.warning(
                "outbound call %s (%s): no outbound flow matches; hanging up with %s",
                conn.uuid,
                conn.channel_data.get("Caller-Destination-Number", "?"),
                cause,
            )
            self.metrics.outbound_connections.labels(result="unmatched").inc()
            data = commands.hangup(cause)
            if self.on_command is not None:
                self.on_command(conn.uuid, data)
            await conn.command(data)
            return
        self.metrics.outbound_connections.labels(result="matched").inc()
        link = OutboundLink(conn, self.on_command)
        # The engine needs the channel's events (completions, hangup): myevents first.
        events = conn.events(maxsize=min(self.event_buffer, 10_000))
        await link.socket_command(commands.myevents())
        instance = FlowInstance(
            found.flow,
            self.flows,
            link,
            conn.channel_data,
            found.captures,
            clock=self.clock,
            metrics=self.metrics,
            any_waiters=self.router.any_waiters,
            interest=self.router.interest,
            step_budget=self.step_budget,
            pacer=self.pacer,
        )
        instance.observer = self.observer
        self.outbound_calls.add(instance)
        try:
            async with anyio.create_task_group() as tg:

                async def deliver() -> None:
                    async for event in events:
                        if self.on_event is not None:
                            self.on_event("outbound", event)
                        instance.offer(event)
                        if event.get("Event-Name") in HANGUP_EVENTS:
                            instance.channel_gone(event)
                    # The socket closed: the call is gone with it.
                    instance.channel_gone({"Event-Name": "CHANNEL_HANGUP", "Unique-ID": conn.uuid})

                tg.start_soon(deliver)
                await instance.run()
                tg.cancel_scope.cancel()
        finally:
            self.outbound_calls.discard(instance)

    # -- reload and shutdown -------------------------------------------------------------------
    async def reload(self, flows: FlowSet) -> None:
        """New calls use `flows`; running instances finish on the flows they started with."""
        self.router.set_flows(flows)
        for node in self.nodes:
            if node.conn is not None and node.conn.connected:
                try:
                    await self._subscribe(node)
                except EslError as exc:
                    log.error("%s: resubscribing after reload failed: %s", node.spec.name, exc)
        log.info("flows reloaded: %d flows", len(flows))

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop taking new calls, let running instances finish (up to `timeout`), stop."""
        self.draining = True
        self.router.accepting = False
        if self.outbound_server is not None:
            self.outbound_server.stop_accepting()
        with anyio.move_on_after(timeout):
            while self.active:
                await anyio.sleep(0.05)
        left = self.router.instances() + list(self.outbound_calls)
        if left:
            log.warning("drain timeout: stopping %d running flow instances", len(left))
            for instance in left:
                instance.stop()
            with anyio.move_on_after(2):
                while self.active:
                    await anyio.sleep(0.02)
        self._stopped.set()

    def stop(self) -> None:
        """Stop at once (instances are cancelled)."""
        self._stopped.set()

    def abandon(self) -> int:
        """Stop at once, during a drain: running instances are cut off and counted as
        abandoned. Returns how many there were."""
        left = [i for i in self.router.instances() + list(self.outbound_calls) if not i.finished]
        for instance in left:
            instance.abandoned = True
        self._stopped.set()
        return len(left)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
