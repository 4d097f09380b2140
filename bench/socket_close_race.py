"""How often a socket call outlives a handler that returned at once, on a real switch.

An async `socket` application parks its channel after `connect`; the listener clears
CF_CONTROLLED when the socket closes, and when that happens before the park began the
park never ends (mod_event_socket.c socket_function, switch_ivr.c switch_ivr_park). The
OutboundServer therefore hangs the call up before `exit`. This places N calls to
extension 9000 whose handler returns at once and counts those still up 1 s later,
with the server's goodbye (`hangup`) and with `exit` alone (`--exit-only`).

    eval "$(../shared/freeswitch/start-freeswitch --outbound 127.0.0.1:28931)"
    python bench/socket_close_race.py --esl "$FREESWITCH_ESL" --outbound-port 28931 --calls 30
    python bench/socket_close_race.py --esl "$FREESWITCH_ESL" --outbound-port 28931 --exit-only
    ../shared/freeswitch/stop-freeswitch "$FREESWITCH_DIR" --kill
"""

from __future__ import annotations

import argparse
import uuid

import anyio

from runner.esl import InboundConnection, OutboundConnection, OutboundServer, commands


class ExitOnly(OutboundConnection):
    """The goodbye before the fix: `exit` alone."""

    def _goodbye(self) -> list[bytes]:
        return [commands.exit()]


async def measure(host: str, port: int, password: str, outbound_port: int, calls: int) -> int:
    stuck = 0

    async def handler(call: OutboundConnection) -> None:
        return

    server = OutboundServer(handler, port=outbound_port)
    async with (
        InboundConnection.connect(host, port, password) as esl,
        anyio.create_task_group() as tg,
    ):
        await tg.start(server.serve)
        for _ in range(calls):
            served = server.served
            await esl.connection.bgapi_start(
                f"originate {{origination_uuid={uuid.uuid4()},originate_timeout=10}}"
                "loopback/9000/default &park()"
            )
            with anyio.fail_after(10):
                while server.served == served:
                    await anyio.sleep(0.01)
            await anyio.sleep(1.0)
            if (await esl.api("show channels count")).strip() != "0 total.":
                stuck += 1
                await esl.api("hupall")
                await anyio.sleep(0.3)
        tg.cancel_scope.cancel()
    return stuck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esl", required=True, help="HOST:PORT of the switch's event socket")
    parser.add_argument("--password", default="ClueCon")
    parser.add_argument("--outbound-port", type=int, required=True, help="where 9000 connects")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--exit-only", action="store_true", help="close with exit alone")
    args = parser.parse_args()
    host, _, port = args.esl.rpartition(":")
    if args.exit_only:
        # The server builds OutboundConnection by name: swap the class for this run.
        import runner.esl.outbound as outbound

        outbound.OutboundConnection = ExitOnly  # type: ignore[misc]
    stuck = anyio.run(measure, host, int(port), args.password, args.outbound_port, args.calls)
    mode = "exit only" if args.exit_only else "hangup + exit"
    print(f"{mode}: {stuck} of {args.calls} calls still up 1 s after the socket closed")


if __name__ == "__main__":
    main()
