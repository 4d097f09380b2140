"""A channel's headers: the cached caller-profile and variable blocks follow every change."""

from __future__ import annotations

import anyio
import pytest
from helpers.sim_core import call, extension, running_core

from runner.sim.channel import CallerProfile, Channel
from runner.sim.event import Event, Format

pytestmark = pytest.mark.anyio


def channel() -> Channel:
    caller = CallerProfile(
        direction="inbound",
        logical_direction="inbound",
        caller_id_name="Alice",
        caller_id_number="1000",
        destination_number="2000",
        uuid="u-1",
        chan_name="sofia/internal/1000@example.com",
    )
    ch = Channel("u-1", "sofia/internal/1000@example.com", "inbound", caller, session_id=1)
    ch.profile_set = True
    return ch


def data(ch: Channel, name: str = "CHANNEL_EXECUTE") -> Event:
    event = Event(name, [("Event-Name", name)])
    ch.add_data(event)
    return event


def test_profile_and_times_changes_show_in_the_next_event() -> None:
    ch = channel()
    first = data(ch)
    assert first.get("Caller-Caller-ID-Name") == "Alice"
    assert first.get("Caller-Channel-Answered-Time") == "0"
    first_plain = first.render(Format.PLAIN)
    ch.caller.caller_id_name = "Bob"
    ch.caller.times.answered = 1_700_000_000_000_000
    second = data(ch)
    assert second.get("Caller-Caller-ID-Name") == "Bob"
    assert second.get("Caller-Orig-Caller-ID-Name") is None  # orig never set
    assert second.get("Caller-Channel-Answered-Time") == "1700000000000000"
    assert b"Caller-Caller-ID-Name: Bob\n" in second.render(Format.PLAIN)
    # The event fired before keeps what it said then.
    assert first.render(Format.PLAIN) == first_plain
    assert b"Caller-Caller-ID-Name: Alice\n" in first_plain


def test_variables_keep_set_order_and_show_each_change() -> None:
    ch = channel()
    ch.set_var("a", "1")
    ch.set_var("b", "2")
    before = data(ch)
    ch.set_var("a", "3")  # set = delete + append: a moves to the end
    ch.set_var("b", None)
    ch.set_var("c", "")  # empty: not stored
    after = data(ch)
    assert [h for h in before.headers if h[0].startswith("variable_")] == [
        ("variable_a", "1"),
        ("variable_b", "2"),
    ]
    assert [h for h in after.headers if h[0].startswith("variable_")] == [("variable_a", "3")]
    assert dict(ch.variables) == {"a": "3"}
    assert b"variable_a: 3\n" in after.render(Format.PLAIN)
    assert b'"variable_b"' not in after.render(Format.JSON)
    # Events outside EXTENDED_EVENTS carry no variables.
    assert not [h for h in data(ch, "CHANNEL_STATE").headers if h[0].startswith("variable_")]


def test_variables_are_read_only_outside_set_var() -> None:
    ch = channel()
    ch.set_var("a", "1")
    with pytest.raises(TypeError):
        ch.variables["a"] = "2"  # type: ignore[index]


def test_state_and_identity_changes_show_in_the_next_event() -> None:
    ch = channel()
    assert data(ch).get("Channel-Name") == "sofia/internal/1000@example.com"
    ch.name = "loopback/2000-a"
    ch.dialplan_flag = True
    ch.hangup_cause = "USER_BUSY"
    ch.read_codec = True
    event = data(ch)
    assert event.get("Channel-Name") == "loopback/2000-a"
    assert event.get("Hangup-Cause") == "USER_BUSY"
    assert event.get("Channel-Read-Codec-Name") == "L16"
    assert b"Channel-Name: loopback/2000-a\n" in event.render(Format.PLAIN)


async def test_every_event_of_a_call_renders_as_its_headers_alone_would() -> None:
    """Blocks are a cache only: each event renders exactly like a block-free copy."""
    plan = [
        extension("^2000$", "answer", "set greeting=hello", "playback /x.wav", "bridge sim/3000")
    ]
    async with running_core(plan) as (core, rec):
        session = call(core, "2000", variables={"sip_from_host": "example.com"})
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_BRIDGE")
        session.hangup()
        with anyio.fail_after(5):
            await session.destroyed.wait()
    assert len(rec.events) > 30
    for event in rec.events:
        flat = Event(event.name, event.headers, subclass=event.subclass, body=event.body)
        for fmt in Format:
            assert event.render(fmt) == flat.render(fmt), (event.name, fmt)
