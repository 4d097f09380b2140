"""The engine against a real FreeSWITCH 1.10.12: a channel variable holding bytes that are
not UTF-8 (and a terminal escape) goes through a flow into every sink, and the switch
ends up holding exactly those bytes (issue 10 finding 2, judged by the real switch).

The call is originated with the value in a variable of its own (an originated leg's
Caller-Caller-ID-Name is FreeSWITCH's "Outbound Call", whatever is asked); the flow copies
it with `execute set`, `api uuid_setvar`, `bgapi uuid_setvar`, into a `sendevent` header
and body, and into a `log` line; the test then reads the variables back with
`uuid_getvar` and catches the CUSTOM event on a connection of its own.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import anyio
import pytest
from helpers.freeswitch import RealSwitch, new_uuid

from runner.engine.logs import setup_logging
from runner.engine.service import Engine, NodeSpec
from runner.esl import InboundConnection
from runner.esl.inbound import Backoff
from runner.flow import load_flow_sources

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]

# Not UTF-8, UTF-8, an escape byte; no `[` or space, which an api argument may not hold
# (runner/flow/expansion.py: they could change the command's shape).
RAW_BYTES = b"a\xff\xfe\xc3\xa9\x1bb"
RAW = RAW_BYTES.decode("utf-8", "surrogateescape")
NAME = "${{ event['variable_raw_name'] }}"

FLOW = f"""
flow: raw-sinks
trigger: CHANNEL_PARK
when:
  - field: Unique-ID
    expression: ^UUID$
steps:
  - execute: {{app: set, arg: "by_execute={NAME}"}}
  - api: "uuid_setvar ${{{{ uuid }}}} by_api {NAME}"
  - bgapi: "uuid_setvar ${{{{ uuid }}}} by_bgapi {NAME}"
  - sendevent: {{event: CUSTOM, subclass: "t::raw", headers: {{X-Raw: "{NAME}"}}, body: "{NAME}"}}
  - log: "caller {NAME}"
  - stop
"""


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("runner")
    state = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = state[0]
    logger.setLevel(state[1])
    logger.propagate = state[2]


async def test_a_raw_value_reaches_the_real_switch_byte_for_byte(
    real_switch: RealSwitch,
) -> None:
    log = io.StringIO()
    setup_logging("text", "INFO", stream=log)
    uuid = new_uuid()
    # Only the originated leg (loopback's other leg inherits the variable).
    flowset = load_flow_sources([("flows/raw.yaml", FLOW.replace("UUID", uuid))])
    engine = Engine(
        flowset,
        nodes=[NodeSpec(real_switch.host, real_switch.port, real_switch.password)],
        backoff=Backoff(initial=0.05, maximum=0.5),
    )
    async with (
        InboundConnection.connect(real_switch.host, real_switch.port, real_switch.password) as fs,
        anyio.create_task_group() as tg,
    ):
        events = fs.events()
        await fs.subscribe(["CUSTOM", "t::raw"], "json")
        await tg.start(engine.run)
        try:
            with anyio.fail_after(15):
                reply = await fs.api(
                    f"originate {{origination_uuid={uuid},"
                    f"raw_name={RAW}}}loopback/9002/default &park()"
                )
                assert reply == f"+OK {uuid}\n", real_switch.log[-2000:]
                async for event in events:
                    if event.get("Event-Subclass") == "t::raw":
                        break
                while engine.active:
                    await anyio.sleep(0.02)
                values = [
                    await fs.api(f"uuid_getvar {uuid} {name}")
                    for name in ("by_execute", "by_api", "by_bgapi")
                ]
        finally:
            await fs.api(f"uuid_kill {uuid}")
            engine.stop()
    assert [value.encode("utf-8", "surrogateescape") for value in values] == [RAW_BYTES] * 3
    assert event.get("X-Raw") == RAW
    assert event.body == RAW
    (line,) = [line for line in log.getvalue().splitlines() if "caller " in line]
    assert line.endswith("caller a\\xff\\xfe\u00e9\\x1bb")
