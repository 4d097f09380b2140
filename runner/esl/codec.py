"""The sans-I/O ESL parser: feed it bytes as they arrive, get whole messages back.

No sockets and no anyio here (as in h11): the connection layer reads, this module frames.
Every buffer is bounded: a header block over `max_header_size` or a `Content-Length`
that is negative, malformed or over `max_body_size` is an `EslProtocolError`, raised
before anything is allocated for it. Whatever the bytes and however they are chunked,
`feed` returns messages or raises `EslProtocolError`, nothing else (tests/esl/
test_codec_fuzz.py, bench/chaos_codec.py), and its cost is linear in the bytes fed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from runner.esl.decode import decode_json_event, decode_plain_event, decode_xml_event
from runner.esl.errors import EslProtocolError, excerpt
from runner.esl.event import Event, first_wins, parse_header_block
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
from runner.esl.numbers import ascii_int

MAX_HEADER_SIZE = 64 * 1024
# FreeSWITCH refuses bodies over 16 MiB itself (mod_event_socket / libesl).
MAX_BODY_SIZE = 16 * 1024 * 1024

_CONTENT_LENGTH = b"Content-Length: "
_CONTENT_TYPE_EVENT = b"Content-Type: text/event-"
# The two shapes every reply takes (captures a2_auth_api, d2_misc_commands).
_REPLY = b"Content-Type: command/reply\nReply-Text: "
_API = b"Content-Type: api/response\nContent-Length: "
# A run of blank lines is skipped in C: a byte-by-byte loop cost 1 s per 16 MiB.
_NEWLINES = re.compile(rb"\n+")
_CL_LEN = len(_CONTENT_LENGTH)
_CT_EVENT_LEN = len(_CONTENT_TYPE_EVENT)
_REPLY_LEN = len(_REPLY)
_API_LEN = len(_API)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _reply(headers: Mapping[str, str], body: bytes) -> Message:
    return CommandReply(headers=headers, reply_text=headers.get("Reply-Text", ""))


def _api(headers: Mapping[str, str], body: bytes) -> Message:
    return ApiResponse(headers=headers, body=_text(body))


def _auth(headers: Mapping[str, str], body: bytes) -> Message:
    return AuthRequest(headers=headers)


def _log(headers: Mapping[str, str], body: bytes) -> Message:
    return LogData(headers=headers, body=_text(body))


def _disconnect(headers: Mapping[str, str], body: bytes) -> Message:
    return DisconnectNotice(headers=headers, body=_text(body))


def _rude(headers: Mapping[str, str], body: bytes) -> Message:
    return RudeRejection(headers=headers, body=_text(body))


def _event_plain(headers: Mapping[str, str], body: bytes) -> Message:
    return decode_plain_event(body)


def _event_json(headers: Mapping[str, str], body: bytes) -> Message:
    return decode_json_event(body)


def _event_xml(headers: Mapping[str, str], body: bytes) -> Message:
    return decode_xml_event(body)


# Content-Type -> decoder (h11-style dispatch by table).
DECODERS: dict[str, Callable[[Mapping[str, str], bytes], Message]] = {
    "command/reply": _reply,
    "api/response": _api,
    "auth/request": _auth,
    "log/data": _log,
    "text/disconnect-notice": _disconnect,
    "text/rude-rejection": _rude,
    "text/event-plain": _event_plain,
    "text/event-json": _event_json,
    "text/event-xml": _event_xml,
}

_EVENT_DECODERS: dict[bytes, Callable[[bytes], Event]] = {
    b"plain": decode_plain_event,
    b"json": decode_json_event,
    b"xml": decode_xml_event,
}


def decode_outer_headers(block: bytes) -> dict[str, str]:
    """The header block of a message (not of an event body).

    Values are taken as written, except in a command/reply whose Reply-Text is itself
    URL-encoded: that is the outbound `connect` reply, a serialized channel event with
    `Reply-Text: %2BOK%0A` (capture g1_outbound_async.O), so every value is decoded.
    """
    pairs = parse_header_block(block, decode=False)
    headers = first_wins(pairs)
    if headers.get("Reply-Text", "").startswith("%"):
        headers = first_wins(parse_header_block(block, decode=True))
    return headers


def _content_length(raw: str | bytes, max_body_size: int) -> int:
    if type(raw) is bytes and raw.isdigit() and len(raw) < 10:  # the usual case
        length = int(raw)
        if length <= max_body_size:
            return length
    length_or_none = ascii_int(raw)
    value = raw.strip() if isinstance(raw, str) else raw.strip().decode("utf-8", "replace")
    if length_or_none is None:
        raise EslProtocolError(f"invalid Content-Length {excerpt(value)!r}")
    if length_or_none > max_body_size:
        raise EslProtocolError(
            f"Content-Length {excerpt(value)} is over the limit of {max_body_size} bytes"
        )
    return length_or_none


class Parser:
    """Frames a byte stream from FreeSWITCH into messages.

    `feed(data)` returns every message completed by `data`, in order; partial data is
    kept for the next call. `close()` says the stream ended and raises if a message was
    cut short. After an `EslProtocolError` the stream cannot be trusted: drop it.
    """

    __slots__ = (
        "_buf",
        "_chunks",
        "_chunks_len",
        "_need",
        "bytes_scanned",
        "max_body_size",
        "max_header_size",
    )

    def __init__(
        self, *, max_header_size: int = MAX_HEADER_SIZE, max_body_size: int = MAX_BODY_SIZE
    ) -> None:
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self._buf = b""
        # Chunks of a long body, or of a header block without its blank line yet, are
        # collected here and joined once complete: a 16 MiB body read 64 KiB at a time
        # is copied once, not 256 times, and a header block fed byte by byte costs linear
        # time. `_need` > 0: a body is pending; `_need` == 0 and chunks: a header block.
        self._chunks: list[bytes] = []
        self._chunks_len = 0
        self._need = 0
        # Bytes examined by the searches for the end of a header block, a statistic for
        # tests and bench/chaos_codec.py: each byte fed is searched at most about twice.
        self.bytes_scanned = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buf) + self._chunks_len

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes from the stream; return the messages they complete."""
        if not data:
            return []
        if self._need:
            self._chunks.append(data)
            self._chunks_len += len(data)
            if len(self._buf) + self._chunks_len < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._chunks_len = 0
            self._need = 0
        elif self._chunks:
            block = self._maybe_end_header(data)
            if block is None:
                return []
            data = block
        buf = self._buf + data if self._buf else data
        out: list[Message] = []
        pos = 0
        size = len(buf)
        find = buf.find
        startswith = buf.startswith
        scanned = 0
        while pos < size:
            if buf[pos] == 10:  # tolerate blank lines between messages
                pos = _NEWLINES.match(buf, pos).end()  # type: ignore[union-attr]
                continue
            head_end = find(b"\n\n", pos)
            if head_end < 0:
                scanned += size - pos
                self.bytes_scanned += scanned
                if size - pos > self.max_header_size:
                    raise EslProtocolError(
                        f"header block over {self.max_header_size} bytes without an end"
                    )
                # Keep the start of the block; later feeds search only their own bytes.
                self._chunks.append(buf[pos:])
                self._chunks_len = size - pos
                self._buf = b""
                return out
            scanned += head_end + 2 - pos
            if head_end - pos > self.max_header_size:
                raise EslProtocolError(f"header block over {self.max_header_size} bytes")
            # Fast path: every event is exactly `Content-Length: N` then
            # `Content-Type: text/event-<fmt>` (Content-Length first, as the captures show).
            if startswith(_CONTENT_LENGTH, pos):
                line_end = find(b"\n", pos)
                if line_end < head_end and startswith(_CONTENT_TYPE_EVENT, line_end + 1):
                    decoder = _EVENT_DECODERS.get(buf[line_end + 1 + _CT_EVENT_LEN : head_end])
                    if decoder is not None:
                        length = _content_length(buf[pos + _CL_LEN : line_end], self.max_body_size)
                        end = head_end + 2 + length
                        if end > size:
                            self._need = end - pos
                            break
                        out.append(decoder(buf[head_end + 2 : end]))
                        pos = end
                        continue
            if startswith(_REPLY, pos):
                line_end = find(b"\n", pos + _REPLY_LEN + 1)
                if (
                    line_end == head_end
                    and buf[pos + _REPLY_LEN] != 37  # not the %-encoded connect reply
                    and buf[line_end - 1] != 13
                ):
                    text = buf[pos + _REPLY_LEN : line_end].decode("utf-8", "surrogateescape")
                    out.append(
                        CommandReply(
                            headers={"Content-Type": "command/reply", "Reply-Text": text},
                            reply_text=text,
                        )
                    )
                    pos = head_end + 2
                    continue
            elif startswith(_API, pos):
                line_end = find(b"\n", pos + _API_LEN)
                if line_end == head_end:
                    length = _content_length(buf[pos + _API_LEN : line_end], self.max_body_size)
                    end = head_end + 2 + length
                    if end > size:
                        self._need = end - pos
                        break
                    out.append(
                        ApiResponse(
                            headers={
                                "Content-Type": "api/response",
                                "Content-Length": str(length),
                            },
                            body=buf[head_end + 2 : end].decode("utf-8", "surrogateescape"),
                        )
                    )
                    pos = end
                    continue
            headers = decode_outer_headers(buf[pos:head_end])
            declared = headers.get("Content-Length")
            length = 0 if declared is None else _content_length(declared, self.max_body_size)
            end = head_end + 2 + length
            if end > size:
                self._need = end - pos
                break
            body = buf[head_end + 2 : end]
            content_type = headers.get("Content-Type", "")
            decode = DECODERS.get(content_type)
            out.append(
                decode(headers, body)
                if decode is not None
                else UnknownMessage(headers=headers, body=body)
            )
            pos = end
        self.bytes_scanned += scanned
        self._buf = buf[pos:] if pos < size else b""
        return out

    def _maybe_end_header(self, data: bytes) -> bytes | None:
        """The pending header block joined with `data` if `data` ends it; else None.

        The pending chunks hold no blank line, so only `data` and the seam before it are
        searched: a block fed one byte at a time costs linear time, not quadratic.
        """
        self.bytes_scanned += len(data) + 1
        chunks = self._chunks
        chunks.append(data)
        if chunks[-2][-1:] == b"\n" == data[:1] or b"\n\n" in data:
            joined = b"".join(chunks)
            chunks.clear()
            self._chunks_len = 0
            return joined
        self._chunks_len += len(data)
        if self._chunks_len > self.max_header_size:
            raise EslProtocolError(f"header block over {self.max_header_size} bytes without an end")
        return None

    def close(self) -> None:
        """The stream ended: raise if it stopped in the middle of a message."""
        pending = self._buf + b"".join(self._chunks)
        if pending.strip(b"\r\n"):
            raise EslProtocolError(
                f"connection closed in the middle of a message ({len(pending)} bytes pending)"
            )
