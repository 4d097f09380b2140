"""`Simulator`: a FreeSWITCH stand-in listening for event-socket clients.

    async with Simulator(port=0, speed=50) as sim:
        uuid = await sim.place_call(CallSpec(destination="9002", caller_number="1000"))
        info = await sim.wait_for_hangup(uuid)

Everything runs in one task group entered by ``__aenter__``: the accept loop, one task per
connection (each its own exception barrier), one per channel, background jobs and the
heartbeat. Leaving the block cancels them all.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import ByteStream, Listener, TaskGroup

from runner.network import TCP, Network
from runner.sim.acl import LOOPBACK, Acl
from runner.sim.api import ApiResult, execute_api
from runner.sim.apps import APPLICATIONS
from runner.sim.channel import Channel
from runner.sim.clock import SimClock
from runner.sim.core import MediaConfig, SwitchCore, SwitchIdentity
from runner.sim.dialplan import (
    DEFAULT_OUTBOUND_TARGET,
    Action,
    Dialplan,
    Extension,
    default_dialplan,
    parse_action,
)
from runner.sim.endpoints import create_inbound_call
from runner.sim.event import Event
from runner.sim.listener import Connection, ListenerConfig, UserAuth
from runner.sim.load import LoadGenerator
from runner.sim.orderings import MODES, Orderings
from runner.sim.outbound import socket_app
from runner.sim.session import Session
from runner.sim.traffic import Traffic

logger = logging.getLogger("runner.sim")

FINISHED_KEPT = 10_000
EVENTS_KEPT = 10_000


class SimulatorError(Exception):
    """The simulator was used wrongly (not started, unknown channel, bad call spec)."""


ORDERINGS_ENV = "ESLFLOW_SIM_ORDERINGS"


def orderings_from(mode: str | None, seed: int | None) -> Orderings:
    """The races' settings: the arguments, else ``ESLFLOW_SIM_ORDERINGS`` (``real`` or
    ``real:SEED``; how a test run puts every simulator in the real switch's orderings),
    else the simulator's own orderings."""
    env_seed: int | None = None
    if mode is None:
        text = os.environ.get(ORDERINGS_ENV, "").strip()
        mode, _, seed_text = text.partition(":")
        mode = mode or "sim"
        try:
            env_seed = int(seed_text) if seed_text else None
        except ValueError:
            raise SimulatorError(f"{ORDERINGS_ENV}={text!r}: the seed must be an integer") from None
    chosen = seed if seed is not None else env_seed
    if mode not in MODES:
        raise SimulatorError(f"orderings must be one of {', '.join(MODES)}, not {mode!r}")
    return Orderings(mode) if chosen is None else Orderings(mode, chosen)


@dataclass
class CallSpec:
    """A call arriving at the simulated switch from a simulated phone.

    ``actions`` (e.g. ``["answer", "playback /x.wav"]``) replaces the dialplan for this
    call; ``socket`` (``"host:port async full"``) sends it to an outbound server. ``dtmf``
    entries are keyed in one per prompt (read, play_and_get_digits), ``dtmf_delay``
    seconds after the prompt starts. ``hangup_after`` hangs up from the far end that
    many seconds after the call arrives.
    """

    destination: str
    caller_number: str = "1000"
    caller_name: str = ""
    context: str = "default"
    variables: Mapping[str, str] = field(default_factory=dict)
    dtmf: list[str] = field(default_factory=list)
    dtmf_delay: float = 0.5
    hangup_after: float | None = None
    actions: list[str] | None = None
    socket: str | None = None
    uuid: str | None = None


InfoRecord = tuple[str | None, ...]


