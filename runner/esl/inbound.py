"""`InboundConnection`: we connect to FreeSWITCH's event socket (default 127.0.0.1:8021).

    async with InboundConnection.connect("127.0.0.1", 8021, "ClueCon") as conn:
        body = await conn.api("status")
        result = await conn.bgapi("status")
        await conn.subscribe(["ALL"], format="json")
        async for event in conn.events():
            ...

With `reconnect=True` a lost connection is re-established with exponential backoff and
jitter, and every subscription, filter and log level is issued again in the order it was
first given; event iterators carry on across the gap. A wrong password is never retried:
FreeSWITCH closes the connection after `-ERR invalid` (capture a1_auth_wrongpass), and a
client hammering it would only fill its log.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from runner.esl import commands
from runner.esl._groups import unwrap_single
from runner.esl.buffer import EventBuffer, OverflowPolicy
from runner.esl.connection import UNSET, Connection, EventFormat, Timeout
from runner.esl.errors import (
    EslAclError,
    EslAuthError,
    EslCommandError,
    EslConnectionClosed,
    EslConnectionError,
    EslError,
    EslTimeoutError,
)
from runner.esl.event import Event
from runner.esl.messages import CommandReply, RudeRejection
from runner.network import TCP, Network

log = logging.getLogger("runner.esl")


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Reconnect delays: `initial` doubling up to `maximum`, each with +-`jitter` spread."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2

    def delays(self) -> Iterable[float]:
        delay = self.initial
        while True:
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)
            delay = min(delay * self.factor, self.maximum)


def _reason(exc: OSError) -> str:
    """Why a connect failed, in the OS's words: anyio wraps the real error (say, ECONNREFUSED)
    in a generic "All connection attempts failed" whose cause says what happened."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return exc.strerror or str(exc) or type(exc).__name__


async def _open(
    host: str,
    port: int,
    password: str,
    *,
    user: str | None,
    timeout: float,
    command_timeout: float | None,
    subscribers: list[EventBuffer],
    owns_subscribers: bool,
    tg: anyio.abc.TaskGroup,
    network: Network = TCP,
) -> Connection:
    """Connect, start the reader, authenticate. The password never appears in errors."""
    where = f"{host}:{port}"
    try:
        with anyio.fail_after(timeout):
            stream = await network.connect_tcp(host, port)
    except TimeoutError:
        raise EslConnectionError(f"connecting to FreeSWITCH at {where} timed out") from None
    except OSError as exc:
        raise EslConnectionError(
            f"cannot connect to FreeSWITCH at {where}: {_reason(exc)}"
        ) from None
    conn = Connection(
        stream,
        name=where,
        command_timeout=command_timeout,
        subscribers=subscribers,
        owns_subscribers=owns_subscribers,
    )
    tg.start_soon(conn.run)
    try:
        with anyio.fail_after(timeout):
            greeting = await conn.wait_greeting()
        if isinstance(greeting, RudeRejection):
            raise EslAclError(
                f"FreeSWITCH at {where} refused this address (event socket ACL): "
                f"{greeting.body.strip()}"
            )
        if user is None:
            data = commands.auth(password)
        else:
            name, _, domain = user.partition("@")
            data = commands.userauth(name, domain, password)
        try:
            await conn.command(data, timeout=timeout)
        except EslCommandError as exc:
            raise EslAuthError(
                f"FreeSWITCH at {where} rejected the password ({exc.reply_text})"
            ) from None
    except TimeoutError:
        await conn.aclose()
        raise EslTimeoutError(f"FreeSWITCH at {where} did not greet us in {timeout:g} s") from None
    except EslTimeoutError:
        await conn.aclose()
        raise EslTimeoutError(
            f"FreeSWITCH at {where} did not answer auth in {timeout:g} s"
        ) from None
    except EslConnectionClosed as exc:
        await conn.aclose()
        raise EslConnectionError(f"FreeSWITCH at {where} closed the connection ({exc})") from None
    except BaseException:
        await conn.aclose()
        raise
    return conn


