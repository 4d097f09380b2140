"""A caller's CR/LF cannot forge log lines (issue 10 finding 10), end to end: a flow
logs a caller name that holds a line break and a fake record; the log has one line for
it, in text and in JSON, and the call goes on."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.engine.logs import LogFormat, setup_logging
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

FORGED = "Bob\r\n2026-01-01T00:00:00.000Z ERROR [x] FAKE line\u2028\x1b[2J"

FLOW = r"""
flow: greet
trigger: CHANNEL_PARK
steps:
  - log: "caller ${{ event['Caller-Caller-ID-Name'] }}"
  - hangup: CALL_REJECTED
"""


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("runner")
    state = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = state[0]
    logger.setLevel(state[1])
    logger.propagate = state[2]


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_caller_name_with_a_line_break_is_one_log_line(fmt: LogFormat) -> None:
    out = io.StringIO()
    setup_logging(fmt, "INFO", stream=out)
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(FLOW)) as (engine, _),
        ):
            uuid = await sim.place_call(CallSpec(destination="7001", caller_name=FORGED))
            info = await sim.wait_for_hangup(uuid)
            while engine.active:
                await anyio.sleep(0.005)
    assert info.hangup_cause == "CALL_REJECTED"
    lines = out.getvalue().splitlines()
    # No line of the log starts with the forged stamp, and exactly one holds the name.
    assert not [line for line in lines if line.startswith("2026-01-01")]
    (mine,) = [line for line in lines if "FAKE line" in line]
    if fmt == "text":
        assert mine.endswith(
            f"[127.0.0.1:{sim.port} {uuid} greet flows/t0.yaml:5:5: flow 'greet' step log] "
            "caller Bob\\r\\n2026-01-01T00:00:00.000Z ERROR [x] FAKE line\\u2028\\x1b[2J"
        )
    else:
        record = json.loads(mine)
        assert (record["message"], record["uuid"], record["flow"]) == (
            f"caller {FORGED}",
            uuid,
            "greet",
        )
