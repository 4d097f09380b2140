"""The checks `eslflow doctor` runs against a user's FreeSWITCH before going live.

In order, each one needing the one before: the event socket answers (and its ACL lets
this host in), the password works, the version, the events the flows need can be
subscribed in the node's format and an event really comes back, the switch's clock,
and — only when asked with `--call EXT` — a loopback test call to each extension: does
it park (what inbound flows see) or run `socket` and reach our outbound listener?
Nothing here sends an event or places a call that a running engine's flows could take:
the test event has its own CUSTOM subclass and calls are placed only on request.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import anyio.abc

from runner.doctor.findings import Finding, Status
from runner.engine.service import ENGINE_EVENTS, NodeSpec, OutboundSpec, subscription_words
from runner.esl import commands
from runner.esl.buffer import EventBuffer
from runner.esl.errors import (
    EslAclError,
    EslAuthError,
    EslConnectionError,
    EslError,
    EslTimeoutError,
)
from runner.esl.event import Event
from runner.esl.inbound import InboundConnection
from runner.esl.outbound import OutboundConnection, OutboundServer, is_allowed, parse_networks
from runner.flow.flowset import EventKey

DOCTOR_SUBCLASS = "eslflow::doctor"
NONCE_HEADER = "Eslflow-Doctor-Nonce"
# A clock further off than this makes `time:` conditions and logs disagree with the switch.
CLOCK_WARN = 1.0
CLOCK_FAIL = 30.0
_VERSION = re.compile(r"FreeSWITCH Version (\d+)\.(\d+)\.(\d+)(\S*)")
# What a test call's legs tell us; the rest of the events are not needed.
_CALL_EVENTS = ("CHANNEL_CREATE", "CHANNEL_EXECUTE", "CHANNEL_PARK", "CHANNEL_HANGUP")


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to check: the nodes, the outbound listener, the events, the test calls."""

    nodes: tuple[NodeSpec, ...]
    outbound: OutboundSpec | None = None
    events: frozenset[EventKey] = ENGINE_EVENTS
    calls: tuple[str, ...] = ()
    context: str = "default"
    timeout: float = 5.0


async def diagnose(plan: Plan) -> list[Finding]:
    """Run every check of `plan`; each node's check names carry the node's name when
    there are several."""
    findings: list[Finding] = []
    for node in plan.nodes:
        prefix = f"{node.name}: " if len(plan.nodes) > 1 else ""
        for f in await _check_node(node, plan):
            findings.append(Finding(check=prefix + f.check, status=f.status, detail=f.detail))
    return findings


async def _check_node(node: NodeSpec, plan: Plan) -> list[Finding]:
    where = f"{node.host}:{node.port}"
    out: list[Finding] = []
    try:
        async with InboundConnection.connect(
            node.host, node.port, node.password, timeout=plan.timeout, command_timeout=plan.timeout
        ) as conn:
            out.append(Finding(check="event socket", status=Status.ok, detail=f"{where} answered"))
            out.append(Finding(check="acl", status=Status.ok, detail="this host is allowed in"))
            out.append(Finding(check="auth", status=Status.ok, detail="password accepted"))
            out.extend(await _after_auth(conn, node, plan))
    except EslAclError as exc:
        out += [
            Finding(check="event socket", status=Status.ok, detail=f"{where} answered"),
            Finding(
                check="acl",
                status=Status.fail,
                detail=f"{exc}\nallow this host in apply-inbound-acl (event_socket.conf.xml)",
            ),
        ]
    except EslAuthError as exc:
        out += [
            Finding(check="event socket", status=Status.ok, detail=f"{where} answered"),
            Finding(check="acl", status=Status.ok, detail="this host is allowed in"),
            Finding(
                check="auth",
                status=Status.fail,
                detail=f"{exc}\ncheck the password (event_socket.conf.xml, param 'password')",
            ),
        ]
    except (EslConnectionError, EslTimeoutError) as exc:
        out.append(
            Finding(
                check="event socket",
                status=Status.fail,
                detail=f"{exc}\nis mod_event_socket loaded and listening on {where}?",
            )
        )
    except EslError as exc:
        # The connection broke in the middle of the checks: say where they stopped.
        out.append(Finding(check="connection", status=Status.fail, detail=f"lost: {exc}"))
    return out