class InboundConnection:
    """A client connection to FreeSWITCH, optionally kept up across losses.

    Create it with `InboundConnection.connect(...)`. Methods mirror mod_event_socket's
    commands; `api` returns the body, `bgapi` the BACKGROUND_JOB body, `events()` an
    async iterator of `Event`s.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        user: str | None = None,
        timeout: float = 10.0,
        command_timeout: float | None = 60.0,
        reconnect: bool = False,
        backoff: Backoff = Backoff(),
        network: Network = TCP,
    ) -> None:
        self.host = host
        self.network = network
        self.port = port
        self._password = password
        self._user = user
        self.timeout = timeout
        self.command_timeout = command_timeout
        self.reconnect = reconnect
        self.backoff = backoff
        self._conn: Connection | None = None
        self._subscribers: list[EventBuffer] = []
        # Commands that shape what this connection receives, replayed after a reconnect.
        self._journal: list[bytes] = []
        self._connected = anyio.Event()
        self._stopping = False
        self.reconnects = 0
        self.on_connect: list[Callable[[InboundConnection], None]] = []

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<InboundConnection {self.host}:{self.port} {state}>"

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",
        *,
        user: str | None = None,
        timeout: float = 10.0,
        command_timeout: float | None = 60.0,
        reconnect: bool = False,
        backoff: Backoff = Backoff(),
        network: Network = TCP,
    ) -> AsyncIterator[InboundConnection]:
        """Connect and authenticate; close with `exit` when the block ends.

        `user="1000@example.com"` uses `userauth` instead of `auth`. With
        `reconnect=True`, the first connection is retried too (until it succeeds or
        the password is refused) and the block is entered once it is up. `network` is
        how to reach the switch (TCP; `eslflow test` connects in memory).
        """
        self = cls(
            host,
            port,
            password,
            user=user,
            timeout=timeout,
            command_timeout=command_timeout,
            reconnect=reconnect,
            backoff=backoff,
            network=network,
        )
        with unwrap_single():
            async with anyio.create_task_group() as tg:
                if reconnect:
                    await tg.start(self._supervise, tg)
                else:
                    self._conn = await self._open(tg)
                    self._connected.set()
                try:
                    yield self
                finally:
                    self._stopping = True
                    with anyio.CancelScope(shield=True):
                        if self._conn is not None:
                            await self._conn.aclose()
                    for buffer in self._subscribers:
                        buffer.close()
                    tg.cancel_scope.cancel()

    async def _open(self, tg: anyio.abc.TaskGroup) -> Connection:
        return await _open(
            self.host,
            self.port,
            self._password,
            user=self._user,
            timeout=self.timeout,
            command_timeout=self.command_timeout,
            subscribers=self._subscribers,
            owns_subscribers=not self.reconnect,
            tg=tg,
            network=self.network,
        )

    async def _supervise(
        self,
        tg: anyio.abc.TaskGroup,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Keep a connection up: connect, replay the journal, wait for loss, back off."""
        started = False
        delays = iter(self.backoff.delays())
        while not self._stopping:
            try:
                conn = await self._open(tg)
                for data in self._journal:
                    await conn.command(data, timeout=self.timeout)
            except EslAuthError:
                if not started:
                    raise
                log.error("%s:%d: authentication refused; not reconnecting", self.host, self.port)
                for buffer in self._subscribers:
                    buffer.close(EslConnectionClosed("FreeSWITCH refused authentication"))
                return
            except EslError as exc:
                delay = next(delays)
                log.warning("%s; retrying in %.1f s", exc, delay)
                await anyio.sleep(delay)
                continue
            delays = iter(self.backoff.delays())
            if started:
                self.reconnects += 1
                log.info("%s:%d: reconnected (%d)", self.host, self.port, self.reconnects)
            self._conn = conn
            self._connected.set()
            for callback in self.on_connect:
                callback(self)
            if not started:
                started = True
                task_status.started()
            await conn.wait_closed()
            if self._stop_requested():
                return
            self._connected = anyio.Event()
            log.warning("%s:%d: connection lost (%s)", self.host, self.port, conn.close_reason)

    def _stop_requested(self) -> bool:
        return self._stopping

    # -- state --------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    async def wait_connected(self) -> None:
        await self._connected.wait()

    @property
    def connection(self) -> Connection:
        """The current underlying connection; raises when there is none."""
        conn = self._conn
        if conn is None or conn.closed:
            reason = conn.close_reason if conn is not None else None
            raise EslConnectionClosed(
                f"not connected to FreeSWITCH at {self.host}:{self.port}"
                + (f" ({reason})" if reason else "")
            )
        return conn

    # -- commands -------------------------------------------------------------------------------
    async def api(self, command: str, *, timeout: Timeout = UNSET) -> str:
        """`api <command>`: the api/response body exactly as FreeSWITCH wrote it."""
        return await self.connection.api(command, timeout=timeout)

    async def bgapi(
        self, command: str, *, job_uuid: str | None = None, timeout: Timeout = UNSET
    ) -> str:
        """`bgapi <command>`: the body of its BACKGROUND_JOB event."""
        conn = self.connection
        for data in await conn.ensure_background_jobs():
            self._remember(data)
        return await conn.bgapi(command, job_uuid=job_uuid, timeout=timeout)

    def _remember(self, data: bytes) -> None:
        if data not in self._journal:
            self._journal.append(data)

    async def command(self, data: bytes, *, timeout: Timeout = UNSET) -> CommandReply:
        """Send a serialized command (see `runner.esl.commands`)."""
        return await self.connection.command(data, timeout=timeout)

    async def subscribe(
        self, names: Iterable[str] = ("ALL",), format: EventFormat = "json"
    ) -> CommandReply:
        """`event <format> <names...>`: subscriptions add up; the format applies to all."""
        names = list(names)
        reply = await self.connection.subscribe(names, format)
        self._remember(commands.event(names, format))
        return reply

    async def filter(self, header: str, value: str) -> CommandReply:
        reply = await self.connection.filter(header, value)
        self._remember(commands.filter(header, value))
        return reply

    async def filter_delete(self, header: str, value: str | None = None) -> CommandReply:
        reply = await self.connection.filter_delete(header, value)
        self._remember(commands.filter_delete(header, value))
        return reply

    async def nixevent(self, names: Iterable[str]) -> CommandReply:
        names = list(names)
        reply = await self.connection.nixevent(names)
        self._remember(commands.nixevent(names))
        return reply

    async def noevents(self) -> CommandReply:
        reply = await self.connection.noevents()
        # Everything subscribed before is gone; so is the need to replay it.
        self._journal = [d for d in self._journal if not d.startswith((b"event ", b"nixevent "))]
        return reply

    async def myevents(self, uuid: str, format: EventFormat | None = None) -> CommandReply:
        """`myevents <uuid>`: this connection then follows that one channel only."""
        reply = await self.connection.myevents(uuid, format)
        self._remember(commands.myevents(uuid, format))
        return reply

    async def log(self, level: int | str) -> CommandReply:
        reply = await self.connection.log(level)
        self._journal = [d for d in self._journal if not d.startswith((b"log ", b"nolog"))]
        self._remember(commands.log(level))
        return reply

    async def nolog(self) -> CommandReply:
        reply = await self.connection.nolog()
        self._journal = [d for d in self._journal if not d.startswith(b"log ")]
        return reply

    async def sendevent(
        self,
        name: str,
        headers: commands.Headers | None = None,
        body: str | None = None,
        *,
        subclass: str | None = None,
    ) -> CommandReply:
        return await self.connection.sendevent(name, headers, body, subclass=subclass)

    async def sendmsg(
        self, uuid: str, headers: commands.Headers, body: str | None = None
    ) -> CommandReply:
        return await self.connection.sendmsg(uuid, headers, body)

    async def execute(
        self,
        uuid: str,
        app: str,
        arg: str | None = None,
        *,
        wait: bool = False,
        event_uuid: str | None = None,
        loops: int | None = None,
        event_lock: bool = False,
        hold_bleg: bool = False,
        timeout: Timeout = UNSET,
    ) -> Event | None:
        """Run an application on channel `uuid`; see `Connection.execute`."""
        return await self.connection.execute(
            app,
            arg,
            uuid=uuid,
            wait=wait,
            event_uuid=event_uuid,
            loops=loops,
            event_lock=event_lock,
            hold_bleg=hold_bleg,
            timeout=timeout,
        )

    async def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING") -> CommandReply:
        return await self.connection.hangup(cause, uuid=uuid)

    # -- events -----------------------------------------------------------------------------------
    def events(
        self, *, maxsize: int = 10_000, overflow: OverflowPolicy = "drop-oldest"
    ) -> AsyncIterator[Event]:
        """Every event from now on, across reconnects; see `EventBuffer` for the bound."""
        return aiter(self.event_buffer(maxsize=maxsize, overflow=overflow))

    def event_buffer(
        self, *, maxsize: int = 10_000, overflow: OverflowPolicy = "drop-oldest"
    ) -> EventBuffer:
        buffer = EventBuffer(maxsize, overflow, name=f"{self.host}:{self.port}")
        self._subscribers.append(buffer)
        return buffer

    def remove_buffer(self, buffer: EventBuffer) -> None:
        if buffer in self._subscribers:
            self._subscribers.remove(buffer)
