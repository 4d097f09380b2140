"""Subscriptions on the real switch: event formats, CUSTOM subclasses, nixevent, noevents,
filters, sendevent, myevents (inbound) — what a subscriber really receives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import anyio
import anyio.abc
import pytest
from helpers.conformance import Collected, esl, originate_parked
from helpers.freeswitch import RealSwitch, new_uuid

from runner.esl import Event, InboundConnection

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]
__all__ = ["esl"]

FORMATS = ("plain", "json", "xml")
# Headers every sendevent'ed event gets from FreeSWITCH (switch_event_prep_for_delivery).
STAMPS = {
    "Event-UUID",
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Calling-File",
    "Event-Calling-Function",
    "Event-Calling-Line-Number",
    "Event-Sequence",
}


async def connect(stack: AsyncExitStack, switch: RealSwitch) -> InboundConnection:
    return await stack.enter_async_context(
        InboundConnection.connect(switch.host, switch.port, switch.password, timeout=5)
    )


async def first(events: AsyncIterator[Event], seconds: float = 3.0) -> Event:
    with anyio.fail_after(seconds):
        return await anext(events)


async def nothing_more(collected: Collected, conn: InboundConnection) -> list[str]:
    """What arrived beyond the events taken so far, once a round trip has passed."""
    await conn.api("echo barrier")
    await anyio.sleep(0.2)
    return [e.get("Event-Subclass", e.name) for e in collected.take()]


async def test_the_three_formats_decode_to_the_same_event(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with AsyncExitStack() as stack:
        streams = {}
        for fmt in FORMATS:
            conn = await connect(stack, real_switch)
            reply = await conn.subscribe(["CUSTOM", "conformance::formats"], fmt)
            assert reply.reply_text == f"+OK event listener enabled {fmt}"
            streams[fmt] = conn.events()
        headers = {"X-Greeting": "Grüße 100% a/b", "X-Empty": "", "X-Spaces": " two  "}
        reply = await esl.sendevent(
            "CUSTOM", headers, "line1\nline2 é", subclass="conformance::formats"
        )
        event_uuid = reply.reply_text.removeprefix("+OK ")
        assert reply.reply_text == f"+OK {event_uuid}"
        got = {fmt: await first(events) for fmt, events in streams.items()}
    plain = got["plain"]
    for fmt in ("json", "xml"):
        assert list(got[fmt].items()) == list(plain.items()), fmt
        assert got[fmt].body == plain.body
    assert plain.body == "line1\nline2 é"
    mine = {k: v for k, v in plain.items() if k not in STAMPS}
    assert mine == {
        "Event-Subclass": "conformance::formats",
        "Command": "sendevent CUSTOM",
        "X-Greeting": "Grüße 100% a/b",
        # X-Empty: FreeSWITCH drops a header whose value is empty.
        "X-Spaces": "two  ",  # leading spaces skipped, trailing kept
        "content-type": "text/plain",
        "content-length": "14",  # ours, and the event's own Content-Length below
        "Event-Name": "CUSTOM",
        "Content-Length": "14",
    }
    assert plain["Event-UUID"] == event_uuid
    assert plain["Event-Calling-Function"] == "parse_command"


async def test_custom_subclasses_reach_only_their_subscribers(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with AsyncExitStack() as stack:
        one = await connect(stack, real_switch)
        await one.subscribe(["CUSTOM", "conformance::one"], "plain")
        got_one = Collected(one.event_buffer())
        bare = await connect(stack, real_switch)
        await bare.subscribe(["CUSTOM"], "plain")
        got_bare = Collected(bare.event_buffer())
        every = await connect(stack, real_switch)
        await every.subscribe(["ALL"], "plain")
        await every.filter("Event-Name", "CUSTOM")
        got_every = Collected(every.event_buffer())
        for subclass in ("conformance::one", "conformance::two"):
            await esl.sendevent("CUSTOM", {"X-N": subclass}, subclass=subclass)
        await esl.sendevent("CUSTOM", {"X-N": "none"})  # no subclass at all
        # A subclass subscriber also gets CUSTOM events that have no subclass.
        await got_one.until("CUSTOM")
        assert await nothing_more(got_one, one) == ["conformance::one", "CUSTOM"]
        # Bare CUSTOM means CUSTOM without a subclass; every subclass takes ALL.
        await got_bare.until("CUSTOM")
        assert await nothing_more(got_bare, bare) == ["CUSTOM"]
        await got_every.until("CUSTOM")
        assert await nothing_more(got_every, every) == [
            "conformance::one",
            "conformance::two",
            "CUSTOM",
        ]


async def test_nixevent_and_noevents(real_switch: RealSwitch, esl: InboundConnection) -> None:
    async with AsyncExitStack() as stack:
        conn = await connect(stack, real_switch)
        got = Collected(conn.event_buffer())
        await conn.subscribe(["CUSTOM", "conformance::a", "conformance::b"], "json")
        assert (await conn.nixevent(["CUSTOM", "conformance::a"])).reply_text == "+OK events nixed"
        for subclass in ("conformance::a", "conformance::b"):
            await esl.sendevent("CUSTOM", subclass=subclass)
        await got.until("CUSTOM")
        assert await nothing_more(got, conn) == ["conformance::b"]
        got.events.clear()
        reply = await conn.noevents()
        assert reply.reply_text == "+OK no longer listening for events"
        await esl.sendevent("CUSTOM", subclass="conformance::b")
        assert await nothing_more(got, conn) == []
        second = await conn.connection.send(b"noevents\n\n")
        assert second.headers["Reply-Text"] == "-ERR not listening for events"


async def test_filters_are_ored_and_exclusions_win(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with AsyncExitStack() as stack:
        conn = await connect(stack, real_switch)
        got = Collected(conn.event_buffer())
        await conn.subscribe(["CUSTOM", "conformance::f"], "plain")
        reply = await conn.filter("X-Colour", "red")
        assert reply.reply_text == "+OK filter added. [X-Colour]=[red]"
        await conn.filter("X-Colour", "blue")
        # A value starting with '-' excludes (mod_event_socket.c event_handler).
        reply = await conn.filter("X-Shade", "-dark")
        assert reply.reply_text == "+OK filter added. [X-Shade]=[-dark]"
        sent = [("red", "light"), ("blue", "light"), ("green", "light"), ("red", "dark")]
        for colour, shade in sent:
            await esl.sendevent(
                "CUSTOM", {"X-Colour": colour, "X-Shade": shade}, subclass="conformance::f"
            )
        await got.until("CUSTOM")
        await nothing_more(got, conn)
        assert [(e["X-Colour"], e["X-Shade"]) for e in got.events] == [
            ("red", "light"),
            ("blue", "light"),
        ]
        got.events.clear()
        reply = await conn.filter_delete("X-Colour", "red")
        assert reply.reply_text == "+OK filter deleted. [X-Colour][red]"
        reply = await conn.filter_delete("X-Shade")
        assert reply.reply_text == "+OK filter deleted. [X-Shade][]"
        for colour, shade in sent:
            await esl.sendevent(
                "CUSTOM", {"X-Colour": colour, "X-Shade": shade}, subclass="conformance::f"
            )
        await got.until("CUSTOM")
        await nothing_more(got, conn)
        assert [(e["X-Colour"], e["X-Shade"]) for e in got.events] == [("blue", "light")]
        got.events.clear()
        reply = await conn.filter_delete("all")
        assert reply.reply_text == "+OK filter deleted. [all][]"
        await esl.sendevent("CUSTOM", {"X-Colour": "green"}, subclass="conformance::f")
        await got.until("CUSTOM")
        assert [e["X-Colour"] for e in got.events] == ["green"]


async def test_sendevent_naming_a_live_channel_is_delivered_by_that_channel(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    # mod_event_socket queues such an event to the session, which fires it without
    # switch_event_prep_for_delivery: no Event-Name, no Core-UUID or date headers, but
    # the channel's own headers (mod_event_socket.c parse_command, sendevent).
    async with AsyncExitStack() as stack:
        conn = await connect(stack, real_switch)
        await conn.subscribe(["CUSTOM", "conformance::chan"], "plain")
        events = conn.events()
        uuid = await originate_parked(esl)
        reply = await esl.sendevent(
            "CUSTOM", {"Unique-ID": uuid, "X-Note": "hi"}, subclass="conformance::chan"
        )
        event = await first(events)
        assert event.get("Event-Name") is None
        assert event.get("Core-UUID") is None
        assert event["Event-UUID"] == reply.reply_text.removeprefix("+OK ")
        assert event["Command"] == "sendevent CUSTOM"  # the only trace of the event's name
        assert event["Event-Subclass"] == "conformance::chan"
        assert event["Unique-ID"] == uuid
        assert event["Channel-Name"] == "loopback/9002-a"
        assert event["X-Note"] == "hi"
        # A uuid that names no channel: fired as usual.
        reply = await esl.sendevent(
            "CUSTOM", {"Unique-ID": new_uuid()}, subclass="conformance::chan"
        )
        event = await first(events)
        assert event["Event-Name"] == "CUSTOM"
        assert event.get("Channel-Name") is None
        await esl.api(f"uuid_kill {uuid}")


async def test_myevents_follows_one_channel_until_its_hangup(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    uuid = await originate_parked(esl)
    other = await originate_parked(esl)
    async with AsyncExitStack() as stack:
        conn = await connect(stack, real_switch)
        raw = conn.connection
        reply = await conn.myevents(uuid, "json")
        assert reply.reply_text == "+OK Events Enabled"
        again = await raw.send(f"myevents {uuid}\n\n".encode())
        assert again.headers["Reply-Text"] == "-ERR aready enabled."  # sic
        got = Collected(conn.event_buffer())
        await esl.execute(other, "set", "ignored=1", wait=False)
        await esl.execute(uuid, "set", "seen=1", wait=False)
        await got.until("CHANNEL_EXECUTE_COMPLETE")
        await esl.api(f"uuid_kill {uuid}")
        with anyio.fail_after(5):
            await raw.wait_closed()
        names = [e.name for e in got.take()]
        assert {e["Unique-ID"] for e in got.events} == {uuid}
        assert names[:3] == ["CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP"]
        # The close races the last events: CHANNEL_HANGUP_COMPLETE came in 3 runs of 4,
        # so a myevents follower must not count on seeing it.
        assert set(names[3:]) <= {
            "CHANNEL_UNPARK",
            "CHANNEL_EXECUTE_COMPLETE",
            "CHANNEL_STATE",
            "CHANNEL_HANGUP_COMPLETE",
        }
        notice = raw.disconnect_notice
        assert notice is not None and notice.disposition == "disconnect"
        # `myevents <uuid> json`: 1.10.12 ignores the format word; plain events came.
        assert {e.format for e in got.events} == {"plain"}
    await esl.api(f"uuid_kill {other}")


async def read_frame(stream: anyio.abc.SocketStream, buf: bytearray) -> bytes:
    """One whole message off a raw socket: header block, then Content-Length bytes."""
    while b"\n\n" not in buf:
        buf += await stream.receive()
    head = bytes(buf[: buf.index(b"\n\n") + 2])
    length = 0
    for line in head.split(b"\n"):
        if line.startswith(b"Content-Length: "):
            length = int(line.split(b": ", 1)[1])
    while len(buf) < len(head) + length:
        buf += await stream.receive()
    frame = bytes(buf[: len(head) + length])
    del buf[: len(frame)]
    return frame


async def test_a_plain_event_with_a_body_byte_for_byte(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    buf = bytearray()
    with anyio.fail_after(5):
        async with await anyio.connect_tcp(real_switch.host, real_switch.port) as stream:
            assert await read_frame(stream, buf) == b"Content-Type: auth/request\n\n"
            await stream.send(f"auth {real_switch.password}\n\n".encode())
            await read_frame(stream, buf)
            await stream.send(b"event plain CUSTOM conformance::raw\n\n")
            await read_frame(stream, buf)
            headers = {"X-Text": "Grüße 100% a/b+c"}
            await esl.sendevent("CUSTOM", headers, "body é\n", subclass="conformance::raw")
            frame = await read_frame(stream, buf)
    head, _, inner = frame.partition(b"\n\n")
    # The outer block: Content-Length before Content-Type, as every captured event.
    assert head == f"Content-Length: {len(inner)}\nContent-Type: text/event-plain".encode()
    lines, _, body = inner.partition(b"\n\n")
    assert body == "body é\n".encode()
    lines_list = lines.split(b"\n")
    assert lines_list[:3] == [
        b"Event-Subclass: conformance%3A%3Araw",
        b"Command: sendevent%20CUSTOM",
        b"X-Text: Gr%C3%BC%C3%9Fe%20100%25%20a/b%2Bc",  # '/' stays, '+' is encoded
    ]
    assert lines_list[-1] == f"Content-Length: {len(body)}".encode()
    assert b"content-length: 8" in lines_list
    assert b"Event-Name: CUSTOM" in lines_list
