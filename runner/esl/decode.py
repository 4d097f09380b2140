"""Decoders for the three event bodies mod_event_socket sends. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from operator import itemgetter
from xml.etree import ElementTree

from runner.esl.errors import EslProtocolError, excerpt
from runner.esl.event import ARRAY_PREFIX, ARRAY_SEPARATOR, Event, url_decode
from runner.esl.numbers import ascii_int
from runner.text import LONE_SURROGATE


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
        declared = event.get("Content-Length")
        length = None if declared is None else ascii_int(declared)
        if declared is None:
            event.body = rest.decode("utf-8", "surrogateescape")
        elif length is None or length > len(rest):
            raise EslProtocolError(
                f"event-plain: inner Content-Length {excerpt(declared)!r} does not fit the "
                f"{len(rest)} bytes after the headers"
            )
        else:
            event.body = rest[:length].decode("utf-8", "surrogateescape")
    elif event.get("Content-Length") == "0":
        event.body = ""
    return event


# Objects decode to lists of (key, value) pairs: `dict(pairs)` is C-level and, unlike
# json.loads, shows repeated keys (real CHANNEL_* events repeat e.g. Hangup-Cause).
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=list)


_VALUE = itemgetter(1)


def _is_object(value: list[object]) -> bool:
    """A decoded JSON object: pairs are tuples, which JSON arrays never hold.

    An empty object is an empty list, read as an empty array (FreeSWITCH sends neither).
    """
    return bool(value) and all(type(item) is tuple for item in value)


# FreeSWITCH's json events are flat: strings, and arrays of strings for array headers
# (switch_event.c, switch_event_serialize_json_obj). Deeper values are refused before
# re-serialising them can exhaust the stack (a ~500-deep value raised RecursionError).
MAX_JSON_DEPTH = 32


def _too_deep() -> EslProtocolError:
    return EslProtocolError(f"event-json: a value nested more than {MAX_JSON_DEPTH} levels deep")


def _plain(value: object, depth: int) -> object:
    """A decoded value with its objects as dicts again, for json.dumps; bounded depth."""
    if not isinstance(value, list):
        return value
    if depth > MAX_JSON_DEPTH:
        raise _too_deep()
    if _is_object(value):
        return {k: _plain(v, depth + 1) for k, v in value}
    return [_plain(v, depth + 1) for v in value]


def _json_text(value: object, depth: int = 1) -> str:
    """A header value as text: strings as they are, arrays as `ARRAY::a|:b`."""
    if isinstance(value, str):
        return value
    if depth > MAX_JSON_DEPTH:
        raise _too_deep()
    if isinstance(value, list):
        if _is_object(value):
            # A nested object: keep it as JSON text.
            return json.dumps(_plain(value, depth), ensure_ascii=False)
        # An array header serializes as a JSON array in json events (switch_event.c).
        return ARRAY_PREFIX + ARRAY_SEPARATOR.join(_json_text(v, depth + 1) for v in value)
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool) else str(value)


# A `\uD800`-style escape decodes to a lone surrogate that no encoding can write; bytes
# that are not UTF-8 decode to U+DC80..U+DCFF (surrogateescape) and are left alone
# (runner.text.LONE_SURROGATE matches the former only).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")


def _writable(text: str) -> str:
    """`text` with each lone surrogate as the surrogate escapes of its UTF-8 bytes.

    Every string the codec yields then encodes back with `surrogateescape`, so a value
    copied into a command never fails to encode.
    """
    return LONE_SURROGATE.sub(_escaped, text)


def decode_json_event(body: bytes) -> Event:
    """`text/event-json`: one JSON object, values as they are, the body under `_body`."""
    text = body.decode("utf-8", "surrogateescape")
    try:
        pairs = _PAIRS_DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise EslProtocolError(f"event-json: body is not JSON ({excerpt(str(exc), 80)})") from None
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
        # Every value, not just the first of each name: a later one may be a number.
        if set(map(type, map(_VALUE, pairs))) != {str}:
            pairs = [(k, _json_text(v)) for k, v in pairs]
            headers = {k: _json_text(v) for k, v in headers.items()}
    elif headers and set(map(type, headers.values())) != {str}:
        headers = {k: _json_text(v) for k, v in headers.items()}
    body_text = None if raw_body is None else _json_text(raw_body)
    # `in b"\\"` is a memchr; a two-byte needle costs ten times more (3 us per event).
    if b"\\" in body and _SURROGATE_ESCAPE.search(body):
        headers = {_writable(k): _writable(v) for k, v in headers.items()}  # type: ignore[arg-type]
        if repeated:
            pairs = [(_writable(k), _writable(v)) for k, v in pairs]
        body_text = None if body_text is None else _writable(body_text)
    if repeated:
        return Event.from_pairs(headers, pairs, body_text, "json")  # type: ignore[arg-type]
    return Event.from_dict(headers, body_text, "json")  # type: ignore[arg-type]


def decode_xml_event(body: bytes) -> Event:
    """`text/event-xml`: `<event><headers>...</headers><body>...</body></event>`.

    Header values are still URL-encoded inside the XML (capture b_bgapi_xml); the body's
    non-ASCII text comes as character references (`&#xE9;`, capture f_sendevent.X:
    switch_xml.c's switch_xml_ampencode writes UTF-8 as code points and skips invalid
    bytes). The document is read as UTF-8 whatever it declares: a declared encoding
    Python cannot read made expat raise LookupError or ValueError.
    """
    if b"<!DOCTYPE" in body:
        # FreeSWITCH writes none; entity definitions only cost time (expat stops a
        # "billion laughs" at its amplification limit, after ~0.2 s of CPU).
        raise EslProtocolError("event-xml: a DOCTYPE, which FreeSWITCH never sends")
    parser = ElementTree.XMLParser(encoding="utf-8")
    try:
        parser.feed(body)
        root = parser.close()
    except ElementTree.ParseError as exc:
        raise EslProtocolError(f"event-xml: body is not XML ({exc})") from None
    head = root.find("headers")
    if root.tag != "event" or head is None:
        raise EslProtocolError("event-xml: no <event><headers> element")
    # expat yields no surrogates (it refuses references to them), so encoding is exact.
    pairs = [(child.tag, url_decode((child.text or "").encode())) for child in head]
    text_body: str | None = None
    length = root.findtext("Content-Length")
    if length is not None:
        # Plain and json carry it among the headers; xml next to them. Keep one shape.
        pairs.append(("Content-Length", length.strip()))
    body_el = root.find("body")
    if body_el is not None:
        raw = (body_el.text or "").encode()
        cut = None if length is None else ascii_int(length)
        if cut is not None:
            # FreeSWITCH's XML printer indents the closing tag, adding whitespace after
            # the body; the Content-Length element says where the real body ends.
            raw = raw[:cut]
        text_body = raw.decode("utf-8", "surrogateescape")
    return Event.from_decoded(pairs, text_body, "xml")