async def _after_auth(conn: InboundConnection, node: NodeSpec, plan: Plan) -> list[Finding]:
    out = [await _version(conn)]
    events = conn.event_buffer(maxsize=10_000)
    wanted = set(plan.events) | {EventKey("CUSTOM", DOCTOR_SUBCLASS)}
    if plan.calls:
        wanted |= {EventKey(name) for name in _CALL_EVENTS}
    words = subscription_words(wanted)
    try:
        await conn.subscribe(words, node.format)
    except EslError as exc:
        out.append(Finding(check="events", status=Status.fail, detail=f"`event` refused: {exc}"))
        return out
    sent_at = time.time()
    nonce = str(uuidlib.uuid4())
    try:
        await conn.sendevent("CUSTOM", {NONCE_HEADER: nonce}, subclass=DOCTOR_SUBCLASS)
    except EslError as exc:
        out.append(Finding(check="events", status=Status.fail, detail=f"sendevent failed: {exc}"))
        return out
    echo: Event | None = None
    with anyio.move_on_after(plan.timeout):
        async for event in events:
            if event.get(NONCE_HEADER) == nonce:
                echo = event
                break
    received_at = time.time()
    needed = sorted(k.name if k.subclass is None else f"CUSTOM {k.subclass}" for k in plan.events)
    if echo is None:
        out.append(
            Finding(
                check="events",
                status=Status.fail,
                detail=f"subscribed in {node.format}, but a test event sent with sendevent "
                f"did not come back within {plan.timeout:g} s",
            )
        )
        return out
    out.append(
        Finding(
            check="events",
            status=Status.ok,
            detail=f"{len(needed)} events subscribed in {node.format}; a test event came back "
            f"in {(received_at - sent_at) * 1000:.1f} ms\n" + " ".join(needed),
        )
    )
    out.append(_clock(echo, sent_at, received_at))
    if plan.calls:
        out.extend(await _calls(conn, events, plan))
    return out


async def _version(conn: InboundConnection) -> Finding:
    text = (await conn.api("version")).strip()
    match = _VERSION.search(text)
    if match is None:
        return Finding(check="version", status=Status.warn, detail=f"unrecognised: {text!r}")
    major, minor = int(match[1]), int(match[2])
    release = f"{match[1]}.{match[2]}.{match[3]}{match[4]}"
    if (major, minor) < (1, 10):
        return Finding(
            check="version",
            status=Status.warn,
            detail=f"FreeSWITCH {release}; eslflow is tested against 1.10.12",
        )
    return Finding(check="version", status=Status.ok, detail=f"FreeSWITCH {release}")


def _clock(echo: Event, sent_at: float, received_at: float) -> Finding:
    """The switch's clock against ours, from the test event's Event-Date-Timestamp (µs)."""
    stamp = echo.get("Event-Date-Timestamp", "")
    if not stamp.isascii() or not stamp.isdigit():
        return Finding(check="clock", status=Status.warn, detail="the event carried no timestamp")
    skew = int(stamp) / 1e6 - (sent_at + received_at) / 2
    where = "ahead of" if skew >= 0 else "behind"
    detail = f"the switch's clock is {abs(skew):.3f} s {where} this host's"
    if abs(skew) > CLOCK_FAIL:
        return Finding(check="clock", status=Status.fail, detail=detail + "; run NTP on both")
    if abs(skew) > CLOCK_WARN:
        return Finding(check="clock", status=Status.warn, detail=detail + "; run NTP on both")
    return Finding(check="clock", status=Status.ok, detail=detail)


@dataclass
class _CallTrace:
    """What one test call's two loopback legs did."""

    a_leg: str
    legs: set[str] = field(default_factory=set)
    apps: list[str] = field(default_factory=list)
    parked: bool = False
    hangup_cause: str | None = None
    socket_arg: str | None = None
    connection: OutboundConnection | None = None

    def take(self, event: Event) -> None:
        uuid = event.get("Unique-ID", "")
        if uuid != self.a_leg and event.get("variable_other_loopback_leg_uuid") != self.a_leg:
            return
        self.legs.add(uuid)
        if uuid == self.a_leg:
            # The a-leg parks by our own `&park()`; only the b-leg runs the extension.
            if event.get("Event-Name") == "CHANNEL_HANGUP":
                self.hangup_cause = self.hangup_cause or event.get("Hangup-Cause")
            return
        name = event.get("Event-Name")
        if name == "CHANNEL_EXECUTE":
            app = event.get("Application", "?")
            self.apps.append(app)
            if app == "socket":
                self.socket_arg = event.get("Application-Data", "")
        elif name == "CHANNEL_PARK":
            self.parked = True
        elif name == "CHANNEL_HANGUP":
            self.hangup_cause = event.get("Hangup-Cause")

    @property
    def settled(self) -> bool:
        if self.connection is not None or self.hangup_cause is not None:
            return True
        return self.parked and self.socket_arg is None