@dataclass(frozen=True)
class ChannelInfo:
    """A snapshot of a channel, safe to keep after the channel is gone."""

    uuid: str
    name: str
    direction: str
    state: str
    call_state: str
    answer_state: str
    destination: str
    caller_number: str
    caller_name: str
    hangup_cause: str | None
    variables: dict[str, str]

    @classmethod
    def of(cls, channel: Channel) -> ChannelInfo:
        return cls(
            uuid=channel.uuid,
            name=channel.name,
            direction=channel.direction,
            state=channel.running_state.name,
            call_state=channel.callstate.name,
            answer_state=channel.answer_state,
            destination=channel.caller.destination_number,
            caller_number=channel.caller.caller_id_number,
            caller_name=channel.caller.caller_id_name,
            hangup_cause=channel.hangup_cause,
            variables=dict(channel.variables),
        )

    def record(self) -> InfoRecord:
        """The snapshot as one flat tuple of strings (the variables' names and values at
        the end), something the cycle collector stops tracking; the simulator keeps
        10,000 of them, and a dict in the tuple would keep each one tracked for good."""
        return (
            self.uuid,
            self.name,
            self.direction,
            self.state,
            self.call_state,
            self.answer_state,
            self.destination,
            self.caller_number,
            self.caller_name,
            self.hangup_cause,
            *chain.from_iterable(self.variables.items()),
        )

    @classmethod
    def from_record(cls, record: InfoRecord) -> ChannelInfo:
        text = [str(item) for item in record[:9]]
        cause = record[9]
        flat = [str(item) for item in record[10:]]
        return cls(
            uuid=text[0],
            name=text[1],
            direction=text[2],
            state=text[3],
            call_state=text[4],
            answer_state=text[5],
            destination=text[6],
            caller_number=text[7],
            caller_name=text[8],
            hangup_cause=cause,
            variables=dict(zip(flat[::2], flat[1::2], strict=True)),
        )


