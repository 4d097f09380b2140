"""Every byte FreeSWITCH 1.10.12 sent in the captures parses to the messages it framed.

The oracle is each capture's `summary.txt`, written by the capture tooling's own framer
(`scripts/summarize.py`): one line per message with its Content-Type, event name, a few
event headers, the raw Reply-Text or the start of the body.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.esl.codec import Parser
from runner.esl.event import Event
from runner.esl.messages import (
    ApiResponse,
    AuthRequest,
    CommandReply,
    DisconnectNotice,
    LogData,
    Message,
    RudeRejection,
)

CAPTURES = Path(__file__).parent.parent / "data" / "captures"
RECV_FILES = sorted(CAPTURES.glob("*.recv.bin"))

CONTENT_TYPES: dict[type, str] = {
    AuthRequest: "auth/request",
    CommandReply: "command/reply",
    ApiResponse: "api/response",
    LogData: "log/data",
    DisconnectNotice: "text/disconnect-notice",
    RudeRejection: "text/rude-rejection",
}

_EVENT_FIELD = re.compile(
    r"(Unique-ID|Channel-Name|Application|Application-Data|Application-UUID|Job-UUID"
    r"|Event-Subclass)=(.*?)(?= (?:Unique-ID|Channel-Name|Application|Application-Data"
    r"|Application-UUID|Job-UUID|Event-Subclass)=|$)"
)


def summary(recv: Path) -> list[tuple[str, str, str]]:
    """(content type, event name, detail) for each line of the capture's summary."""
    text = recv.with_name(recv.name.replace(".recv.bin", ".summary.txt")).read_text()
    lines = text.splitlines()
    assert lines[0].startswith("== ")
    # summarize.py prints "  %-22s %-26s %s": fixed columns.
    return [(line[2:24].strip(), line[25:51].strip(), line[52:]) for line in lines[1:]]


def parse_all(data: bytes, chunks: list[bytes] | None = None) -> list[Message]:
    parser = Parser()
    out: list[Message] = []
    for chunk in chunks if chunks is not None else [data]:
        out.extend(parser.feed(chunk))
    parser.close()
    return out


def content_type(message: Message) -> str:
    if isinstance(message, Event):
        return f"text/event-{message.format}"
    return CONTENT_TYPES[type(message)]


@pytest.mark.parametrize("recv", RECV_FILES, ids=lambda p: p.name.removesuffix(".recv.bin"))
def test_capture_parses_to_its_summary(recv: Path) -> None:
    expected = summary(recv)
    messages = parse_all(recv.read_bytes())
    assert [content_type(m) for m in messages] == [e[0] for e in expected]
    for message, (_, event_name, detail) in zip(messages, expected, strict=True):
        if isinstance(message, Event):
            assert message.name == event_name
            # The summary prints the raw (URL-encoded) value of plain events' headers.
            for field, raw in _EVENT_FIELD.findall(detail):
                assert message[field] == unquote(raw), field
        elif isinstance(message, CommandReply):
            raw_text = ast.literal_eval(detail)
            # The outbound connect reply's Reply-Text is URL-encoded on the wire.
            assert message.reply_text == unquote(raw_text)
        elif detail:
            body = ast.literal_eval(detail)
            assert isinstance(message, ApiResponse | LogData | DisconnectNotice | RudeRejection)
            assert message.body.encode("utf-8", "surrogateescape").startswith(body)


@pytest.mark.parametrize("recv", RECV_FILES, ids=lambda p: p.name.removesuffix(".recv.bin"))
def test_capture_as_it_arrived_and_byte_by_byte(recv: Path) -> None:
    data = recv.read_bytes()
    whole = parse_all(data)
    chunk_log = recv.with_name(recv.name.replace(".recv.bin", ".chunks.jsonl"))
    arrived = []
    for line in chunk_log.read_text().splitlines():
        record = json.loads(line)
        if record.get("len"):
            arrived.append(data[record["offset"] : record["offset"] + record["len"]])
    assert b"".join(arrived) == data
    assert parse_all(data, arrived) == whole
    if len(data) < 30_000:
        assert parse_all(data, [data[i : i + 1] for i in range(len(data))]) == whole


STREAMS = {p.name: p.read_bytes() for p in RECV_FILES if p.stat().st_size < 60_000}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(STREAMS)),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=40),
)
def test_any_chunking_gives_the_same_messages(name: str, cuts: list[float]) -> None:
    data = STREAMS[name]
    points = sorted({int(c * len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert parse_all(data, chunks) == parse_all(data)


def test_trailing_partial_message_is_kept_for_the_next_feed() -> None:
    data = (CAPTURES / "a2_auth_api.recv.bin").read_bytes()
    parser = Parser()
    first = parser.feed(data + b"Content-Type: api/response\nContent-Length: 5\n\nab")
    assert len(first) == len(parse_all(data))
    assert parser.buffered == len(b"Content-Type: api/response\nContent-Length: 5\n\nab")
    assert parser.feed(b"cde") == [
        ApiResponse(headers={"Content-Type": "api/response", "Content-Length": "5"}, body="abcde")
    ]
    assert parser.buffered == 0
