"""An independent ESL client from PyPI (greenswitch, on gevent) against `eslflow sim`.

greenswitch runs its own gevent hub, so the simulator runs in a subprocess.
"""

from __future__ import annotations

import gevent
import greenswitch
from helpers.sim_process import sim_process


def wait_until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    with gevent.Timeout(timeout):
        while not predicate():
            gevent.sleep(0.01)


def test_greenswitch_auth_api_bgapi_and_events() -> None:
    with sim_process("--speed", "20", "--heartbeat", "1000000") as sim:
        fs = greenswitch.InboundESL(host="127.0.0.1", port=sim.port, password="ClueCon")
        fs.connect()
        try:
            status = fs.send("api status")
            assert status.data.startswith("UP 0 years, 0 days, 0 hours")
            assert "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n" in status.data
            assert fs.send("api echo from greenswitch").data == "from greenswitch"

            jobs, answers = [], []
            fs.register_handle("BACKGROUND_JOB", jobs.append)
            fs.register_handle("CHANNEL_ANSWER", answers.append)
            subscribed = fs.send("event plain BACKGROUND_JOB CHANNEL_ANSWER")
            assert subscribed.data == "+OK event listener enabled plain"

            reply = fs.send("bgapi uptime s")
            job_uuid = reply.headers["Job-UUID"]
            assert reply.data == f"+OK Job-UUID: {job_uuid}"
            wait_until(lambda: jobs)
            assert jobs[0].headers["Job-UUID"] == job_uuid
            assert jobs[0].headers["Job-Command"] == "uptime"

            origination = "2b0a3f0e-1d1c-4f5e-9a8b-7c6d5e4f3a21"
            out = fs.send(f"api originate {{origination_uuid={origination}}}loopback/9002 &park()")
            assert out.data == f"+OK {origination}\n"
            wait_until(lambda: len(answers) >= 2)
            legs = {event.headers["Channel-Name"] for event in answers}
            assert legs == {"loopback/9002-a", "loopback/9002-b"}
            assert fs.send(f"api uuid_kill {origination}").data == "+OK\n"
        finally:
            fs.stop()
    assert not any("Traceback" in line for line in sim.output), sim.output
