"""Outbound mode: FreeSWITCH's `socket` application connects to us, once per call.

    async def handle(call: OutboundConnection) -> None:
        await call.myevents()
        await call.execute("answer", wait=True)
        await call.execute("playback", "ivr/ivr-welcome.wav", wait=True)
        await call.hangup()

    server = OutboundServer(handle, host="127.0.0.1", port=8084)
    async with anyio.create_task_group() as tg:
        port = await tg.start(server.serve)

FreeSWITCH sends nothing until we send `connect`; the reply carries the channel data
(capture g1_outbound_async.O). Each call runs in its own exception barrier: a handler
that raises is logged with its call's uuid and never disturbs the other calls.

Nothing a peer does holds resources without bound: a socket that does not answer
`connect` is closed after `connect_timeout`; at most `max_connections` sockets are open
at once (the excess is closed at once, counted, and logged once per burst); a call
still running after `max_call_duration` is hung up and closed.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from runner.esl import commands
from runner.esl.connection import UNSET, Connection, EventFormat, Reply, Timeout
from runner.esl.errors import EslError, EslProtocolError
from runner.esl.event import Event
from runner.esl.messages import CommandReply
from runner.network import TCP, Network

log = logging.getLogger("runner.esl")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
# mod_event_socket's answer to an empty reply, e.g. `getvar` of an unset variable.
NOT_FOUND = "-ERR command not found"
# mod_event_socket's reply buffer is 512 bytes: a getvar value is cut at 511.
GETVAR_MAX = 511
_RESUME = commands.resume()
# `sendmsg` without a uuid acts on this call; commands.hangup() starts like this.
_OWN_HANGUP = b"sendmsg\ncall-command: hangup\n"
_TRUE_WORDS = frozenset({"yes", "on", "true", "t", "enabled", "active", "allow"})


def switch_true(value: str) -> bool:
    """FreeSWITCH's notion of a true value (switch_utils.h switch_true)."""
    value = value.strip().lower()
    if value in _TRUE_WORDS:
        return True
    try:
        return int(value) != 0
    except ValueError:
        return False


