"""Outbound sockets on the real switch through `OutboundServer` / `OutboundConnection`.

Extension 9000 is `socket <our server> async full`, 9001 the same in sync mode. Each
call is the loopback b-leg; the a-leg (the originate) parks once the b-leg answers.
"""

from __future__ import annotations

import anyio
import pytest
from helpers.conformance import LOOP_TONE, SHORT_TONE, Collected, esl, next_event, socket_calls
from helpers.freeswitch import RealSwitch

from runner.esl import Event, InboundConnection, commands

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]
__all__ = ["esl"]


async def test_connect_reply_says_the_socket_mode(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        async_call = await calls.place("9000")
        sync_call = await calls.place("9001")
        for call, ext, mode in ((async_call, "9000", "async"), (sync_call, "9001", "static")):
            data = call.channel_data
            assert data.get("Content-Type") == "command/reply"
            assert data.get("Reply-Text") == "+OK\n"  # sent URL-encoded: %2BOK%0A
            assert data.get("Socket-Mode") == mode
            assert data.get("Control") == "full"
            assert data.get("Event-Name") == "CHANNEL_DATA"
            assert data.get("Channel-Name") == f"loopback/{ext}-b"
            assert data.get("Caller-Destination-Number") == ext
            assert data.get("Unique-ID") == call.uuid
        assert async_call.async_mode and not sync_call.async_mode


async def test_getvar_answers_the_bare_value(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        await call.myevents()
        assert await call.getvar("channel_name") == "loopback/9000-b"
        assert await call.getvar("uuid") == call.uuid
        # Unset (or not a variable at all): `-ERR command not found`.
        assert await call.getvar("no_such_variable") is None
        assert await call.getvar("Unique-ID") is None
        raw = await call.send(b"getvar no_such_variable\n\n")
        assert raw.headers == {
            "Content-Type": "command/reply",
            "Reply-Text": "-ERR command not found",
        }
        # Values go out as they are: not URL-encoded, so not decoded either.
        await call.execute("set", "percent=a%41b c", wait=True)
        assert await call.getvar("percent") == "a%41b c"
        # mod_event_socket's reply buffer is 512 bytes: on the wire a longer value is
        # cut at 511; getvar then reads it again with api uuid_getvar (full control).
        await call.execute("set", "long=" + "x" * 600, wait=True)
        cut = await call.send(b"getvar long\n\n")
        assert cut.headers == {"Content-Type": "command/reply", "Reply-Text": "x" * 511}
        assert await call.getvar("long") == "x" * 600
        await call.execute("set", "exact=" + "y" * 511, wait=True)
        assert await call.getvar("exact") == "y" * 511
        # A line break ends the Reply-Text header: the value comes back cut there, and
        # the connection stays in step.
        await call.execute("set", "lines=first\nsecond", wait=True)
        assert await call.getvar("lines") == "first"
        assert await call.getvar("channel_name") == "loopback/9000-b"


async def _executes(events: list[Event], app_uuid: str) -> list[tuple[str, str, str]]:
    return [
        (e.name, e.get("variable_current_loop", ""), e.get("variable_total_loops", ""))
        for e in events
        if e.get("Application-UUID") == app_uuid
    ]


async def test_execute_with_loops_returns_after_the_last_run(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        await call.myevents()
        buffer = Collected(call.event_buffer())
        await call.execute("answer", wait=True)
        # Each run of 0.6 s is repeated: three runs, one Application-UUID.
        with anyio.fail_after(5):
            done = await call.execute("playback", LOOP_TONE, loops=3, wait=True, event_uuid="L3")
        assert done is not None
        assert (done.get("variable_current_loop"), done.get("variable_total_loops")) == ("3", "3")
        assert done.get("Application-Response") == "FILE PLAYED"
        seen = await _executes(buffer.take(), "L3")
        assert seen == [
            ("CHANNEL_EXECUTE", "1", "3"),
            ("CHANNEL_EXECUTE_COMPLETE", "1", "3"),
            ("CHANNEL_EXECUTE", "2", "3"),
            ("CHANNEL_EXECUTE_COMPLETE", "2", "3"),
            ("CHANNEL_EXECUTE", "3", "3"),
            ("CHANNEL_EXECUTE_COMPLETE", "3", "3"),
        ]
        # A run shorter than 0.5 s is not repeated (switch_ivr.c): one play of two, and
        # the wait ends with it rather than waiting for a second run that never comes.
        started = anyio.current_time()
        done = await call.execute("playback", SHORT_TONE, loops=2, wait=True, event_uuid="S2")
        # Well before LOOP_SETTLE (1 s) would have ended an undecided wait.
        assert anyio.current_time() - started < 0.9
        assert done is not None
        assert (done.get("variable_current_loop"), done.get("variable_total_loops")) == ("1", "2")
        await anyio.sleep(0.6)
        seen = await _executes(buffer.take(), "S2")
        assert seen == [("CHANNEL_EXECUTE", "1", "2"), ("CHANNEL_EXECUTE_COMPLETE", "1", "2")]
        # Outbound myevents: this channel's events only, none of the a-leg's (which
        # was answered along with it).
        assert {e["Unique-ID"] for e in buffer.events} == {call.uuid}
        assert "CHANNEL_ANSWER" in [e.name for e in buffer.events]


async def test_a_handler_that_returns_ends_the_call_at_once(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    # Before the server hung up on its own, 11 of 16 such calls stayed parked until
    # originate_timeout (10 s here).
    async with socket_calls(real_switch, esl) as calls:
        for _ in range(4):
            call = await calls.place("9000")
            await calls.release(call)
            assert call.disconnect_notice is not None
            (job,) = calls.jobs.values()
            with anyio.fail_after(3):
                assert await job.result() == "-ERR NORMAL_CLEARING\n"
            calls.jobs.clear()


async def test_hangup_with_myevents_brings_the_disconnect_notice(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        assert (await call.myevents()).reply_text == "+OK Events Enabled"
        events = call.events()
        await call.execute("answer", wait=True)
        assert (await call.hangup("USER_BUSY")).reply_text == "+OK"
        hangup = await next_event(events, "CHANNEL_HANGUP")
        assert hangup.get("Hangup-Cause") == "USER_BUSY"
        with anyio.fail_after(3):
            await call.wait_closed()
        notice = call.disconnect_notice
        assert notice is not None and notice.disposition == "disconnect"
        assert notice.headers.get("Controlled-Session-UUID") == call.uuid
        assert (
            notice.body == "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
        )
        assert call.close_reason is None


async def test_linger_keeps_the_socket_after_hangup(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        await call.myevents()
        assert (await call.linger(1)).reply_text == "+OK will linger 1 seconds"
        events = call.events()
        await call.execute("answer", wait=True)
        await call.hangup()
        hangup_at = anyio.current_time()
        await next_event(events, "CHANNEL_HANGUP_COMPLETE")
        assert not call.closed  # lingering: the last events still arrive
        with anyio.fail_after(5):
            await call.wait_closed()
        lingered = anyio.current_time() - hangup_at
        notice = call.linger_notice
        assert notice is not None
        assert dict(notice.headers) == {
            "Content-Type": "text/disconnect-notice",
            "Controlled-Session-UUID": call.uuid,
            "Content-Disposition": "linger",
            "Channel-Name": "loopback/9000-b",
            "Linger-Time": "1",
            "Content-Length": "0",
        }
        assert notice.body == ""
        final = call.disconnect_notice
        assert final is not None and final.disposition == "disconnect"
        # linger N closes about N + 1 s after the hangup (1.10.12 checks once a second).
        assert 0.9 < lingered < 4.0
        print(f"linger 1: closed {lingered:.2f} s after the hangup")

        other = await calls.place("9000")
        assert (await other.nolinger()).reply_text == "+OK will not linger"
        assert (await other.linger()).reply_text == "+OK will linger"  # Linger-Time: -1
        assert (await other.linger()).reply_text == "+OK will linger"


async def test_sync_mode_replies_when_the_application_ends(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        for ext, slow in (("9000", False), ("9001", True)):
            call = await calls.place(ext)
            await call.myevents()
            await call.execute("answer", wait=True)
            started = anyio.current_time()
            done = await call.execute("playback", LOOP_TONE, wait=True)
            took = anyio.current_time() - started
            assert done is not None and done.get("Application-Response") == "FILE PLAYED"
            assert took >= 0.55
            started = anyio.current_time()
            reply = await call.execute("playback", LOOP_TONE)
            replied = anyio.current_time() - started
            assert reply is None
            assert (replied >= 0.55) is slow, (ext, replied)
            await calls.release(call)


async def test_event_lock_keeps_a_queued_command_from_running_inside_the_app(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        order: dict[bool, list[str]] = {}
        for lock in (False, True):
            call = await calls.place("9000")
            await call.myevents()
            buffer = Collected(call.event_buffer())
            await call.execute("answer", wait=True)
            # event-lock holds the channel's queue while *its* app runs (switch_ivr.c
            # sets CF_EVENT_LOCK around that one message), so it goes on the playback.
            await call.execute("playback", LOOP_TONE, event_uuid="play", event_lock=lock)
            done = await call.execute("set", "x=1", event_uuid="set", wait=True)
            assert done is not None
            await buffer.until("CHANNEL_EXECUTE_COMPLETE", "play")
            order[lock] = [
                f"{e.name}:{e.get('Application-UUID')}"
                for e in buffer.take()
                if e.get("Application-UUID") in ("play", "set")
            ]
            await calls.release(call)
        assert order[False] == [
            "CHANNEL_EXECUTE:play",
            "CHANNEL_EXECUTE:set",  # run nested inside the playback
            "CHANNEL_EXECUTE_COMPLETE:set",
            "CHANNEL_EXECUTE_COMPLETE:play",
        ]
        assert order[True] == [
            "CHANNEL_EXECUTE:play",
            "CHANNEL_EXECUTE_COMPLETE:play",
            "CHANNEL_EXECUTE:set",
            "CHANNEL_EXECUTE_COMPLETE:set",
        ]


async def test_xferext_divert_events_unicast_nomedia_and_exit(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        await call.myevents()
        buffer = Collected(call.event_buffer())
        assert (await call.divert_events(True)).reply_text == "+OK events diverted"
        assert (await call.divert_events(False)).reply_text == "+OK events not diverted"
        apps = [("set", "xfer=yes"), ("answer", None), ("park", None)]
        assert (await call.command(commands.xferext(apps))).reply_text == "+OK"
        # Not the first CHANNEL_PARK: the socket app's own park may come after myevents.
        with anyio.fail_after(5):
            while not any(
                e.name == "CHANNEL_EXECUTE" and e.get("Application") == "park"
                for e in buffer.take()
            ):
                await anyio.sleep(0.02)
        # The new extension ends the socket application's own park; the socket stays.
        names = [(e.name, e.get("Application"), e.get("Application-Data")) for e in buffer.take()]
        socket_app = f"127.0.0.1:{real_switch.outbound_port} async full"
        first_set = names.index(("CHANNEL_EXECUTE", "set", "xfer=yes"))
        assert names.index(("CHANNEL_UNPARK", None, None)) < first_set
        assert names.index(("CHANNEL_EXECUTE_COMPLETE", "socket", socket_app)) < first_set
        assert [n for n in names if n[0] == "CHANNEL_EXECUTE"] == [
            ("CHANNEL_EXECUTE", "set", "xfer=yes"),
            ("CHANNEL_EXECUTE", "answer", None),
            ("CHANNEL_EXECUTE", "park", None),
        ]
        assert not call.closed
        # Accepted at once; a loopback channel has no media to act on.
        assert (await call.command(commands.unicast())).reply_text == "+OK"
        assert (await call.command(commands.nomedia(call.uuid))).reply_text == "+OK"
        await call.exit()
        with anyio.fail_after(5):
            await call.wait_closed()
        assert call.disconnect_notice is not None


async def test_bgapi_from_a_socket_with_myevents(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    # myevents lets through only this channel's events, and the BACKGROUND_JOBs whose
    # Job-Owner-UUID is this channel (mod_event_socket.c event_handler).
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9000")
        await call.myevents()
        with anyio.fail_after(5):
            job = await call.bgapi_start("echo from the socket")
            event = await job.event()
        assert event.body == "from the socket"
        assert event["Job-Owner-UUID"] == call.uuid
        assert event["Job-UUID"] == job.uuid
        with anyio.fail_after(5):
            assert await call.bgapi("echo again") == "again"


async def test_in_sync_mode_the_reply_waits_for_the_app(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    async with socket_calls(real_switch, esl) as calls:
        call = await calls.place("9001")
        await call.myevents()
        buffer = Collected(call.event_buffer())
        data = commands.execute("playback", LOOP_TONE, event_uuid="sync-1")
        started = anyio.current_time()
        reply = await call.send(data)  # the reader handles messages in wire order
        took = anyio.current_time() - started
        already = [e.name for e in buffer.take() if e.get("Application-UUID") == "sync-1"]
        assert reply.headers == {"Content-Type": "command/reply", "Reply-Text": "+OK"}
        # The reply waits for the app; the app's events may come before it or after it
        # (none, CHANNEL_EXECUTE alone, or both were seen before the reply).
        assert took >= 0.55
        assert already in ([], ["CHANNEL_EXECUTE"], ["CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"])
        done = await buffer.until("CHANNEL_EXECUTE_COMPLETE", "sync-1")
        assert done["Application-Response"] == "FILE PLAYED"
