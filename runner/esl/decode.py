"""Decoders for the three event bodies mod_event_socket sends. Pure functions, no I/O."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from runner.esl.errors import EslProtocolError
from runner.esl.event import ARRAY_PREFIX, ARRAY_SEPARATOR, Event, url_decode


def decode_plain_event(body: bytes) -> Event:
    """`text/event-plain`: URL-encoded header lines, a blank line, then maybe a body.

    An event with a body (BACKGROUND_JOB, sendevent with content) carries an inner
    `Content-Length` header and exactly that many bytes after the blank line.
    """
    end = body.find(b"\n\n")
    if end < 0:
        return Event.from_plain_head(body.rstrip(b"\n"), None)
    head, rest = body[:end], body[end + 2 :]
    event = Event.from_plain_head(head, None)
    if rest:
        length = event.get("Content-Length")
        if length is None:
            event.body = rest.decode("utf-8", "surrogateescape")
        elif not length.isdigit() or int(length) > len(rest):
            raise EslProtocolError(
                f"event-plain: inner Content-Length {length!r} does not fit the "
                f"{len(rest)} bytes after the headers"
            )
        else:
            event.body = rest[: int(length)].decode("utf-8", "surrogateescape")
    elif event.get("Content-Length") == "0":
        event.body = ""
    return event


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        # An array header serializes as a JSON array in json events (switch_event.c).
        return ARRAY_PREFIX + ARRAY_SEPARATOR.join(_json_text(v) for v in value)
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)


def _keep_pairs(pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return pairs


def decode_json_event(body: bytes) -> Event:
    """`text/event-json`: one JSON object, values as they are, the body under `_body`."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise EslProtocolError(f"event-json: body is not JSON ({exc})") from None
    if type(obj) is not dict:
        raise EslProtocolError("event-json: body is not a JSON object")
    # FreeSWITCH writes compact JSON: one '":' per key, and quotes inside strings are
    # escaped, so an equal count proves that no key repeats. Otherwise parse again,
    # keeping every pair (real CHANNEL_* events repeat e.g. Hangup-Cause).
    if body.count(b'":') != len(obj):
        raw_pairs = json.loads(body, object_pairs_hook=_keep_pairs)
        text_body: str | None = None
        pairs: list[tuple[str, str]] = []
        for key, value in raw_pairs:
            if key == "_body":
                text_body = _json_text(value)
            else:
                pairs.append((key, _json_text(value)))
        return Event.from_decoded(pairs, text_body, "json")
    raw_body = obj.pop("_body", None)
    if not all(type(v) is str for v in obj.values()):
        obj = {k: _json_text(v) for k, v in obj.items()}
    return Event.from_dict(obj, None if raw_body is None else _json_text(raw_body), "json")


def decode_xml_event(body: bytes) -> Event:
    """`text/event-xml`: `<event><headers>...</headers><body>...</body></event>`.

    Header values are still URL-encoded inside the XML (capture b_bgapi_xml).
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise EslProtocolError(f"event-xml: body is not XML ({exc})") from None
    head = root.find("headers")
    if root.tag != "event" or head is None:
        raise EslProtocolError("event-xml: no <event><headers> element")
    pairs = [
        (child.tag, url_decode((child.text or "").encode("utf-8", "surrogateescape")))
        for child in head
    ]
    text_body: str | None = None
    length = root.findtext("Content-Length")
    if length is not None:
        # Plain and json carry it among the headers; xml next to them. Keep one shape.
        pairs.append(("Content-Length", length.strip()))
    body_el = root.find("body")
    if body_el is not None:
        raw = (body_el.text or "").encode("utf-8", "surrogateescape")
        if length is not None and length.strip().isdigit():
            # FreeSWITCH's XML printer indents the closing tag, adding whitespace after
            # the body; the Content-Length element says where the real body ends.
            raw = raw[: int(length)]
        text_body = raw.decode("utf-8", "surrogateescape")
    return Event.from_decoded(pairs, text_body, "xml")