class OutboundConnection(Connection):
    """One call's socket: `sendmsg` without a uuid acts on this channel.

    `channel_data` is the Event FreeSWITCH answered `connect` with (~200 headers:
    Unique-ID, Caller-*, variable_*, and `Socket-Mode: async|static`, `Control: full`).
    """

    channel_data: Event
    peer: str = ""  # the switch's address, as the listener saw it
    _resumed = False
    _hung_up = False

    @property
    def uuid(self) -> str:
        return self.channel_data.get("Unique-ID", "")

    def _own_channel(self) -> str | None:
        data = getattr(self, "channel_data", None)  # unset before `connect`
        return data.get("Unique-ID") if data is not None else None

    @property
    def async_mode(self) -> bool:
        """True for `socket ... async`; a sync socket reports `Socket-Mode: static`,
        and then each sendmsg is answered only when its application finished."""
        return self.channel_data.get("Socket-Mode") == "async"

    async def connect(self, *, timeout: float = 5.0) -> Event:
        """Send `connect` and keep the channel data FreeSWITCH answers with."""
        reply = await self.send(commands.connect(), timeout=timeout)
        if not isinstance(reply, CommandReply) or not reply.ok:
            raise EslProtocolError(f"{self.name}: unexpected answer to connect: {reply!r}")
        self.channel_data = reply.channel_data()
        return self.channel_data

    async def myevents(
        self, uuid: str | None = None, format: EventFormat | None = None
    ) -> CommandReply:
        """`myevents`: every event of this channel from now on (ends with the call)."""
        return await super().myevents(uuid, format)

    async def linger(self, seconds: int | None = None) -> CommandReply:
        """`linger [seconds]`: keep the socket after hangup to read the last events.

        Bare `linger` is `Linger-Time: -1`: FreeSWITCH then never closes (capture g1).
        """
        return await self.command(commands.linger(seconds))

    async def nolinger(self) -> CommandReply:
        return await self.command(commands.nolinger())

    async def resume(self) -> CommandReply:
        """`resume`: when this socket closes, the dialplan goes on instead of hanging up."""
        return await self.command(commands.resume())

    async def send(self, data: bytes, *, timeout: Timeout = UNSET, what: str = "") -> Reply:
        """As `Connection.send`; notes an accepted `resume` or hangup of this call, which
        decide how the socket says goodbye (`_goodbye`), whichever API sent them."""
        if data.startswith(_OWN_HANGUP):
            # Sent is enough: a second hangup at goodbye would not help a call whose
            # switch did not answer the first (a silent call cut at its maximum duration).
            self._hung_up = True
        reply = await super().send(data, timeout=timeout, what=what)
        if type(reply) is CommandReply and reply.ok and data == _RESUME:
            self._resumed = True
        return reply

    @property
    def resumed(self) -> bool:
        """True when the dialplan goes on after this socket (`resume`, or `socket_resume`)."""
        if self._resumed:
            return True
        data = getattr(self, "channel_data", None)  # unset before `connect`
        return data is not None and switch_true(data.get("variable_socket_resume", ""))

    def _goodbye(self) -> list[bytes]:
        """Hang the call up before `exit`, unless the dialplan is to resume.

        Without it, an async socket closed right after `connect` can leave the channel
        parked until the caller gives up: the listener thread clears CF_CONTROLLED when
        it ends, and when that happens before the socket application enters its park,
        the park sets the flag again and nothing clears it (mod_event_socket.c
        socket_function, switch_ivr.c switch_ivr_park; seen 11 of 16 times on 1.10.12).
        The hangup is queued to the session, so it is carried out in either order.
        """
        if self.resumed or self._hung_up:
            return [commands.exit()]
        return [commands.hangup("NORMAL_CLEARING"), commands.exit()]

    async def getvar(self, name: str) -> str | None:
        """`getvar <name>`: a channel variable's value, None when it is unset or empty.

        FreeSWITCH answers with the bare value as Reply-Text, and with
        `-ERR command not found` when it is unset or empty (mod_event_socket.c turns an
        empty reply into that). The reply buffer holds 511 bytes: a value that fills it
        may have been cut, so under full control it is read again with
        `api uuid_getvar`, which has no limit. A value with a line break comes back
        cut at the break (the rest is not a header line and is skipped).
        """
        reply = await self.send(commands.getvar(name))
        if not isinstance(reply, CommandReply):
            raise EslProtocolError(f"{self.name}: 'getvar {name}' was answered by {reply!r}")
        if reply.reply_text == NOT_FOUND:
            return None
        value = reply.reply_text
        if len(value.encode()) >= GETVAR_MAX and self.channel_data.get("Control") == "full":
            whole = await self.api(f"uuid_getvar {self.uuid} {name}")
            if not whole.startswith("-ERR"):
                return whole
        return value


Handler = Callable[[OutboundConnection], Awaitable[None]]
OutcomeObserver = Callable[[str], None]
"""Told why a connection ended early: "refused" (allow-list), "over_cap",
"connect_failed" (no or a bad answer to `connect`), "expired" (max call duration)."""

# A call cut at `max_call_duration` gets this cause (FreeSWITCH's own for a call that
# went on too long, switch_types.h SWITCH_CAUSE_ALLOTTED_TIMEOUT).
EXPIRED_CAUSE = "ALLOTTED_TIMEOUT"


def parse_networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """Parse an allow-list; a bad entry raises ValueError naming it."""
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid network in allow-list: {cidr!r} ({exc})") from None
    return networks


