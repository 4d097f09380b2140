"""Outbound mode: the `socket` application connects to an ESL server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest
from helpers.esl_raw import OutboundSocket, RawClient

from runner.esl import OutboundConnection, OutboundServer
from runner.sim import CallSpec, Simulator

pytestmark = pytest.mark.anyio

Connect = Callable[..., Awaitable[RawClient]]


async def test_the_project_outbound_server_answers_plays_and_hangs_up() -> None:
    seen: dict[str, str] = {}

    async def handle(call: OutboundConnection) -> None:
        seen["mode"] = call.channel_data.get("Socket-Mode", "")
        seen["control"] = call.channel_data.get("Control", "")
        seen["dest"] = call.channel_data.get("Caller-Destination-Number", "")
        await call.myevents()
        await call.execute("answer", wait=True)
        done = await call.execute("playback", "tone_stream://%(300,0,440)", wait=True)
        assert done is not None
        seen["response"] = done.get("Application-Response", "")
        await call.hangup()

    server = OutboundServer(handle, host="127.0.0.1", port=0)
    async with anyio.create_task_group() as tg:
        port = await tg.start(server.serve)
        async with Simulator(port=0, speed=50, outbound_target=f"127.0.0.1:{port}") as sim:
            uuid = await sim.place_call(CallSpec(destination="9000"))
            with anyio.fail_after(5):
                info = await sim.wait_for_hangup(uuid)
            record = sim.traffic.outbound()[0]
            assert record.lines == ["connect", "myevents", "sendmsg", "sendmsg", "sendmsg"]
        tg.cancel_scope.cancel()
    assert seen == {"mode": "async", "control": "full", "dest": "9000", "response": "FILE PLAYED"}
    assert info.hangup_cause == "NORMAL_CLEARING"
    assert info.variables["socket_host"] == "127.0.0.1"


async def test_a_sync_socket_replies_to_sendmsg_when_the_application_is_done(
    outbound: OutboundSocket,
) -> None:
    async with Simulator(port=0, speed=20, outbound_target=outbound.target) as sim:
        uuid = await sim.place_call(CallSpec(destination="9001"))
        client = await outbound.accept()
        await client.send("connect\n\n")
        data = await client.read()
        assert data.get("Socket-Mode") == "static"  # sync is reported as static
        assert data.get("Unique-ID") == uuid
        started = anyio.current_time()
        reply = await client.reply(
            "sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
            "execute-app-arg: tone_stream://%(2000,0,440)"
        )
        elapsed = anyio.current_time() - started
        assert reply == "+OK"
        assert elapsed >= 0.09  # 2 s of playback at 20x
        await client.aclose()
        with anyio.fail_after(5):
            await sim.wait_for_hangup(uuid)


@pytest.mark.parametrize("resume", [True, False])
async def test_resume_decides_what_happens_when_the_socket_closes(
    resume: bool, outbound: OutboundSocket
) -> None:
    async with Simulator(port=0, speed=50) as sim:
        actions = [
            f"socket {outbound.target} async full",
            "set after=socket",
            "hangup USER_BUSY",
        ]
        uuid = await sim.place_call(CallSpec(destination="1", actions=actions))
        client = await outbound.accept()
        await client.send("connect\n\n")
        await client.read()
        if resume:
            assert await client.reply("resume") == "+OK"
        await client.aclose()
        with anyio.fail_after(5):
            info = await sim.wait_for_hangup(uuid)
    if resume:
        assert (info.variables.get("after"), info.hangup_cause) == ("socket", "USER_BUSY")
        assert info.variables["socket_resume"] == "true"
    else:
        assert (info.variables.get("after"), info.hangup_cause) == (None, "NORMAL_CLEARING")


@pytest.mark.parametrize("who", ["socket", "far end"])
async def test_without_linger_the_socket_closes_right_after_the_hangup(
    who: str, outbound: OutboundSocket
) -> None:
    async with Simulator(port=0, speed=50, outbound_target=outbound.target) as sim:
        uuid = await sim.place_call(CallSpec(destination="9000"))
        client = await outbound.accept()
        await client.send("connect\n\n")
        await client.read()
        assert await client.reply("myevents") == "+OK Events Enabled"
        if who == "socket":
            assert await client.reply("sendmsg\ncall-command: hangup") == "+OK"
        else:
            sim.hangup(uuid)
        rest = await client.until_closed()
    assert rest[-1].content_type == "text/disconnect-notice"
    assert rest[-1].get("Content-Disposition") == "disconnect"
    assert rest[-1].get("Controlled-Session-UUID") == uuid
    assert rest[-1].body == b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    names = [m.event_get("Event-Name") for m in rest[:-1]]
    if who == "socket":
        # The session ran the hangup itself, all the way to CS_REPORTING (capture g3).
        assert names == [
            "CHANNEL_HANGUP",
            "CHANNEL_UNPARK",
            "CHANNEL_EXECUTE_COMPLETE",
            "CHANNEL_STATE",
            "CHANNEL_STATE",
            "CHANNEL_HANGUP_COMPLETE",
        ]
    else:
        # The socket notices the hangup first (like myevents in capture d3).
        assert names == ["CHANNEL_HANGUP"]


async def test_linger_keeps_the_socket_open_for_its_seconds_after_the_hangup(
    outbound: OutboundSocket,
) -> None:
    async with Simulator(port=0, speed=10, outbound_target=outbound.target) as sim:
        uuid = await sim.place_call(CallSpec(destination="9000"))
        client = await outbound.accept()
        await client.send("connect\n\n")
        await client.read()
        assert await client.reply("linger 2") == "+OK will linger 2 seconds"
        sim.hangup(uuid)
        notice = await client.read()
        hung_up = sim.clock.now()
        rest = await client.until_closed()
        lingered = sim.clock.now() - hung_up
    assert notice.headers == [
        ("Content-Type", "text/disconnect-notice"),
        ("Controlled-Session-UUID", uuid),
        ("Content-Disposition", "linger"),
        ("Channel-Name", "sofia/internal/1000@127.0.0.1"),
        ("Linger-Time", "2"),
        ("Content-Length", "0"),
    ]
    assert rest[-1].get("Content-Disposition") == "disconnect"
    # FreeSWITCH closes once the whole-second clock passes hangup second + 2: 2-3 s
    # (simulated; the slack is scheduling on a busy machine).
    assert 1.9 <= lingered <= 3.5


async def test_divert_events_delivers_the_calls_dtmf_to_the_socket(
    outbound: OutboundSocket,
) -> None:
    async with Simulator(port=0, speed=50, outbound_target=outbound.target) as sim:
        uuid = await sim.place_call(CallSpec(destination="9000"))
        client = await outbound.accept()
        await client.send("connect\n\n")
        await client.read()
        # Diverted events bypass subscriptions but are written only to a socket that
        # listens for events at all.
        assert await client.reply("myevents") == "+OK Events Enabled"
        assert await client.reply("divert_events on") == "+OK events diverted"
        assert await client.reply("divert_events") == "-ERR missing value."
        sim.send_dtmf(uuid, "7")
        event = await client.event("DTMF")
        assert event.event_get("DTMF-Digit") == "7"
        assert await client.reply("divert_events off") == "+OK events not diverted"


async def test_getvar_the_first_command_quirk_and_non_full_control(
    outbound: OutboundSocket,
) -> None:
    async with Simulator(port=0, speed=50) as sim:
        actions = [f"socket {outbound.target} async"]
        await sim.place_call(CallSpec(destination="1", actions=actions, variables={"team": "red"}))
        client = await outbound.accept()
        # The first command's command/reply is never sent (mod_event_socket listener_run).
        await client.send("myevents\n\n")
        await client.send("connect\n\n")
        data = await client.read()
        assert data.get("Control") == "single-channel"
        assert await client.reply("getvar team") == "red"
        assert await client.reply("getvar missing") == "-ERR command not found"
        assert await client.reply("api status") == "-ERR command not found"
        assert await client.reply("linger") == "-ERR command not found"


async def test_an_unreachable_outbound_server_ends_the_socket_application(
    outbound: OutboundSocket,
) -> None:
    async with Simulator(port=0, speed=50) as sim:
        actions = ["socket 127.0.0.1:1|127.0.0.1:2 async full", "set after=socket"]
        uuid = await sim.place_call(CallSpec(destination="1", actions=actions))
        with anyio.fail_after(5):
            info = await sim.wait_for_hangup(uuid)
    assert info.variables["after"] == "socket"
    assert info.hangup_cause == "NORMAL_CLEARING"


async def test_background_jobs_reach_the_session_that_started_them(
    outbound: OutboundSocket, connect: Connect
) -> None:
    async with Simulator(port=0, speed=50, outbound_target=outbound.target) as sim:
        await sim.place_call(CallSpec(destination="9000"))
        client = await outbound.accept()
        await client.send("connect\n\n")
        data = await client.read()
        await client.reply("myevents")
        # myevents alone does not include BACKGROUND_JOB; once subscribed, a job passes
        # the myevents channel check only if this session started it (Job-Owner-UUID).
        await client.reply("event plain BACKGROUND_JOB")
        inbound = await connect(sim.port)
        other = (await inbound.command("bgapi echo not yours")).get("Job-UUID")
        reply = await client.command("bgapi echo owned")
        job = reply.get("Job-UUID")
        event = await client.event("BACKGROUND_JOB")
        assert event.event_get("Job-UUID") == job != other
        assert event.event_get("Job-Owner-UUID") == data.get("Unique-ID")


async def test_originate_can_hand_the_call_to_a_socket_directly(outbound: OutboundSocket) -> None:
    async with Simulator(port=0, speed=50) as sim:
        # Quoted, as with FreeSWITCH: originate splits its arguments at spaces.
        app = f"'&socket({outbound.target} async full)'"
        originate = f"originate {{origination_uuid=ob-1}}sim/2000 {app}"
        with anyio.fail_after(5):
            assert await sim.api(originate) == "+OK ob-1\n"
        client = await outbound.accept()
        await client.send("connect\n\n")
        data = await client.read()
        assert (data.get("Unique-ID"), data.get("Socket-Mode")) == ("ob-1", "async")
        assert data.get("Channel-Name") == "sofia/sim/2000"
        assert data.get("variable_current_application") == "socket"
