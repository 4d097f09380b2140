"""One event-socket connection, served as mod_event_socket serves it.

`Connection` owns a socket and a protocol state (authenticated, subscriptions, filters,
format, myevents, linger, log level). ``handle`` mirrors mod_event_socket.c
``parse_command`` branch by branch, with the same reply texts (typos included).

Ordering (captures h7, h8): replies are written as soon as a command is handled; events
wait in a bounded per-connection queue and are written only when no command bytes are
buffered, all that are queued in one write. A blocking ``api`` therefore holds back
later replies and events. (Replies and events go out in one socket write per pass of
the loop; whatever is pending is written before anything that may block.)

Overflow (mod_event_socket.c MAX_QUEUE_LEN / MAX_MISSED): when the queue is full an
event is dropped; after more than ``max_lost_events`` drops the connection is killed
with a ``text/disconnect-notice`` saying so.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ByteStream

from runner.sim import socket_commands as cmds
from runner.sim.core import SwitchCore
from runner.sim.event import Event, Format
from runner.sim.session import Session
from runner.sim.signals import Signal
from runner.sim.socket_commands import truthy
from runner.sim.wire import (
    DISCONNECT_GOODBYE,
    Command,
    CommandReader,
    LogLine,
    WireError,
    c_atoi,
    encode_auth_request,
    encode_disconnect,
    encode_linger_notice,
    encode_log,
    encode_reply,
    encode_rude_rejection,
)

if TYPE_CHECKING:
    from runner.sim.traffic import ConnectionRecord

LOST_EVENTS_MESSAGE = "killed listener because of lost events\n"
LOST_LOGS_MESSAGE = "killed listener because of lost log lines\n"


@dataclass
class UserAuth:
    """A ``userauth`` account (FreeSWITCH keeps these in the directory as esl-* params)."""

    password: str
    allowed_events: str | None = None  # e.g. "CHANNEL_ANSWER CUSTOM x::y" (None = all)
    allowed_api: str | None = None  # e.g. "status uuid_kill" (None = all)
    allowed_log: bool = True


@dataclass
class ListenerConfig:
    """Settings shared by every connection of one simulator."""

    password: str = "ClueCon"
    users: dict[str, UserAuth] = field(default_factory=dict)
    event_queue_size: int = 100_000
    max_lost_events: int = 500
    first_command_timeout: float = 25.0


# How many received chunks may wait for the main loop before the reader stops reading
# (then TCP pushes back on the client).
INCOMING_LIMIT = 16


def _regex_match(value: str, expression: str) -> bool:
    """switch_regex_perform: ``/expr/flags`` (i, s) or a bare PCRE; errors never match."""
    flags = 0
    if expression.startswith("/"):
        body = expression[1:]
        cut = body.rfind("/")
        if cut < 0:
            return False
        opts = body[cut + 1 :]
        expression = body[:cut]
        if "i" in opts:
            flags |= re.IGNORECASE
        if "s" in opts:
            flags |= re.DOTALL
    try:
        return re.search(expression, value, flags) is not None
    except re.error:
        return False


class Connection:
    """One ESL connection (inbound: a client connected to us; outbound: we connected)."""

    def __init__(
        self,
        core: SwitchCore,
        stream: ByteStream,
        config: ListenerConfig,
        record: ConnectionRecord,
        *,
        session: Session | None = None,
        async_mode: bool = False,
        full: bool = True,
    ) -> None:
        self.core = core
        self.stream = stream
        self.config = config
        self.record = record
        self.reader = CommandReader()
        self.outbound = session is not None
        self.session = session
        self.async_mode = async_mode
        self.full = full
        self.authed = self.outbound
        self.running = True
        self.connected = anyio.Event()  # the outbound client sent `connect`
        self.finished = anyio.Event()
        self.resume = False
        # subscriptions
        self.events_enabled = False
        self.event_all = False
        self.event_types: set[str] = set()
        self.subclasses: set[str] = set()
        self.format = Format.PLAIN
        self.filters: list[tuple[str, str]] = []
        self.myevents = False
        # permissions (userauth)
        self.allow_log = True
        self.allowed_types: set[str] | None = None
        self.allowed_subclasses: set[str] = set()
        self.allowed_api: set[str] | None = None
        # logging
        self.log_enabled = False
        self.log_level = 7
        # linger
        self.linger = False
        self.linger_time = -1
        self.handle_disco = False
        self.linger_deadline: float | None = None
        # queues
        self.queue: deque[Event] = deque()
        self.log_queue: deque[LogLine] = deque()
        self.lost_events = 0
        self.lost_logs = 0
        self.kill_message: str | None = None
        # The reader task hands received bytes (None: the peer closed) to the main loop
        # here; `_wake` is set whenever the main loop has something to look at.
        self._incoming: deque[bytes | None] = deque()
        self.peer_closed = False
        self._wake = Signal()
        self._room = Signal()
        # Bytes written but not yet sent (see _write).
        self._out: list[bytes] = []

    # -- EventSink: called synchronously by the switch core ----------------------------------

    def offer(self, event: Event) -> None:
        """mod_event_socket.c event_handler: subscription, filters, myevents, queue."""
        if not self.events_enabled or not self.running or self.kill_message is not None:
            return
        if not self._wants(event):
            return
        if len(self.queue) >= self.config.event_queue_size:
            self.lost_events += 1
            if self.lost_events > self.config.max_lost_events:
                self.core.log(
                    2,
                    "mod_event_socket.c",
                    "event_handler",
                    405,
                    f"Killing listener because of too many lost events. Lost [{self.lost_events}]",
                )
                self.kill(LOST_EVENTS_MESSAGE)
            return
        if self.lost_events:
            lost, self.lost_events = self.lost_events, 0
            self.core.log(2, "mod_event_socket.c", "event_handler", 389, f"Lost [{lost}] events!")
        self.queue.append(event)
        self.kick()

    def divert(self, event: Event) -> None:
        """An event the session diverted to this socket (``divert_events on``): no
        subscription or filter applies, but like every event it is written only once
        the connection listens for events (read_packet checks LFLAG_EVENTS)."""
        if self.running and len(self.queue) < self.config.event_queue_size:
            self.queue.append(event)
            self.kick()

    def offer_many(self, events: list[Event]) -> None:
        for event in events:
            self.offer(event)

    def offer_log(self, line: LogLine) -> None:
        if not (self.log_enabled and self.running and self.log_level >= line.level):
            return
        if len(self.log_queue) >= self.config.event_queue_size:
            self.lost_logs += 1
            if self.lost_logs > self.config.max_lost_events:
                self.kill(LOST_LOGS_MESSAGE)
            return
        self.lost_logs = 0
        self.log_queue.append(line)
        self.kick()

    def hears(self, name: str) -> bool:
        """EventSink.hears: subscribed to `name` (filters aside, which only narrow)."""
        return self.events_enabled and self.running and (self.event_all or name in self.event_types)

    def _wants(self, event: Event) -> bool:
        if self.event_all:
            send = True
        elif event.name in self.event_types:
            send = event.name != "CUSTOM" or not event.subclass or event.subclass in self.subclasses
        else:
            return False
        if self.filters:
            send = False
            for name, value in self.filters:
                hval = event.get(name)
                if hval is None:
                    continue
                comp = value
                positive = True
                while comp and comp[0] in "+- ":
                    if comp[0] == "+":
                        positive = True
                    elif comp[0] == "-":
                        positive = False
                    comp = comp[1:]
                if send and positive:
                    continue
                if value.startswith("/"):
                    matched = _regex_match(hval, comp)
                else:
                    matched = hval.lower() == comp.lower()
                if matched:
                    if positive:
                        send = True
                    else:
                        send = False
                        break
        if send and self.myevents:
            uuid = event.get("unique-id")
            session = self.session
            if uuid is None or (session is not None and uuid != session.channel.uuid):
                send = False
            if session is not None and session.channel.uuid == (event.get("Job-Owner-UUID") or ""):
                send = True
        return send

    def kick(self) -> None:
        """Wake the main loop: events or logs were queued, or something else changed."""
        self._wake.notify()

    def kill(self, message: str) -> None:
        """kill_listener: send a disconnect notice saying why, then close."""
        if self.kill_message is None:
            self.kill_message = message
            self.running = False
            self.queue.clear()
            self.kick()

    # -- serving ----------------------------------------------------------------------------

    async def serve(self, allowed: bool = True) -> None:
        """Run the connection until it ends; never raises for anything the peer does."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._read_loop)
                try:
                    await self._main(allowed)
                finally:
                    tg.cancel_scope.cancel()
        # except*: the task group wraps what its tasks raise in an exception group.
        except* (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError):
            pass  # the peer went away, even in the middle of a write
        except* WireError as group:
            for exc in group.exceptions:
                self.core.log(
                    3, "mod_event_socket.c", "read_packet", 0, f"closing connection: {exc}"
                )
        finally:
            with anyio.CancelScope(shield=True):
                await self._done()

    async def _read_loop(self) -> None:
        incoming = self._incoming
        while True:
            try:
                data: bytes | None = await self.stream.receive()
            except (
                anyio.EndOfStream,
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
                OSError,
            ):
                data = None
            incoming.append(data)
            self._wake.notify()
            if data is None:
                return
            while len(incoming) >= INCOMING_LIMIT:
                await self._room.wait(None)

    async def _wait(self, timeout: float = math.inf) -> None:
        """Wait until woken (or ``timeout`` real seconds), then feed what was received
        to the reader (``peer_closed`` once the peer has closed its side)."""
        await self._wake.wait(None if timeout == math.inf else timeout)
        incoming = self._incoming
        if incoming:
            while incoming:
                data = incoming.popleft()
                if data is None:
                    self.peer_closed = True
                    break
                self.reader.feed(data)
            self._room.notify()

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer. `_drain` sends them all in one write: the main loop
        drains before it waits, and a handler before anything that may block."""
        # A killed listener's socket is shut (kill_listener); only the notice goes out.
        if self.kill_message is None:
            self._out.append(data)

    async def drain(self) -> None:
        out = self._out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            out.clear()
            await self.stream.send(data)

    async def _main(self, allowed: bool) -> None:
        if not allowed:
            self.write(encode_rude_rejection())
            await self.drain()
            self.running = False
            return
        self.core.sinks.append(self)
        if not self.outbound:
            self.write(encode_auth_request())
        else:
            assert self.session is not None
            self.session.watch_down(self.kick)
            first = await self._first_command()
            if first is None:
                self.running = False
                return
            await self.handle(first, reply=False)
        while True:
            if not await self._handle_buffered():
                return
            if self.reader.idle:
                # read_packet writes queued logs and events only with an empty buffer.
                await self._flush()
                if not await self._check_session_down():
                    return
            await self.drain()
            if self.peer_closed:
                return
            await self._wait(self._idle_timeout())

    async def _handle_buffered(self) -> bool:
        """Handle every complete command already received; False once the connection ends."""
        while self.running:
            command = self.reader.next()
            if command is None:
                return True
            self.record.add(command)
            await self.handle(command)
        return False

    async def _first_command(self) -> Command | None:
        """Outbound: read_packet(25 s) for the first command; its reply is never sent."""
        with anyio.move_on_after(self.core.clock.real(self.config.first_command_timeout)):
            while not self.peer_closed:
                await self._wait()
                command = self.reader.next()
                if command is not None:
                    self.record.add(command)
                    return command
        return None

    def _idle_timeout(self) -> float:
        if self.linger_deadline is not None:
            return self.core.clock.real(self.linger_deadline - self.core.clock.now())
        if self.session is not None and not self.handle_disco and self.session.channel.down():
            return 0.0
        return math.inf

    async def _flush(self) -> None:
        chunks: list[bytes] = []
        while self.log_queue:
            chunks.append(encode_log(self.log_queue.popleft()))
        fmt = self.format
        while self.queue and self.events_enabled:
            chunks.append(self.queue.popleft().render(fmt))
            if len(chunks) >= 512:
                self.write(b"".join(chunks))
                await self.drain()
                chunks.clear()
        if chunks:
            self.write(b"".join(chunks))

    async def _check_session_down(self) -> bool:
        """The hangup handling at the end of read_packet's loop; False = close now."""
        clock = self.core.clock
        deadline = self.linger_deadline
        if self.handle_disco and deadline is not None and int(clock.now()) > deadline:
            return False
        session = self.session
        if session is None or self.handle_disco or not session.channel.down():
            return True
        self.handle_disco = True
        if not self.linger:
            return False
        ch = session.channel
        self.write(encode_linger_notice(ch.uuid, ch.name, self.linger_time))
        if self.linger_time != -1:
            # FreeSWITCH compares whole seconds: it closes once now > hangup second + N.
            self.linger_deadline = float(int(clock.now()) + self.linger_time)
        return True

    async def _done(self) -> None:
        if self in self.core.sinks:
            self.core.sinks.remove(self)
        self.running = False
        self.queue.clear()
        self.log_queue.clear()
        session = self.session
        message = self.kill_message or DISCONNECT_GOODBYE
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            with anyio.move_on_after(1.0):
                await self.drain()  # what was written before the end goes out first
                await self.stream.send(
                    encode_disconnect(message, session.channel.uuid if session else None)
                )
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await self.stream.aclose()
        if session is not None:
            if self.resume or truthy(session.channel.variables.get("socket_resume")):
                session.socket_resume = True
            session.release()
            session.release_control()
            session.signal.notify()
        self.finished.set()

    # -- commands (mod_event_socket.c parse_command) ----------------------------------------

    async def handle(self, command: Command, *, reply: bool = True) -> None:
        out = await self._dispatch(command)
        if out is None or not reply:
            return
        if isinstance(out, str):
            self.write(encode_reply(out or "-ERR command not found"))
        else:
            self.write(out)

    async def _dispatch(self, cmd: Command) -> str | bytes | None:
        line = cmd.line
        low = line.lower()
        if low.startswith("exit") or line.startswith("..."):
            self.running = False
            return "+OK bye"
        if not self.authed:
            if low.startswith("auth "):
                if line[5:] == self.config.password:
                    self.authed = True
                    return "+OK accepted"
                self.running = False
                return "-ERR invalid"
            if low.startswith("userauth "):
                return cmds.userauth(self, line[9:])
            return "-ERR command not found"
        if low.startswith("filter "):
            return cmds.filter(self, line[7:])
        if self.session is not None and low.startswith("resume"):
            self.resume = True
            self.session.channel.set_var("socket_resume", "true")
            return "+OK"
        if self.session is not None or low.startswith("myevents "):
            if low.startswith("connect"):
                await cmds.connect(
                    self,
                )
                return None
            if low.startswith("getvar"):
                _, sep, name = line.partition(" ")
                value = self.session.channel.get_var(name) if (sep and self.session) else None
                return value or ""
            if low.startswith("myevents"):
                return cmds.myevents(self, line)
        if low.startswith("divert_events"):
            return cmds.divert(self, line[13:])
        if low.startswith("sendmsg"):
            return await cmds.sendmsg(self, cmd, line[7:])
        if self.outbound and not self.full:
            return ""
        if low.startswith("sendevent"):
            return cmds.sendevent(self, cmd, line)
        if low.startswith("api "):
            await cmds.api(self, line[4:])
            return None
        if low.startswith("bgapi "):
            return cmds.bgapi(self, cmd, line[6:])
        if low.startswith("log"):
            return cmds.log(self, line[3:])
        if low.startswith("linger"):
            if self.session is None:
                return "-ERR not controlling a session"
            rest = line[6:]
            self.linger_time = c_atoi(rest[1:]) if rest[:1] == " " and rest[1:] else -1
            self.linger = True
            if self.linger_time != -1:
                return f"+OK will linger {self.linger_time} seconds"
            return "+OK will linger"
        if low.startswith("nolinger"):
            if self.session is None:
                return "-ERR not controlling a session"
            self.linger = False
            return "+OK will not linger"
        if low.startswith("nolog"):
            self.log_queue.clear()
            if self.log_enabled:
                self.log_enabled = False
                return "+OK no longer logging"
            return "-ERR not loging"
        if low.startswith("event"):
            return cmds.event(self, line[5:])
        if low.startswith("nixevent"):
            return cmds.nixevent(self, line[8:])
        if low.startswith("noevents"):
            self.queue.clear()
            if self.events_enabled:
                self.events_enabled = False
                self.event_all = False
                self.event_types.clear()
                self.subclasses.clear()
                return "+OK no longer listening for events"
            return "-ERR not listening for events"
        return ""
