"""A flow triggered by `CUSTOM <subclass>` starts when a `sendevent` names a live
channel, on the real switch (which delivers that event without Event-Name) as on the
simulator."""

from __future__ import annotations

import anyio
import pytest
from helpers.differential import Backend, sim_backend
from helpers.engine_sim import flows
from helpers.freeswitch import RealSwitch, free_port, new_uuid

from runner.engine.service import Engine, NodeSpec
from runner.esl import Backoff, InboundConnection

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]

POKED = r"""
flow: poked
trigger: {event: CUSTOM, subclass: "eslflow::poke"}
steps:
  - api: "uuid_setvar ${{ uuid }} poked ${{ event['X-Poke'] }}"
"""


async def _poke(backend: Backend) -> str:
    engine = Engine(
        flows(POKED),
        nodes=[NodeSpec(backend.host, backend.port, backend.password)],
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with (
        anyio.create_task_group() as tg,
        InboundConnection.connect(backend.host, backend.port, backend.password) as conn,
    ):
        await tg.start(engine.run)
        uuid = new_uuid()
        with anyio.fail_after(10):
            assert (
                await conn.api(
                    f"originate {{origination_uuid={uuid}}}loopback/9002/default &park()"
                )
                == f"+OK {uuid}\n"
            )
            await conn.sendevent(
                "CUSTOM", {"Event-Subclass": "eslflow::poke", "Unique-ID": uuid, "X-Poke": "7"}
            )
            while (value := await conn.api(f"uuid_getvar {uuid} poked")) == "_undef_":
                await anyio.sleep(0.05)
        await conn.api(f"uuid_kill {uuid}")
        engine.stop()
        tg.cancel_scope.cancel()
    return value


async def test_a_custom_flow_starts_for_a_sendevent_to_a_live_channel(
    real_switch: RealSwitch,
) -> None:
    real = Backend("real", real_switch.host, real_switch.port, real_switch.password, 0)
    assert await _poke(real) == "7"
    async with sim_backend(free_port()) as sim:
        assert await _poke(sim) == "7"
