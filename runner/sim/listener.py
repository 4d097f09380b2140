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

from runner.freeswitch import EVENT_NAMES
from runner.sim.api import execute_api, run_background
from runner.sim.core import LOG_LEVELS, SwitchCore, log_level, new_uuid
from runner.sim.event import Event, Format, name_event
from runner.sim.session import Session, Signal
from runner.sim.wire import (
    DISCONNECT_GOODBYE,
    Command,
    CommandReader,
    LogLine,
    WireError,
    c_atoi,
    encode_api_response,
    encode_auth_request,
    encode_disconnect,
    encode_linger_notice,
    encode_log,
    encode_reply,
    encode_reply_headers,
    encode_rude_rejection,
)

if TYPE_CHECKING:
    from runner.sim.traffic import ConnectionRecord

# Event types `myevents` subscribes to (mod_event_socket.c parse_command).
MYEVENTS = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)
ALL_TYPES = frozenset(EVENT_NAMES) - {"ALL"}
LOST_EVENTS_MESSAGE = "killed listener because of lost events\n"
LOST_LOGS_MESSAGE = "killed listener because of lost log lines\n"
# Commands whose argument is itself a command (mod_event_socket.c auth_api_command).
SNEAKY_COMMANDS = ("bgapi", "sched_api", "eval", "expand", "xml_wrap")


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


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "on", "1", "allow", "enable")


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
        self._kick()

    def divert(self, event: Event) -> None:
        """An event the session diverted to this socket (``divert_events on``): no
        subscription or filter applies, but like every event it is written only once
        the connection listens for events (read_packet checks LFLAG_EVENTS)."""
        if self.running and len(self.queue) < self.config.event_queue_size:
            self.queue.append(event)
            self._kick()

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
        self._kick()

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

    def _kick(self) -> None:
        """Wake the main loop: events or logs were queued, or something else changed."""
        self._wake.notify()

    def kill(self, message: str) -> None:
        """kill_listener: send a disconnect notice saying why, then close."""
        if self.kill_message is None:
            self.kill_message = message
            self.running = False
            self.queue.clear()
            self._kick()

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

    def _write(self, data: bytes) -> None:
        """Queue bytes for the peer. `_drain` sends them all in one write: the main loop
        drains before it waits, and a handler before anything that may block."""
        # A killed listener's socket is shut (kill_listener); only the notice goes out.
        if self.kill_message is None:
            self._out.append(data)

    async def _drain(self) -> None:
        out = self._out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            out.clear()
            await self.stream.send(data)

    async def _main(self, allowed: bool) -> None:
        if not allowed:
            self._write(encode_rude_rejection())
            await self._drain()
            self.running = False
            return
        self.core.sinks.append(self)
        if not self.outbound:
            self._write(encode_auth_request())
        else:
            assert self.session is not None
            self.session.watch_down(self._kick)
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
            await self._drain()
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
                self._write(b"".join(chunks))
                await self._drain()
                chunks.clear()
        if chunks:
            self._write(b"".join(chunks))

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
        self._write(encode_linger_notice(ch.uuid, ch.name, self.linger_time))
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
                await self._drain()  # what was written before the end goes out first
                await self.stream.send(
                    encode_disconnect(message, session.channel.uuid if session else None)
                )
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await self.stream.aclose()
        if session is not None:
            if self.resume or _truthy(session.channel.variables.get("socket_resume")):
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
            self._write(encode_reply(out or "-ERR command not found"))
        else:
            self._write(out)

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
                return self._userauth(line[9:])
            return "-ERR command not found"
        if low.startswith("filter "):
            return self._filter(line[7:])
        if self.session is not None and low.startswith("resume"):
            self.resume = True
            self.session.channel.set_var("socket_resume", "true")
            return "+OK"
        if self.session is not None or low.startswith("myevents "):
            if low.startswith("connect"):
                await self._connect()
                return None
            if low.startswith("getvar"):
                _, sep, name = line.partition(" ")
                value = self.session.channel.get_var(name) if (sep and self.session) else None
                return value or ""
            if low.startswith("myevents"):
                return self._myevents(line)
        if low.startswith("divert_events"):
            return self._divert(line[13:])
        if low.startswith("sendmsg"):
            return await self._sendmsg(cmd, line[7:])
        if self.outbound and not self.full:
            return ""
        if low.startswith("sendevent"):
            return self._sendevent(cmd, line)
        if low.startswith("api "):
            await self._api(line[4:])
            return None
        if low.startswith("bgapi "):
            return self._bgapi(cmd, line[6:])
        if low.startswith("log"):
            return self._log(line[3:])
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
            return self._event(line[5:])
        if low.startswith("nixevent"):
            return self._nixevent(line[8:])
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

    # -- individual commands ----------------------------------------------------------------

    def _userauth(self, spec: str) -> str | bytes:
        user, at, domain = spec.partition("@")
        password = ""
        if at and ":" in domain:
            domain, _, password = domain.partition(":")
        if ":" in user:
            user, _, password = user.partition(":")
        account = self.config.users.get(f"{user}@{domain}") if user and domain else None
        if account is None or not password or account.password != password:
            self.running = False
            return "-ERR invalid"
        self.authed = True
        self.allow_log = account.allowed_log
        events_text = account.allowed_events or "all"
        if account.allowed_events is not None:
            self.allowed_types = set()
            custom = False
            delim = " " if " " in account.allowed_events else ","
            for word in account.allowed_events.split(delim):
                if custom:
                    self.allowed_subclasses.add(word)
                    continue
                name = name_event(word)
                if name == "ALL":
                    self.allowed_types = None
                    break
                if name is not None:
                    self.allowed_types.add(name)
                    custom = custom or name == "CUSTOM"
        if account.allowed_api is not None:
            delim = " " if " " in account.allowed_api else ","
            self.allowed_api = {w for w in account.allowed_api.split(delim) if w}
        return encode_reply_headers(
            [
                ("Reply-Text", "+OK accepted"),
                ("Allowed-Events", events_text),
                ("Allowed-API", account.allowed_api or "all"),
                ("Allowed-LOG", "true" if account.allowed_log else "false"),
            ]
        )

    def _api_allowed(self, command: str, arg: str | None) -> bool:
        if self.allowed_api is None:
            return True
        check: str | None = command
        rest = arg
        while check is not None:
            if check not in self.allowed_api:
                return False
            if check.lower() not in SNEAKY_COMMANDS or not rest:
                return True
            check, _, tail = rest.partition(" ")
            rest = tail or None
        return True

    def _filter(self, spec: str) -> str:
        spec = spec.lstrip(" ")
        name, sep, value = spec.partition(" ")
        if name.lower() == "delete" and sep:
            target, sep2, target_value = value.partition(" ")
            if target.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (k, v)
                    for k, v in self.filters
                    if not (k.lower() == target.lower() and (not target_value or v == target_value))
                ]
            return f"+OK filter deleted. [{target}][{target_value if sep2 else ''}]"
        if sep:
            header_value: str | None = value
            if name.lower() == "add":
                name, sep3, rest = value.partition(" ")
                header_value = rest if sep3 else None
            if header_value:
                self.filters.append((name, header_value))
            elif header_value == "":
                self.filters = [(k, v) for k, v in self.filters if k.lower() != name.lower()]
            shown = header_value if header_value is not None else "(null)"
            return f"+OK filter added. [{name}]=[{shown}]"
        return "-ERR invalid syntax"

    def _myevents(self, line: str) -> str:
        if self.myevents:
            return "-ERR aready enabled."
        checked = line
        if self.session is None:
            uuid, sep, _fmt = line[9:].partition(" ")
            checked = line[: 9 + len(uuid)]
            channel = self.core.channels.get(uuid)
            session = channel.session if channel is not None else None
            if session is None or session.destroyed.is_set():
                if sep:
                    return "-ERR invalid uuid"
            else:
                # switch_core_session_locate takes a read lock the listener keeps.
                self.session = session
                session.hold()
                session.watch_down(self._kick)
                self.async_mode = True
        self.event_types |= MYEVENTS
        self.myevents = True
        self.events_enabled = True
        self.core.listening_changed()
        if "xml" in checked or "XML" in checked:
            self.format = Format.XML
        if "json" in checked or "JSON" in checked:
            self.format = Format.JSON
        return "+OK Events Enabled"

    def _divert(self, rest: str) -> str:
        if self.session is None:
            return "-ERR not controlling a session."
        value = rest.lstrip(" ")
        if not value:
            return "-ERR missing value."
        if value.lower() == "on":
            self.session.divert_events = True
            self.session.divert_sink = self
            return "+OK events diverted"
        self.session.divert_events = False
        self.session.divert_sink = None
        return "+OK events not diverted"

    async def _sendmsg(self, cmd: Command, rest: str) -> str:
        uuid: str | None = rest.lstrip(" ") or cmd.header("session-id")
        async_mode = self.async_mode or _truthy(cmd.header("async"))
        own = self.session
        if uuid and own is not None and uuid == own.channel.uuid:
            uuid = None
        if not uuid and own is not None:
            if async_mode:
                return "+OK" if own.queue_private(cmd) else "-ERR memory error"
            await self._drain()  # the application may run for a while
            await own.parse_private(cmd)
            return "+OK"
        channel = self.core.channels.get(uuid) if uuid else None
        target = channel.session if channel is not None else None
        if target is not None and not target.destroyed.is_set():
            return "+OK" if target.queue_private(cmd) else "-ERR memory error"
        return f"-ERR invalid session id [{uuid or ''}]"

    def _sendevent(self, cmd: Command, line: str) -> str:
        core = self.core
        event_uuid = new_uuid()
        word = line[9:].lstrip(" \t")
        resolved = name_event(word) if word else None
        name = resolved if resolved is not None else "CUSTOM"
        subclass = cmd.header("Event-Subclass") if name == "CUSTOM" else None
        event = Event(
            name,
            [("Command", line), *cmd.headers, ("Event-UUID", event_uuid)],
            subclass=subclass,
            body=cmd.body,
        )
        prepped = core.new_event(name, "mod_event_socket.c", "parse_command", 2275)
        event.headers += prepped.headers
        target_uuid = cmd.header("unique-id")
        channel = core.channels.get(target_uuid) if target_uuid else None
        if channel is not None and channel.session is not None:
            channel.session.queue_event(event)
        else:
            core.fire(event)
        return f"+OK {event_uuid}"

    async def _api(self, text: str) -> None:
        command, sep, arg = text.partition(" ")
        if not self._api_allowed(command, arg if sep else None):
            self._write(encode_reply("-ERR permission denied"))
            return
        await self._drain()  # the command may take a while (msleep, originate)
        result = await execute_api(self.core, command, arg if sep else None)
        body = result.output if result.found else f"-ERR {command} Command not found!\n"
        self._write(encode_api_response(body or "-ERR no reply\n"))

    def _bgapi(self, cmd: Command, text: str) -> str | bytes:
        command, sep, arg = text.partition(" ")
        if not self._api_allowed(command, arg if sep else None):
            return "-ERR permission denied"
        job_uuid = (cmd.header("job-uuid") or new_uuid())[:36]
        owner = self.session.channel.uuid if self.session is not None else None
        core = self.core

        async def job() -> None:
            await run_background(core, job_uuid, command, arg if sep else None, owner)

        core.spawn(job, name=f"bgapi {command}")
        return encode_reply_headers(
            [("Reply-Text", f"+OK Job-UUID: {job_uuid}"), ("Job-UUID", job_uuid)]
        )

    def _log(self, rest: str) -> str:
        if not self.allow_log:
            return "-ERR permission denied"
        level_s = rest.lstrip(" ").split(" ", 1)[0]
        level = log_level(level_s) if level_s else LOG_LEVELS["DEBUG"]
        if level is None:
            return "-ERR invalid log level"
        self.log_level = level
        self.log_enabled = True
        return f"+OK log level {level_s} [{level}]"

    def _event(self, rest: str) -> str:
        space = rest.find(" ")
        key_count = 0
        custom = False
        if space >= 0:
            for count, word in enumerate(rest[space + 1 :].split(" ")):
                if count == 0 and word.lower() in ("xml", "plain", "json"):
                    self.format = Format(word.lower())
                    continue
                if custom:
                    if self.allowed_types is not None and word not in self.allowed_subclasses:
                        return "-ERR permission denied"
                    self.subclasses.add(word)
                    continue
                name = name_event(word)
                if name is None:
                    continue
                if self.allowed_types is not None and name not in self.allowed_types:
                    return "-ERR permission denied"
                key_count += 1
                if name == "ALL":
                    self.event_all = True
                    self.event_types |= ALL_TYPES
                    self.subclasses |= (
                        self.core.reserved_subclasses
                        if self.allowed_types is None
                        else self.allowed_subclasses
                    )
                else:
                    self.event_types.add(name)
                if name == "CUSTOM":
                    custom = True
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        self.core.listening_changed()
        return f"+OK event listener enabled {self.format.value}"

    def _nixevent(self, rest: str) -> str:
        space = rest.find(" ")
        key_count = 0
        custom = False
        if space >= 0:
            for word in rest[space + 1 :].split(" "):
                if custom:
                    self.subclasses.discard(word)
                    continue
                name = name_event(word)
                if name is None:
                    continue
                key_count += 1
                if name == "CUSTOM":
                    custom = True
                elif name == "ALL":
                    self.event_all = False
                    self.event_types.clear()
                else:
                    if self.event_all:
                        self.event_all = False
                        self.event_types = set(ALL_TYPES)
                    self.event_types.discard(name)
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        return "+OK events nixed"

    async def _connect(self) -> None:
        """Outbound ``connect``: the channel's data as a command/reply (no Content-Length)."""
        session = self.session
        assert session is not None
        ch = session.channel
        event = self.core.new_event("CHANNEL_DATA", "mod_event_socket.c", "parse_command", 2021)
        unique: dict[str, str] = {}
        for name, value in [
            *ch.caller.headers("Channel"),
            *ch.data_headers("CHANNEL_DATA"),
            ("Content-Type", "command/reply"),
            ("Reply-Text", "+OK\n"),
            ("Socket-Mode", "async" if self.async_mode else "static"),
            ("Control", "full" if self.full else "single-channel"),
        ]:
            # CHANNEL_DATA events keep one header per name (EF_UNIQ_HEADERS): the last wins.
            unique.pop(name, None)
            unique[name] = value
        body = [(k, v) for k, v in event.headers if k not in unique]
        event.headers = body + list(unique.items())
        self.connected.set()
        session.signal.notify()  # the socket application goes on (async: it parks now)
        self._write(event.plain_body())
