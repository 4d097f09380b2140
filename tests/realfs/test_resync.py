"""On a real FreeSWITCH: an application that completes while the engine's connection is
cut fails its step promptly after the reconnect (issue 10, finding 8a)."""

from __future__ import annotations

import contextlib

import anyio
import anyio.abc
import pytest
from helpers.freeswitch import RealSwitch, new_uuid

from runner.engine.service import Engine, NodeSpec
from runner.esl import InboundConnection
from runner.esl.inbound import Backoff
from runner.flow import load_flow_sources

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]

FLOW = """
flow: tone
trigger: CHANNEL_PARK
when:
  - field: Unique-ID
    expression: ^%s$
steps:
  - execute: {app: playback, arg: "tone_stream://%%(500,0,440);loops=2"}
  - api: "uuid_setvar ${{ uuid }} result played"
on_error:
  - execute: "set err=${{ vars.error }}"
"""


class CuttableProxy:
    """A TCP relay to the switch whose connections the test can cut (and keep cut)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.open = True
        self.scope = anyio.CancelScope()
        self.relayed = 0

    async def serve(self, *, task_status: anyio.abc.TaskStatus[int]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        async with listener, anyio.create_task_group() as tg:
            task_status.started(listener.extra(anyio.abc.SocketAttribute.local_port))
            await listener.serve(self._relay, task_group=tg)

    def cut(self) -> None:
        self.open = False
        self.scope.cancel()

    def restore(self) -> None:
        self.open = True
        self.scope = anyio.CancelScope()

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            if not self.open:
                return
            self.relayed += 1
            async with await anyio.connect_tcp(*self.target) as server:
                with self.scope, contextlib.suppress(Exception):
                    async with anyio.create_task_group() as tg:

                        async def pipe(
                            a: anyio.abc.SocketStream, b: anyio.abc.SocketStream
                        ) -> None:
                            async for chunk in a:
                                await b.send(chunk)
                            tg.cancel_scope.cancel()

                        tg.start_soon(pipe, client, server)
                        tg.start_soon(pipe, server, client)


async def test_a_completion_during_a_cut_fails_the_step_after_the_reconnect(
    real_switch: RealSwitch,
) -> None:
    uuid = new_uuid()
    proxy = CuttableProxy(real_switch.host, real_switch.port)
    with anyio.fail_after(30):
        async with (
            InboundConnection.connect(
                real_switch.host, real_switch.port, real_switch.password
            ) as control,
            anyio.create_task_group() as tg,
        ):
            port = await tg.start(proxy.serve)
            engine = Engine(
                load_flow_sources([("flows/tone.yaml", FLOW % uuid)]),
                nodes=[NodeSpec("127.0.0.1", port, real_switch.password, label="fs")],
                backoff=Backoff(initial=2.0, maximum=2.0, jitter=0.0),
            )
            await tg.start(engine.run)
            await control.api(f"originate {{origination_uuid={uuid}}}loopback/9002/default &park()")
            node = engine.nodes[0].conn
            assert node is not None
            # Until the playback's +OK is back (the tone then plays for 1 s).
            while node.connection._replies or not any(
                i.waiting is not None for i in engine.router.instances()
            ):
                await anyio.sleep(0.01)
            proxy.cut()
            await anyio.sleep(1.5)  # the tone ends while the engine is away
            proxy.restore()
            err = ""
            while not err:
                await anyio.sleep(0.1)
                err = (await control.api(f"uuid_getvar {uuid} err")).strip()
                if err == "_undef_":
                    err = ""
            result = (await control.api(f"uuid_getvar {uuid} result")).strip()
            await control.api(f"uuid_kill {uuid}")
            engine.stop()
            tg.cancel_scope.cancel()
    assert err == (
        "the connection to fs was lost while this step waited for CHANNEL_EXECUTE_COMPLETE; "
        "whether it fired is unknown"
    ), real_switch.log[-2000:]
    assert result == "_undef_"
    assert proxy.relayed == 2
