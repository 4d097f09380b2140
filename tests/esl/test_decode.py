"""Exact decoded headers and bodies of real events, in all three wire formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.esl.codec import Parser
from runner.esl.decode import decode_json_event, decode_plain_event, decode_xml_event
from runner.esl.errors import EslProtocolError
from runner.esl.event import Event
from runner.esl.messages import CommandReply, DisconnectNotice, LogData

CAPTURES = Path(__file__).parent.parent / "data" / "captures"


def events(name: str) -> list[Event]:
    messages = Parser().feed((CAPTURES / name).read_bytes())
    return [m for m in messages if isinstance(m, Event)]


BACKGROUND_JOB_BODY = (
    "UP 0 years, 0 days, 0 hours, 0 minutes, 2 seconds, 736 milliseconds, 61 microseconds\n"
    "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
    "0 session(s) since startup\n"
    "0 session(s) - peak 0, last 5min 0 \n"
    "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
    "1000 session(s) max\n"
    "min idle cpu 0.00/98.07\n"
    "Current Stack Size/Max 240K/8192K\n"
)


def test_plain_background_job_headers_and_body() -> None:
    job = events("b_bgapi_plain.recv.bin")[0]
    assert dict(job.headers) == {
        "Event-Name": "BACKGROUND_JOB",
        "Core-UUID": "e6c3ba72-8da8-4108-b749-5337992dcaa6",
        "FreeSWITCH-Hostname": "vm",
        "FreeSWITCH-Switchname": "vm",
        "FreeSWITCH-IPv4": "192.0.2.2",
        "FreeSWITCH-IPv6": "fd00::2",
        "Event-Date-Local": "2026-11-27 04:53:57",
        "Event-Date-GMT": "Fri, 27 Nov 2026 04:53:57 GMT",
        "Event-Date-Timestamp": "1795755237741890",
        "Event-Calling-File": "mod_event_socket.c",
        "Event-Calling-Function": "api_exec",
        "Event-Calling-Line-Number": "1572",
        "Event-Sequence": "403",
        "Job-UUID": "4d435299-0aac-449d-b813-11c4d6e93bd9",
        "Job-Command": "status",
        "Content-Length": "336",
    }
    assert job.body == BACKGROUND_JOB_BODY
    assert (job.name, job.job_uuid, job.format) == (
        "BACKGROUND_JOB",
        "4d435299-0aac-449d-b813-11c4d6e93bd9",
        "plain",
    )


def test_bgapi_with_our_job_uuid_in_all_formats() -> None:
    # The second bgapi of each capture sent `Job-UUID: ...` and FreeSWITCH used it.
    for name, fmt in (
        ("b_bgapi_plain.recv.bin", "plain"),
        ("b_bgapi_json.recv.bin", "json"),
        ("b_bgapi_xml.recv.bin", "xml"),
    ):
        job = events(name)[1]
        assert job.format == fmt
        assert job.name == "BACKGROUND_JOB"
        assert job["Job-Command"] == "status"
        assert job["FreeSWITCH-IPv6"] == "fd00::2"
        assert job.body is not None
        assert job.body.startswith("UP 0 years, 0 days, 0 hours, 0 minutes, ")
        assert job.body.endswith("Current Stack Size/Max 240K/8192K\n")
        assert job.body.count("\n") == 8


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("f_sendevent.P.recv.bin", "plain"),
        ("f_sendevent.J.recv.bin", "json"),
        ("f_sendevent.X.recv.bin", "xml"),
    ],
)
def test_sendevent_values_and_body_decode_the_same_in_every_format(name: str, fmt: str) -> None:
    custom = events(name)
    assert [e.format for e in custom] == [fmt] * 4
    first, with_body, weird, bogus = custom
    assert (first.name, first.subclass, first["Foo"], first.body) == (
        "CUSTOM",
        "test::demo",
        "bar",
        None,
    )
    assert first["Command"] == "sendevent CUSTOM"
    # sendevent with content-length: our lowercase header and FreeSWITCH's own.
    assert with_body["content-length"] == "43"
    assert with_body["Content-Length"] == "43"
    assert with_body.body == "hello body\nline 2 with ume: é and % and &\n"
    assert len(with_body.body.encode()) == 43
    assert weird["Weird-Header"] == "a b%c:d/é"
    # An unknown event name becomes CUSTOM without a subclass.
    assert (bogus.name, bogus.subclass, bogus["Command"]) == (
        "CUSTOM",
        None,
        "sendevent BOGUS_EVENT_NAME",
    )


def test_repeated_headers_keep_the_first_value_and_all_values() -> None:
    for capture in ("c_events_all_plain.E.recv.bin", "c_events_all_json.E.recv.bin"):
        completes = [e for e in events(capture) if e.name == "CHANNEL_HANGUP_COMPLETE"]
        assert len(completes) == 2, capture
        for event in completes:
            assert event["Hangup-Cause"] == "NORMAL_CLEARING"
            assert event.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
            names = [n for n, _ in event.items_all()]
            assert names.count("Hangup-Cause") == 2
            assert len(names) == len(event) + 1
        codecs = [
            e for e in events(capture) if e.name == "CODEC" and "Channel-Write-Codec-Name" in e
        ]
        assert [c.get_all("Channel-Write-Codec-Name") for c in codecs] == [["L16", "L16"]] * 2


def test_json_and_plain_give_the_same_header_names_for_the_same_call() -> None:
    plain = {e.name: e for e in events("c_events_all_plain.E.recv.bin")}
    json_ = {e.name: e for e in events("c_events_all_json.E.recv.bin")}
    xml = {e.name: e for e in events("c_events_all_xml.E.recv.bin")}
    for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"):
        assert list(plain[name]) == list(json_[name]) == list(xml[name]), name


def test_outbound_connect_reply_is_decoded_channel_data() -> None:
    reply = Parser().feed((CAPTURES / "g1_outbound_async.O.recv.bin").read_bytes())[0]
    assert isinstance(reply, CommandReply)
    assert reply.reply_text == "+OK\n"
    assert reply.ok
    data = reply.channel_data()
    assert data.name == "CHANNEL_DATA"
    assert data.uuid == "24ac830d-29b5-44f6-a48d-6a00d0fff2d8"
    assert data["Socket-Mode"] == "async"
    assert data["Control"] == "full"
    assert data["Caller-Destination-Number"] == "9000"
    assert data["variable_current_application_data"] == "127.0.0.1:8084 async full"
    assert data["Event-Date-GMT"] == "Fri, 27 Nov 2026 04:56:28 GMT"
    assert len(data) == 104


def test_sync_socket_reports_static_mode() -> None:
    reply = Parser().feed((CAPTURES / "g2_outbound_sync.O.recv.bin").read_bytes())[0]
    assert isinstance(reply, CommandReply)
    assert reply.channel_data()["Socket-Mode"] == "static"


def test_linger_and_disconnect_notices() -> None:
    messages = Parser().feed((CAPTURES / "g4_outbound_async_linger_2s.O.recv.bin").read_bytes())
    notices = [m for m in messages if isinstance(m, DisconnectNotice)]
    assert [n.disposition for n in notices] == ["linger", "disconnect"]
    assert notices[0].linger_time == 2
    assert notices[1].headers["Controlled-Session-UUID"] == messages[0].headers["Unique-ID"]


def test_log_data_with_its_empty_user_data_header() -> None:
    messages = Parser().feed((CAPTURES / "d2_misc_commands.recv.bin").read_bytes())
    (line,) = [m for m in messages if isinstance(m, LogData)]
    assert line.headers["User-Data"] == ""
    assert line.headers["Log-File"] == "mod_commands.c"
    assert line.level == 6
    assert line.body.endswith("[INFO] mod_commands.c:7200 hello from esl capture\n")


def test_json_array_headers_become_freeswitch_arrays() -> None:
    event = decode_json_event(b'{"Event-Name":"CUSTOM","X":["a","b"],"_body":"hi"}')
    assert event["X"] == "ARRAY::a|:b"
    assert event.get_all("X") == ["a", "b"]
    assert event.body == "hi"
    assert "_body" not in event


def test_plain_array_header_is_split_by_get_all() -> None:
    event = decode_plain_event(b"Event-Name: CUSTOM\nX: ARRAY%3A%3Aa%7C%3Ab\n\n")
    assert event["X"] == "ARRAY::a|:b"
    assert event.get_all("X") == ["a", "b"]
    assert event.get_all("Missing") == []


def test_an_encoded_newline_stays_inside_its_value() -> None:
    event = decode_plain_event(b"Event-Name: CUSTOM\nCaller: evil%0AEvent-Name: HACK\n\n")
    assert dict(event.headers) == {"Event-Name": "CUSTOM", "Caller": "evil\nEvent-Name: HACK"}


def test_xml_body_is_cut_at_its_content_length() -> None:
    body = (
        b"<event>\n  <headers>\n    <Event-Name>CUSTOM</Event-Name>\n  </headers>\n"
        b"  <Content-Length>3</Content-Length>\n  <body>abc\n  </body>\n</event>"
    )
    event = decode_xml_event(body)
    assert (event.name, event.body) == ("CUSTOM", "abc")


@pytest.mark.parametrize(
    ("decoder", "body", "message"),
    [
        (decode_json_event, b"{nope", "event-json: body is not JSON"),
        (decode_json_event, b"[1, 2]", "event-json: body is not a JSON object"),
        (decode_json_event, b"[" * 100_000, "event-json: body is not JSON"),
        (decode_xml_event, b"<event><headers>", "event-xml: body is not XML"),
        (decode_xml_event, b"<other/>", "event-xml: no <event><headers> element"),
        (
            decode_plain_event,
            b"Event-Name: X\nContent-Length: 9\n\nabc",
            "event-plain: inner Content-Length '9' does not fit the 3 bytes after the headers",
        ),
        (
            decode_plain_event,
            b"Event-Name: X\nContent-Length: -1\n\nabc",
            "event-plain: inner Content-Length '-1' does not fit the 3 bytes after the headers",
        ),
    ],
)
def test_malformed_event_bodies_are_protocol_errors(decoder, body, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EslProtocolError) as info:
        decoder(body)
    assert str(info.value).startswith(message)
