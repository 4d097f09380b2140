"""What a real FreeSWITCH 1.10.12 does to odd bytes in event values, read by our codec.

A `sendevent` puts chosen bytes into a CUSTOM event; we read it back in plain, json and
xml. Measured here (and relied on by the codec's tests):

- bytes that are not UTF-8 come back in plain and json and decode to surrogate
  escapes that encode back to exactly the bytes sent;
- xml drops them from a body (switch_xml.c's switch_xml_ampencode skips invalid
  UTF-8) and writes the rest as `&#x..;` references;
- a value that already holds `%` and two upper-case hex digits is not re-encoded in
  plain or xml (switch_utils.c, switch_url_encode_opt without double_encode), so
  `%41` there reads as `A`: only json carries such a value exactly.
"""

from __future__ import annotations

import anyio
import pytest
from anyio.abc import SocketStream
from helpers.freeswitch import RealSwitch

from runner.esl.codec import Parser
from runner.esl.event import Event
from runner.esl.messages import CommandReply, Message

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]

SUBCLASS = b"eslflow::codec"
RAW = b'caf\xe9 \xff\xfe|\xc3\xa9 <&> "q" 100% a+b'
PERCENT = b"%41 %0A %c3 %%zz"
BODY_UTF8 = b"line 1 \xc3\xa9 <&>\nline 2 %41\n"
BODY_RAW = b"raw \xe9\xff end\n"


class Reader:
    """Our parser on a socket to the switch; every wait bounded."""

    def __init__(self, stream: SocketStream) -> None:
        self.stream = stream
        self.parser = Parser()
        self.pending: list[Message] = []

    async def next(self) -> Message:
        with anyio.fail_after(5):
            while not self.pending:
                self.pending.extend(self.parser.feed(await self.stream.receive()))
        return self.pending.pop(0)

    async def reply(self, command: bytes) -> CommandReply:
        await self.stream.send(command + b"\n\n")
        while True:
            message = await self.next()
            if isinstance(message, CommandReply):
                return message

    async def event(self) -> Event:
        while True:
            message = await self.next()
            if isinstance(message, Event):
                return message


async def sent_and_received(switch: RealSwitch, fmt: bytes, body: bytes) -> Event:
    stream = await anyio.connect_tcp(switch.host, switch.port)
    async with stream:
        reader = Reader(stream)
        await reader.next()  # auth/request
        assert (await reader.reply(b"auth " + switch.password.encode())).ok
        assert (await reader.reply(b"event " + fmt + b" CUSTOM " + SUBCLASS)).ok
        command = (
            b"sendevent CUSTOM\nEvent-Subclass: " + SUBCLASS + b"\nX-Raw: " + RAW
            + b"\nX-Percent: " + PERCENT + b"\ncontent-length: %d\n\n" % len(body) + body
        )  # fmt: skip
        await stream.send(command)
        return await reader.event()


def wire(value: str | None) -> bytes:
    assert value is not None
    return value.encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("fmt", [b"plain", b"json", b"xml"])
async def test_bytes_that_are_not_utf8_round_trip_in_header_values(
    real_switch: RealSwitch, fmt: bytes
) -> None:
    event = await sent_and_received(real_switch, fmt, BODY_UTF8)
    assert event.subclass == SUBCLASS.decode()
    assert wire(event.get("X-Raw")) == RAW
    assert event.get("X-Raw") == 'caf\udce9 \udcff\udcfe|é <&> "q" 100% a+b'
    assert wire(event.body) == BODY_UTF8


@pytest.mark.parametrize(
    ("fmt", "percent"),
    [(b"plain", b"A \n %c3 %%zz"), (b"json", PERCENT), (b"xml", b"A \n %c3 %%zz")],
)
async def test_a_value_holding_percent_hex_is_sent_undecodable_in_plain_and_xml(
    real_switch: RealSwitch, fmt: bytes, percent: bytes
) -> None:
    # `%41` and `%0A` are left as they are by FreeSWITCH's URL-encoder (upper-case hex
    # only: `%c3` is encoded as `%25c3`), so plain and xml readers decode them.
    event = await sent_and_received(real_switch, fmt, BODY_UTF8)
    assert wire(event.get("X-Percent")) == percent


@pytest.mark.parametrize(
    ("fmt", "body"),
    [(b"plain", BODY_RAW), (b"json", BODY_RAW), (b"xml", b"raw  end\n  ")],
)
async def test_a_body_that_is_not_utf8(real_switch: RealSwitch, fmt: bytes, body: bytes) -> None:
    # xml loses the invalid bytes on the switch; the Content-Length (of the bytes sent)
    # then reaches into the indent before the closing tag.
    event = await sent_and_received(real_switch, fmt, BODY_RAW)
    assert wire(event.body) == body
    assert event.get("Content-Length") == str(len(BODY_RAW))
