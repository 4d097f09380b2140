"""eslflow as a row of ../shared/bench-peers: InboundConnection's public API, unchanged.

Copied into the harness's clients/ folder by bench/esl_bench.py; run with the project's
own interpreter (`--python-for eslflow=...`).
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == _here:
    sys.path.pop(0)  # clients/<name>.py must never shadow the library <name>
sys.path.append(os.path.dirname(_here))
import benchcommon  # noqa: E402

bench = benchcommon.Bench("eslflow")
a = bench.args

import time  # noqa: E402

import anyio  # noqa: E402

from runner.esl import InboundConnection  # noqa: E402


async def run_api() -> None:
    async with InboundConnection.connect(a.host, a.port, a.password) as conn:
        body = await conn.api("status")
        if "UP " not in body:
            bench.fail(f"bad api reply: {body[:80]!r}")
        for _ in range(bench.api_warmup - 1):
            await conn.api("status")
        bench.start()
        pc = time.perf_counter_ns
        lat = bench.lat
        for _ in range(bench.api_n):
            t = pc()
            await conn.api("status")
            lat.append(pc() - t)
        bench.done()
    bench.finish()


async def run_events() -> None:
    bench.start()
    async with InboundConnection.connect(a.host, a.port, a.password) as conn:
        events = conn.events()
        await conn.subscribe(["ALL"], bench.format)
        async for event in events:
            event.get("Unique-ID")  # touch one header, like every other client
            if event.name == "CUSTOM" and event.subclass == benchcommon.SENTINEL_SUBCLASS:
                bench.done(event["Bench-Events-Sent"])
                break
            bench.n += 1
    bench.finish()


# eslflow runs on uvloop when it is installed (a dependency on Linux and macOS), as
# `eslflow run` does; see runner/aio.py.
from runner.aio import backend_options  # noqa: E402

anyio.run(run_api if bench.mode == "api" else run_events, backend_options=backend_options())
