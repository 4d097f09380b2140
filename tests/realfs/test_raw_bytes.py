"""Bytes that are not UTF-8 on a real FreeSWITCH 1.10.12: what it stores and sends back,
and the simulator doing the same.

Issue 10 finding 2 says every value reaches the wire as the bytes it came from. This
checks the other half on the real switch: FreeSWITCH keeps such bytes as they are, in a
channel variable set by `api uuid_setvar` and by `sendmsg execute set`, and sends them
back byte for byte in `uuid_getvar`, in event headers of every format, and in a
`sendevent`'s header and body; the codec hands them to us as the same surrogate escapes.
One exception, measured here: an xml event's body drops them (switch_xml.c
switch_xml_ampencode skips bytes that do not form UTF-8).
"""

from __future__ import annotations

from typing import Literal

import anyio
import pytest
from helpers.freeswitch import RealSwitch, new_uuid

from runner.esl import InboundConnection
from runner.sim import Simulator

pytestmark = pytest.mark.anyio

RAW_BYTES = b"a\xff\xfe\xc3\xa9b"  # two bytes that are not UTF-8 between UTF-8 text
RAW = RAW_BYTES.decode("utf-8", "surrogateescape")
# What an xml event's body keeps of it: 0xff opens a 4-byte sequence, 0xfe breaks it.
XML_BODY = "a\u00e9b"

Format = Literal["plain", "json", "xml"]


async def _round_trip(host: str, port: int, password: str, fmt: Format) -> None:
    async with InboundConnection.connect(host, port, password) as conn:
        events = conn.events()
        await conn.subscribe(["CHANNEL_EXECUTE_COMPLETE", "CUSTOM", "t::raw"], fmt)
        uuid = new_uuid()
        with anyio.fail_after(10):
            reply = await conn.api(
                f"originate {{origination_uuid={uuid}}}loopback/9002/default &park()"
            )
        assert reply == f"+OK {uuid}\n"
        try:
            with anyio.fail_after(10):
                assert await conn.api(f"uuid_setvar {uuid} by_api {RAW}") == "+OK\n"
                assert await conn.api(f"uuid_getvar {uuid} by_api") == RAW
                done = await conn.execute(uuid, "set", f"by_execute={RAW}", wait=True)
                assert done is not None
                assert done.get("Application-Data") == f"by_execute={RAW}"
                assert done.get("variable_by_execute") == RAW
                assert done.get("variable_by_api") == RAW
                assert await conn.api(f"uuid_getvar {uuid} by_execute") == RAW

                await conn.sendevent("CUSTOM", {"X-Raw": RAW}, RAW, subclass="t::raw")
                async for event in events:
                    if event.get("Event-Subclass") == "t::raw":
                        break
                assert event.get("X-Raw") == RAW
                assert event.body == (XML_BODY if fmt == "xml" else RAW)
        finally:
            await conn.api(f"uuid_kill {uuid}")


@pytest.mark.realfs
@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
async def test_raw_bytes_round_trip_through_a_real_switch(
    real_switch: RealSwitch, fmt: Format
) -> None:
    await _round_trip(real_switch.host, real_switch.port, real_switch.password, fmt)


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
async def test_the_simulator_round_trips_them_the_same_way(fmt: Format) -> None:
    async with Simulator() as sim:
        await _round_trip("127.0.0.1", sim.port, "ClueCon", fmt)
