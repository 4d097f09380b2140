"""The simulator's server-side framing and message encoders, against FreeSWITCH's bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.sim.wire import (
    ACL_REJECTION,
    Command,
    CommandReader,
    LogLine,
    WireError,
    c_atoi,
    encode_api_response,
    encode_auth_request,
    encode_disconnect,
    encode_linger_notice,
    encode_log,
    encode_reply,
    encode_reply_headers,
    encode_rude_rejection,
)

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"

SENDMSG = (
    b"sendmsg cd6edf6c-208d-45e7-ad2b-cd4b103bba42\n"
    b"call-command: execute\n"
    b"execute-app-name: playback\n"
    b"Event-UUID: 1f7d90f5-744a-415c-b2ab-cb128b7b3134\n"
    b"content-type: text/plain\n"
    b"content-length: 35\n\n"
    b"tone_stream://%(100,50,880);loops=1"
)
SENDMSG_COMMAND = Command(
    "sendmsg cd6edf6c-208d-45e7-ad2b-cd4b103bba42",
    (
        ("call-command", "execute"),
        ("execute-app-name", "playback"),
        ("Event-UUID", "1f7d90f5-744a-415c-b2ab-cb128b7b3134"),
        ("content-type", "text/plain"),
        ("content-length", "35"),
    ),
    "tone_stream://%(100,50,880);loops=1",
)


def read_all(*chunks: bytes) -> tuple[list[Command], CommandReader]:
    reader = CommandReader()
    out = []
    for chunk in chunks:
        reader.feed(chunk)
        while (command := reader.next()) is not None:
            out.append(command)
    return out, reader


def test_command_with_headers_and_body_whole() -> None:
    commands, reader = read_all(SENDMSG)
    assert commands == [SENDMSG_COMMAND]
    assert reader.idle


def test_command_with_body_one_byte_at_a_time() -> None:
    commands, reader = read_all(*(SENDMSG[i : i + 1] for i in range(len(SENDMSG))))
    assert commands == [SENDMSG_COMMAND]
    assert reader.idle


def test_command_with_trailing_partial_command() -> None:
    commands, reader = read_all(SENDMSG + b"api sta")
    assert commands == [SENDMSG_COMMAND]
    assert not reader.idle  # FreeSWITCH holds back events while a command is half-read
    reader.feed(b"tus\n\n")
    assert reader.next() == Command("api status")
    assert reader.idle


def test_crlf_pipelining_split_and_leading_blank_lines_as_in_capture_h5() -> None:
    data = (CAPTURES / "h5_crlf_pipelining.sent.bin").read_bytes()
    commands, reader = read_all(data)
    assert [c.line for c in commands] == [
        "auth ClueCon",
        "api uptime",
        "api echo one",
        "api echo two",
        "bgapi echo three",
        "api echo four",
        "api echo five",
        "api echo six",
        "api echo seven",
    ]
    assert commands[-1].headers == (("X-Extra", "header"),)
    assert reader.idle


def test_a_command_split_before_its_blank_line_waits_for_it() -> None:
    reader = CommandReader()
    reader.feed(b"api echo five\n")
    assert reader.next() is None
    assert not reader.idle
    reader.feed(b"\n")
    assert reader.next() == Command("api echo five")


def test_header_values_lose_leading_spaces_only_and_odd_lines_are_ignored() -> None:
    commands, _ = read_all(b"sendevent CUSTOM\nFoo:   bar baz  \nno colon here\nBar:x\n\n")
    assert commands[0].headers == (("Foo", "bar baz  "), ("Bar", "x"))


def test_an_empty_value_deletes_the_header_as_switch_event_add_header_does() -> None:
    commands, _ = read_all(b"sendevent CUSTOM\nFoo: one\nfoo:\nBar: two\n\n")
    assert commands[0].headers == (("Bar", "two"),)


def test_header_lookup_is_case_insensitive_and_first_wins() -> None:
    command = Command("x", (("Job-UUID", "a"), ("job-uuid", "b")))
    assert command.header("JOB-UUID") == "a"
    assert command.header("missing") is None


def test_content_length_is_read_like_atoi() -> None:
    commands, _ = read_all(b"sendevent X\ncontent-length: 3abc\n\nxyzapi status\n\n")
    assert [c.body for c in commands] == ["xyz", None]
    assert commands[1].line == "api status"


def test_an_absurd_content_length_is_refused() -> None:
    reader = CommandReader()
    reader.feed(b"sendevent X\ncontent-length: 99999999999\n\n")
    with pytest.raises(WireError, match="content-length 99999999999 exceeds"):
        reader.next()


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("  7x", 7), ("-3", -3), ("+5", 5), ("abc", 0), ("", 0), ("٣", 0)],
)
def test_c_atoi(text: str, value: int) -> None:
    assert c_atoi(text) == value


# -- encoders, byte for byte against FreeSWITCH 1.10.12 ------------------------------------


def recv(name: str) -> bytes:
    return (CAPTURES / f"{name}.recv.bin").read_bytes()


def test_wrong_password_then_disconnect_matches_capture_a1() -> None:
    assert encode_auth_request() + encode_reply("-ERR invalid") + encode_disconnect() == recv(
        "a1_auth_wrongpass"
    )


def test_acl_rejection_matches_capture_h9() -> None:
    assert encode_rude_rejection() + encode_disconnect() == recv("h9_acl_rude_rejection")
    assert ACL_REJECTION == "Access Denied, go away.\n"


def test_api_responses_match_capture_a2() -> None:
    data = recv("a2_auth_api")
    assert encode_api_response("-ERR bogus_command Command not found!\n") in data
    assert encode_api_response('{"row_count": 0}\n') in data
    assert encode_api_response("vm").endswith(b"Content-Length: 2\n\nvm")
    assert data.endswith(encode_api_response("vm"))


def test_bgapi_reply_matches_capture_b() -> None:
    job = "7dd8190e-5ba9-47b3-8e88-bb7ba866466b"
    reply = encode_reply_headers([("Reply-Text", f"+OK Job-UUID: {job}"), ("Job-UUID", job)])
    assert reply in recv("b_bgapi_plain")


def test_log_data_matches_capture_d2() -> None:
    line = LogLine(
        level=6,
        channel=3,
        file="mod_commands.c",
        func="log_function",
        line=7200,
        data=(
            "2026-11-27 04:55:24.461907 84.97% [INFO] mod_commands.c:7200 hello from esl capture\n"
        ),
    )
    assert encode_log(line) in recv("d2_misc_commands")


def test_session_disconnect_and_linger_notices_match_capture_d3() -> None:
    data = recv("d3_myevents_then_linger.A")
    uuid = "8cbf1343-6078-4294-b048-9670eb4298e9"
    assert encode_linger_notice(uuid, "loopback/9002-a", 3) in data
    assert data.endswith(encode_disconnect(session_uuid=uuid))


# -- fuzzing: any bytes, any split, parse or refuse — nothing else ----------------------


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                b"api status",
                b"\n",
                b"\r\n",
                b"sendmsg",
                b"content-length: 5",
                b"Foo: bar",
                b":",
                b"x",
            ]
        ),
        max_size=40,
    ).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_bytes_in_any_pieces_give_the_same_commands_or_a_wire_error(
    data: bytes, cuts: list[int]
) -> None:
    def parse(pieces: list[bytes]) -> list[Command] | str:
        reader = CommandReader()
        out = []
        try:
            for piece in pieces:
                reader.feed(piece)
                while (command := reader.next()) is not None:
                    out.append(command)
        except WireError as exc:
            return str(exc)
        return out

    points = sorted({c for c in cuts if c < len(data)})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert parse(pieces) == parse([data])


def _heads_byte_by_byte(data: bytes) -> list[bytes]:
    """read_packet's framing one byte at a time: leading CR/LF skipped; a head ends at
    the second LF of a run in which CRs do not count and any other byte restarts it."""
    heads: list[bytes] = []
    head = bytearray()
    newlines = 0
    for byte in data:
        if not head and byte in b"\r\n":
            continue
        head.append(byte)
        if byte == 0x0A:
            newlines += 1
            if newlines == 2:
                heads.append(bytes(head))
                head.clear()
                newlines = 0
        elif byte != 0x0D:
            newlines = 0
    return heads


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"api status", b"\n", b"\r", b"\r\n", b"x", b"Foo: bar", b" "]),
        max_size=60,
    ).map(b"".join)
    | st.binary(max_size=300).filter(lambda b: b"content-length" not in b.lower()),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8),
)
def test_command_heads_end_where_read_packet_ends_them(data: bytes, cuts: list[int]) -> None:
    reader = CommandReader()
    heads = []
    points = sorted({c for c in cuts if c < len(data)})
    for a, b in zip([0, *points], [*points, len(data)], strict=True):
        reader.feed(data[a:b])
        while (command := reader.next()) is not None:
            heads.append(command.raw)
    assert heads == _heads_byte_by_byte(data)


def test_replies_quote_a_clients_bytes_as_they_came() -> None:
    # A bgapi's Job-UUID comes back in the reply: bytes that are not UTF-8 (read as
    # surrogate escapes) used to make the simulator raise instead of answering.
    reader = CommandReader()
    reader.feed(b"bgapi status\nJob-UUID: j\xff\n\n")
    command = reader.next()
    assert command is not None
    job = command.header("Job-UUID")
    assert job == "j\udcff"
    assert encode_reply_headers([("Reply-Text", f"+OK Job-UUID: {job}"), ("Job-UUID", job)]) == (
        b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: j\xff\nJob-UUID: j\xff\n\n"
    )
    assert encode_reply(f"-ERR {job}") == b"Content-Type: command/reply\nReply-Text: -ERR j\xff\n\n"
