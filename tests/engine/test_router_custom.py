"""The router names a CUSTOM event that arrives without Event-Name (a sendevent to a
live channel, as FreeSWITCH 1.10.12 delivers it), so its flows start."""

from __future__ import annotations

from datetime import UTC, datetime

from runner.engine.instance import FlowInstance
from runner.engine.link import Link
from runner.engine.router import Router, named_custom
from runner.esl.event import Event
from runner.flow import load_flow_sources

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UUID = "11111111-2222-3333-4444-555555555555"

FLOW = """
flow: on-custom
trigger: {event: CUSTOM, subclass: "eslflow::poke"}
when:
  - field: X-Test
    expression: ^(\\d)$
steps:
  - log: "poked $1"
"""

# What the real switch sent for `sendevent CUSTOM` with a live Unique-ID: the command's
# headers, then the channel's, and no Event-Name, Core-UUID or Event-Date-*.
UNPREPARED = (
    b"Event-Subclass: eslflow%3A%3Apoke\n"
    b"Command: sendevent%20CUSTOM\n"
    b"Unique-ID: " + UUID.encode() + b"\n"
    b"X-Test: 2\n"
    b"Event-UUID: 6c41bbc8-dbdd-43cc-9cff-0413eccd2a81\n"
    b"Channel-State: CS_EXECUTE\n"
    b"Channel-Name: loopback/9002-a\n"
    b"Unique-ID: " + UUID.encode() + b"\n"
    b"Answer-State: answered\n"
)


def _router() -> tuple[Router, list[FlowInstance]]:
    flows = load_flow_sources([("flows/custom.yaml", FLOW)])
    started: list[FlowInstance] = []
    return Router(flows, started.append, clock=lambda: NOW), started


def test_an_unprepared_custom_event_starts_its_flow_with_its_captures() -> None:
    router, started = _router()
    event = Event.from_plain_head(UNPREPARED, None)
    assert event.name == ""
    router.route(event, Link)
    assert [i.flow.flow for i in started] == ["on-custom"]
    trigger = started[0].trigger
    assert trigger["Event-Name"] == "CUSTOM"
    assert trigger["Event-Subclass"] == "eslflow::poke"
    assert started[0].captures == ("2",)
    assert router.by_uuid[UUID] == started


def test_a_mapping_without_event_name_or_subclass_starts_nothing() -> None:
    router, started = _router()
    router.route({"Unique-ID": UUID, "X-Test": "2"}, Link)
    assert started == []


def test_named_custom_keeps_every_header_and_repeat() -> None:
    event = Event.from_plain_head(UNPREPARED, None)
    named = named_custom(event)
    assert isinstance(named, Event)
    assert named.items_all()[0] == ("Event-Name", "CUSTOM")
    assert named.items_all()[1:] == event.items_all()
    assert named.get_all("Unique-ID") == [UUID, UUID]
    assert named_custom({"Event-Subclass": "a::b"}) == {
        "Event-Name": "CUSTOM",
        "Event-Subclass": "a::b",
    }
