"""`Connection`: one Event Socket connection over an anyio byte stream.

A single reader task feeds the sans-I/O `Parser` and dispatches what it yields:

- replies (`command/reply`, `api/response`) go to the oldest waiting command — FreeSWITCH
  answers commands strictly in the order they were sent (capture h5_crlf_pipelining);
- BACKGROUND_JOB events complete the `bgapi` call that chose their Job-UUID, and
  CHANNEL_EXECUTE_COMPLETE events complete the `execute` that chose their
  Application-UUID; then every event goes to each subscriber's bounded `EventBuffer`.

The reader never waits on a consumer: buffers take events without blocking and apply
their overflow policy. Commands are queued, in order, for a single writer task, so a
caller that is cancelled can never leave half a command on the wire. A caller may give
up (timeout, cancellation) without desynchronizing the stream: its slot stays in line
and its late reply is discarded. Deadlines are kept by one keeper task per connection,
not by a cancel scope per call, which keeps an `api` round trip cheap.
"""

from __future__ import annotations

import logging
import math
import uuid as uuidlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final, Literal

import anyio
import anyio.abc

from runner.esl import commands
from runner.esl._groups import unwrap_single
from runner.esl.buffer import EventBuffer, OverflowPolicy
from runner.esl.codec import Parser
from runner.esl.errors import (
    EslChannelGone,
    EslCommandError,
    EslConnectionClosed,
    EslError,
    EslProtocolError,
    EslTimeoutError,
)
from runner.esl.event import Event
from runner.esl.messages import (
    ApiResponse,
    AuthRequest,
    CommandReply,
    DisconnectNotice,
    LogData,
    RudeRejection,
)
from runner.esl.subscriptions import Subscriptions
from runner.esl.waiters import BackgroundJob, ExecuteWaiter, Waiter, wait_event

log = logging.getLogger("runner.esl")

EventFormat = Literal["plain", "json", "xml"]
Reply = CommandReply | ApiResponse


class _Unset:
    pass


UNSET: Final = _Unset()
Timeout = float | None | _Unset

READ_SIZE = 256 * 1024
# The goodbye (`exit`) on close is bounded by this.
CLOSE_TIMEOUT = 2.0


