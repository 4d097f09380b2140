"""The error types of the ESL layer: one root, split into our mistakes and the peer's.

Like h11's LocalProtocolError / RemoteProtocolError: `EslUsageError` means the caller
asked for something that must not reach the wire; `EslProtocolError` means the peer
sent bytes that are not ESL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.esl.messages import CommandReply


class EslError(Exception):
    """Root of every error raised by `runner.esl`."""


class EslUsageError(EslError, ValueError):
    """The caller asked for a command that cannot be sent as given."""


class UnsafeValueError(EslUsageError):
    """A value headed for a command line or header would break the framing (CR/LF).

    FreeSWITCH splits commands on LF: one stray newline in, say, a caller name
    would end the header block and start a new command of the peer's choosing.
    """

    def __init__(self, field: str, value: str, reason: str = "contains a line break (CR or LF)"):
        self.field = field
        self.value = value
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(f"{field} {reason}; it cannot be sent to FreeSWITCH: {shown!r}")


class EslProtocolError(EslError):
    """The peer sent something that is not valid Event Socket framing."""


class EslConnectionError(EslError):
    """The connection could not be made, or was lost."""


class EslConnectionClosed(EslConnectionError):
    """The connection is closed (by us, by `exit`, or by the peer)."""


class EslAuthError(EslConnectionError):
    """FreeSWITCH refused our credentials or our address (ACL)."""


class EslAclError(EslAuthError):
    """FreeSWITCH refused our address (`apply-inbound-acl`): a `text/rude-rejection`."""


class EslTimeoutError(EslError):
    """A command or a wait did not complete in time."""


class EslCommandError(EslError):
    """FreeSWITCH answered a command with `-ERR ...`."""

    def __init__(self, command: str, reply_text: str, reply: CommandReply | None = None):
        self.command = command
        self.reply_text = reply_text
        self.reply = reply
        super().__init__(f"{command!r} failed: {reply_text}")
