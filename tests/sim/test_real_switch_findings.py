"""What the real FreeSWITCH 1.10.12 did where the simulator used to differ
(found by tests/realfs/test_differential.py; see docs/simulator.md)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator

import anyio
import pytest

from runner.esl import Event, EventBuffer, InboundConnection
from runner.sim import Simulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def switch() -> AsyncIterator[tuple[InboundConnection, EventBuffer]]:
    async with (
        Simulator(port=0, speed=20, heartbeat_interval=1e6) as sim,
        InboundConnection.connect("127.0.0.1", sim.port, "ClueCon") as conn,
    ):
        buffer = conn.event_buffer()
        await conn.subscribe(["ALL"])
        yield conn, buffer


async def _call(conn: InboundConnection, ext: str = "9002") -> str:
    uuid = str(uuidlib.uuid4())
    with anyio.fail_after(5):
        assert (
            await conn.api(f"originate {{origination_uuid={uuid}}}loopback/{ext}/default &park()")
            == f"+OK {uuid}\n"
        )
    return uuid


async def _until(buffer: EventBuffer, test: object) -> Event:
    with anyio.fail_after(5):
        while True:
            event = await buffer.get()
            if callable(test) and test(event):
                return event


async def test_a_queued_sendmsg_is_fired_as_private_command_once_run(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    uuid = await _call(conn)
    app_uuid = str(uuidlib.uuid4())
    await conn.execute(uuid, "set", "foo=bar", event_uuid=app_uuid)
    complete = await _until(
        buffer,
        lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application-UUID") == app_uuid,
    )
    private = await buffer.get()
    assert complete.get("Unique-ID") == uuid
    assert private.name == "PRIVATE_COMMAND"
    headers = [name for name, _ in private.items_all() if not name.startswith("variable_")]
    # Its own headers first, then the usual ones, then the channel's (seen on 1.10.12).
    assert headers[:7] == [
        "Command",
        "call-command",
        "execute-app-name",
        "Event-UUID",
        "content-type",
        "content-length",
        "Event-Name",
    ]
    assert private.get("Command") == f"sendmsg {uuid}"
    assert private.get("Event-Calling-Function") == "switch_ivr_parse_next_event"
    assert private.get("Unique-ID") == uuid
    assert private.get("Channel-Name") == "loopback/9002-a"
    assert private.body == "foo=bar"
    await conn.api(f"uuid_kill {uuid}")


async def test_sendevent_to_a_live_channel_arrives_with_its_headers_and_no_event_name(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    uuid = await _call(conn)
    await conn.sendevent("CUSTOM", {"Event-Subclass": "eslflow::t", "Unique-ID": uuid, "X": "1"})
    event = await _until(buffer, lambda e: e.get("X") == "1")
    names = [name for name, _ in event.items_all()]
    assert names[:5] == ["Event-Subclass", "Command", "Unique-ID", "X", "Event-UUID"]
    assert "Event-Name" not in names and "Core-UUID" not in names
    assert event.get("Channel-Name") == "loopback/9002-a"
    assert event.get("Answer-State") == "answered"
    await conn.api(f"uuid_kill {uuid}")


async def test_sendevent_without_a_live_channel_is_prepared_as_before(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    gone = str(uuidlib.uuid4())
    await conn.sendevent("CUSTOM", {"Event-Subclass": "eslflow::t", "Unique-ID": gone, "X": "2"})
    event = await _until(buffer, lambda e: e.get("X") == "2")
    assert event.name == "CUSTOM" and event.subclass == "eslflow::t"
    assert event.get("Core-UUID") is not None and event.get("Channel-Name") is None


async def test_uuid_send_dtmf_on_one_loopback_leg_is_heard_by_the_other(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    uuid = await _call(conn)
    other = await conn.api(f"uuid_getvar {uuid} other_loopback_leg_uuid")
    await conn.execute(uuid, "read", "1 1 silence_stream://300 got 3000 #")
    assert await conn.api(f"uuid_send_dtmf {other} 1#") == f"+OK {other} sent DTMF 1#.\n"
    await _until(
        buffer, lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "read"
    )
    assert await conn.api(f"uuid_getvar {uuid} got") == "1"
    assert await conn.api("uuid_send_dtmf") == "-USAGE: <uuid> <dtmf_data>\n"
    assert await conn.api(f"uuid_send_dtmf {uuidlib.uuid4()} 1") == "-ERR Cannot locate session!\n"
    await conn.api(f"uuid_kill {uuid}")


async def test_uuid_break_ends_a_playback_as_played_with_status_break(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    uuid = await _call(conn)
    await conn.execute(uuid, "playback", "silence_stream://60000")
    await _until(buffer, lambda e: e.name == "PLAYBACK_START")
    assert await conn.api(f"uuid_break {uuid}") == "+OK\n"
    stop = await _until(buffer, lambda e: e.name == "PLAYBACK_STOP")
    done = await _until(buffer, lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE")
    assert stop.get("Playback-Status") == "break"
    assert done.get("Application-Response") == "FILE PLAYED"
    assert await conn.api(f"uuid_break {uuidlib.uuid4()}") == "-ERR No such channel!\n"
    assert await conn.api("uuid_break") == "-USAGE: <uuid> [all]\n"
    await conn.api(f"uuid_kill {uuid}")


async def test_a_leg_timeout_ends_the_bridge_allotted_timeout_and_hangs_the_caller_up(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, buffer = switch
    uuid = await _call(conn)
    await conn.execute(uuid, "bridge", "{leg_timeout=1}loopback/9003/default")
    hangup = await _until(
        buffer, lambda e: e.name == "CHANNEL_HANGUP" and e.get("Unique-ID") == uuid
    )
    assert hangup.get("Hangup-Cause") == "ALLOTTED_TIMEOUT"
    assert hangup.get("variable_originate_failed_cause") == "ALLOTTED_TIMEOUT"


async def test_a_call_timeout_ends_the_bridge_no_answer_and_the_caller_goes_on(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, _ = switch
    uuid = await _call(conn)
    await conn.execute(uuid, "set", "call_timeout=1", wait=True)
    with anyio.fail_after(5):
        await conn.execute(uuid, "bridge", "loopback/9003/default", wait=True)
    assert await conn.api(f"uuid_getvar {uuid} originate_disposition") == "NO_ANSWER"
    assert await conn.api(f"uuid_exists {uuid}") == "true"
    await conn.api(f"uuid_kill {uuid}")


async def test_continue_on_fail_keeps_the_caller_after_a_failed_bridge(
    switch: tuple[InboundConnection, EventBuffer],
) -> None:
    conn, _ = switch
    uuid = await _call(conn)
    await conn.execute(uuid, "set", "continue_on_fail=USER_BUSY,ALLOTTED_TIMEOUT", wait=True)
    with anyio.fail_after(5):
        await conn.execute(uuid, "bridge", "{leg_timeout=1}loopback/9003/default", wait=True)
    assert await conn.api(f"uuid_getvar {uuid} originate_disposition") == "ALLOTTED_TIMEOUT"
    assert await conn.api(f"uuid_exists {uuid}") == "true"
    await conn.api(f"uuid_kill {uuid}")
