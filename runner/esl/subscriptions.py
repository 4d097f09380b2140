"""The commands that decide which events a connection receives, and what it remembers.

`Subscriptions` is mixed into `Connection`: `event`, `nixevent`, `noevents`, `filter`,
`myevents`, `divert_events`, `log`. It keeps what was asked for (subscribed names,
filters, the event format), so `bgapi` can tell whether its BACKGROUND_JOB will be
delivered: subscriptions and filters are per connection, and filters are OR'ed
(mod_event_socket.c event_handler).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from runner.esl import commands
from runner.esl.commands import EventFormat
from runner.esl.messages import CommandReply

if TYPE_CHECKING:
    from runner.esl.connection import Timeout


class Subscriptions:
    """Subscription commands; the class using it provides `command()` and the state."""

    events_format: EventFormat
    _subscribed: set[str]
    _filters: set[tuple[str, str]]

    if TYPE_CHECKING:

        async def command(self, data: bytes, *, timeout: Timeout = ...) -> CommandReply: ...

    async def ensure_background_jobs(self) -> list[bytes]:
        """Make sure BACKGROUND_JOB events reach this connection (for `bgapi`).

        Subscribes to BACKGROUND_JOB in the current format unless ALL or it is already
        subscribed, and, when filters are set, adds `filter Event-Name BACKGROUND_JOB`
        (filters are OR'ed, so this only lets job results through as well). Returns
        the commands it sent.
        """
        sent: list[bytes] = []
        if not ({"ALL", "BACKGROUND_JOB"} & self._subscribed):
            await self.subscribe(["BACKGROUND_JOB"], self.events_format)
            sent.append(commands.event(["BACKGROUND_JOB"], self.events_format))
        if self._filters and ("Event-Name", "BACKGROUND_JOB") not in self._filters:
            await self.filter("Event-Name", "BACKGROUND_JOB")
            sent.append(commands.filter("Event-Name", "BACKGROUND_JOB"))
        return sent

    async def subscribe(
        self, names: Iterable[str] = ("ALL",), format: EventFormat = "plain"
    ) -> CommandReply:
        """`event <format> <names...>`: subscriptions add up; the format applies to all."""
        names = list(names)
        reply = await self.command(commands.event(names, format))
        self.events_format = format
        self._subscribed.update(n.upper() if n.lower() == "all" else n for n in names)
        return reply

    async def filter(self, header: str, value: str) -> CommandReply:
        reply = await self.command(commands.filter(header, value))
        self._filters.add((header, value))
        return reply

    async def filter_delete(self, header: str, value: str | None = None) -> CommandReply:
        reply = await self.command(commands.filter_delete(header, value))
        if header == "all" and value is None:
            self._filters.clear()
        else:
            self._filters = {
                (h, v) for h, v in self._filters if h != header or value not in (None, v)
            }
        return reply

    async def nixevent(self, names: Iterable[str]) -> CommandReply:
        names = list(names)
        reply = await self.command(commands.nixevent(names))
        self._subscribed.difference_update(names)
        return reply

    async def noevents(self) -> CommandReply:
        reply = await self.command(commands.noevents())
        self._subscribed.clear()
        return reply

    async def myevents(
        self, uuid: str | None = None, format: EventFormat | None = None
    ) -> CommandReply:
        reply = await self.command(commands.myevents(uuid, format))
        if format is not None and uuid is None:
            self.events_format = format
        return reply

    async def divert_events(self, on: bool) -> CommandReply:
        return await self.command(commands.divert_events(on))

    async def log(self, level: int | str) -> CommandReply:
        return await self.command(commands.log(level))

    async def nolog(self) -> CommandReply:
        return await self.command(commands.nolog())
