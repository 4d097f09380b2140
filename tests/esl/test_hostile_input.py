"""Hostile bytes from a peer: every one is a message or an `EslProtocolError`, nothing else.

One frame that raised anything else ended `eslflow run` with every connection
(issue 10, finding 1). Each case here raised ValueError, RecursionError or
AttributeError, or cost quadratic time, before the codec was hardened.
"""

from __future__ import annotations

import itertools
import json

import pytest

from runner.esl.codec import MAX_HEADER_SIZE, Parser
from runner.esl.decode import MAX_JSON_DEPTH, decode_json_event, decode_plain_event
from runner.esl.errors import EslProtocolError
from runner.esl.event import Event
from runner.esl.messages import ApiResponse, DisconnectNotice, LogData
from runner.esl.numbers import SATURATED, ascii_int


def event_frame(fmt: str, body: bytes) -> bytes:
    return b"Content-Length: %d\nContent-Type: text/event-%s\n\n%s" % (
        len(body),
        fmt.encode(),
        body,
    )


def protocol_error(data: bytes) -> str:
    with pytest.raises(EslProtocolError) as info:
        Parser().feed(data)
    return str(info.value)


DIGITS_4301 = b"1" * 4301
SHOWN_4301 = "1" * 37 + "..."


@pytest.mark.parametrize(
    "data",
    [
        # The three paths that read an outer Content-Length: api fast path, event fast
        # path, general path. int() refuses more than 4,300 digits with a ValueError.
        b"Content-Type: api/response\nContent-Length: " + DIGITS_4301 + b"\n\n",
        b"Content-Length: " + DIGITS_4301 + b"\nContent-Type: text/event-plain\n\n",
        b"Content-Type: log/data\nContent-Length: " + DIGITS_4301 + b"\n\n",
    ],
    ids=["api", "event", "general"],
)
def test_a_content_length_of_4301_digits_is_over_the_limit(data: bytes) -> None:
    assert protocol_error(data) == (
        f"Content-Length {SHOWN_4301} is over the limit of 16777216 bytes"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("²", "'²'"),
        ("٣", "'٣'"),  # int() would read this Arabic-Indic digit as 3
        ("1_0", "'1_0'"),
        ("+5", "'+5'"),
        ("x" * 500, repr("x" * 37 + "...")),
    ],
)
def test_a_content_length_that_is_not_ascii_digits_is_invalid(value: str, shown: str) -> None:
    for data in (
        b"Content-Type: api/response\nContent-Length: %s\n\n" % value.encode(),
        b"Content-Length: %s\nContent-Type: text/event-json\n\n" % value.encode(),
    ):
        assert protocol_error(data) == f"invalid Content-Length {shown}"


def test_a_content_length_with_leading_zeros_reads_as_atoi_does() -> None:
    # FreeSWITCH's own readers use atoi: leading zeros are only zeros.
    (response,) = Parser().feed(
        b"Content-Type: api/response\nContent-Length: " + b"0" * 5000 + b"3\n\nabc"
    )
    assert isinstance(response, ApiResponse)
    assert response.body == "abc"


@pytest.mark.parametrize("declared", [b"%C2%B2", b"\xc2\xb2", b"%D9%A3"])
def test_an_inner_plain_content_length_that_is_not_ascii_digits(declared: bytes) -> None:
    # isdigit() is true for '²' once URL-decoded; int() then failed with a ValueError.
    body = b"Event-Name: CUSTOM\nContent-Length: " + declared + b"\n\nabc"
    shown = repr(declared.decode() if b"%" not in declared else "²" if b"B2" in declared else "٣")
    assert protocol_error(event_frame("plain", body)) == (
        f"event-plain: inner Content-Length {shown} does not fit the 3 bytes after the headers"
    )


def test_an_inner_plain_content_length_of_4301_digits() -> None:
    body = b"Event-Name: CUSTOM\nContent-Length: " + DIGITS_4301 + b"\n\nabc"
    assert protocol_error(event_frame("plain", body)) == (
        f"event-plain: inner Content-Length {SHOWN_4301!r} does not fit the 3 bytes "
        "after the headers"
    )


@pytest.mark.parametrize("declared", ["²", "1" * 4301, "-2"])
def test_an_xml_content_length_that_is_not_a_length_leaves_the_body_whole(
    declared: str,
) -> None:
    body = (
        "<event><headers><Event-Name>CUSTOM</Event-Name></headers>"
        f"<Content-Length>{declared}</Content-Length><body>abc\n</body></event>"
    ).encode()
    (event,) = Parser().feed(event_frame("xml", body))
    assert isinstance(event, Event)
    assert event.items_all() == [("Event-Name", "CUSTOM"), ("Content-Length", declared)]
    assert event.body == "abc\n"


