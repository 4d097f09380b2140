"""Event serialization (plain, json, xml), byte for byte against FreeSWITCH's output.

Each test takes an event FreeSWITCH sent, decodes it with an independent reader, builds
the simulator's `Event` from the decoded headers and body, and renders it again: the
bytes must be identical. The sendevent captures (f_sendevent) delivered the *same* event
to a plain, a json and an xml subscriber, so one decoded event is checked in all three.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from helpers.esl_frames import Msg, frame

from runner.sim.event import Event, Format, HeaderBlock, name_event, url_encode, xml_text

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"


def messages(name: str) -> list[Msg]:
    msgs, rest = frame((CAPTURES / f"{name}.recv.bin").read_bytes())
    assert not rest
    return msgs


def raw_message(msg: Msg) -> bytes:
    head = "".join(f"{k}: {v}\n" for k, v in msg.headers) + "\n"
    return head.encode() + msg.body


def decode_plain(msg: Msg) -> Event:
    """Headers (URL-decoded) and body of a text/event-plain message."""
    block, _, body = msg.body.partition(b"\n\n")
    headers = []
    for line in block.decode().split("\n"):
        name, _, value = line.partition(": ")
        headers.append((name, urllib.parse.unquote(value)))
    text = None
    if body:
        # The serializer appends Content-Length for a body; it is not an event header.
        assert headers[-1][0] == "Content-Length"
        headers.pop()
        text = body.decode()
    values = dict(headers)
    return Event(values["Event-Name"], headers, subclass=values.get("Event-Subclass"), body=text)


def decode_json(msg: Msg) -> Event:
    pairs = json.loads(msg.body, object_pairs_hook=lambda p: p)
    body = None
    if pairs and pairs[-1][0] == "_body":
        body = pairs.pop()[1]
        assert pairs.pop()[0] == "Content-Length"
    values = dict(pairs)
    return Event(values["Event-Name"], pairs, subclass=values.get("Event-Subclass"), body=body)


def events(name: str) -> list[Msg]:
    return [m for m in messages(name) if m.content_type.startswith("text/event-")]


def test_sendevent_events_render_identically_in_all_three_formats() -> None:
    plain, as_json, as_xml = (
        events("f_sendevent.P"),
        events("f_sendevent.J"),
        events("f_sendevent.X"),
    )
    assert len(plain) == len(as_json) == len(as_xml) == 4
    for p, j, x in zip(plain, as_json, as_xml, strict=True):
        event = decode_plain(p)
        assert event.render(Format.PLAIN) == raw_message(p)
        assert event.render(Format.JSON) == raw_message(j)
        assert event.render(Format.XML) == raw_message(x)


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_background_job_events_render_identically(fmt: str) -> None:
    for msg in events(f"b_bgapi_{fmt}"):
        event = decode_plain(msg) if fmt == "plain" else decode_json(msg)
        assert event.render(Format(fmt)) == raw_message(msg)


@pytest.mark.parametrize("scenario", ["c_events_all_plain.E", "e_sendmsg", "g1_outbound_async.O"])
def test_channel_events_render_identically(scenario: str) -> None:
    msgs = events(scenario)
    assert msgs
    for msg in msgs:
        assert decode_plain(msg).render(Format.PLAIN) == raw_message(msg)


def test_channel_events_render_identically_as_json() -> None:
    for msg in events("c_events_all_json.E"):
        # CODEC events repeat header names; the JSON keeps both, as cJSON does.
        assert decode_json(msg).render(Format.JSON) == raw_message(msg)


def test_rendering_is_cached_per_format() -> None:
    event = Event("HEARTBEAT", [("Event-Name", "HEARTBEAT")])
    assert event.render(Format.PLAIN) is event.render(Format.PLAIN)


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b%c:d/é", "a%20b%25c%3Ad/%C3%A9"),  # capture f_sendevent Weird-Header
        ("fd00::2", "fd00%3A%3A2"),
        ("tone_stream://%(200,100,440);loops=2", "tone_stream%3A//%25(200,100,440)%3Bloops%3D2"),
        ("%41 stays", "%41%20stays"),  # switch_url_encode leaves %XX (upper-case hex) alone
        ("%4a is encoded", "%254a%20is%20encoded"),
        ("ends with %4", "ends%20with%20%254"),
        ("+OK\n", "%2BOK%0A"),
        ('{"a"|<b>}', "%7B%22a%22%7C%3Cb%3E%7D"),
        ("plain-._~!$'()*,", "plain-._~!$'()*,"),
    ],
)
def test_url_encode_matches_freeswitch(raw: str, encoded: str) -> None:
    assert url_encode(raw) == encoded


def test_xml_text_escapes_like_switch_xml() -> None:
    assert xml_text('a & b < c > d "q" é\r\n') == 'a &amp; b &lt; c &gt; d "q" &#xE9;&#xD;\n'


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("ALL", "ALL"),
        ("all", "ALL"),
        ("channel_answer", "CHANNEL_ANSWER"),
        ("SWITCH_EVENT_DTMF", "DTMF"),
        ("NOT_AN_EVENT", None),
        ("", None),
    ],
)
def test_name_event(word: str, name: str | None) -> None:
    assert name_event(word) == name


def test_empty_values_are_never_stored() -> None:
    event = Event("API")
    event.add("API-Command", "status")
    event.add("API-Command-Argument", "")
    event.add("Other", None)
    assert event.headers == [("API-Command", "status")]


def _split_into_blocks(event: Event) -> Event:
    """The same event built the way channels build theirs: runs of headers as blocks."""
    headers = event.headers
    third = len(headers) // 3
    built = Event(event.name, headers[:third], subclass=event.subclass, body=event.body)
    built.add_block(HeaderBlock(headers[third : 2 * third]))
    built.add_block(HeaderBlock(headers[2 * third : 2 * third + 2]))
    built.add_all(headers[2 * third + 2 :])
    return built


@pytest.mark.parametrize("scenario", ["c_events_all_plain.E", "f_sendevent.P"])
def test_events_built_from_blocks_render_identically(scenario: str) -> None:
    for msg in events(scenario):
        event = decode_plain(msg)
        built = _split_into_blocks(event)
        assert built.headers == event.headers
        assert built.render(Format.PLAIN) == raw_message(msg)
        assert built.render(Format.JSON) == event.render(Format.JSON)
        assert built.render(Format.XML) == event.render(Format.XML)


def test_a_block_edited_out_of_place_is_rendered_header_by_header() -> None:
    block = HeaderBlock([("Caller-Caller-ID-Name", "Alice"), ("Caller-Context", "default")])
    assert block.plain() == "Caller-Caller-ID-Name: Alice\nCaller-Context: default\n"

    def with_block() -> Event:
        event = Event("CUSTOM", [("Event-Name", "CUSTOM")])
        event.add_block(block)
        return event

    # Headers inserted before the block move it; one replaced inside it changes it.
    moved = with_block()
    moved.headers = [("Event-Subclass", "x::y"), *moved.headers]
    assert moved.render(Format.PLAIN) == (
        b"Content-Length: 98\nContent-Type: text/event-plain\n\n"
        b"Event-Subclass: x%3A%3Ay\nEvent-Name: CUSTOM\n"
        b"Caller-Caller-ID-Name: Alice\nCaller-Context: default\n\n"
    )
    event = with_block()
    event.headers = [("Event-Subclass", "x::y")] + [
        (k, "Bob" if k == "Caller-Caller-ID-Name" else v) for k, v in event.headers
    ]
    assert b"Caller-Caller-ID-Name: Bob\n" in event.render(Format.PLAIN)
    assert event.render(Format.JSON).endswith(
        b'{"Event-Subclass":"x::y","Event-Name":"CUSTOM",'
        b'"Caller-Caller-ID-Name":"Bob","Caller-Context":"default"}'
    )


def test_an_event_record_gives_back_the_same_event() -> None:
    event = Event(
        "CUSTOM",
        [("Event-Subclass", "x::y"), ("Event-Name", "CUSTOM"), ("A", "1"), ("A", "2")],
        subclass="x::y",
        body="hello",
    )
    record = event.record()
    assert all(isinstance(item, str) for item in record)  # flat: nothing to scan
    again = Event.from_record(record)
    assert (again.name, again.subclass, again.body) == ("CUSTOM", "x::y", "hello")
    assert again.headers == event.headers
    for fmt in Format:
        assert again.render(fmt) == event.render(fmt)
    assert Event.from_record(Event("API").record()).headers == []


def test_json_strings_keep_non_ascii_as_utf8_and_escape_controls() -> None:
    # cJSON prints non-ASCII bytes as they are; only '"', '\\' and controls are escaped.
    event = Event("CUSTOM", [("Name", 'Zoë "Z" \\ \t\x01 ☎')])
    assert event.json_body() == '{"Name":"Zoë \\"Z\\" \\\\ \\t\\u0001 ☎"}'.encode()


def test_get_is_case_insensitive_like_switch_event_get_header() -> None:
    event = Event(
        "CUSTOM",
        [("Unique-ID", "u-1"), ("unique-id", "u-2"), ("\u212aey", "kelvin"), ("İd", "dotted")],
    )
    assert event.get("UNIQUE-ID") == "u-1"  # the first one wins
    assert event.get("key") == "kelvin"  # KELVIN SIGN lower-cases to 'k'
    assert event.get("i̇d") == "dotted"  # 'İ' lower-cases to two characters
    assert event.get("Unique-I") is None


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        # Seen on FreeSWITCH 1.10.12 (tests/realfs/test_raw_bytes.py): a sendevent body
        # in an xml event loses the bytes that are not UTF-8.
        (b"a\xff\xfe\xc3\xa9b", "a&#xE9;b"),
        (b"\xf0\x9f\x98\x80", "&#x1F600;"),
        (b"a\x80b", "ab"),  # a continuation byte cannot start a sequence
        (b"\xc3b", ""),  # 'b' breaks the sequence and is dropped with it
        (b"\xc3&\xa9", "&amp;&#xE9;"),  # specials are escaped even inside a sequence
        (b"\xe2\x82", ""),  # cut short at the end
        (b"\xc3\n\xa9", "\n&#xE9;"),  # so is a line feed
    ],
)
def test_xml_text_drops_what_is_not_utf8_like_switch_xml(raw: bytes, text: str) -> None:
    assert xml_text(raw.decode("utf-8", "surrogateescape")) == text
