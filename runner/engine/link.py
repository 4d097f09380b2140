"""How a flow instance reaches FreeSWITCH: one `Link` per instance.

Inbound instances address their channel by uuid (`sendmsg <uuid>`) over the node's
shared connection; outbound instances own their socket and send `sendmsg` without one.
Every wire-bound value has already been rendered and guarded by the flow language; the
ESL serializers refuse CR/LF once more, so nothing unsafe can reach the socket.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import anyio

from runner.esl import commands
from runner.esl.connection import UNSET, Connection, Timeout
from runner.esl.errors import EslCommandError
from runner.esl.inbound import InboundConnection
from runner.esl.outbound import OutboundConnection

# How long a command waits for a lost inbound connection to come back before it fails.
RECONNECT_GRACE = 5.0


class StepFailed(Exception):
    """A step could not do its job: the message says why (goes to on_error)."""


CommandObserver = Callable[[str, bytes], None]
"""Called with (channel uuid, command bytes) for every command an instance sends."""


class Link:
    """The commands a flow instance can send, on the right connection."""

    def __init__(
        self,
        uuid: str,
        observer: CommandObserver | None = None,
    ) -> None:
        self.uuid = uuid
        self.observer = observer

    # Subclasses say which connection carries the commands.
    def connection(self) -> Connection:  # pragma: no cover - abstract
        raise NotImplementedError

    async def ready(self) -> Connection:
        """The connection to send on, once there is one (see InboundLink)."""
        return self.connection()

    @property
    def outbound(self) -> bool:
        return False

    def _channel_uuid(self) -> str | None:
        """The uuid a sendmsg names (None: the outbound socket's own channel)."""
        if not self.uuid:
            raise StepFailed("this flow has no channel (its trigger event had no Unique-ID)")
        return self.uuid

    def _seen(self, data: bytes) -> None:
        if self.observer is not None:
            self.observer(self.uuid, data)

    async def _command(self, data: bytes, *, timeout: Timeout = UNSET) -> str:
        self._seen(data)
        try:
            reply = await (await self.ready()).command(data, timeout=timeout)
        except EslCommandError as exc:
            raise StepFailed(f"FreeSWITCH answered {exc.reply_text}") from None
        return reply.reply_text

    async def execute(
        self,
        app: str,
        arg: str | None,
        *,
        event_uuid: str,
        loops: int | None,
        lock: bool,
        hold_bleg: bool,
    ) -> None:
        """sendmsg execute; returns on FreeSWITCH's +OK (completion is an event)."""
        data = commands.execute(
            app,
            arg,
            uuid=self._channel_uuid(),
            event_uuid=event_uuid,
            loops=None if loops == 1 else loops,
            event_lock=lock,
            hold_bleg=hold_bleg,
        )
        # A sync ("static") outbound socket answers only when the application is done
        # (capture g2_outbound_sync): no reply deadline then, the step's timeout rules.
        await self._command(data, timeout=None if self.sync else UNSET)

    @property
    def sync(self) -> bool:
        return False

    async def sendmsg(self, headers: Sequence[tuple[str, str]]) -> None:
        await self._command(commands.sendmsg(self._channel_uuid(), headers))

    async def hangup(self, cause: str) -> None:
        await self._command(commands.hangup(cause, uuid=self._channel_uuid()))

    async def sendevent(
        self,
        name: str,
        headers: dict[str, str],
        body: str | None,
        subclass: str | None,
    ) -> None:
        await self._command(commands.sendevent(name, headers, body, subclass=subclass))

    async def api(self, command: str, *, errors_ok: bool = False) -> str:
        data = commands.api(command)
        self._seen(data)
        body = await (await self.ready()).api(command, timeout=None)
        if body.startswith("-ERR") and not errors_ok:
            raise StepFailed(f"api {command.split(' ', 1)[0]} failed: {body.strip()}")
        return body

    async def bgapi(self, command: str, timeout: float | None, *, errors_ok: bool = False) -> str:
        self._seen(commands.bgapi(command))
        conn = await self.ready()
        await self._before_bgapi(conn)
        try:
            body = await conn.bgapi(command, timeout=math.inf if timeout is None else timeout)
        except EslCommandError as exc:
            raise StepFailed(f"FreeSWITCH answered {exc.reply_text}") from None
        if body.startswith("-ERR") and not errors_ok:
            raise StepFailed(f"bgapi {command.split(' ', 1)[0]} failed: {body.strip()}")
        return body

    async def _before_bgapi(self, conn: Connection) -> None:
        await conn.ensure_background_jobs()

    async def socket_command(self, data: bytes) -> str:
        """linger, nolinger, myevents, divert_events, resume: outbound sockets only."""
        raise StepFailed("this step needs an outbound socket connection")


class InboundLink(Link):
    """A channel reached through an inbound node's shared connection."""

    def __init__(
        self, node: InboundConnection, uuid: str, observer: CommandObserver | None = None
    ) -> None:
        super().__init__(uuid, observer)
        self.node = node

    def connection(self) -> Connection:
        return self.node.connection

    async def ready(self) -> Connection:
        """The node's connection; while it is being re-made, wait up to RECONNECT_GRACE
        for it, so that a step (an on_error after the drop) does not fail on a blip."""
        with anyio.move_on_after(RECONNECT_GRACE):
            while not self.node.connected:
                # The node notices a loss a moment after its connection closed: poll.
                await anyio.sleep(0.02)
        return self.node.connection

    async def _before_bgapi(self, conn: Connection) -> None:
        # Through the node, so that a reconnect subscribes to BACKGROUND_JOB again.
        for data in await conn.ensure_background_jobs():
            self.node._remember(data)


class OutboundLink(Link):
    """The channel whose `socket` application connected to us."""

    def __init__(self, conn: OutboundConnection, observer: CommandObserver | None = None):
        super().__init__(conn.uuid, observer)
        self.conn = conn
        self.myevents_on = False

    def connection(self) -> Connection:
        return self.conn

    @property
    def outbound(self) -> bool:
        return True

    @property
    def sync(self) -> bool:
        return not self.conn.async_mode

    def _channel_uuid(self) -> str | None:
        return None

    async def socket_command(self, data: bytes) -> str:
        if data.startswith(b"myevents") and self.myevents_on:
            return "+OK Events Enabled"  # the engine asked already; FreeSWITCH would -ERR
        text = await self._command(data)
        if data.startswith(b"myevents"):
            self.myevents_on = True
        return text
