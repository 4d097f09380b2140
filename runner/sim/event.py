"""Switch events as FreeSWITCH builds and serializes them (src/switch_event.c).

An event is an ordered list of headers (names may repeat, as in real CODEC events) plus an
optional body. It renders to the three wire formats mod_event_socket sends: plain
(URL-encoded values), json (raw values, body in ``_body``) and xml (URL-encoded values
inside elements). Renderings are cached: one event fanned out to many connections is
rendered once per format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from enum import Enum

# src/switch_event.c EVENT_NAMES, in enum order. "ALL" is last.
EVENT_NAMES: tuple[str, ...] = (
    "CUSTOM",
    "CLONE",
    "CHANNEL_CREATE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",
    "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_UNPARK",
    "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE",
    "CHANNEL_UUID",
    "API",
    "LOG",
    "INBOUND_CHAN",
    "OUTBOUND_CHAN",
    "STARTUP",
    "SHUTDOWN",
    "PUBLISH",
    "UNPUBLISH",
    "TALK",
    "NOTALK",
    "SESSION_CRASH",
    "MODULE_LOAD",
    "MODULE_UNLOAD",
    "DTMF",
    "MESSAGE",
    "PRESENCE_IN",
    "NOTIFY_IN",
    "PRESENCE_OUT",
    "PRESENCE_PROBE",
    "MESSAGE_WAITING",
    "MESSAGE_QUERY",
    "ROSTER",
    "CODEC",
    "BACKGROUND_JOB",
    "DETECTED_SPEECH",
    "DETECTED_TONE",
    "PRIVATE_COMMAND",
    "HEARTBEAT",
    "TRAP",
    "ADD_SCHEDULE",
    "DEL_SCHEDULE",
    "EXE_SCHEDULE",
    "RE_SCHEDULE",
    "RELOADXML",
    "NOTIFY",
    "PHONE_FEATURE",
    "PHONE_FEATURE_SUBSCRIBE",
    "SEND_MESSAGE",
    "RECV_MESSAGE",
    "REQUEST_PARAMS",
    "CHANNEL_DATA",
    "GENERAL",
    "COMMAND",
    "SESSION_HEARTBEAT",
    "CLIENT_DISCONNECTED",
    "SERVER_DISCONNECTED",
    "SEND_INFO",
    "RECV_INFO",
    "RECV_RTCP_MESSAGE",
    "SEND_RTCP_MESSAGE",
    "CALL_SECURE",
    "NAT",
    "RECORD_START",
    "RECORD_STOP",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CALL_UPDATE",
    "FAILURE",
    "SOCKET_DATA",
    "MEDIA_BUG_START",
    "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY",
    "CONFERENCE_DATA",
    "CALL_SETUP_REQ",
    "CALL_SETUP_RESULT",
    "CALL_DETAIL",
    "DEVICE_STATE",
    "TEXT",
    "SHUTDOWN_REQUESTED",
    "ALL",
)

_BY_UPPER = {name: name for name in EVENT_NAMES}


def name_event(word: str) -> str | None:
    """Resolve an event name the way switch_name_event does, or None if unknown.

    Case-insensitive, and a ``SWITCH_EVENT_`` prefix (any 13 characters, in fact) is
    ignored: ``all``, ``CHANNEL_answer`` and ``SWITCH_EVENT_DTMF`` all resolve.
    """
    upper = word.upper()
    if len(upper) > 13 and upper[13:] in _BY_UPPER:
        return upper[13:]
    return _BY_UPPER.get(upper)


class Format(Enum):
    """The event encodings a connection can ask for (`event plain|json|xml ...`)."""

    PLAIN = "plain"
    JSON = "json"
    XML = "xml"


# src/include/switch_utils.h SWITCH_URL_UNSAFE; bytes below ' ' and above '~' are
# encoded too (switch_utils.c switch_url_encode_opt).
_URL_UNSAFE = b'\r\n #%&+:;<=>?@[\\]^`{|}"'
_HEX_UPPER = b"0123456789ABCDEF"
_ENCODED = tuple(
    chr(b) if 0x20 <= b <= 0x7E and b not in _URL_UNSAFE else f"%{b:02X}" for b in range(256)
)
_NEEDS_ENCODING = re.compile(r"[^!$\'()*,\-./0-9A-Z_a-z~]")


def url_encode(value: str) -> str:
    """URL-encode a header value exactly as FreeSWITCH's switch_url_encode does.

    Quirk kept on purpose: a ``%`` already followed by two upper-case hex digits is left
    alone (FreeSWITCH calls it with double_encode off), so ``%41`` stays ``%41`` while
    ``%(`` becomes ``%25(``. ``/`` is never encoded; UTF-8 bytes become ``%C3%A9``.
    """
    if _NEEDS_ENCODING.search(value) is None:
        return value
    data = value.encode("utf-8", "surrogateescape")
    out: list[str] = []
    last = len(data) - 1
    for i, byte in enumerate(data):
        if (
            byte == 0x25
            and last - i > 1
            and data[i + 1] in _HEX_UPPER
            and data[i + 2] in _HEX_UPPER
        ):
            out.append("%")
        else:
            out.append(_ENCODED[byte])
    return "".join(out)


def xml_text(value: str) -> str:
    """Escape element text as switch_xml_ampencode does (non-ASCII as ``&#xE9;``)."""
    out: list[str] = []
    for ch in value:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "\r":
            out.append("&#xD;")
        elif ord(ch) > 0x7F:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class Event:
    """One switch event: Event-Name, optional CUSTOM subclass, ordered headers, body.

    Headers are ``(name, value)`` pairs in the order FreeSWITCH adds them; empty values
    are never stored (switch_event_add_header drops them). ``Event-Sequence`` and the
    date headers are filled in by the switch core when the event is created.
    """

    __slots__ = ("_renders", "body", "headers", "name", "subclass")

    def __init__(
        self,
        name: str,
        headers: Iterable[tuple[str, str]] = (),
        *,
        subclass: str | None = None,
        body: str | None = None,
    ) -> None:
        self.name = name
        self.subclass = subclass
        self.headers: list[tuple[str, str]] = list(headers)
        self.body = body
        self._renders: dict[Format, bytes] = {}

    def add(self, name: str, value: str | None) -> None:
        """Append a header; ``None`` and ``""`` are ignored, as FreeSWITCH does."""
        if value:
            self.headers.append((name, value))

    def add_all(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        for name, value in pairs:
            if value:
                self.headers.append((name, value))

    def get(self, name: str) -> str | None:
        """The first header with this name (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def names(self) -> list[str]:
        return [key for key, _ in self.headers]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self.headers)} headers)"

    # -- wire renderings (mod_event_socket.c read_packet + switch_event.c) ---------------

    def render(self, fmt: Format) -> bytes:
        """The complete ``text/event-<fmt>`` message: outer headers, then the body."""
        cached = self._renders.get(fmt)
        if cached is None:
            if fmt is Format.PLAIN:
                payload = self.plain_body()
            elif fmt is Format.JSON:
                payload = self.json_body()
            else:
                payload = self.xml_body()
            # Events put Content-Length before Content-Type (mod_event_socket.c).
            cached = (
                f"Content-Length: {len(payload)}\nContent-Type: text/event-{fmt.value}\n\n".encode()
                + payload
            )
            self._renders[fmt] = cached
        return cached

    def plain_body(self) -> bytes:
        """switch_event_serialize(encode=TRUE): ``Name: urlencoded`` lines, blank line."""
        lines = [f"{key}: {url_encode(value)}\n" for key, value in self.headers]
        body = self.body
        if body:
            raw = body.encode("utf-8", "surrogateescape")
            return ("".join(lines) + f"Content-Length: {len(raw)}\n\n").encode() + raw
        return ("".join(lines) + "\n").encode()

    def json_body(self) -> bytes:
        """switch_event_serialize_json: one object, repeated names kept, no newline."""
        parts = [f"{_json_string(key)}:{_json_string(value)}" for key, value in self.headers]
        if self.body is not None:
            blen = len(self.body.encode("utf-8", "surrogateescape"))
            parts.append(f'"Content-Length":"{blen}"')
            parts.append(f'"_body":{_json_string(self.body)}')
        return ("{" + ",".join(parts) + "}").encode("utf-8", "surrogateescape")

    def xml_body(self) -> bytes:
        """switch_event_xmlize + switch_xml_toxml: values still URL-encoded inside."""
        out = ["<event>\n  <headers>\n"]
        for key, value in self.headers:
            out.append(f"    <{key}>{url_encode(value)}</{key}>\n")
        out.append("  </headers>\n")
        if self.body:
            blen = len(self.body.encode("utf-8", "surrogateescape"))
            text = xml_text(self.body)
            # switch_xml_toxml indents the closing tag only when the text ends in '\n'.
            close = "  </body>\n" if text.endswith("\n") else "</body>\n"
            out.append(f"  <Content-Length>{blen}</Content-Length>\n  <body>{text}{close}")
        out.append("</event>\n")
        return "".join(out).encode("utf-8", "surrogateescape")
