"""The scripted scenarios the differential test runs on the simulator and on FreeSWITCH.

Each is ``async def name(run: Run)``; it places loopback calls (``9002`` answers and
parks, ``9003`` parks unanswered, ``9000``/``9001`` reach our outbound server), drives
them through `runner.esl`, and declares with `run.before` the orderings flows rely on.
"""

from __future__ import annotations

import anyio

from helpers.differential import Run, first_word, json_keys, new_uuid
from runner.esl import OutboundConnection

TONE = "tone_stream://%(200,0,500)"


async def originate_park_kill(run: Run) -> None:
    a = await run.originate("loopback/9002/default")
    await run.wait_event("9002-b", "CHANNEL_PARK")
    # `show channels` reads the core db, which FreeSWITCH fills behind the events: right
    # after originate returns it may list nothing yet (seen on a fresh 1.10.12).
    with anyio.fail_after(5):
        while '"row_count":0' in (await run.conn.api("show channels as json")).replace(" ", ""):
            await anyio.sleep(0.1)
    await run.api("show", "show channels as json", json_keys)
    await run.api("uuid_exists", f"uuid_exists {a}")
    await run.api("uuid_kill", f"uuid_kill {a}")
    await run.wait_gone()
    await run.api("uuid_kill gone", f"uuid_kill {a}")
    run.before("9002-b:CHANNEL_ANSWER", "9002-b:CHANNEL_PARK")
    run.before("9002-a:CHANNEL_ANSWER", "api:originate")
    run.before("9002-a:CHANNEL_HANGUP", "9002-a:CHANNEL_DESTROY")


async def unanswered_hangup(run: Run) -> None:
    uuid = new_uuid()
    run.names[uuid] = "9003-a"
    job = await run.conn.connection.bgapi_start(
        f"originate {{origination_uuid={uuid}}}loopback/9003/default &park()"
    )
    run.record_reply("bgapi", "+OK Job-UUID: " + job.uuid)
    await run.wait_event("9003-b", "CHANNEL_PARK")
    await run.api("uuid_kill b", f"uuid_kill {run.leg('9003-b')}")
    result = await job.result()
    run.record_reply("job", result)
    await run.wait_gone()
    run.before("9003-b:CHANNEL_PARK", "9003-b:CHANNEL_HANGUP")


async def _answered(run: Run) -> str:
    a = await run.originate("loopback/9002/default")
    await run.wait_event("9002-b", "CHANNEL_PARK")
    return a


async def sendmsg_apps(run: Run) -> None:
    a = await _answered(run)
    for app, arg in (("answer", None), ("playback", TONE), ("set", "foo=bar")):
        await run.execute(app, a, app, arg, wait=True)
    await run.api("getvar", f"uuid_getvar {a} foo")
    await run.reply("hangup", run.conn.hangup(a, "NORMAL_CLEARING"))
    await run.wait_gone()


async def unknown_app(run: Run) -> None:
    a = await _answered(run)
    await run.execute("bogus", a, "no_such_app", "x")
    await run.wait_gone()


async def playback_loops(run: Run) -> None:
    a = await _answered(run)
    await run.execute("loops", a, "playback", TONE, loops=2)
    await run.execute("next", a, "set", "after=1")
    await run.wait_event("9002-a", "CHANNEL_EXECUTE_COMPLETE", count=2)
    await anyio.sleep(1.0)
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def read_dtmf(run: Run) -> None:
    a = await _answered(run)
    b = run.leg("9002-b")
    read = f"1 1 {TONE} got 3000 #"
    await run.execute("read1", a, "read", read)
    await anyio.sleep(0.3)
    await run.api("dtmf", f"uuid_send_dtmf {b} 1#")
    await run.wait_event("9002-a", "CHANNEL_EXECUTE_COMPLETE")
    await run.execute("play", a, "playback", TONE, wait=True)
    await run.execute("read2", a, "read", f"1 1 {TONE} got2 1000 #", wait=True)
    await run.api("got", f"uuid_getvar {a} got")
    await run.api("got2", f"uuid_getvar {a} got2")
    await run.api("read_result", f"uuid_getvar {a} read_result")
    await run.api("terminator", f"uuid_getvar {a} read_terminator_used")
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def play_and_get_digits(run: Run) -> None:
    a = await _answered(run)
    b = run.leg("9002-b")
    pagd = f"1 2 1 2000 # {TONE} silence_stream://100 choice \\d+"
    await run.execute("pagd", a, "play_and_get_digits", pagd)
    await anyio.sleep(0.3)
    await run.api("dtmf", f"uuid_send_dtmf {b} 42#")
    await run.wait_event("9002-a", "CHANNEL_EXECUTE_COMPLETE")
    await run.api("choice", f"uuid_getvar {a} choice")
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def uuid_break(run: Run) -> None:
    a = await _answered(run)
    await run.execute("play", a, "playback", "silence_stream://5000")
    await run.wait_event("9002-a", "PLAYBACK_START")
    await run.api("break", f"uuid_break {a}")
    await run.wait_event("9002-a", "CHANNEL_EXECUTE_COMPLETE")
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def _bridge(run: Run, vars: str, dial: str) -> None:
    a = await _answered(run)
    if vars:
        await run.execute("set", a, "set", vars, wait=True)
    await run.execute("bridge", a, "bridge", dial)
    with anyio.fail_after(10):
        await run.wait_event("9002-a", "CHANNEL_EXECUTE_COMPLETE", timeout=10)
    await run.api("disposition", f"uuid_getvar {a} originate_disposition")
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()
    run.before("9003-b:CHANNEL_PARK", "9003-b:CHANNEL_HANGUP")


