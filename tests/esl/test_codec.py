"""Framing rules and bounds of the parser, and its promise on arbitrary input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.esl.codec import MAX_BODY_SIZE, Parser
from runner.esl.errors import EslProtocolError
from runner.esl.event import Event
from runner.esl.messages import ApiResponse, CommandReply, UnknownMessage


def test_reply_api_and_event_in_one_read() -> None:
    event = b"Event-Name: HEARTBEAT\nEvent-Info: System%20Ready\n\n"
    data = (
        b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: j1\nJob-UUID: j1\n\n"
        b"Content-Type: api/response\nContent-Length: 3\n\n+OK"
        b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(event), event)
    )
    first, second, third = Parser().feed(data)
    assert first == CommandReply(
        headers={
            "Content-Type": "command/reply",
            "Reply-Text": "+OK Job-UUID: j1",
            "Job-UUID": "j1",
        },
        reply_text="+OK Job-UUID: j1",
    )
    assert first.ok and first.job_uuid == "j1"
    assert second == ApiResponse(
        headers={"Content-Type": "api/response", "Content-Length": "3"}, body="+OK"
    )
    assert third == Event({"Event-Name": "HEARTBEAT", "Event-Info": "System Ready"})


def test_reply_text_is_taken_as_written() -> None:
    # Only the outbound connect reply is URL-encoded; a normal reply keeps its '%'.
    (reply,) = Parser().feed(
        b"Content-Type: command/reply\nReply-Text: +OK filter added. [X]=[a%20b]\n\n"
    )
    assert isinstance(reply, CommandReply)
    assert reply.reply_text == "+OK filter added. [X]=[a%20b]"


def test_event_with_other_header_order_uses_the_general_path() -> None:
    (event,) = Parser().feed(
        b'Content-Type: text/event-json\nContent-Length: 26\n\n{"Event-Name":"HEARTBEAT"}'
    )
    assert event == Event({"Event-Name": "HEARTBEAT"}, format="json")


def test_blank_lines_between_messages_are_skipped() -> None:
    messages = Parser().feed(
        b"\n\r\nContent-Type: command/reply\nReply-Text: +OK\n\n\n"
        b"Content-Type: command/reply\nReply-Text: -ERR no\n\n"
    )
    assert [m.reply_text for m in messages if isinstance(m, CommandReply)] == ["+OK", "-ERR no"]


def test_unknown_content_type_is_kept_whole() -> None:
    (message,) = Parser().feed(b"Content-Type: x/new\nContent-Length: 2\nA: b\n\nhi")
    assert message == UnknownMessage(
        headers={"Content-Type": "x/new", "Content-Length": "2", "A": "b"}, body=b"hi"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Content-Type: api/response\nContent-Length: -5\n\n", "invalid Content-Length '-5'"),
        (b"Content-Type: api/response\nContent-Length: 12x\n\n", "invalid Content-Length '12x'"),
        (b"Content-Type: api/response\nContent-Length: \n\n", "invalid Content-Length ''"),
        (
            b"Content-Length: 99999999999\nContent-Type: text/event-plain\n\n",
            "Content-Length 99999999999 is over the limit of 16777216 bytes",
        ),
        (
            b"Content-Type: api/response\nContent-Length: 16777217\n\n",
            "Content-Length 16777217 is over the limit of 16777216 bytes",
        ),
    ],
)
def test_bad_content_length_is_a_protocol_error(data: bytes, message: str) -> None:
    with pytest.raises(EslProtocolError) as info:
        Parser().feed(data)
    assert str(info.value) == message


def test_body_at_the_limit_is_accepted_and_joined_once() -> None:
    parser = Parser()
    head = b"Content-Type: api/response\nContent-Length: %d\n\n" % MAX_BODY_SIZE
    assert parser.feed(head) == []
    chunk = b"x" * 65536
    messages = []
    for _ in range(MAX_BODY_SIZE // len(chunk)):
        messages += parser.feed(chunk)
    assert len(messages) == 1
    assert isinstance(messages[0], ApiResponse)
    assert len(messages[0].body) == MAX_BODY_SIZE


def test_header_block_over_64k_is_a_protocol_error() -> None:
    parser = Parser()
    parser.feed(b"Content-Type: command/reply\n")
    with pytest.raises(EslProtocolError) as info:
        parser.feed(b"X-Long: " + b"a" * (64 * 1024) + b"\n")
    assert str(info.value) == "header block over 65536 bytes without an end"


def test_complete_header_block_over_64k_is_a_protocol_error() -> None:
    with pytest.raises(EslProtocolError) as info:
        Parser().feed(b"Content-Type: command/reply\nX: " + b"a" * 70_000 + b"\n\n")
    assert str(info.value) == "header block over 65536 bytes"


def test_end_of_stream_inside_a_message() -> None:
    parser = Parser()
    parser.feed(b"Content-Type: api/response\nContent-Length: 10\n\nabc")
    with pytest.raises(EslProtocolError) as info:
        parser.close()
    assert str(info.value) == ("connection closed in the middle of a message (50 bytes pending)")


def test_end_of_stream_between_messages_is_clean() -> None:
    parser = Parser()
    parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n\n")
    parser.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_bytes_parse_or_raise_a_protocol_error(chunks: list[bytes]) -> None:
    parser = Parser(max_header_size=512, max_body_size=512)
    try:
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
    except EslProtocolError:
        pass


FRAMES = st.sampled_from(
    [
        b"Content-Type: command/reply\nReply-Text: +OK\n\n",
        b"Content-Type: api/response\nContent-Length: 4\n\n-ERR",
        b"Content-Length: 24\nContent-Type: text/event-plain\n\nEvent-Name: X\nA: %41\n\n",
        b'Content-Length: 17\nContent-Type: text/event-json\n\n{"Event-Name":1}',
        b"Content-Length: ",
        b"\n\n",
        b"Content-Type: text/event-xml\nContent-Length: 5\n\n<a/>\n",
        b"Content-Length: 3\nContent-Type: text/event-plain\n\n%\x00:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAMES, max_size=10), st.lists(st.integers(0, 400), max_size=6))
def test_framelike_garbage_parses_the_same_in_any_chunking(
    frames: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(frames)

    def run(chunks: list[bytes]) -> tuple[list[object], str | None]:
        parser = Parser()
        out: list[object] = []
        try:
            for chunk in chunks:
                out.extend(parser.feed(chunk))
        except EslProtocolError as exc:
            return out, str(exc)
        return out, None

    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunked = run([data[a:b] for a, b in itertools.pairwise(points)])
    whole = run([data])
    assert chunked[1] == whole[1]
    if whole[1] is None:
        assert chunked[0] == whole[0]


def test_the_usual_frames_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    # Events, replies and api responses as FreeSWITCH shapes them must never need the
    # general header parser: it is several times slower (bench/esl_bench.py).
    import runner.esl.codec as codec

    def refuse(block: bytes) -> dict[str, str]:
        raise AssertionError(f"general path taken for {block!r}")

    monkeypatch.setattr(codec, "decode_outer_headers", refuse)
    plain = b"Event-Name: HEARTBEAT\n\n"
    json_ = b'{"Event-Name":"HEARTBEAT"}'
    xml = b"<event><headers><Event-Name>HEARTBEAT</Event-Name></headers></event>"
    data = b"".join(
        b"Content-Length: %d\nContent-Type: text/event-%s\n\n%s" % (len(body), fmt, body)
        for fmt, body in ((b"plain", plain), (b"json", json_), (b"xml", xml))
    )
    data += b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
    data += b"Content-Type: api/response\nContent-Length: 2\n\nvm"
    messages = Parser().feed(data)
    assert [type(m).__name__ for m in messages] == [
        "Event", "Event", "Event", "CommandReply", "ApiResponse",
    ]  # fmt: skip
    assert [m.format for m in messages[:3]] == ["plain", "json", "xml"]  # type: ignore[union-attr]
