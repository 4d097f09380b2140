"""`Event`: lazy lookups agree with the full decode, on any input."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.esl.decode import decode_plain_event
from runner.esl.event import Event, first_wins, parse_header_block

NAMES = st.sampled_from(["Event-Name", "Unique-ID", "A", "a", "Ab", "X-1", "Content", "é"])
RAW = st.binary(max_size=30).filter(lambda b: b"\n" not in b)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(NAMES | st.text(max_size=8), RAW), max_size=12),
    st.lists(NAMES | st.sampled_from(["A:B", "A\nB", "A: 1", "\ud800", ""]) | st.text(max_size=4)),
)
def test_lazy_lookup_equals_full_decode(lines: list[tuple[str, bytes]], probes: list[str]) -> None:
    head = b"\n".join(
        name.encode("utf-8", "surrogateescape") + b": " + value for name, value in lines
    )
    full = first_wins(parse_header_block(head, decode=True))
    for name in [*full, *probes]:
        lazy = Event.from_plain_head(head, None)
        assert lazy.get(name) == full.get(name), name
        assert (name in lazy) == (name in full), name
    assert dict(Event.from_plain_head(head, None).headers) == full


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True),
        st.text(max_size=40),
        max_size=20,
    )
)
def test_url_encoded_values_round_trip(headers: dict[str, str]) -> None:
    # FreeSWITCH URL-encodes every value in plain events (switch_event_serialize).
    body = (
        b"".join(f"{name}: {quote(value, safe='/')}\n".encode() for name, value in headers.items())
        + b"\n"
    )
    event = decode_plain_event(body)
    assert dict(event.headers) == headers
    for name, value in headers.items():
        assert decode_plain_event(body)[name] == value


def test_event_built_by_hand() -> None:
    event = Event([("Event-Name", "CUSTOM"), ("X", "1"), ("X", "2")], body="b", format="json")
    assert event.name == "CUSTOM"
    assert event["X"] == "1"
    assert event.get_all("X") == ["1", "2"]
    assert event.items_all() == [("Event-Name", "CUSTOM"), ("X", "1"), ("X", "2")]
    assert event.to_dict() == {"Event-Name": "CUSTOM", "X": "1", "_body": "b"}
    assert event == Event([("Event-Name", "CUSTOM"), ("X", "1"), ("X", "2")], "b", "json")
    assert event != Event({"Event-Name": "CUSTOM", "X": "1"}, "b", "json")
    assert repr(event) == "<Event CUSTOM (json, 2 headers, body=1 chars)>"


def test_lazy_event_is_decoded_once_for_iteration() -> None:
    event = decode_plain_event(b"Event-Name: CUSTOM\nEvent-Subclass: a%3A%3Ab\nX: 1\n\n")
    assert event.subclass == "a::b"
    assert list(event) == ["Event-Name", "Event-Subclass", "X"]
    assert len(event) == 3
    assert event.get("Nope", "default") == "default"
