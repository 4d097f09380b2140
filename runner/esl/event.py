"""`Event`: one FreeSWITCH event, whatever wire format (plain, json, xml) carried it.

A plain event keeps its raw header block and decodes lazily: looking up one header
finds its line and URL-decodes that value only; iterating, `len` or `headers` decode
the whole block once. Both paths give the same answer (tests/esl/test_event.py checks
it on arbitrary input), so a router that reads `Event-Name` and `Unique-ID` of every
event never pays for the other sixty headers. Reading an event never raises, whatever
bytes it came from: values that are not UTF-8 decode to surrogate escapes, which
encode back to the same bytes with `surrogateescape`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal, TypeVar, overload
from urllib.parse import unquote_to_bytes

EventFormat = Literal["plain", "json", "xml"]
_T = TypeVar("_T")

# FreeSWITCH serializes a multi-valued header as `ARRAY::first|:second` (switch_event.c,
# switch_event_add_array / switch_event_serialize).
ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"


def url_decode(raw: bytes) -> str:
    """FreeSWITCH's URL-decoding of one value: %XX only ('+' stays '+'), UTF-8 text.

    A '%' without two hex digits stays as it is; bytes that are not UTF-8 survive as
    surrogate escapes, so nothing is lost.
    """
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode("utf-8", "surrogateescape")


def split_header_line(line: bytes) -> tuple[bytes, bytes]:
    """`Name: value` -> (name, raw value), the way libesl reads a line.

    The name ends at the first ':'; spaces and tabs after it are skipped (so the empty
    `User-Data:` of log/data works); a CR before the LF is dropped.
    """
    name, _, value = line.partition(b":")
    if value[:1] in (b" ", b"\t"):
        value = value.lstrip(b" \t")
    if value[-1:] == b"\r":
        value = value[:-1]
    return name, value


def parse_header_block(block: bytes, *, decode: bool) -> list[tuple[str, str]]:
    """Every (name, value) of a header block, in order; values URL-decoded if `decode`.

    Splitting comes first and decoding second, value by value, so an encoded newline
    (`%0A`) can never forge a header line.
    """
    # split_header_line and url_decode, inlined: this loop is the cost of `.headers`.
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for line in block.split(b"\n"):
        name, colon, value = line.partition(b":")
        if not colon:  # blank, or not a header: libesl skips it too
            continue
        if value[:1] in (b" ", b"\t"):
            value = value.lstrip(b" \t")
        if value[-1:] == b"\r":
            value = value[:-1]
        if decode and b"%" in value:
            value = unquote_to_bytes(value)
        append((name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")))
    return pairs


def first_wins(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """A dict holding the first value of every name, in first-seen order."""
    headers = dict(pairs)
    if len(headers) != len(pairs):
        # dict() kept each name's first position but its last value; restore the first.
        headers.update(reversed(pairs))
    return headers


class Event(Mapping[str, str]):
    """A decoded event: headers (a read-only mapping), body, and the format it came in.

    Where a header name repeats in one event, the mapping holds the first value, as
    FreeSWITCH's `switch_event_get_header` does; `get_all` returns every value.
    """

    __slots__ = ("_head", "_headers", "_pairs", "body", "format")

    _head: bytes | None
    _headers: dict[str, str] | None
    _pairs: list[tuple[str, str]] | None
    body: str | None
    format: EventFormat

    def __init__(
        self,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: str | None = None,
        format: EventFormat = "plain",
    ) -> None:
        self._head = None
        if isinstance(headers, Mapping):
            self._headers = dict(headers)
            self._pairs = None
        else:
            pairs = list(headers)
            self._headers = first_wins(pairs)
            self._pairs = pairs if len(self._headers) != len(pairs) else None
        self.body = body
        self.format = format

    @classmethod
    def from_plain_head(cls, head: bytes, body: str | None) -> Event:
        """A plain event from its raw (still URL-encoded) header block; decoded on demand."""
        event = cls.__new__(cls)
        event._head = head
        event._headers = None
        event._pairs = None
        event.body = body
        event.format = "plain"
        return event

    @classmethod
    def from_decoded(
        cls, pairs: list[tuple[str, str]], body: str | None, format: EventFormat
    ) -> Event:
        """An event from decoded pairs (json, xml), repeated names kept for `get_all`."""
        event = cls.__new__(cls)
        event._head = None
        event._headers = first_wins(pairs)
        event._pairs = pairs if len(event._headers) != len(pairs) else None
        event.body = body
        event.format = format
        return event

    @classmethod
    def from_pairs(
        cls,
        headers: dict[str, str],
        pairs: list[tuple[str, str]],
        body: str | None,
        format: EventFormat,
    ) -> Event:
        """An event whose `headers` (first values) were built from `pairs` already."""
        event = cls.__new__(cls)
        event._head = None
        event._headers = headers
        event._pairs = pairs if len(headers) != len(pairs) else None
        event.body = body
        event.format = format
        return event

    @classmethod
    def from_dict(cls, headers: dict[str, str], body: str | None, format: EventFormat) -> Event:
        """An event that takes ownership of `headers` (no repeated names), without a copy."""
        event = cls.__new__(cls)
        event._head = None
        event._headers = headers
        event._pairs = None
        event.body = body
        event.format = format
        return event

    # -- decoding -------------------------------------------------------------------------
    @property
    def headers(self) -> Mapping[str, str]:
        """Every header, decoded (the first value of a repeated name)."""
        headers = self._headers
        if headers is None:
            headers = self._decode_all()
        return headers

    def _decode_all(self) -> dict[str, str]:
        assert self._head is not None
        pairs = parse_header_block(self._head, decode=True)
        headers = self._headers = first_wins(pairs)
        if len(headers) != len(pairs):
            self._pairs = pairs
        return headers

    def _lookup(self, name: str) -> str | None:
        """The first line named `name` in the raw block, decoded; None if there is none."""
        head = self._head
        assert head is not None
        try:
            key = name.encode("utf-8", "surrogateescape") + b":"
        except UnicodeEncodeError:  # a lone surrogate: no name read from bytes has one
            return None
        if head.startswith(key):
            start = 0
        else:
            start = head.find(b"\n" + key)
            if start < 0:
                return None
            start += 1
        end = head.find(b"\n", start)
        line = head[start:] if end < 0 else head[start:end]
        found, value = split_header_line(line)
        if len(found) != len(key) - 1:  # `name` holds a ':' or LF: no line is named so
            return None
        return url_decode(value)

    # -- the names FreeSWITCH users look for ------------------------------------------------
    @property
    def name(self) -> str:
        """`Event-Name`, e.g. CHANNEL_ANSWER or CUSTOM."""
        return self.get("Event-Name", "")

    @property
    def subclass(self) -> str | None:
        """`Event-Subclass` of a CUSTOM event (e.g. sofia::register), else None."""
        return self.get("Event-Subclass")

    @property
    def uuid(self) -> str | None:
        """The channel's `Unique-ID`, when the event belongs to a channel."""
        return self.get("Unique-ID")

    @property
    def job_uuid(self) -> str | None:
        """`Job-UUID` of a BACKGROUND_JOB event."""
        return self.get("Job-UUID")

    # -- Mapping ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> str:
        headers = self._headers
        if headers is not None:
            return headers[name]
        value = self._lookup(name)
        if value is None:
            raise KeyError(name)
        return value

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    @overload
    def get(self, name: str, default: _T, /) -> str | _T: ...
    def get(self, name: str, default: object = None, /) -> object:
        headers = self._headers
        if headers is not None:
            return headers.get(name, default)
        value = self._lookup(name)
        return default if value is None else value

    def __contains__(self, name: object) -> bool:
        if self._headers is not None or not isinstance(name, str):
            return name in self.headers
        return self._lookup(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)

    def get_all(self, name: str) -> list[str]:
        """Every value of a header: repeated names in order, `ARRAY::a|:b` split."""
        headers = self.headers
        if self._pairs is not None:
            values = [v for n, v in self._pairs if n == name]
        elif name in headers:
            values = [headers[name]]
        else:
            return []
        out: list[str] = []
        for value in values:
            if value.startswith(ARRAY_PREFIX):
                out.extend(value[len(ARRAY_PREFIX) :].split(ARRAY_SEPARATOR))
            else:
                out.append(value)
        return out

    def items_all(self) -> list[tuple[str, str]]:
        """Every header as received, repeated names included, in wire order."""
        headers = self.headers
        if self._pairs is not None:
            return list(self._pairs)
        return list(headers.items())

    def to_dict(self) -> dict[str, str]:
        """Headers as a plain dict, the body (if any) under `_body`, as FreeSWITCH's json."""
        out = dict(self.headers)
        if self.body is not None:
            out["_body"] = self.body
        return out

    # -- value semantics ------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (
            self.format == other.format
            and self.body == other.body
            and self.items_all() == other.items_all()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sub = f" {self.subclass}" if self.subclass else ""
        body = f", body={len(self.body)} chars" if self.body is not None else ""
        return f"<Event {self.name}{sub} ({self.format}, {len(self)} headers{body})>"
