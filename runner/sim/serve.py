"""Running the simulator as a service (``eslflow sim``): listen, play a scenario, load."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from runner.sim.acl import LOOPBACK
from runner.sim.scenario import Scenario, play
from runner.sim.simulator import Simulator


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError with a clear message."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:8021), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8021
    password: str = "ClueCon"
    acl: tuple[str, ...] = LOOPBACK
    speed: float | None = None
    heartbeat_interval: float | None = None
    outbound_target: str | None = None
    scenario: Scenario | None = None
    load: int | None = None
    load_rate: float | None = None
    duration: float | None = None
    orderings: str | None = None
    seed: int | None = None


Report = Callable[[str], None]


async def serve(options: ServeOptions, report: Report) -> None:
    """Run a simulator until cancelled (or ``duration`` seconds); report what happens.

    Scenario settings are defaults; the options given here override them. The password
    is never reported.
    """
    kwargs = options.scenario.simulator_options() if options.scenario else {}
    for name in ("speed", "heartbeat_interval", "outbound_target"):
        value = getattr(options, name)
        if value is not None:
            kwargs[name] = value
    async with Simulator(
        options.host,
        options.port,
        options.password,
        acl=options.acl,
        orderings=options.orderings,
        seed=options.seed,
        **kwargs,
    ) as sim:
        outbound = sim.core.dialplan.lookup("9000", "default")
        report(f"FreeSWITCH simulator listening on {sim.host}:{sim.port}")
        if sim.orderings.mode == "real":
            report(f"races settled as the real switch's ({sim.orderings.describe()})")
        if outbound:
            target = (outbound[0][1] or "").split()[0]
            report(f"extensions 9000/9001 connect to the outbound socket at {target}")
        with anyio.move_on_after(options.duration):
            async with anyio.create_task_group() as tg:
                if options.scenario is not None:
                    tg.start_soon(_play, sim, options.scenario, report)
                if options.load:
                    tg.start_soon(_load, sim, options.load, options.load_rate, report)
                await sim.serve_forever()


async def _play(sim: Simulator, scenario: Scenario, report: Report) -> None:
    for (_, spec), uuid in zip(scenario.schedule(), await play(sim, scenario), strict=True):
        report(f"call {uuid} from {spec.caller_number} to {spec.destination}")


async def _load(sim: Simulator, count: int, rate: float | None, report: Report) -> None:
    report(f"load: waiting for a subscriber to stream {count} events to")
    await sim.load.wait_for_subscriber()
    started = time.monotonic()
    sent = await sim.load.run(count, rate=rate)
    elapsed = time.monotonic() - started
    report(f"load: offered {sent} events in {elapsed:.2f} s ({sent / max(elapsed, 1e-9):,.0f}/s)")