async def bridge_leg_timeout(run: Run) -> None:
    await _bridge(run, "", "{leg_timeout=1}loopback/9003/default")


async def bridge_call_timeout(run: Run) -> None:
    await _bridge(run, "call_timeout=1", "loopback/9003/default")


async def sendevent_custom(run: Run) -> None:
    await run.reply(
        "plain",
        run.conn.sendevent("CUSTOM", {"Event-Subclass": "eslflow::diff", "X-Test": "1"}),
    )
    await run.wait_for(lambda: any(e.subclass == "eslflow::diff" for e in run.events), "CUSTOM")
    await anyio.sleep(0.2)


async def sendevent_live_uuid(run: Run) -> None:
    a = await _answered(run)
    await run.reply(
        "live",
        run.conn.sendevent(
            "CUSTOM", {"Event-Subclass": "eslflow::diff", "Unique-ID": a, "X-Test": "2"}
        ),
    )
    await run.wait_for(
        lambda: any(e.get("X-Test") == "2" for e in run.events), "the sent event", timeout=5
    )
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def bgapi_originate(run: Run) -> None:
    uuid = new_uuid()
    run.names[uuid] = "9002-a"
    job = await run.conn.connection.bgapi_start(
        f"originate {{origination_uuid={uuid}}}loopback/9002/default &park()"
    )
    result = await job.result()
    run.record_reply("job", result)
    run.mark("reply:job")
    await run.wait_event("9002-b", "CHANNEL_PARK")
    await run.api("uuid_kill", f"uuid_kill {uuid}")
    await run.wait_gone()
    run.before("9002-a:CHANNEL_ANSWER", "-:BACKGROUND_JOB")


async def _outbound(run: Run, ext: str) -> None:
    done = anyio.Event()

    async def handle(call: OutboundConnection) -> None:
        data = await call.connect()
        run.record_reply("connect mode", data.get("Socket-Mode", ""))
        await run.reply("myevents", call.myevents())
        await run.reply("linger", call.linger())
        await run.reply("answer", call.execute("answer", wait=True))
        await run.reply("playback", call.execute("playback", TONE, wait=True))
        await run.reply("hangup", call.hangup())
        done.set()
        with anyio.move_on_after(5):
            await call.wait_closed()

    run.outbound = handle
    await run.originate(f"loopback/{ext}/default")
    with anyio.fail_after(10):
        await done.wait()
    await run.wait_gone()
    run.before(f"{ext}-b:CHANNEL_ANSWER", f"{ext}-b:CHANNEL_EXECUTE")


async def outbound_async(run: Run) -> None:
    await _outbound(run, "9000")


async def outbound_sync(run: Run) -> None:
    await _outbound(run, "9001")


async def park(run: Run) -> None:
    a = await _answered(run)
    await run.execute("park", a, "park", None)
    await run.wait_event("9002-a", "CHANNEL_PARK")
    await run.reply("hangup", run.conn.hangup(a))
    await run.wait_gone()


async def transfer(run: Run) -> None:
    uuid = new_uuid()
    run.names[uuid] = "9003-a"
    job = await run.conn.connection.bgapi_start(
        f"originate {{origination_uuid={uuid}}}loopback/9003/default &park()"
    )
    await run.wait_event("9003-b", "CHANNEL_PARK")
    await run.api("transfer", f"uuid_transfer {run.leg('9003-b')} 9002 XML default")
    await run.wait_event("9003-b", "CHANNEL_ANSWER")
    run.record_reply("job", await job.result())
    await run.api("uuid_kill", f"uuid_kill {run.leg('9003-b')}")
    await run.wait_gone()


async def api_errors(run: Run) -> None:
    await run.api("no such", "no_such_command")
    await run.api("kill unknown", f"uuid_kill {new_uuid()}")
    await run.api("getvar unknown", f"uuid_getvar {new_uuid()} foo")
    await run.api("version", "version", first_word)
    await run.execute("sendmsg unknown", new_uuid(), "answer")


SCENARIOS = {
    f.__name__: f
    for f in (
        originate_park_kill,
        unanswered_hangup,
        sendmsg_apps,
        unknown_app,
        playback_loops,
        read_dtmf,
        play_and_get_digits,
        uuid_break,
        bridge_leg_timeout,
        bridge_call_timeout,
        sendevent_custom,
        sendevent_live_uuid,
        bgapi_originate,
        outbound_async,
        outbound_sync,
        park,
        transfer,
        api_errors,
    )
}
