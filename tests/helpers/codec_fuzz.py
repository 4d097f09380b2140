"""Fuzzing the ESL codec: frames cut from the captures, hostile mutations, a full read.

Shared by the property tests (tests/esl/test_codec_fuzz.py, with hypothesis driving the
`random.Random`) and the chaos benchmark (bench/chaos_codec.py). The promise checked:
any bytes in any chunking give messages or `EslProtocolError`, and every accessor of
every message then reads without raising (issue 10).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from runner.esl.codec import Parser
from runner.esl.errors import EslProtocolError
from runner.esl.event import Event
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

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"
_LENGTH = re.compile(rb"^Content-Length: *(\d+)\r?$", re.M)


def capture_frames(folder: Path = CAPTURES) -> list[bytes]:
    """Every distinct message FreeSWITCH sent in the captures, as its raw bytes."""
    seen: dict[bytes, None] = {}
    for recv in sorted(folder.glob("*.recv.bin")):
        data = recv.read_bytes()
        pos = 0
        while pos < len(data):
            if data[pos] == 10:
                pos += 1
                continue
            head_end = data.find(b"\n\n", pos)
            if head_end < 0:
                break
            found = _LENGTH.search(data[pos:head_end])
            end = head_end + 2 + (int(found.group(1)) if found else 0)
            seen[data[pos:end]] = None
            pos = end
    return list(seen)


# Values a hostile peer puts where a number, a URL-encoded value or JSON is expected.
HOSTILE_NUMBERS = [
    b"9" * 4301,
    b"1" * 5000,
    b"-1",
    b"\xc2\xb2",
    b"%C2%B2",
    b"\xd9\xa3",
    b"99999999999",
    b"",
    b" 7 ",
    b"0x1f",
    b"1e3",
    b"0" * 200 + b"5",
    b"+3",
    b"1_0",
]
HOSTILE_VALUES = [
    b"%",
    b"%4",
    b"%zz%",
    b"%ED%A0%80",
    b"%FF%FE",
    b"\xff\xfe\x80",
    b"\xed\xa0\x80",
    b"ARRAY::",
    b"ARRAY::|:|:",
    b"ARRAY::a|:%0A|:b",
    b"%0AEvent-Name: FORGED%0A%0A",
    b"%00",
    b"\x00",
    b"\\ud800",
]
HOSTILE_HEADERS = [b"Log-Level", b"Linger-Time", b"Content-Length", b"Reply-Text", b"Event-Name"]
HOSTILE_JSON = [
    b'"A":1,"A":[true,null],"A":{"x":{}},',
    b'"\\udfffK":"\\ud800","B":"\\uDC00x",',
    b'"_body":1,"_body":"two",',
    b'"Big":1' + b"0" * 400 + b",",
    b'"Inf":1e999,"NaN":NaN,',
    b'"Event-Name":"\xff\xfe",',
]
_CONTENT_TYPES = [
    b"text/event-plain",
    b"text/event-json",
    b"text/event-xml",
    b"command/reply",
    b"api/response",
    b"log/data",
    b"text/disconnect-notice",
    b"text/rude-rejection",
    b"auth/request",
    b"x/unknown",
]


def deep_json(rng: random.Random) -> bytes:
    """A json event frame with a value nested 30 to 5,000 levels deep."""
    depth = rng.choice([30, 32, 33, 100, 499, 500, 1000, 5000])
    if rng.random() < 0.5:
        value = b"[" * depth + b"]" * depth
    else:
        value = b'{"k":' * depth + b"1" + b"}" * depth
    key = rng.choice([b"X", b"_body"])
    body = b'{"Event-Name":"CUSTOM","' + key + b'":' + value + b"}"
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n%s" % (len(body), body)


def _flip_bits(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    return frame[: rng.randrange(len(frame) + 1)]


def _lines(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    lines = frame.split(b"\n")
    index = rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines.insert(index, lines[index])
    else:
        del lines[index]
    return b"\n".join(lines)


def _content_length(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    # The outer length, or the inner one of a plain event with a body.
    found = list(re.finditer(rb"(?i)(Content-Length: *)[^\n]*", frame))
    if not found:
        return frame
    match = rng.choice(found)
    value = rng.choice(HOSTILE_NUMBERS)
    return frame[: match.start()] + match.group(1) + value + frame[match.end() :]


def _insert_bytes(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    at = rng.randrange(len(frame) + 1)
    return frame[:at] + rng.randbytes(rng.randint(1, 16)) + frame[at:]


def _hostile_header(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    lines = frame.split(b"\n")
    name = rng.choice([*HOSTILE_HEADERS, b"Caller-Caller-ID-Name", b"variable_x"])
    value = rng.choice([*HOSTILE_VALUES, *HOSTILE_NUMBERS])
    lines.insert(rng.randrange(len(lines) + 1), name + b": " + value)
    return b"\n".join(lines)


def _hostile_json(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    at = frame.find(b"{")
    if at < 0:
        return frame
    return frame[: at + 1] + rng.choice(HOSTILE_JSON) + frame[at + 1 :]


def _splice(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    other = rng.choice(others)
    return frame[: rng.randrange(len(frame) + 1)] + other[rng.randrange(len(other) + 1) :]


def _content_type(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    return re.sub(
        rb"Content-Type: [^\n]*",
        b"Content-Type: " + rng.choice(_CONTENT_TYPES),
        frame,
        count=1,
    )


def _crlf(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    start = rng.randrange(len(frame) + 1)
    end = rng.randrange(start, len(frame) + 1)
    return frame[:start] + frame[start:end].replace(b"\n", b"\r\n") + frame[end:]


def _percent(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    return re.sub(
        rb"%[0-9A-Fa-f]{2}", lambda _: rng.choice([b"%", b"%G", b"%%", b"%F", b"%C3"]), frame
    )


def _deep_json(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    return deep_json(rng)


_ENCODINGS = [b"utf-8", b"x-bogus", b"rot13", b"utf-32", b"utf-7", b"big5", b"idna", b"latin-1"]


def _xml_prolog(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    # An XML declaration with an encoding Python may not know, or an entity DOCTYPE.
    at = frame.find(b"<")
    if at < 0:
        return frame
    if rng.random() < 0.7:
        prolog = b'<?xml version="1.0" encoding="%s"?>' % rng.choice(_ENCODINGS)
    else:
        prolog = b'<!DOCTYPE event [<!ENTITY a "%s">]>' % (b"x" * rng.randint(0, 50))
    return frame[:at] + prolog + frame[at:]


def _repeat_header(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    head_end = frame.find(b"\n\n")
    if head_end < 0:
        return frame
    lines = frame[:head_end].split(b"\n")
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
    return b"\n".join(lines) + frame[head_end:]


MUTATIONS: list[Callable[[random.Random, bytes, list[bytes]], bytes]] = [
    _flip_bits,
    _truncate,
    _lines,
    _content_length,
    _insert_bytes,
    _hostile_header,
    _hostile_json,
    _splice,
    _content_type,
    _crlf,
    _percent,
    _deep_json,
    _repeat_header,
    _xml_prolog,
]


def refit(frame: bytes) -> bytes:
    """`frame` with its outer Content-Length set to the bytes after its header block.

    Most mutations change the body's size; refitting lets half of them reach the
    decoders instead of stopping at the framing.
    """
    head_end = frame.find(b"\n\n")
    found = _LENGTH.search(frame[: max(head_end, 0)])
    if found is None:
        return frame
    length = str(len(frame) - head_end - 2).encode()
    return frame[: found.start(1)] + length + frame[found.end(1) :]


def mutate(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    """`frame` with none to three hostile mutations (one time in eight it stays intact)."""
    if rng.random() < 0.125:
        return frame
    for _ in range(rng.randint(1, 3)):
        frame = rng.choice(MUTATIONS)(rng, frame, others)
    return refit(frame) if rng.random() < 0.5 else frame


def split(rng: random.Random, data: bytes) -> Iterator[bytes]:
    """`data` in random chunks: whole, byte by byte, or cut at random points."""
    mode = rng.random()
    if mode < 0.3 or not data:
        yield data
        return
    if mode < 0.33 and len(data) <= 2048:
        for i in range(len(data)):
            yield data[i : i + 1]
        return
    pos = 0
    while pos < len(data):
        step = rng.randint(1, max(1, len(data) // rng.randint(1, 8)))
        yield data[pos : pos + step]
        pos += step


def _text(value: str) -> None:
    # Every string the codec yields must encode back to the bytes it came from.
    value.encode("utf-8", "surrogateescape")


_PROBES = [
    "Event-Name",
    "Unique-ID",
    "Content-Length",
    "Event-Subclass",
    "Job-UUID",
    "Core-UUID",
    "Caller-Caller-ID-Name",
    "variable_x",
    "Log-Level",
    "",
    "A:B",
    "\ud800",
]


class LazyMismatch(AssertionError):
    """A lazy header lookup disagreed with the full decode of the same event."""


def read_event(event: Event) -> None:
    """Read every accessor of an event; raise whatever reading raises."""
    lazy = {name: event.get(name) for name in _PROBES}
    present = {name: name in event for name in _PROBES}
    event.name, event.subclass, event.uuid, event.job_uuid  # noqa: B018
    headers = dict(event.headers)
    for name in _PROBES:
        if headers.get(name) != lazy[name] or (name in headers) != present[name]:
            raise LazyMismatch(f"{name!r}: lazy {lazy[name]!r}, full {headers.get(name)!r}")
    items = event.items_all()
    names = [name for name, _ in items]
    repeated = {n for n, count in Counter(names).items() if count > 1}
    special = repeated | {n for n, v in items if v.startswith("ARRAY::")}
    for name in special:
        for value in event.get_all(name):
            _text(value)
    for name, value in items:
        _text(name)
        _text(value)
    if event.body is not None:
        _text(event.body)
    event.to_dict()
    list(event)
    repr(event)
    if event != event:
        raise AssertionError("an event differs from itself")


def read_fully(message: Message) -> None:
    """Read every accessor of a message, as the engine or a user might."""
    if isinstance(message, Event):
        read_event(message)
        return
    for name, value in message.headers.items():
        _text(name)
        _text(value)
    if isinstance(message, CommandReply):
        message.ok, message.job_uuid  # noqa: B018
        _text(message.reply_text)
        read_event(message.channel_data())
    elif isinstance(message, ApiResponse):
        message.ok  # noqa: B018
        _text(message.body)
    elif isinstance(message, LogData):
        message.level  # noqa: B018
        _text(message.body)
    elif isinstance(message, DisconnectNotice):
        message.disposition, message.linger_time  # noqa: B018
        _text(message.body)
    elif isinstance(message, RudeRejection):
        _text(message.body)
    elif isinstance(message, UnknownMessage):
        bytes(message.body)
    else:
        assert isinstance(message, AuthRequest)


def parse_and_read(chunks: Iterator[bytes] | list[bytes], parser: Parser) -> int:
    """Feed `chunks`, read every message fully, close; the number of messages.

    Raises `EslProtocolError` (the promised outcome for bad bytes) or, if the codec
    breaks its promise, anything else.
    """
    count = 0
    for chunk in chunks:
        for message in parser.feed(chunk):
            read_fully(message)
            count += 1
    parser.close()
    return count


def outcome(chunks: Iterator[bytes] | list[bytes]) -> tuple[list[Message], str | None]:
    """The messages (each read in full) and the `EslProtocolError` text, if one ended it.

    Anything else the codec raises propagates: that is the bug these tests look for.
    """
    parser = Parser()
    out: list[Message] = []
    try:
        for chunk in chunks:
            for message in parser.feed(chunk):
                read_fully(message)
                out.append(message)
        parser.close()
    except EslProtocolError as exc:
        return out, str(exc)
    return out, None
