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
        if value and all(isinstance(v, tuple) for v in value):
            # A nested object (decoded as pairs): keep it as JSON text.
            return json.dumps(dict(value), ensure_ascii=False)
        # An array header serializes as a JSON array in json events (switch_event.c).
        return ARRAY_PREFIX + ARRAY_SEPARATOR.join(_json_text(v) for v in value)
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool) else str(value)


# Objects decode to lists of (key, value) pairs: `dict(pairs)` is C-level and, unlike
# json.loads, shows repeated keys (real CHANNEL_* events repeat e.g. Hangup-Cause).
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=list)


def decode_json_event(body: bytes) -> Event:
    """`text/event-json`: one JSON object, values as they are, the body under `_body`."""
    text = body.decode("utf-8", "surrogateescape")
    try:
        pairs = _PAIRS_DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise EslProtocolError(f"event-json: body is not JSON ({exc})") from None
    if not text.lstrip().startswith("{"):
        raise EslProtocolError("event-json: body is not a JSON object")
    headers: dict[str, object] = dict(pairs)
    raw_body = headers.pop("_body", None)
    repeated = len(headers) + (raw_body is not None) != len(pairs)
    if repeated:
        # Some key repeats (real CHANNEL_* events repeat Hangup-Cause): the mapping keeps
        # each name's first value, as switch_event_get_header; get_all sees them all.
        if raw_body is not None:
            pairs = [pair for pair in pairs if pair[0] != "_body"]
        headers.update(reversed(pairs))
    if headers and set(map(type, headers.values())) != {str}:
        headers = {k: _json_text(v) for k, v in headers.items()}
        if repeated:
            pairs = [(k, _json_text(v)) for k, v in pairs]
    body_text = None if raw_body is None else _json_text(raw_body)
    if repeated:
        return Event.from_pairs(headers, pairs, body_text, "json")  # type: ignore[arg-type]
    return Event.from_dict(headers, body_text, "json")  # type: ignore[arg-type]


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