class Connection(Subscriptions):
    """An Event Socket connection: commands in, replies and events out.

    Use it through `InboundConnection.connect(...)`, `OutboundServer` or `open_connection`,
    which run the reader task; every method is safe to call from many tasks at once.
    """

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        *,
        name: str = "esl",
        command_timeout: float | None = 60.0,
        subscribers: list[EventBuffer] | None = None,
        owns_subscribers: bool = True,
    ) -> None:
        self.name = name
        self.command_timeout = command_timeout
        self._stream = stream
        self._parser = Parser()
        self._replies: deque[Waiter] = deque()
        self._jobs: dict[str, Waiter] = {}
        self._apps: dict[str, ExecuteWaiter] = {}
        self._outgoing: list[bytes] = []
        self._writer_wake: anyio.Event | None = None
        self._keeper_wake: anyio.Event | None = None
        self._subscribers: list[EventBuffer] = subscribers if subscribers is not None else []
        # False when the buffers outlive this connection (a reconnecting client's).
        self._owns_subscribers = owns_subscribers
        self._log_buffer: deque[LogData] = deque(maxlen=1000)
        self._greeting = anyio.Event()
        self._closed = anyio.Event()
        self._closing = False
        self.greeting: AuthRequest | None = None
        self.rejection: RudeRejection | None = None
        self.disconnect_notice: DisconnectNotice | None = None
        self.linger_notice: DisconnectNotice | None = None
        self.close_reason: BaseException | None = None
        self.events_format: EventFormat = "plain"
        # What this connection asked for, so bgapi can tell whether its BACKGROUND_JOB
        # will be delivered (subscriptions and filters are per connection).
        self._subscribed: set[str] = set()
        self._filters: set[tuple[str, str]] = set()

    # -- state ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- the tasks -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until it ends: reader, writer and deadline keeper.

        Never raises for connection trouble: it ends up in `close_reason`, and pending
        calls fail with it.
        """
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write_loop)
                tg.start_soon(self._keep_deadlines)
                await self._read_loop()
                tg.cancel_scope.cancel()
        finally:
            if not self._closed.is_set():  # cancelled from outside
                self._finish(EslConnectionClosed(f"{self.name}: connection closed"))
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    async def _read_loop(self) -> None:
        receive = self._stream.receive
        feed = self._parser.feed
        try:
            while True:
                try:
                    data = await receive(READ_SIZE)
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    self._parser.close()
                    break
                except OSError as exc:
                    raise EslConnectionClosed(f"{self.name}: {exc}") from None
                for message in feed(data):
                    if type(message) is Event:
                        self._on_event(message)
                    else:
                        self._on_message(message)
        except EslError as exc:
            if isinstance(exc, EslProtocolError):
                log.error("%s: protocol error, closing the connection: %s", self.name, exc)
            self._finish(exc)
        else:
            self._finish(None)

    async def _write_loop(self) -> None:
        outgoing = self._outgoing
        send = self._stream.send
        try:
            while True:
                if not outgoing:
                    wake = self._writer_wake = anyio.Event()
                    await wake.wait()
                    continue
                data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
                outgoing.clear()
                await send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self._finish(EslConnectionClosed(f"{self.name}: write failed ({exc or 'closed'})"))
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    async def _keep_deadlines(self) -> None:
        """Fail waiters whose deadline passed, settle looped apps. Sleeps until the
        nearest deadline or a new waiter: a connection whose peer went silent costs
        nothing until then (a 50 ms tick per connection made 1,000 silent outbound
        sockets eat the event loop)."""
        while True:
            now = anyio.current_time()
            nearest = math.inf
            for waiter in self._replies:
                if waiter.done.is_set():
                    continue
                if waiter.deadline <= now:
                    waiter.abandoned = True  # stays in line: its late reply is dropped
                    waiter.fail(self._timeout_error(waiter, "no reply to"))
                else:
                    nearest = min(nearest, waiter.deadline)
            for table in (self._jobs, self._apps):
                for key, waiter in list(table.items()):
                    if waiter.deadline <= now:
                        del table[key]
                        waiter.fail(self._timeout_error(waiter, "no completion of"))
                    else:
                        nearest = min(nearest, waiter.deadline)
            for key, app in list(self._apps.items()):
                if app.settle(now):  # a looped app that did not start another run
                    del self._apps[key]
                else:
                    nearest = min(nearest, app.settle_at)
            wake = self._keeper_wake = anyio.Event()
            with anyio.move_on_after(nearest - now):
                await wake.wait()

    def _timeout_error(self, waiter: Waiter, what: str) -> EslTimeoutError:
        return EslTimeoutError(f"{self.name}: {what} {waiter.what!r} within {waiter.timeout:g} s")

    def _on_event(self, event: Event) -> None:
        name = event.get("Event-Name")
        if name == "BACKGROUND_JOB":
            job = event.get("Job-UUID")
            waiter = self._jobs.pop(job, None) if job is not None else None
            if waiter is not None:
                waiter.resolve(event)
        elif self._apps and name in ("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_EXECUTE"):
            app_uuid = event.get("Application-UUID")
            app = self._apps.get(app_uuid) if app_uuid is not None else None
            if app is not None and app_uuid is not None:
                if name == "CHANNEL_EXECUTE":
                    app.on_execute(event)
                elif app.on_complete(event):
                    del self._apps[app_uuid]
                    app.resolve(event)
                else:
                    self._wake_keeper()  # it settles after LOOP_SETTLE unless a run starts
        elif self._apps and name == "CHANNEL_HANGUP_COMPLETE":
            self._on_channel_gone(event)
        for subscriber in self._subscribers:
            subscriber.put(event)

    def _on_channel_gone(self, event: Event) -> None:
        """Every app of a channel has ended by its CHANNEL_HANGUP_COMPLETE: end the waits.

        An unknown application gets `+OK`, then the channel is hung up with no
        CHANNEL_EXECUTE_COMPLETE at all (DESTINATION_OUT_OF_ORDER); so does an app
        still queued when the caller hangs up. Without this they wait for their timeout.
        """
        uuid = event.get("Unique-ID")
        cause = event.get("Hangup-Cause", "unknown cause")
        for key, app in list(self._apps.items()):
            if app.channel is None or app.channel != uuid:
                continue
            del self._apps[key]
            if app.last is not None:  # a looped app whose last run had completed
                app.resolve(app.last)
            else:
                app.fail(
                    EslChannelGone(
                        f"{self.name}: {app.what} did not run to completion: "
                        f"channel {uuid} hung up ({cause})"
                    )
                )

    def _own_channel(self) -> str | None:
        """The channel a `sendmsg` without uuid acts on (an outbound socket's call)."""
        return None

    def _on_message(self, message: object) -> None:
        if isinstance(message, CommandReply | ApiResponse):
            if not self._replies:
                log.warning("%s: a reply nobody asked for: %r", self.name, message)
                return
            waiter = self._replies.popleft()
            if not waiter.abandoned:  # else the caller gave up: its reply ends here
                waiter.resolve(message)
        elif isinstance(message, AuthRequest):
            self.greeting = message
            self._greeting.set()
        elif isinstance(message, DisconnectNotice):
            if message.disposition == "linger":
                self.linger_notice = message
            else:
                self.disconnect_notice = message
                self._closing = True
        elif isinstance(message, LogData):
            self._log_buffer.append(message)
        elif isinstance(message, RudeRejection):
            self.rejection = message
            self._greeting.set()
        else:
            log.debug("%s: ignoring %r", self.name, message)

    def _finish(self, error: BaseException | None) -> None:
        if self._closed.is_set():
            return
        if error is None and not self._closing:
            error = EslConnectionClosed(f"{self.name}: the peer closed the connection")
        self.close_reason = error
        failure = error if error is not None else EslConnectionClosed(f"{self.name}: closed")
        for waiter in self._replies:
            waiter.fail(failure)
        self._replies.clear()
        for waiters in (self._jobs, self._apps):
            for waiter in waiters.values():
                waiter.fail(failure)
            waiters.clear()
        self._greeting.set()
        self._closed.set()
        if self._owns_subscribers:
            for subscriber in self._subscribers:
                subscriber.close(None if self._closing else error)

    # -- commands ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed.is_set() or self._closing:
            reason = self.close_reason
            raise EslConnectionClosed(
                f"{self.name}: connection is closed" + (f" ({reason})" if reason else "")
            )

    def _timeout(self, timeout: Timeout) -> float:
        value = self.command_timeout if isinstance(timeout, _Unset) else timeout
        return math.inf if value is None else value

    def _enqueue(self, data: bytes, waiter: Waiter) -> None:
        """Queue a command and its reply slot together: the wire order is the slot order."""
        self._check_open()
        self._replies.append(waiter)
        self._outgoing.append(data)
        wake = self._writer_wake
        if wake is not None:
            self._writer_wake = None
            wake.set()
        self._wake_keeper()

    def _wake_keeper(self) -> None:
        wake = self._keeper_wake
        if wake is not None:
            self._keeper_wake = None
            wake.set()

    async def send(self, data: bytes, *, timeout: Timeout = UNSET, what: str = "") -> Reply:
        """Send one serialized command and return its reply (not checked for -ERR)."""
        waiter = Waiter(what or data, self._timeout(timeout))
        self._enqueue(data, waiter)
        try:
            await waiter.done.wait()
        except BaseException:
            waiter.abandoned = True
            raise
        if waiter.error is not None:
            raise waiter.error
        result = waiter.result
        assert isinstance(result, CommandReply | ApiResponse)
        return result

    async def command(self, data: bytes, *, timeout: Timeout = UNSET) -> CommandReply:
        """Send a command answered by `command/reply`; `-ERR` raises `EslCommandError`."""
        reply = await self.send(data, timeout=timeout)
        what = commands.describe(data)
        if not isinstance(reply, CommandReply):
            raise EslProtocolError(f"{self.name}: {what!r} was answered by {reply!r}")
        if not reply.ok:
            raise EslCommandError(what, reply.reply_text, reply)
        return reply

    async def api(self, command: str, *, timeout: Timeout = UNSET) -> str:
        """`api <command>`: the api/response body exactly as FreeSWITCH wrote it.

        A body starting with `-ERR` is returned, not raised: that is how FreeSWITCH
        reports a failing api command (callers check `.startswith("-ERR")`).
        """
        reply = await self.send(commands.api(command), timeout=timeout)
        if isinstance(reply, ApiResponse):
            return reply.body
        # `api` with nothing after it is answered -ERR command not found (a2 capture).
        raise EslCommandError(f"api {command}", reply.reply_text, reply)

    async def bgapi(
        self, command: str, *, job_uuid: str | None = None, timeout: Timeout = UNSET
    ) -> str:
        """`bgapi <command>`: the body of its BACKGROUND_JOB event.

        We choose the Job-UUID (FreeSWITCH honours it) and register for its event
        before sending, so the result is matched however the stream interleaves.
        """
        job = await self.bgapi_start(command, job_uuid=job_uuid, timeout=timeout)
        return await job.result()

    async def bgapi_start(
        self, command: str, *, job_uuid: str | None = None, timeout: Timeout = UNSET
    ) -> BackgroundJob:
        """Send `bgapi`; once FreeSWITCH accepted it, a handle to await its result.

        Subscribes to BACKGROUND_JOB first when this connection would not receive it
        (`ensure_background_jobs`): without, the result never arrives — e.g. on an
        outbound socket after `myevents`, which passes only this channel's events and
        the jobs it owns (mod_event_socket.c event_handler, Job-Owner-UUID).
        """
        await self.ensure_background_jobs()
        job = BackgroundJob(
            self._jobs, command, job_uuid or str(uuidlib.uuid4()), self._timeout(timeout)
        )
        self._jobs[job.uuid] = job._waiter
        try:
            await self.command(commands.bgapi(command, job.uuid), timeout=timeout)
        except BaseException:
            self._jobs.pop(job.uuid, None)
            raise
        return job

    def events(
        self, *, maxsize: int = 10_000, overflow: OverflowPolicy = "drop-oldest"
    ) -> AsyncIterator[Event]:
        """Every event from now on, through a new bounded buffer (see `EventBuffer`).

        The iteration ends when the connection closes cleanly and raises
        `EslConnectionClosed` when it is lost.
        """
        return aiter(self.event_buffer(maxsize=maxsize, overflow=overflow))

    def event_buffer(
        self, *, maxsize: int = 10_000, overflow: OverflowPolicy = "drop-oldest"
    ) -> EventBuffer:
        """A new subscriber buffer receiving every event from now on."""
        buffer = EventBuffer(maxsize, overflow, name=self.name)
        if self._closed.is_set():
            buffer.close(None if self._closing else self.close_reason)
        self._subscribers.append(buffer)
        return buffer

    def remove_buffer(self, buffer: EventBuffer) -> None:
        if buffer in self._subscribers:
            self._subscribers.remove(buffer)

    def logs(self) -> list[LogData]:
        """log/data messages received so far (the last 1000), oldest first; clears them."""
        out = list(self._log_buffer)
        self._log_buffer.clear()
        return out

    # -- sendmsg / sendevent -------------------------------------------------------------------
    async def sendevent(
        self,
        name: str,
        headers: commands.Headers | None = None,
        body: str | None = None,
        *,
        subclass: str | None = None,
    ) -> CommandReply:
        return await self.command(commands.sendevent(name, headers, body, subclass=subclass))

    async def sendmsg(
        self, uuid: str | None, headers: commands.Headers, body: str | None = None
    ) -> CommandReply:
        return await self.command(commands.sendmsg(uuid, headers, body))

    async def execute(
        self,
        app: str,
        arg: str | None = None,
        *,
        uuid: str | None = None,
        wait: bool = False,
        event_uuid: str | None = None,
        loops: int | None = None,
        event_lock: bool = False,
        hold_bleg: bool = False,
        timeout: Timeout = UNSET,
    ) -> Event | None:
        """Run a dialplan application on a channel (`sendmsg` execute).

        FreeSWITCH replies `+OK` at once; with `wait=True` this returns the
        CHANNEL_EXECUTE_COMPLETE whose Application-UUID is our Event-UUID (the
        connection must receive that event: `myevents`, or a subscription). With
        `loops`, that is the completion of the last run FreeSWITCH made, which may come
        before `loops` runs (see `runner.esl.waiters.ExecuteWaiter`). When the channel's
        CHANNEL_HANGUP_COMPLETE comes first (an unknown application, a hangup before the
        app ran), it raises `EslChannelGone`.
        """
        app_uuid = event_uuid or str(uuidlib.uuid4())
        data = commands.execute(
            app,
            arg,
            uuid=uuid,
            event_uuid=app_uuid,
            loops=loops,
            event_lock=event_lock,
            hold_bleg=hold_bleg,
        )
        if not wait:
            await self.command(data, timeout=timeout)
            return None
        waiter = ExecuteWaiter(
            f"execute {app}", self._timeout(timeout), loops, uuid or self._own_channel()
        )
        self._apps[app_uuid] = waiter
        try:
            await self.command(data, timeout=timeout)
        except BaseException:
            self._apps.pop(app_uuid, None)
            raise
        return await wait_event(waiter, self._apps, app_uuid)

    async def hangup(
        self, cause: str = "NORMAL_CLEARING", *, uuid: str | None = None
    ) -> CommandReply:
        return await self.command(commands.hangup(cause, uuid=uuid))

    # -- closing -------------------------------------------------------------------------------
    async def exit(self) -> None:
        """`exit`: FreeSWITCH answers `+OK bye`, sends a disconnect notice and closes."""
        if self._closed.is_set():
            return
        with suppress(EslError):
            await self.command(commands.exit(), timeout=CLOSE_TIMEOUT)
        self._closing = True
        with anyio.move_on_after(CLOSE_TIMEOUT):
            await self._closed.wait()

    def _goodbye(self) -> list[bytes]:
        """The last commands `aclose` sends: `exit` (an outbound call adds a hangup)."""
        return [commands.exit()]

    async def aclose(self) -> None:
        """Say goodbye (`_goodbye()`) if the connection is still up, then close the stream.

        Also during a cancellation (a service shutting down): the goodbye and anything
        still queued are written directly, since the writer task may be cancelled too,
        and the answer is awaited only when the reader can still read it.
        """
        cancelled = anyio.current_effective_deadline() == -math.inf
        with anyio.CancelScope(shield=True):
            if not self._closed.is_set() and not self._closing:
                self._closing = True
                goodbye = self._goodbye()
                for command in goodbye:
                    waiter = Waiter(command, CLOSE_TIMEOUT)
                    waiter.abandoned = True  # its reply (`+OK bye`) is consumed quietly
                    self._replies.append(waiter)
                data = b"".join([*self._outgoing, *goodbye])
                self._outgoing.clear()
                with (
                    anyio.move_on_after(CLOSE_TIMEOUT),
                    suppress(
                        anyio.BusyResourceError,
                        anyio.BrokenResourceError,
                        anyio.ClosedResourceError,
                        OSError,
                    ),
                ):
                    await self._stream.send(data)
                if not cancelled:
                    with anyio.move_on_after(CLOSE_TIMEOUT):
                        await self._closed.wait()
            self._closing = True
            await self._stream.aclose()

    async def wait_greeting(self) -> AuthRequest | RudeRejection:
        """The first message of an inbound connection (auth/request, or an ACL refusal)."""
        await self._greeting.wait()
        if self.greeting is not None:
            return self.greeting
        if self.rejection is not None:
            return self.rejection
        raise self.close_reason or EslConnectionClosed(f"{self.name}: closed before greeting")


@asynccontextmanager
async def open_connection(
    stream: anyio.abc.ByteStream, *, name: str = "esl", command_timeout: float | None = 60.0
) -> AsyncIterator[Connection]:
    """Run a `Connection`'s reader for the duration of the block; close it after."""
    conn = Connection(stream, name=name, command_timeout=command_timeout)
    with unwrap_single():
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn.run)
            try:
                yield conn
            finally:
                await conn.aclose()
                tg.cancel_scope.cancel()
