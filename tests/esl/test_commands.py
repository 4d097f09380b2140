"""Every serializer's exact bytes, checked against what the captures sent where they can be."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.esl import commands as c
from runner.esl.errors import EslUsageError, UnsafeValueError

CAPTURES = Path(__file__).parent.parent / "data" / "captures"


def sent(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (c.auth("ClueCon"), b"auth ClueCon\n\n"),
        (c.userauth("1000", "example.com", "s3cret"), b"userauth 1000@example.com:s3cret\n\n"),
        (c.connect(), b"connect\n\n"),
        (c.exit(), b"exit\n\n"),
        (c.resume(), b"resume\n\n"),
        (c.linger(), b"linger\n\n"),
        (c.linger(2), b"linger 2\n\n"),
        (c.nolinger(), b"nolinger\n\n"),
        (c.getvar("foo"), b"getvar foo\n\n"),
        (c.api("status"), b"api status\n\n"),
        (c.api("show channels as json"), b"api show channels as json\n\n"),
        (c.bgapi("status"), b"bgapi status\n\n"),
        (
            c.bgapi("status", "7dd8190e-5ba9-47b3-8e88-bb7ba866466b"),
            b"bgapi status\nJob-UUID: 7dd8190e-5ba9-47b3-8e88-bb7ba866466b\n\n",
        ),
        (c.event(["BACKGROUND_JOB"]), b"event plain BACKGROUND_JOB\n\n"),
        (c.event(["ALL"], "json"), b"event json ALL\n\n"),
        (
            c.event(["CHANNEL_ANSWER", "CUSTOM", "sofia::register"], "xml"),
            b"event xml CHANNEL_ANSWER CUSTOM sofia::register\n\n",
        ),
        (c.nixevent(["CHANNEL_CREATE"]), b"nixevent CHANNEL_CREATE\n\n"),
        (c.noevents(), b"noevents\n\n"),
        (c.myevents(), b"myevents\n\n"),
        (c.myevents("u1"), b"myevents u1\n\n"),
        (c.myevents("u1", "json"), b"myevents u1 json\n\n"),
        (c.myevents(format="json"), b"myevents json\n\n"),
        (c.divert_events(True), b"divert_events on\n\n"),
        (c.divert_events(False), b"divert_events off\n\n"),
        (c.filter("Event-Name", "CHANNEL_EXECUTE"), b"filter Event-Name CHANNEL_EXECUTE\n\n"),
        (c.filter("Caller-Caller-ID-Name", "Ann Lee"), b"filter Caller-Caller-ID-Name Ann Lee\n\n"),
        (c.filter_delete("Unique-ID"), b"filter delete Unique-ID\n\n"),
        (
            c.filter_delete("Event-Name", "CHANNEL_EXECUTE"),
            b"filter delete Event-Name CHANNEL_EXECUTE\n\n",
        ),
        (c.filter_delete("all"), b"filter delete all\n\n"),
        (c.log(7), b"log 7\n\n"),
        (c.log("DEBUG"), b"log DEBUG\n\n"),
        (c.nolog(), b"nolog\n\n"),
        (
            c.execute("playback", "moh.wav", loops=-1, hold_bleg=True, uuid="u1"),
            b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\nloops: -1\n"
            b"hold-bleg: true\ncontent-type: text/plain\ncontent-length: 7\n\nmoh.wav",
        ),
        (
            c.hangup(uuid="u1"),
            b"sendmsg u1\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n",
        ),
        (c.hangup("USER_BUSY"), b"sendmsg\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"),
        (
            c.unicast(
                uuid="u1",
                local_ip="127.0.0.1",
                local_port=8025,
                remote_ip="10.0.0.2",
                remote_port=8026,
                transport="udp",
                flags="native",
            ),
            b"sendmsg u1\ncall-command: unicast\nlocal-ip: 127.0.0.1\nlocal-port: 8025\n"
            b"remote-ip: 10.0.0.2\nremote-port: 8026\ntransport: udp\nflags: native\n\n",
        ),
        (c.unicast(), b"sendmsg\ncall-command: unicast\n\n"),
        (c.nomedia("u2", uuid="u1"), b"sendmsg u1\ncall-command: nomedia\nnomedia-uuid: u2\n\n"),
        (
            c.xferext([("answer", None), ("playback", "ivr/welcome.wav")], uuid="u1"),
            b"sendmsg u1\ncall-command: xferext\napplication: answer\n"
            b"application: playback ivr/welcome.wav\n\n",
        ),
        (c.execute("answer"), b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n"),
        (
            c.execute("playback", "a.wav", uuid="u1", event_uuid="e1"),
            b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\nEvent-UUID: e1\n"
            b"content-type: text/plain\ncontent-length: 5\n\na.wav",
        ),
        (
            c.execute("log", "INFO two\nlines", loops=3, event_lock=True),
            b"sendmsg\ncall-command: execute\nexecute-app-name: log\nloops: 3\nevent-lock: true\n"
            b"content-type: text/plain\ncontent-length: 14\n\nINFO two\nlines",
        ),
        (
            c.execute("playback", "é.wav", arg_in_body=False),
            "sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
            "execute-app-arg: é.wav\n\n".encode(),
        ),
        (
            c.sendevent("NOTIFY", {"profile": "x", "Foo": "bar"}),
            b"sendevent NOTIFY\nprofile: x\nFoo: bar\n\n",
        ),
        (
            c.sendmsg("u1", [("call-command", "execute"), ("execute-app-name", "park")]),
            b"sendmsg u1\ncall-command: execute\nexecute-app-name: park\n\n",
        ),
    ],
)
def test_exact_bytes(data: bytes, expected: bytes) -> None:
    assert data == expected


def test_execute_header_form_matches_the_capture() -> None:
    data = c.execute(
        "playback",
        "tone_stream://%(200,100,440);loops=2",
        uuid="cd6edf6c-208d-45e7-ad2b-cd4b103bba42",
        event_uuid="8c59a850-04a3-43b2-89c2-329a958a8e56",
        arg_in_body=False,
    )
    assert data in sent("e_sendmsg.sent.bin")
    loops = c.execute(
        "playback",
        "tone_stream://%(400,200,660);loops=1",
        uuid="cd6edf6c-208d-45e7-ad2b-cd4b103bba42",
        loops=2,
        event_uuid="235ca952-f125-492e-adb8-50d4df06dd7c",
        arg_in_body=False,
    )
    assert loops in sent("e_sendmsg.sent.bin")


def test_execute_body_form_matches_the_capture() -> None:
    data = c.execute(
        "playback",
        "tone_stream://%(100,50,880);loops=1",
        uuid="cd6edf6c-208d-45e7-ad2b-cd4b103bba42",
        event_uuid="1f7d90f5-744a-415c-b2ab-cb128b7b3134",
    )
    assert data in sent("e_sendmsg.sent.bin")


def test_outbound_sendmsg_matches_the_capture() -> None:
    data = c.execute("answer", event_uuid="7adbac9d-e062-4839-a97c-94ed9a4570b3")
    assert data in sent("g1_outbound_async.O.sent.bin")


def test_sendevent_with_body_matches_the_capture() -> None:
    data = c.sendevent(
        "CUSTOM",
        {"Foo": "with body"},
        "hello body\nline 2 with ume: é and % and &\n",
        subclass="test::demo",
    )
    assert data in sent("f_sendevent.S.sent.bin")
    assert c.sendevent("CUSTOM", {"Foo": "bar"}, subclass="test::demo") in sent(
        "f_sendevent.S.sent.bin"
    )


def test_bgapi_with_job_uuid_matches_the_capture() -> None:
    data = c.bgapi("status", "7dd8190e-5ba9-47b3-8e88-bb7ba866466b")
    assert data in sent("b_bgapi_plain.sent.bin")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: c.api("status\napi hupall"),
            "api command contains a line break (CR or LF); it cannot be sent to FreeSWITCH: "
            "'status\\napi hupall'",
        ),
        (
            lambda: c.bgapi("originate x\r"),
            "bgapi command contains a line break (CR or LF); it cannot be sent to FreeSWITCH: "
            "'originate x\\r'",
        ),
        (
            lambda: c.execute("playback", "x", event_uuid="e\n"),
            "Event-UUID contains a line break (CR or LF); it cannot be sent to FreeSWITCH: 'e\\n'",
        ),
        (
            lambda: c.execute("playback", "a\nb", arg_in_body=False),
            "execute-app-arg contains a line break (CR or LF); it cannot be sent to FreeSWITCH: "
            "'a\\nb'",
        ),
        (
            lambda: c.sendevent("CUSTOM", {"Caller": "Eve\nEvent-Name: X"}, subclass="a::b"),
            "sendevent header 'Caller' contains a line break (CR or LF); it cannot be sent to "
            "FreeSWITCH: 'Eve\\nEvent-Name: X'",
        ),
        (
            lambda: c.sendevent("CUSTOM", {"Bad: name": "x"}),
            "sendevent header name must be a non-empty name without ':'; it cannot be sent to "
            "FreeSWITCH: 'Bad: name'",
        ),
        (
            lambda: c.sendmsg("u1", {"call-command": "execute", "x": "1\r\n"}),
            "sendmsg header 'x' contains a line break (CR or LF); it cannot be sent to FreeSWITCH: "
            "'1\\r\\n'",
        ),
        (
            lambda: c.filter("Unique-ID", "u\n"),
            "filter value contains a line break (CR or LF); it cannot be sent to "
            "FreeSWITCH: 'u\\n'",
        ),
        (
            lambda: c.hangup("NORMAL CLEARING"),
            "hangup-cause must be one word without spaces; it cannot be sent to FreeSWITCH: "
            "'NORMAL CLEARING'",
        ),
        (
            lambda: c.myevents("a b"),
            "uuid must be one word without spaces; it cannot be sent to FreeSWITCH: 'a b'",
        ),
        (
            # A password is named, never shown (issue 10 finding 9).
            lambda: c.auth("pw\nexit"),
            "password contains a line break (CR or LF); it cannot be sent to FreeSWITCH",
        ),
        (
            lambda: c.userauth("1000", "example.com", "pw\r\nexit"),
            "password contains a line break (CR or LF); it cannot be sent to FreeSWITCH",
        ),
        (
            lambda: c.api("echo a\udcffb\ud800"),
            "api command holds a lone surrogate that stands for no byte; it cannot be sent "
            "to FreeSWITCH: 'echo a\\udcffb\\ud800'",
        ),
        (
            lambda: c.execute("playback", "a\0b"),
            "body holds a NUL byte (FreeSWITCH would cut it there); it cannot be sent to "
            "FreeSWITCH: 'a\\x00b'",
        ),
        (
            lambda: c.sendevent("CUSTOM", {"X": "a\0b"}, subclass="a::b"),
            "sendevent header 'X' holds a NUL byte (FreeSWITCH would cut it there); it cannot "
            "be sent to FreeSWITCH: 'a\\x00b'",
        ),
    ],
)
def test_unsafe_values_never_reach_the_wire(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsafeValueError) as info:
        make()
    assert str(info.value) == message
    assert "exit" not in repr(info.value.args) + repr(info.value.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: c.api("  "), "api needs a command"),
        (lambda: c.event([]), "event needs at least one event name (or ALL)"),
        (lambda: c.event(["ALL"], "yaml"), "event format must be plain, json or xml, not 'yaml'"),
        (
            lambda: c.execute("playback", "x", loops=0),
            "loops must be at least 1 (or -1 for ever), not 0",
        ),
        (lambda: c.linger(-1), "linger seconds must be >= 0, not -1"),
        (lambda: c.xferext([]), "xferext needs at least one application"),
        (lambda: c.filter("Unique-ID", ""), "filter needs a value"),
    ],
)
def test_usage_errors(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EslUsageError) as info:
        make()
    assert str(info.value) == message


def test_multiline_argument_goes_in_the_body_untouched() -> None:
    arg = "line one\r\nline two\n" + "x" * 5000
    data = c.execute("log", arg, uuid="u1")
    head, body = data.split(b"\n\n", 1)
    assert body == arg.encode()
    assert head.endswith(b"content-length: %d" % len(arg.encode()))


# Surrogate escapes are the bytes the codec could not decode as UTF-8 (surrogateescape):
# every serializer sends them back as those very bytes (issue 10 finding 2).
RAW = "a\udcff\udcfeb"


@pytest.mark.parametrize(
    ("make", "wire"),
    [
        (lambda: c.api(f"echo {RAW}"), b"api echo a\xff\xfeb\n\n"),
        (lambda: c.bgapi(f"echo {RAW}"), b"bgapi echo a\xff\xfeb\n\n"),
        (
            lambda: c.bgapi(f"echo {RAW}", job_uuid="j-1"),
            b"bgapi echo a\xff\xfeb\nJob-UUID: j-1\n\n",
        ),
        (
            lambda: c.execute("playback", RAW, uuid="u-1"),
            b"sendmsg u-1\ncall-command: execute\nexecute-app-name: playback\n"
            b"content-type: text/plain\ncontent-length: 4\n\na\xff\xfeb",
        ),
        (
            lambda: c.execute("playback", RAW, uuid="u-1", arg_in_body=False),
            b"sendmsg u-1\ncall-command: execute\nexecute-app-name: playback\n"
            b"execute-app-arg: a\xff\xfeb\n\n",
        ),
        (
            lambda: c.sendevent("CUSTOM", {"X-Name": RAW}, RAW, subclass="a::b"),
            b"sendevent CUSTOM\nEvent-Subclass: a::b\nX-Name: a\xff\xfeb\n"
            b"content-type: text/plain\ncontent-length: 4\n\na\xff\xfeb",
        ),
        (
            lambda: c.xferext([("set", f"x={RAW}")], uuid="u-1"),
            b"sendmsg u-1\ncall-command: xferext\napplication: set x=a\xff\xfeb\n\n",
        ),
        (
            lambda: c.filter("Caller-Caller-ID-Name", RAW),
            b"filter Caller-Caller-ID-Name a\xff\xfeb\n\n",
        ),
        (lambda: c.auth(RAW), b"auth a\xff\xfeb\n\n"),
    ],
)
def test_surrogate_escapes_go_out_as_the_bytes_they_came_from(make, wire: bytes) -> None:  # type: ignore[no-untyped-def]
    assert make() == wire


def test_describe_masks_passwords() -> None:
    assert c.describe(c.auth("s3cret")) == "auth ********"
    assert c.describe(c.userauth("1000", "example.com", "s3cret")) == (
        "userauth 1000@example.com:********"
    )
    assert c.describe(c.api("status")) == "api status"
