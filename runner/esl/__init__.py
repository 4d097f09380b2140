"""FreeSWITCH's Event Socket protocol: a sans-I/O codec and anyio connections.

`codec` frames bytes into messages, `commands` turns commands into bytes; both are
pure. `connection`, `inbound` and `outbound` put them on sockets.
"""

from runner.esl.buffer import EventBuffer, EventBufferOverflow, OverflowPolicy
from runner.esl.codec import Parser
from runner.esl.connection import Connection, open_connection
from runner.esl.errors import (
    EslAclError,
    EslAuthError,
    EslCommandError,
    EslConnectionClosed,
    EslConnectionError,
    EslError,
    EslProtocolError,
    EslTimeoutError,
    EslUsageError,
    UnsafeValueError,
)
from runner.esl.event import Event
from runner.esl.inbound import Backoff, InboundConnection
from runner.esl.messages import (
    ApiResponse,
    AuthRequest,
    CommandReply,
    DisconnectNotice,
    LogData,
    Message,
    RudeRejection,
    UnknownMessage,
)
from runner.esl.outbound import OutboundConnection, OutboundServer

__all__ = [
    "ApiResponse",
    "AuthRequest",
    "Backoff",
    "CommandReply",
    "Connection",
    "DisconnectNotice",
    "EslAclError",
    "EslAuthError",
    "EslCommandError",
    "EslConnectionClosed",
    "EslConnectionError",
    "EslError",
    "EslProtocolError",
    "EslTimeoutError",
    "EslUsageError",
    "Event",
    "EventBuffer",
    "EventBufferOverflow",
    "InboundConnection",
    "LogData",
    "Message",
    "OutboundConnection",
    "OutboundServer",
    "OverflowPolicy",
    "Parser",
    "RudeRejection",
    "UnknownMessage",
    "UnsafeValueError",
    "open_connection",
]