def nested(kind: str, depth: int) -> str:
    """A JSON value `depth` containers deep: [[...]] or {"k":{"k":...}}."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"k":' * (depth - 1) + '{"k":"v"}' + "}" * (depth - 1)


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("where", ["header", "body"])
def test_json_nested_500_deep_is_a_protocol_error(kind: str, where: str) -> None:
    # json.loads accepts it; re-serialising it as header text raised RecursionError.
    key = "X" if where == "header" else "_body"
    body = f'{{"Event-Name":"CUSTOM","{key}":{nested(kind, 500)}}}'.encode()
    assert protocol_error(event_frame("json", body)) == (
        f"event-json: a value nested more than {MAX_JSON_DEPTH} levels deep"
    )


@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_nested_to_the_limit_is_decoded(kind: str) -> None:
    ok = decode_json_event(f'{{"X":{nested(kind, MAX_JSON_DEPTH)}}}'.encode())
    expected = (
        "ARRAY::" * MAX_JSON_DEPTH
        if kind == "array"
        else json.dumps(json.loads(nested(kind, MAX_JSON_DEPTH)), ensure_ascii=False)
    )
    assert ok["X"] == expected
    with pytest.raises(EslProtocolError):
        decode_json_event(f'{{"X":{nested(kind, MAX_JSON_DEPTH + 1)}}}'.encode())


def test_json_nested_objects_keep_their_shape_as_json_text() -> None:
    # A nested object used to come out with its inner objects as arrays of pairs. An empty
    # object decodes as an empty array would (FreeSWITCH sends neither).
    event = decode_json_event(b'{"Event-Name":"CUSTOM","X":{"a":{"b":"c"},"e":{}},"Y":{}}')
    assert event["X"] == '{"a": {"b": "c"}, "e": []}'
    assert event["Y"] == "ARRAY::"


def test_json_repeated_header_with_a_value_that_is_not_text() -> None:
    # The first value was text, so the others were left as numbers: get_all raised
    # AttributeError on 1.startswith.
    event = decode_json_event(b'{"Event-Name":"CUSTOM","A":"x","A":1,"A":[true,null]}')
    assert event["A"] == "x"
    assert event.get_all("A") == ["x", "1", "true", ""]
    assert event.items_all() == [
        ("Event-Name", "CUSTOM"),
        ("A", "x"),
        ("A", "1"),
        ("A", "ARRAY::true|:"),
    ]


def test_json_lone_surrogate_escapes_become_bytes_that_round_trip() -> None:
    # "\ud800" decodes to a lone surrogate no encoder can write; it becomes the
    # surrogate escapes of its UTF-8 bytes, as bytes that are not UTF-8 do.
    event = decode_json_event(
        b'{"Event-Name":"CUSTOM","A":"\\ud800z","\\udfffK":"\\ud83d\\ude00 \xff","_body":"\\uDC00"}'
    )
    assert event["A"] == "\udced\udca0\udc80z"
    assert event["A"].encode("utf-8", "surrogateescape") == b"\xed\xa0\x80z"
    assert event["\udced\udcbf\udcbfK"] == "😀 \udcff"
    assert event.body == "\udced\udcb0\udc80"
    for name, value in event.items():
        (name + value).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (b"7", 7),
        (b"\xc2\xb2", None),  # isdigit() is true, int() raised ValueError
        (b"", None),
        (b"-1", None),
        (DIGITS_4301, SATURATED),
    ],
)
def test_log_level_of_a_hostile_log_line(value: bytes, level: int | None) -> None:
    (line,) = Parser().feed(
        b"Content-Type: log/data\nContent-Length: 2\nLog-Level: " + value + b"\n\nhi"
    )
    assert isinstance(line, LogData)
    assert line.level == level


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(b"-1", -1), (b"2", 2), (b"\xc2\xb2", None), (b"\xd9\xa3", None), (b"--1", None)],
)
def test_linger_time_of_a_hostile_notice(value: bytes, seconds: int | None) -> None:
    (notice,) = Parser().feed(
        b"Content-Type: text/disconnect-notice\nContent-Disposition: linger\n"
        b"Linger-Time: " + value + b"\nContent-Length: 0\n\n"
    )
    assert isinstance(notice, DisconnectNotice)
    assert notice.linger_time == seconds


def test_ascii_int_reads_only_ascii_numbers() -> None:
    assert [ascii_int(v) for v in (" 42\r", b"007", "", "-3", "4 2", "²", b"\xb2")] == [
        42, 7, None, None, None, None, None,
    ]  # fmt: skip
    assert ascii_int("-3", signed=True) == -3
    assert ascii_int("9" * 19) == SATURATED
    assert ascii_int("0" * 30 + "9" * 18) == 10**18 - 1


@pytest.mark.parametrize("name", ["\ud800", "A:B", "A\nB", "A: 1\nB", "é\udcff"])
def test_a_lazy_lookup_of_any_name_answers_as_the_full_decode(name: str) -> None:
    # A lone surrogate raised UnicodeEncodeError; a name with ':' or LF matched a line
    # whose name is something else.
    head = b"A: 1\nA:B: 2\nA\nB: 3\n\xc3\xa9\xff: 4"
    full = Event.from_plain_head(head, None)
    assert dict(full.headers) == {"A": "1", "B": "3", "é\udcff": "4"}
    lazy = Event.from_plain_head(head, None)
    assert lazy.get(name) == full.get(name) == ("4" if name == "é\udcff" else None)
    assert (name in lazy) == (name in full)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"%", "%"),
        (b"%4", "%4"),
        (b"%zz%41", "%zzA"),
        (b"%%41", "%A"),
        (b"100%", "100%"),
        (b"%FF%fe\xff", "\udcff\udcfe\udcff"),
        (b"%C3%A9%C3", "é\udcc3"),
    ],
)
def test_bad_url_escapes_and_bytes_that_are_not_utf8_round_trip(raw: bytes, decoded: str) -> None:
    # A '%' without two hex digits stays as written (switch_url_decode does the same);
    # bytes that are not UTF-8 come back as surrogate escapes, and encode back exactly.
    event = decode_plain_event(b"Event-Name: CUSTOM\nV: " + raw + b"\n\n")
    assert event["V"] == decoded
    assert dict(event.headers)["V"] == decoded
    unescaped = raw.replace(b"%41", b"A").replace(b"%FF", b"\xff").replace(b"%fe", b"\xfe")
    unescaped = unescaped.replace(b"%C3%A9", "é".encode()).replace(b"%C3", b"\xc3")
    assert event["V"].encode("utf-8", "surrogateescape") == unescaped


def test_an_unterminated_header_block_fed_byte_by_byte_costs_linear_time() -> None:
    # Each feed() searched the whole pending block again for its blank line: 65 KB fed
    # one byte at a time cost 1.85 s of CPU. Count the bytes searched instead of timing.
    def scanned(size: int) -> int:
        parser = Parser()
        for _ in range(size):
            assert parser.feed(b"a") == []
        assert parser.buffered == size
        return parser.bytes_scanned

    small, large = scanned(16 * 1024), scanned(64 * 1024)
    assert large <= 2 * 64 * 1024
    assert large < 4.1 * small


def test_the_header_bound_holds_one_byte_at_a_time() -> None:
    parser = Parser()
    parser.feed(b"X")
    for _ in range(MAX_HEADER_SIZE - 1):
        assert parser.feed(b"a") == []
    assert parser.buffered == MAX_HEADER_SIZE
    with pytest.raises(EslProtocolError) as info:
        parser.feed(b"a")
    assert str(info.value) == "header block over 65536 bytes without an end"


def test_a_header_block_ended_across_feeds_is_framed_whole() -> None:
    # The blank line split over two feeds, then over three.
    frame = b"Content-Type: api/response\nContent-Length: 2\n\nok"
    for cuts in ((45, 46), (44, 45, 46), (10, 46)):
        parser = Parser()
        out = []
        points = (0, *cuts, len(frame))
        for a, b in itertools.pairwise(points):
            out += parser.feed(frame[a:b])
        assert out == [
            ApiResponse(headers={"Content-Type": "api/response", "Content-Length": "2"}, body="ok")
        ]
        assert parser.buffered == 0


@pytest.mark.parametrize("declared", ["x-bogus", "rot13", "utf-32", "utf-7", "big5", "idna"])
def test_an_xml_event_is_read_as_utf8_whatever_encoding_it_declares(declared: str) -> None:
    # expat asked Python for the declared codec: LookupError, ValueError or UnicodeError.
    body = (
        f'<?xml version="1.0" encoding="{declared}"?><event><headers>'
        "<Event-Name>CUSTOM</Event-Name><X>%C3%A9é</X></headers><body>&#xE9;中</body></event>"
    ).encode()
    (event,) = Parser().feed(event_frame("xml", body))
    assert isinstance(event, Event)
    assert event.items_all() == [("Event-Name", "CUSTOM"), ("X", "éé")]
    assert event.body == "é中"


def test_an_xml_event_with_a_doctype_is_refused_at_once() -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    body = (f"<!DOCTYPE event [{entities}]><event><headers><A>&e9;</A></headers></event>").encode()
    assert protocol_error(event_frame("xml", body)) == (
        "event-xml: a DOCTYPE, which FreeSWITCH never sends"
    )


def test_a_flood_of_blank_lines_between_messages_is_skipped() -> None:
    # Skipped in one C call per run (a byte-by-byte loop cost 1 s per 16 MiB).
    reply = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    data = b"\n" * 100_000 + reply + b"\n" * 3 + reply + b"\n"
    expected = Parser().feed(reply) * 2
    assert len(expected) == 2
    assert Parser().feed(data) == expected
    parser = Parser()
    out = []
    for i in range(0, len(data), 7):
        out += parser.feed(data[i : i + 7])
    assert out == expected
    assert parser.buffered == 0
