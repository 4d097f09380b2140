"""Switch events as FreeSWITCH builds and serializes them (src/switch_event.c).

An event is an ordered list of headers (names may repeat, as in real CODEC events) plus an
optional body. It renders to the three wire formats mod_event_socket sends: plain
(URL-encoded values), json (raw values, body in ``_body``) and xml (URL-encoded values
inside elements). Renderings are cached: one event fanned out to many connections is
rendered once per format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import Enum
from itertools import chain
from json.encoder import encode_basestring
from typing import cast

from runner.freeswitch import EVENT_NAMES

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


# The characters switch_xml_ampencode's switch handles before any UTF-8 state (element
# text: quote, LF and tab stay as they are).
_XML_SPECIAL = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("\r"): "&#xD;",
    ord('"'): '"',
    ord("\n"): "\n",
    ord("\t"): "\t",
}
# The payload bits of a UTF-8 lead byte, by sequence length.
_LEAD_MASK = {2: 0x1F, 3: 0x0F, 4: 0x07}


def xml_text(value: str) -> str:
    """Escape element text as switch_xml_ampencode does, byte by byte (switch_xml.c).

    UTF-8 sequences become ``&#xE9;``. Bytes that do not form one are dropped: a byte
    that cannot start a sequence, and a byte that breaks one (the partial sequence goes
    with it). The real 1.10.12 turns the body ``a\\xff\\xfe\\xc3\\xa9b`` into
    ``a&#xE9;b`` (0xff starts a 4-byte sequence that 0xfe breaks). The special characters
    are escaped first, even inside a sequence, as the C switch does.
    """
    out: list[str] = []
    expecting = 0
    code = 0
    for byte in value.encode("utf-8", "surrogateescape"):
        special = _XML_SPECIAL.get(byte)
        if special is not None:
            out.append(special)
        elif byte < 0x80 and not expecting:
            out.append(chr(byte))
        elif not expecting:
            size = 1
            while size < 4 and byte >> (7 - size) & 1:
                size += 1
            code = byte & _LEAD_MASK.get(size, 0)
            expecting = size - 1  # 0 for a continuation byte: skipped
        elif byte >> 6 == 0b10:
            code = code << 6 | (byte & 0x3F)
            expecting -= 1
            if not expecting:
                out.append(f"&#x{code:X};")
        else:
            expecting = 0  # the byte that broke the sequence is dropped with it
    return "".join(out)


# The C string encoder json.dumps(ensure_ascii=False) itself uses: non-ASCII stays raw
# UTF-8, as cJSON prints it (switch_event_serialize_json), only '"', '\\' and control
# characters are escaped. Called directly it skips json.dumps' per-call encoder setup.
_json_string = encode_basestring


def _plain_lines(headers: Iterable[tuple[str, str]]) -> str:
    return "".join([f"{key}: {url_encode(value)}\n" for key, value in headers])


def _json_members(headers: Iterable[tuple[str, str]]) -> list[str]:
    enc = _json_string
    return [f"{enc(key)}:{enc(value)}" for key, value in headers]


def _xml_lines(headers: Iterable[tuple[str, str]]) -> str:
    return "".join([f"    <{key}>{url_encode(value)}</{key}>\n" for key, value in headers])


class HeaderBlock:
    """A run of headers many events carry unchanged (a channel's caller profile, its
    variables), rendered once per format however many events include it.

    Immutable: whoever owns one builds a new block when the values change. Pass pairs
    already filtered (no empty values), as Event.add_block adds them as they are.
    """

    __slots__ = ("_json", "_plain", "_xml", "items")

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.items: tuple[tuple[str, str], ...] = tuple(items)
        self._plain: str | None = None
        self._json: str | None = None
        self._xml: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"HeaderBlock({len(self.items)} headers)"

    def plain(self) -> str:
        if self._plain is None:
            self._plain = _plain_lines(self.items)
        return self._plain

    def json(self) -> str:
        """The members, comma-separated, without braces."""
        if self._json is None:
            self._json = ",".join(_json_members(self.items))
        return self._json

    def xml(self) -> str:
        if self._xml is None:
            self._xml = _xml_lines(self.items)
        return self._xml


# (name, subclass, body, header name, value, name, value, ...): see Event.record.
EventRecord = tuple[str | None, ...]


class Event:
    """One switch event: Event-Name, optional CUSTOM subclass, ordered headers, body.

    Headers are ``(name, value)`` pairs in the order FreeSWITCH adds them; empty values
    are never stored (switch_event_add_header drops them). ``Event-Sequence`` and the
    date headers are filled in by the switch core when the event is created.
    """

    __slots__ = ("_block_starts", "_blocks", "_renders", "body", "headers", "name", "subclass")

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
        # Renderings by format value (str keys keep the dict out of the cycle collector).
        self._renders: dict[str, bytes] = {}
        # The blocks add_block added, and the index in headers where each one starts.
        self._blocks: list[HeaderBlock] | None = None
        self._block_starts: list[int] | None = None

    def add(self, name: str, value: str | None) -> None:
        """Append a header; ``None`` and ``""`` are ignored, as FreeSWITCH does."""
        if value:
            self.headers.append((name, value))

    def add_all(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        append = self.headers.append
        for pair in pairs:
            if pair[1]:
                # The pair itself, not a copy: pairs many events share stay shared.
                append(pair)  # type: ignore[arg-type]  # its value is a non-empty str

    def add_block(self, block: HeaderBlock) -> None:
        """Append a block's headers; rendering reuses the block's cached text."""
        items = block.items
        if items:
            if self._blocks is None or self._block_starts is None:
                self._blocks, self._block_starts = [], []
            self._block_starts.append(len(self.headers))
            self._blocks.append(block)
            self.headers += items

    def get(self, name: str) -> str | None:
        """The first header with this name (case-insensitive), or None."""
        lname = name.lower()
        if not name.isascii():
            for key, value in self.headers:
                if key.lower() == lname:
                    return value
            return None
        size = len(name)
        for key, value in self.headers:
            # A name that lower-cases to this ASCII name has its length: comparing
            # lengths first skips lower-casing nearly every other name.
            if len(key) == size and key.lower() == lname:
                return value
        return None

    def names(self) -> list[str]:
        return [key for key, _ in self.headers]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self.headers)} headers)"

    # -- records: the simulator's history ------------------------------------------------

    def record(self) -> EventRecord:
        """The event as one flat tuple of strings.

        The simulator keeps the last 10,000 events; as Event objects (with lists and
        pairs) every cycle collection would scan them, ~40 ms for a full one. A flat
        tuple of strings is untracked by the first collection that sees it.
        """
        return (self.name, self.subclass, self.body, *chain.from_iterable(self.headers))

    @classmethod
    def from_record(cls, record: EventRecord) -> Event:
        name, subclass, body = record[0], record[1], record[2]
        assert name is not None
        flat = cast(tuple[str, ...], record[3:])
        return cls(name, zip(flat[::2], flat[1::2], strict=True), subclass=subclass, body=body)

    # -- wire renderings (mod_event_socket.c read_packet + switch_event.c) ---------------

    def render(self, fmt: Format) -> bytes:
        """The complete ``text/event-<fmt>`` message: outer headers, then the body."""
        key = fmt.value
        cached = self._renders.get(key)
        if cached is None:
            if fmt is Format.PLAIN:
                payload = self.plain_body()
            elif fmt is Format.JSON:
                payload = self.json_body()
            else:
                payload = self.xml_body()
            # Events put Content-Length before Content-Type (mod_event_socket.c).
            cached = (
                f"Content-Length: {len(payload)}\nContent-Type: text/event-{key}\n\n".encode()
                + payload
            )
            self._renders[key] = cached
        return cached

    def _runs(self) -> list[list[tuple[str, str]] | HeaderBlock]:
        """The headers as runs to render: plain lists, and blocks with cached text.

        ``headers`` is public and may have been edited since a block was added; a block
        counts only while its headers are still exactly where add_block put them.
        """
        headers = self.headers
        if self._blocks is None or self._block_starts is None:
            return [headers]
        runs: list[list[tuple[str, str]] | HeaderBlock] = []
        pos = 0
        for start, block in zip(self._block_starts, self._blocks, strict=True):
            items = block.items
            end = start + len(items)
            if start < pos or tuple(headers[start:end]) != items:
                continue
            if start > pos:
                runs.append(headers[pos:start])
            runs.append(block)
            pos = end
        if pos < len(headers):
            runs.append(headers[pos:])
        return runs

    def plain_body(self) -> bytes:
        """switch_event_serialize(encode=TRUE): ``Name: urlencoded`` lines, blank line."""
        text = "".join(
            [
                run.plain() if isinstance(run, HeaderBlock) else _plain_lines(run)
                for run in self._runs()
            ]
        )
        body = self.body
        if body:
            raw = body.encode("utf-8", "surrogateescape")
            return (text + f"Content-Length: {len(raw)}\n\n").encode() + raw
        return (text + "\n").encode()

    def json_body(self) -> bytes:
        """switch_event_serialize_json: one object, repeated names kept, no newline."""
        parts: list[str] = []
        for run in self._runs():
            if isinstance(run, HeaderBlock):
                parts.append(run.json())
            else:
                parts += _json_members(run)
        if self.body is not None:
            blen = len(self.body.encode("utf-8", "surrogateescape"))
            parts.append(f'"Content-Length":"{blen}"')
            parts.append(f'"_body":{_json_string(self.body)}')
        return ("{" + ",".join(parts) + "}").encode("utf-8", "surrogateescape")

    def xml_body(self) -> bytes:
        """switch_event_xmlize + switch_xml_toxml: values still URL-encoded inside."""
        out = ["<event>\n  <headers>\n"]
        for run in self._runs():
            out.append(run.xml() if isinstance(run, HeaderBlock) else _xml_lines(run))
        out.append("  </headers>\n")
        if self.body:
            blen = len(self.body.encode("utf-8", "surrogateescape"))
            text = xml_text(self.body)
            # switch_xml_toxml indents the closing tag only when the text ends in '\n'.
            close = "  </body>\n" if text.endswith("\n") else "</body>\n"
            out.append(f"  <Content-Length>{blen}</Content-Length>\n  <body>{text}{close}")
        out.append("</event>\n")
        return "".join(out).encode("utf-8", "surrogateescape")
