"""A test-side reader of event-socket messages, independent of the simulator's code.

Small on purpose: it frames bytes (header block, Content-Length body) and decodes event
headers from the three formats, so tests can check the simulator's bytes against an
outside reading of the protocol.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass


@dataclass
class Msg:
    """One framed message: its outer headers (in order) and body bytes."""

    headers: list[tuple[str, str]]
    body: bytes

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return self.get("Content-Type") or ""

    @property
    def names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def event(self) -> list[tuple[str, str]] | None:
        """The event's headers (decoded) if this is a text/event-* message."""
        return event_headers(self)

    def event_get(self, name: str) -> str | None:
        for key, value in self.event() or []:
            if key == name:
                return value
        return None


def frame(data: bytes) -> tuple[list[Msg], bytes]:
    msgs: list[Msg] = []
    while True:
        end = data.find(b"\n\n")
        if end < 0:
            return msgs, data
        headers = []
        for line in data[:end].decode("utf-8", "replace").split("\n"):
            name, _, value = line.partition(": ")
            headers.append((name.rstrip(":"), value))
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
        if len(data) < end + 2 + length:
            return msgs, data
        msgs.append(Msg(headers, data[end + 2 : end + 2 + length]))
        data = data[end + 2 + length :]


def event_headers(msg: Msg) -> list[tuple[str, str]] | None:
    ctype = msg.content_type
    if ctype == "text/event-plain":
        text = msg.body.decode("utf-8", "replace")
        block = text.split("\n\n", 1)[0]
        out = []
        for line in block.split("\n"):
            if line:
                name, _, value = line.partition(": ")
                out.append((name, urllib.parse.unquote(value)))
        return out
    if ctype == "text/event-json":
        pairs = json.loads(msg.body, object_pairs_hook=lambda p: p)
        return [(k, v) for k, v in pairs if k != "_body"]
    if ctype == "text/event-xml":
        text = msg.body.decode("utf-8", "replace")
        block = text.split("<headers>", 1)[1].split("</headers>", 1)[0]
        return [
            (m.group(1), urllib.parse.unquote(m.group(2)))
            for m in re.finditer(r"<([^<>/\s]+)>(.*?)</\1>", block, re.DOTALL)
        ]
    return None
