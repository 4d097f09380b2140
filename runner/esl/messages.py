"""The messages FreeSWITCH's mod_event_socket sends, as frozen value objects.

Events are `runner.esl.event.Event`; everything else is one of the types below,
chosen by the `Content-Type` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.esl.event import Event
from runner.esl.numbers import ascii_int


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRequest:
    """The greeting of an inbound connection: `Content-Type: auth/request`."""

    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandReply:
    """`command/reply`: the answer to every command except `api`.

    `reply_text` is `+OK ...` or `-ERR ...`. The outbound `connect` reply also carries
    the channel's data (~200 headers, URL-encoded on the wire, decoded here).
    """

    headers: Mapping[str, str]
    reply_text: str

    @property
    def ok(self) -> bool:
        return self.reply_text.startswith("+OK")

    @property
    def job_uuid(self) -> str | None:
        """The `Job-UUID` a `bgapi` reply announces."""
        return self.headers.get("Job-UUID")

    def channel_data(self) -> Event:
        """The channel data of an outbound `connect` reply, as an Event.

        The reply's own framing headers (Content-Type, Reply-Text, Socket-Mode, Control)
        are kept: they say how FreeSWITCH runs this socket.
        """
        return Event(self.headers, format="plain")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiResponse:
    """`api/response`: the output of an `api` command, exactly as FreeSWITCH wrote it."""

    headers: Mapping[str, str]
    body: str

    @property
    def ok(self) -> bool:
        # mod_event_socket reports failures inside the body, e.g.
        # "-ERR bogus_command Command not found!\n" (capture a2_auth_api).
        return not self.body.startswith("-ERR")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogData:
    """`log/data`: one log line, sent after `log <level>`."""

    headers: Mapping[str, str]
    body: str

    @property
    def level(self) -> int | None:
        """`Log-Level` (0 console .. 7 debug); None when absent or not a number."""
        return ascii_int(self.headers.get("Log-Level", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class DisconnectNotice:
    """`text/disconnect-notice`: FreeSWITCH is about to close, or starts lingering.

    `disposition` is `linger` (events keep coming for `Linger-Time` seconds, -1 for
    ever), `disconnect`, or None for the plain goodbye after `exit` or a bad password.
    """

    headers: Mapping[str, str]
    body: str

    @property
    def disposition(self) -> str | None:
        return self.headers.get("Content-Disposition")

    @property
    def linger_time(self) -> int | None:
        """Seconds FreeSWITCH lingers (-1: for ever); None when absent or not a number."""
        return ascii_int(self.headers.get("Linger-Time", ""), signed=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class RudeRejection:
    """`text/rude-rejection`: refused by the event socket's ACL ("Access Denied, go away.")."""

    headers: Mapping[str, str]
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage:
    """Any other Content-Type: kept whole, never a crash."""

    headers: Mapping[str, str]
    body: bytes


Message = (
    AuthRequest
    | CommandReply
    | ApiResponse
    | Event
    | LogData
    | DisconnectNotice
    | RudeRejection
    | UnknownMessage
)