class Simulator:
    """A simulated FreeSWITCH with mod_event_socket, a dialplan and a switch core."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str = "ClueCon",
        *,
        acl: Iterable[str] = LOOPBACK,
        speed: float = 1.0,
        clock: SimClock | None = None,
        dialplan: Dialplan | None = None,
        extensions: Iterable[Extension] = (),
        outbound_target: str = DEFAULT_OUTBOUND_TARGET,
        heartbeat_interval: float = 20.0,
        answer_delay: float = 0.5,
        media: MediaConfig | None = None,
        users: Mapping[str, UserAuth] | None = None,
        event_queue_size: int = 100_000,
        max_lost_events: int = 500,
        hostname: str | None = None,
        network: Network = TCP,
        history: int = EVENTS_KEPT,
        orderings: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.host = host
        # Where clients reach the event socket and `socket` connects (tests: in memory).
        self.network = network
        self._requested_port = port
        self.clock = clock or SimClock(speed)
        plan = dialplan or default_dialplan(outbound_target)
        for ext in reversed(list(extensions)):
            plan.prepend(ext)
        identity = SwitchIdentity(hostname=hostname) if hostname else SwitchIdentity()
        self.orderings = orderings_from(orderings, seed)
        self.core = SwitchCore(
            orderings=self.orderings,
            clock=self.clock,
            identity=identity,
            dialplan=plan,
            heartbeat_interval=heartbeat_interval,
            answer_delay=answer_delay,
            media=media,
            history=history,
        )
        self.acl = Acl(acl)
        self.config = ListenerConfig(
            password=password,
            users=dict(users or {}),
            event_queue_size=event_queue_size,
            max_lost_events=max_lost_events,
        )
        self.traffic = Traffic()
        self.core.applications.update(APPLICATIONS)
        self.core.applications["socket"] = functools.partial(
            socket_app, config=self.config, traffic=self.traffic, network=network
        )
        self.load = LoadGenerator(self.core)
        # Final snapshots of finished channels, so waiting on a call that already ended
        # still answers (bounded: the most recent FINISHED_KEPT).
        self._finished: OrderedDict[str, InfoRecord] = OrderedDict()
        self.core.on_channel_gone(self._channel_gone)
        self._listener: Listener[ByteStream] | None = None
        self._tg: TaskGroup | None = None
        self._exit_stack: Any = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        self._listener = await self.network.create_tcp_listener(self.host, self._requested_port)
        self.port = self._listener.extra(anyio.abc.SocketAttribute.local_port)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self.core.attach(self._tg)
        self._tg.start_soon(self._accept_loop, name="esl accept")
        self._tg.start_soon(self.core.heartbeat_loop, name="heartbeat")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        finally:
            if self._listener is not None:
                await self._listener.aclose()

    async def serve_forever(self) -> None:
        """Block until cancelled (``eslflow sim``)."""
        await anyio.sleep_forever()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _accept_loop(self) -> None:
        assert self._listener is not None and self._tg is not None
        await self._listener.serve(self._serve_client, task_group=self._tg)

    async def _serve_client(self, stream: ByteStream) -> None:
        # Each connection is its own exception barrier: one bad client never takes the
        # accept loop or the other connections down.
        try:
            remote = stream.extra(anyio.abc.SocketAttribute.remote_address)
            peer_host = remote[0] if isinstance(remote, tuple) else str(remote)
            peer = f"{remote[0]}:{remote[1]}" if isinstance(remote, tuple) else str(remote)
            record = self.traffic.open("inbound", peer)
            conn = Connection(self.core, stream, self.config, record)
            try:
                await conn.serve(allowed=self.acl.allows(str(peer_host)))
            finally:
                record.closed = True
        except Exception:
            logger.exception("event-socket connection failed")
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    def _channel_gone(self, channel: Channel) -> None:
        self._finished[channel.uuid] = ChannelInfo.of(channel).record()
        while len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)

    def _require_running(self) -> None:
        if self._tg is None:
            raise SimulatorError("the simulator is not running: use `async with Simulator(...)`")

    # -- calls ------------------------------------------------------------------------------------

    async def place_call(self, spec: CallSpec) -> str:
        """A simulated phone calls ``spec.destination``; returns the new channel's UUID."""
        self._require_running()
        if spec.uuid and spec.uuid in self.core.channels:
            raise SimulatorError(f"a channel with UUID {spec.uuid} already exists")
        host = spec.variables.get("sip_from_host", "127.0.0.1")
        session = create_inbound_call(
            self.core,
            destination=spec.destination,
            caller_number=spec.caller_number,
            caller_name=spec.caller_name,
            context=spec.context,
            variables=dict(spec.variables),
            uuid=spec.uuid,
            dtmf=list(spec.dtmf),
            host=host,
        )
        session.dtmf_delay = spec.dtmf_delay
        override: list[Action] | None = None
        if spec.actions is not None:
            override = [parse_action(a) for a in spec.actions]
        if spec.socket is not None:
            override = [*(override or []), ("socket", spec.socket)]
        session.route_override = override
        if spec.hangup_after is not None:
            delay = spec.hangup_after

            async def far_end_hangs_up() -> None:
                await self.clock.sleep(delay)
                session.far_end_hangup("NORMAL_CLEARING")

            self.core.spawn(far_end_hangs_up, name=f"hangup {session.channel.uuid}")
        await anyio.lowlevel.checkpoint()
        return session.channel.uuid

    def _session(self, uuid: str) -> Session:
        channel = self.core.channels.get(uuid)
        if channel is None or channel.session is None:
            raise SimulatorError(f"no channel {uuid}")
        return channel.session

    @property
    def channels(self) -> dict[str, ChannelInfo]:
        """Snapshots of the channels that exist now, by UUID."""
        return {uuid: ChannelInfo.of(ch) for uuid, ch in self.core.channels.items()}

    def channel(self, uuid: str) -> ChannelInfo | None:
        """A live channel's snapshot, or the final one of a channel that has ended."""
        ch = self.core.channels.get(uuid)
        if ch is not None:
            return ChannelInfo.of(ch)
        return self._finished_info(uuid)

    def _finished_info(self, uuid: str) -> ChannelInfo | None:
        record = self._finished.get(uuid)
        return ChannelInfo.from_record(record) if record is not None else None

    async def wait_for_answer(self, uuid: str) -> ChannelInfo:
        """Wait until the channel is answered (or hung up); returns a snapshot."""
        finished = self._finished_info(uuid)
        if finished is not None:
            return finished
        session = self._session(uuid)
        while not session.channel.answered and not session.hungup.is_set():
            await session.progress.wait(None)
        return ChannelInfo.of(session.channel)

    async def wait_for_hangup(self, uuid: str) -> ChannelInfo:
        """Wait until the channel is gone (CHANNEL_DESTROY); returns its final snapshot.

        Bound it with ``anyio.fail_after`` as any other wait.
        """
        finished = self._finished_info(uuid)
        if finished is not None:
            return finished
        session = self._session(uuid)
        await session.destroyed.wait()
        return ChannelInfo.of(session.channel)

    def send_dtmf(self, uuid: str, digits: str) -> None:
        """The far end keys in ``digits`` (DTMF events, buffered for read apps)."""
        self._session(uuid).queue_dtmf(digits)

    def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        """The far end hangs up."""
        self._session(uuid).far_end_hangup(cause)

    async def api(self, command: str) -> str:
        """Run an API command as ``api <command>`` would; returns the response body."""
        name, sep, arg = command.partition(" ")
        result: ApiResult = await execute_api(self.core, name, arg if sep else None)
        output = result.output if result.found else f"-ERR {name} Command not found!\n"
        return output or "-ERR no reply\n"

    @property
    def events(self) -> list[Event]:
        """Recent events the switch fired, oldest first (the last ``history``)."""
        return self.core.recent_events()