def is_allowed(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


class OutboundServer:
    """A TCP listener for FreeSWITCH's `socket` application (default 127.0.0.1:8084)."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 8084,
        allow: Iterable[str] = DEFAULT_ALLOW,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 60.0,
        max_connections: int | None = None,
        max_call_duration: float | None = None,
        on_outcome: OutcomeObserver | None = None,
        network: Network = TCP,
    ) -> None:
        self.handler = handler
        self.network = network
        self.host = host
        self.port = port
        self.allow = parse_networks(allow)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.max_connections = max_connections
        self.max_call_duration = max_call_duration
        self.on_outcome = on_outcome
        self.active = 0
        self.served = 0
        self.refused = 0
        self.over_cap = 0
        self.expired = 0
        # Refusals since the cap was reached: logged when the burst starts and ends.
        self._burst: int | None = None
        self._accepting = anyio.CancelScope()

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen and serve until cancelled; reports the bound port to `tg.start`.

        After `stop_accepting()` the listener closes and `serve` returns once the calls
        in progress have ended (a drain).
        """
        listener = await self.network.create_tcp_listener(self.host, self.port)
        async with anyio.create_task_group() as calls:
            async with listener:
                port = listener.extra(SocketAttribute.local_port)
                log.info("outbound socket server listening on %s:%d", self.host, port)
                task_status.started(port)
                with self._accepting:
                    await listener.serve(self._serve_one, task_group=calls)
            log.info("outbound socket server no longer accepts calls")

    def stop_accepting(self) -> None:
        """Close the listener; calls in progress go on."""
        self._accepting.cancel()

    async def _serve_one(self, stream: anyio.abc.ByteStream) -> None:
        # The exception barrier of one call: nothing escapes to the listener.
        try:
            peer = stream.extra(SocketAttribute.remote_address)
            address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        except Exception:  # pragma: no cover - a socket without an address
            address = "?"
        if not is_allowed(address, self.allow):
            self.refused += 1
            self._outcome("refused")
            log.warning("outbound connection from %s refused: not in the allow-list", address)
            await stream.aclose()
            return
        if self.max_connections is not None and self.active >= self.max_connections:
            await self._refuse_over_cap(stream)
            return
        self.active += 1
        try:
            await self._run_call(stream, address)
        except Exception:
            log.exception("outbound connection from %s failed", address)
        finally:
            self.active -= 1
            self.served += 1
            self._end_burst()

    async def _refuse_over_cap(self, stream: anyio.abc.ByteStream) -> None:
        """Close at once: no `connect`, so FreeSWITCH's socket application fails and the
        dialplan goes on (or hangs up) without us."""
        self.over_cap += 1
        self._outcome("over_cap")
        if self._burst is None:
            self._burst = 0
            log.warning(
                "outbound: %d connections open, the maximum; refusing new ones",
                self.active,
            )
        self._burst += 1
        await stream.aclose()

    def _end_burst(self) -> None:
        if self._burst is not None and (
            self.max_connections is None or self.active < self.max_connections
        ):
            log.warning(
                "outbound: below the maximum of %d connections again; %d refused meanwhile",
                self.max_connections or 0,
                self._burst,
            )
            self._burst = None

    def _outcome(self, what: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(what)

    async def _run_call(self, stream: anyio.abc.ByteStream, address: str) -> None:
        conn = OutboundConnection(
            stream, name=f"outbound {address}", command_timeout=self.command_timeout
        )
        conn.peer = address
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn.run)
            try:
                try:
                    await conn.connect(timeout=self.connect_timeout)
                except EslError as exc:
                    self._outcome("connect_failed")
                    log.error("outbound connection from %s: connect failed: %s", address, exc)
                    # No goodbye for a peer that never spoke: it would only hold the
                    # socket another CLOSE_TIMEOUT.
                    await stream.aclose()
                    return
                conn.name = f"outbound {conn.uuid}"
                limit = self.max_call_duration
                with anyio.move_on_after(math.inf if limit is None else limit) as lifetime:
                    try:
                        await self.handler(conn)
                    except EslError as exc:
                        log.error("call %s: %s", conn.uuid, exc)
                    except Exception:
                        log.exception("call %s: the handler failed", conn.uuid)
                if lifetime.cancelled_caught:
                    await self._expire(conn)
            finally:
                await conn.aclose()
                tg.cancel_scope.cancel()

    async def _expire(self, conn: OutboundConnection) -> None:
        """The call outlived `max_call_duration`: hang it up (best effort), then close."""
        self.expired += 1
        self._outcome("expired")
        log.warning(
            "call %s: still connected after the maximum call duration (%g s); hanging up with %s",
            conn.uuid,
            self.max_call_duration,
            EXPIRED_CAUSE,
        )
        with anyio.move_on_after(2.0, shield=True):
            try:
                await conn.hangup(EXPIRED_CAUSE)
            except EslError as exc:
                log.info("call %s: the hangup at expiry failed: %s", conn.uuid, exc)
