"""Server side of the event-socket wire protocol, sans I/O (bytes in, commands out).

`CommandReader` frames client commands the way mod_event_socket.c ``read_packet`` does,
and the ``encode_*`` functions build the messages FreeSWITCH writes, byte for byte.
Nothing here touches a socket, so it is tested with plain byte strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# read_packet stops growing a header block at 10 MiB and parses what it has.
MAX_HEADER_BLOCK = 10 * 1024 * 1024
# FreeSWITCH would malloc any content-length; the simulator refuses absurd ones.
MAX_BODY = 16 * 1024 * 1024

DISCONNECT_GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
ACL_REJECTION = "Access Denied, go away.\n"


class WireError(Exception):
    """The peer sent bytes the simulator will not accept (e.g. an absurd content-length)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One client command: its first line, the header lines after it, and a body.

    ``line`` is the first line with CR/LF stripped. ``headers`` keeps the following
    ``Name: value`` lines in order, as mod_event_socket stores them (names as sent,
    leading spaces stripped from values, empty values dropped). ``raw`` is the header
    block as received, for the traffic log.
    """

    line: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    raw: bytes = field(default=b"", repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """First header with this name, case-insensitive (switch_event_get_header)."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


def c_atoi(text: str) -> int:
    """C ``atoi``: optional blanks and sign, then digits; anything else ends it."""
    text = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    digits = ""
    for ch in text:
        if not ch.isascii() or not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def _split_block(block: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a header block into its first line and header pairs like read_packet.

    read_packet finds each line end by looking for a CR first and only then an LF, and
    treats a run of CR/LF as one separator. A line without ':' is ignored; an empty value
    deletes any earlier header of that name (switch_event_base_add_header).
    """
    headers: list[tuple[str, str]] = []
    first = ""
    cur: int | None = 0
    count = 0
    length = len(block)
    while cur is not None:
        nxt: int | None
        cr = block.find("\r", cur)
        lf = block.find("\n", cur)
        end = cr if cr >= 0 else lf
        if end >= 0:
            nxt = end
            while nxt < length and block[nxt] in "\r\n":
                nxt += 1
        else:
            nxt = None
        count += 1
        # The line itself ends at the nearest CR or LF.
        cut = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
        line = block[cur:] if cut < 0 else block[cur:cut]
        if count == 1:
            first = line
        elif line and ":" in line:
            name, value = line.split(":", 1)
            value = value.lstrip(" ")
            if value:
                headers.append((name, value))
            else:
                lname = name.lower()
                headers = [(k, v) for k, v in headers if k.lower() != lname]
        cur = nxt
    return first, headers


# The end of a header block: an LF, any CRs, an LF (read_packet counts LFs and lets CRs
# between them pass; any other byte starts the count again).
_HEAD_END = re.compile(rb"\n\r*\n")


class CommandReader:
    """Incremental command framer: ``feed`` bytes, then take `Command`s with ``next``.

    Mirrors mod_event_socket.c read_packet: leading CR/LF bytes are skipped, a command
    ends at the second LF of a run of line ends (CRs between them are ignored, so CRLF
    works), and each ``content-length`` header with a positive value reads that many body
    bytes. Commands may arrive split across feeds or several per feed (pipelining).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # where to resume looking for the header terminator in _buf
        self._head: bytes | None = None
        self._pending: list[int] = []
        self._line = ""
        self._headers: tuple[tuple[str, str], ...] = ()
        self._body: str | None = None

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def idle(self) -> bool:
        """True when no bytes of an unfinished command are buffered.

        FreeSWITCH writes queued events only at this point (read_packet checks ``*mbuf``).
        """
        return not self._buf and self._head is None

    def next(self) -> Command | None:
        """The next complete command, or None until more bytes arrive."""
        if self._head is None and not self._scan_head():
            return None
        while self._pending:
            need = self._pending[0]
            if len(self._buf) < need:
                return None
            chunk = bytes(self._buf[:need])
            del self._buf[:need]
            self._pending.pop(0)
            # switch_event_add_body(event, "%s", body): a C string, cut at the first NUL.
            self._body = chunk.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        assert self._head is not None
        command = Command(self._line, self._headers, self._body, self._head)
        self._head = None
        self._body = None
        return command

    def _scan_head(self) -> bool:
        buf = self._buf
        # Skip leading line ends (read_packet resets when the first byte is CR or LF).
        skip = 0
        while skip < len(buf) and buf[skip] in (0x0A, 0x0D):
            skip += 1
        if skip:
            del buf[:skip]
            self._pos = max(0, self._pos - skip)
        match = _HEAD_END.search(buf, self._pos)
        if match is not None and match.end() <= MAX_HEADER_BLOCK:
            end = match.end()
        elif len(buf) >= MAX_HEADER_BLOCK:
            end = MAX_HEADER_BLOCK
        else:
            # Resume at a trailing LF (followed by CRs only): more bytes may complete it.
            last = buf.rfind(b"\n", self._pos)
            tail_crs = len(buf) - last - 1
            if last >= 0 and buf.count(b"\r", last + 1) == tail_crs:
                self._pos = last
            else:
                self._pos = len(buf)
            return False
        head = bytes(buf[:end])
        del buf[:end]
        self._pos = 0
        text = head.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        self._line, headers = _split_block(text)
        self._headers = tuple(headers)
        self._pending = []
        for name, value in headers:
            if name.lower() == "content-length":
                size = c_atoi(value)
                if size > MAX_BODY:
                    raise WireError(f"content-length {size} exceeds {MAX_BODY} bytes")
                if size > 0:
                    self._pending.append(size)
        self._head = head
        return True


# -- messages the server writes (mod_event_socket.c) ----------------------------------


def encode_auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def encode_reply(text: str) -> bytes:
    """``command/reply`` with a Reply-Text; no Content-Length (there is never a body)."""
    # A reply may quote what the client sent (a Job-UUID): its bytes go back as they came.
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode("utf-8", "surrogateescape")


def encode_reply_headers(headers: list[tuple[str, str]]) -> bytes:
    """A ``command/reply`` carrying extra headers (the ``~`` replies: bgapi, userauth)."""
    lines = "".join(f"{name}: {value}\n" for name, value in headers)
    return f"Content-Type: command/reply\n{lines}\n".encode("utf-8", "surrogateescape")


def encode_api_response(body: str) -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    return f"Content-Type: api/response\nContent-Length: {len(raw)}\n\n".encode() + raw


def encode_disconnect(message: str = DISCONNECT_GOODBYE, session_uuid: str | None = None) -> bytes:
    """The notice sent before closing; session-bound connections name their channel."""
    raw = message.encode()
    if session_uuid:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
            f"Content-Length: {len(raw)}\n\n"
        )
    else:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {len(raw)}\n\n"
    return head.encode() + raw


def encode_linger_notice(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """Sent once when a lingering connection's channel hangs up (-1 = linger forever)."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


def encode_rude_rejection() -> bytes:
    raw = ACL_REJECTION.encode()
    return f"Content-Type: text/rude-rejection\nContent-Length: {len(raw)}\n\n".encode() + raw


@dataclass(frozen=True, slots=True)
class LogLine:
    """One console log line as mod_event_socket forwards it (``log/data``)."""

    level: int
    channel: int
    file: str
    func: str
    line: int
    data: str
    user_data: str = ""


def encode_log(log: LogLine) -> bytes:
    raw = log.data.encode("utf-8", "surrogateescape")
    # User-Data is always present; without a session it is empty, hence the trailing space
    # in capture d2. Session log lines carry the channel's UUID there.
    return (
        "Content-Type: log/data\n"
        f"Content-Length: {len(raw)}\n"
        f"Log-Level: {log.level}\n"
        f"Text-Channel: {log.channel}\n"
        f"Log-File: {log.file}\n"
        f"Log-Func: {log.func}\n"
        f"Log-Line: {log.line}\n"
        f"User-Data: {log.user_data}\n\n"
    ).encode() + raw