async def _calls(conn: InboundConnection, events: EventBuffer, plan: Plan) -> list[Finding]:
    """Place each `--call` extension on loopback and report what it did."""
    traces: dict[str, _CallTrace] = {}
    out: list[Finding] = []
    listener_finding: Finding | None = None

    async def on_socket(call: OutboundConnection) -> None:
        a_leg = call.channel_data.get("variable_other_loopback_leg_uuid", "")
        trace = traces.get(a_leg)
        if trace is not None:
            trace.connection = call
            await call.exit()

    async with anyio.create_task_group() as tg:
        if plan.outbound is not None:
            listener_finding = await _start_listener(tg, plan.outbound, on_socket)
            out.append(listener_finding)
        for ext in plan.calls:
            trace = _CallTrace(a_leg=str(uuidlib.uuid4()))
            traces[trace.a_leg] = trace
            out.append(await _one_call(conn, events, ext, trace, plan, listener_finding))
        tg.cancel_scope.cancel()
    return out


async def _start_listener(
    tg: anyio.abc.TaskGroup,
    spec: OutboundSpec,
    handler: Callable[[OutboundConnection], Awaitable[None]],
) -> Finding:
    # Every address is let in so that a refused one can be reported, not just dropped.
    server = OutboundServer(
        handler,
        host=spec.host,
        port=spec.port,
        allow=["0.0.0.0/0", "::/0"],
        connect_timeout=5.0,
    )
    where = f"{spec.host}:{spec.port}"
    try:
        await tg.start(server.serve)
    except OSError as exc:
        return Finding(
            check="outbound listener",
            status=Status.warn,
            detail=f"cannot listen on {where}: {exc.strerror or exc}; if `eslflow run` listens "
            "there, stop it to check socket extensions",
        )
    return Finding(
        check="outbound listener", status=Status.ok, detail=f"listening on {where} for the test"
    )


async def _one_call(
    conn: InboundConnection,
    events: EventBuffer,
    ext: str,
    trace: _CallTrace,
    plan: Plan,
    listener: Finding | None,
) -> Finding:
    check = f"call {ext}"
    timeout = max(1, math.ceil(plan.timeout))
    dial = (
        f"{{origination_uuid={trace.a_leg},originate_timeout={timeout}}}"
        f"loopback/{ext}/{plan.context} &park()"
    )
    try:
        # Not conn.bgapi(): that waits for the job, which ends only with the call.
        await conn.command(commands.bgapi(f"originate {dial}"))
    except EslError as exc:
        return Finding(check=check, status=Status.fail, detail=f"originate refused: {exc}")
    with anyio.move_on_after(plan.timeout):
        async for event in events:
            trace.take(event)
            if trace.settled:
                break
    # Whatever happened, the test call ends here (both legs go with the a-leg).
    with contextlib.suppress(EslError):
        await conn.api(f"uuid_kill {trace.a_leg}")
    return _verdict(check, ext, trace, plan, listener)


def _verdict(
    check: str, ext: str, trace: _CallTrace, plan: Plan, listener: Finding | None
) -> Finding:
    apps = " ".join(trace.apps) or "none"
    if trace.connection is not None:
        data = trace.connection.channel_data
        mode = f"{data.get('Socket-Mode', '?')} {data.get('Control', '?')}"
        assert plan.outbound is not None
        allowed = is_allowed(trace.connection.peer, parse_networks(plan.outbound.allow))
        if not allowed:
            return Finding(
                check=check,
                status=Status.fail,
                detail=f"`socket` reached {plan.outbound.host}:{plan.outbound.port} from "
                f"{trace.connection.peer}, which the outbound allow-list refuses",
            )
        return Finding(
            check=check,
            status=Status.ok,
            detail=f"`socket` reached our outbound listener at {plan.outbound.host}:"
            f"{plan.outbound.port} ({mode})",
        )
    if trace.socket_arg is not None:
        if plan.outbound is None:
            return Finding(
                check=check,
                status=Status.warn,
                detail=f"runs `socket {trace.socket_arg}`; give --outbound HOST:PORT to check "
                "that it reaches eslflow",
            )
        if listener is not None and listener.status is not Status.ok:
            return Finding(
                check=check,
                status=Status.skip,
                detail=f"runs `socket {trace.socket_arg}`; not checked (no listener)",
            )
        return Finding(
            check=check,
            status=Status.fail,
            detail=f"runs `socket {trace.socket_arg}`, but nothing reached "
            f"{plan.outbound.host}:{plan.outbound.port} within {plan.timeout:g} s",
        )
    if trace.parked:
        return Finding(
            check=check,
            status=Status.ok,
            detail=f"parks: CHANNEL_PARK arrived (apps run: {apps})",
        )
    if not trace.legs:
        return Finding(
            check=check,
            status=Status.fail,
            detail=f"no channel events for loopback/{ext}/{plan.context} within "
            f"{plan.timeout:g} s (is mod_loopback loaded?)",
        )
    if trace.hangup_cause is not None:
        return Finding(
            check=check,
            status=Status.fail,
            detail=f"hung up ({trace.hangup_cause}) without parking or running socket "
            f"(apps run: {apps})",
        )
    return Finding(
        check=check,
        status=Status.fail,
        detail=f"neither parked nor ran socket within {plan.timeout:g} s (apps run: {apps})",
    )
