"""Dialplan applications (mod_dptools) as the simulator runs them."""

from __future__ import annotations

import anyio
import pytest
from helpers.sim_core import call, extension, running_core

pytestmark = pytest.mark.anyio

TONE = "tone_stream://%(100,0,440)"


def executed(rec, uuid: str) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [
        (e.get("Application"), e.get("Application-Data"))
        for e in rec.of(uuid)
        if e.name == "CHANNEL_EXECUTE"
    ]


async def run_call(plan, destination: str = "1", **kwargs):  # type: ignore[no-untyped-def]
    async with running_core(plan) as (core, rec):
        session = call(core, destination, **kwargs)
        with anyio.fail_after(5):
            await session.destroyed.wait()
    return session, rec


async def test_set_export_unset_and_variable_expansion() -> None:
    plan = [
        extension(
            "^1$",
            "set greeting=hello ${caller_id_name} from $${hostname}",
            "export shared=yes",
            "set doomed=1",
            "unset doomed",
            "hangup",
        )
    ]
    session, rec = await run_call(plan)
    variables = session.channel.variables
    assert variables["greeting"] == "hello Alice from sim"
    assert variables["shared"] == "yes"
    assert variables["export_vars"] == "shared"
    assert "doomed" not in variables
    assert ("set", "greeting=hello Alice from sim") in executed(rec, session.channel.uuid)


async def test_playback_sets_its_variables_and_fires_playback_events() -> None:
    session, rec = await run_call(
        [extension("^1$", "answer", "playback tone_stream://%(200,100,440);loops=2")]
    )
    uuid = session.channel.uuid
    start, stop = rec.last("PLAYBACK_START", uuid), rec.last("PLAYBACK_STOP", uuid)
    assert start.get("Playback-File-Type") == "tone_stream"
    assert stop.get("Playback-File-Path") == "tone_stream://%(200,100,440);loops=2"
    assert stop.get("Playback-Status") == "done"
    complete = [e for e in rec.of(uuid) if e.name == "CHANNEL_EXECUTE_COMPLETE"][-1]
    assert complete.get("Application-Response") == "FILE PLAYED"
    assert complete.get("variable_playback_ms") == "600"
    assert complete.get("variable_playback_samples") == "4800"


async def test_playback_interrupted_by_hangup_reports_an_error() -> None:
    async with running_core([extension("^1$", "answer", "playback silence_stream://10000")]) as (
        core,
        rec,
    ):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("PLAYBACK_START", uuid)
            session.hangup("NORMAL_CLEARING")
            await session.destroyed.wait()
    complete = [e for e in rec.of(uuid) if e.name == "CHANNEL_EXECUTE_COMPLETE"][-1]
    assert complete.get("Application-Response") == "PLAYBACK ERROR"


async def test_pre_answer_gives_early_media() -> None:
    async with running_core([extension("^1$", "pre_answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
        progress = rec.last("CHANNEL_PROGRESS_MEDIA", uuid)
        assert progress.get("Answer-State") == "early"
        assert rec.last("CHANNEL_CALLSTATE", uuid).get("Channel-Call-State") == "EARLY"
        assert not session.channel.answered


async def test_hangup_application_with_a_cause() -> None:
    session, rec = await run_call([extension("^1$", "hangup USER_BUSY")])
    assert rec.last("CHANNEL_HANGUP", session.channel.uuid).get("Hangup-Cause") == "USER_BUSY"


async def test_transfer_routes_the_call_again() -> None:
    plan = [extension("^1$", "transfer 2 XML default"), extension("^2$", "answer", "hangup")]
    session, rec = await run_call(plan)
    uuid = session.channel.uuid
    assert executed(rec, uuid) == [
        ("transfer", "2 XML default"),
        ("answer", None),
        ("hangup", None),
    ]
    states = [e.get("Channel-State") for e in rec.of(uuid) if e.name == "CHANNEL_STATE"]
    assert states[:5] == ["CS_INIT", "CS_ROUTING", "CS_EXECUTE", "CS_ROUTING", "CS_EXECUTE"]
    assert rec.last("CHANNEL_ANSWER", uuid).get("Caller-Destination-Number") == "2"
    assert rec.last("CHANNEL_ANSWER", uuid).get("Caller-Channel-Transfer-Time") != "0"


async def test_log_application_logs_at_its_level_with_the_channel_uuid() -> None:
    session, rec = await run_call(
        [extension("^1$", "log WARNING something happened", "log no level")]
    )
    warning, debug = rec.logs[-2], rec.logs[-1]
    assert (warning.level, warning.file, warning.func) == (4, "mod_dptools.c", "log_function")
    assert warning.user_data == session.channel.uuid
    assert warning.data.endswith("[WARNING] mod_dptools.c:1865 something happened\n")
    # FreeSWITCH drops the first word even when it is not a level name.
    assert debug.level == 7
    assert debug.data.endswith("[DEBUG] mod_dptools.c:1865 level\n")


async def test_event_application_fires_a_custom_event_with_channel_data() -> None:
    session, rec = await run_call(
        [extension("^1$", "event Event-Name=CUSTOM,Event-Subclass=my::thing,Foo=bar baz")]
    )
    custom = rec.last("CUSTOM")
    assert custom.subclass == "my::thing"
    assert custom.get("Foo") == "bar baz"
    assert custom.get("Unique-ID") == session.channel.uuid
    assert custom.get("variable_uuid") == session.channel.uuid
    # Event-Name was re-added where the argument named it (mod_dptools event_function).
    names = custom.names()
    assert names.index("Event-Name") > names.index("Event-Sequence")
    assert custom.headers[0] == ("Event-Subclass", "my::thing")  # switch_event_dup order


async def test_play_and_get_digits_retries_until_the_input_matches() -> None:
    plan = [
        extension(
            "^1$",
            "answer",
            f"play_and_get_digits 1 1 3 2000 # {TONE} silence_stream://100 choice [12]",
            "hangup",
        )
    ]
    session, rec = await run_call(plan, dtmf=["9", "2"])
    variables = session.channel.variables
    assert variables["choice"] == "2"
    assert variables["choice_invalid"] == "9"
    assert variables["read_result"] == "success"
    assert [e.get("DTMF-Digit") for e in rec.of(session.channel.uuid) if e.name == "DTMF"] == [
        "9",
        "2",
    ]
    assert (
        rec.last("CHANNEL_HANGUP_COMPLETE", session.channel.uuid).get("variable_digits_dialed")
        == "92"
    )


async def test_play_and_get_digits_fails_over_to_its_transfer_target() -> None:
    plan = [
        extension(
            "^1$", "answer", f"play_and_get_digits 1 1 2 1000 # {TONE} {TONE} choice \\d 1000 2"
        ),
        extension("^2$", "hangup CALL_REJECTED"),
    ]
    session, rec = await run_call(plan)
    assert session.channel.variables["read_result"] == "failure"
    assert "choice" not in session.channel.variables
    assert rec.last("CHANNEL_HANGUP", session.channel.uuid).get("Hangup-Cause") == "CALL_REJECTED"


async def test_read_stops_at_the_terminator() -> None:
    session, _ = await run_call(
        [extension("^1$", "answer", f"read 2 6 {TONE} pin 3000 #", "hangup")], dtmf=["123#"]
    )
    variables = session.channel.variables
    assert variables["pin"] == "123"
    assert variables["read_terminator_used"] == "#"
    assert variables["read_result"] == "success"


async def test_read_times_out_without_input() -> None:
    session, _ = await run_call(
        [extension("^1$", "answer", f"read 1 4 {TONE} pin 1000 #", "hangup")]
    )
    assert "pin" not in session.channel.variables
    # Fewer than min digits is TOO_SMALL in switch_ivr_read, reported "failure" even
    # after a timeout: FreeSWITCH 1.10.12 says so (tests/realfs differential read_dtmf).
    assert session.channel.variables["read_result"] == "failure"


async def test_read_with_enough_digits_but_no_terminator_times_out() -> None:
    session, _ = await run_call(
        [extension("^1$", "answer", f"read 1 4 {TONE} pin 1000 #", "hangup")], dtmf=["12"]
    )
    assert session.channel.variables["pin"] == "12"
    assert session.channel.variables["read_result"] == "timeout"


async def test_playback_takes_a_digit_left_over_so_the_next_read_does_not_see_it() -> None:
    session, _ = await run_call(
        [
            extension(
                "^1$",
                "answer",
                f"read 1 1 {TONE} first 1000 #",
                f"playback {TONE}",
                f"read 1 1 {TONE} second 1000 #",
                "hangup",
            )
        ],
        dtmf=["1#"],
    )
    variables = session.channel.variables
    assert variables["first"] == "1"
    assert "second" not in variables
    assert "read_terminator_used" not in variables
    assert variables["read_result"] == "failure"


async def test_bridge_connects_a_simulated_phone_and_the_caller_goes_on_after_it_hangs_up() -> None:
    plan = [extension("^1$", "bridge sim/2000", "set after=bridge", "hangup")]
    async with running_core(plan) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            bridged = await rec.wait_for("CHANNEL_BRIDGE", uuid)
            other = bridged.get("Other-Leg-Unique-ID")
            assert other is not None and other in core.channels
            assert bridged.get("Bridge-A-Unique-ID") == uuid
            assert bridged.get("Bridge-B-Unique-ID") == other
            assert bridged.get("Other-Type") == "originatee"
            far = core.channels[other].session
            assert far is not None
            far.hangup("NORMAL_CLEARING")
            await session.destroyed.wait()
            await far.destroyed.wait()
    assert rec.last("CHANNEL_UNBRIDGE", uuid).get("Bridge-B-Unique-ID") == other
    assert session.channel.variables["after"] == "bridge"
    assert session.channel.variables["originate_disposition"] == "SUCCESS"
    assert session.channel.variables["bridge_hangup_cause"] == "NORMAL_CLEARING"
    answer = rec.last("CHANNEL_ANSWER", uuid)  # the caller is answered when the callee is
    assert rec.events.index(answer) > rec.events.index(rec.last("CHANNEL_ANSWER", other))
    assert rec.last("CHANNEL_ANSWER", other).get("Caller-Destination-Number") == "2000"


async def test_bridge_to_an_unknown_endpoint_continues_the_dialplan() -> None:
    session, _ = await run_call([extension("^1$", "bridge nowhere/1", "hangup")])
    assert session.channel.variables["originate_disposition"] == "CHAN_NOT_IMPLEMENTED"


async def test_the_caller_hanging_up_ends_the_bridge_and_the_other_leg() -> None:
    async with running_core([extension("^1$", "bridge sim/2000")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            bridged = await rec.wait_for("CHANNEL_BRIDGE", uuid)
            far = core.channels[bridged.get("Other-Leg-Unique-ID") or ""].session
            assert far is not None
            session.hangup("NORMAL_CLEARING")
            await far.destroyed.wait()
    assert far.channel.hangup_cause == "NORMAL_CLEARING"


async def test_park_refuses_a_second_park() -> None:
    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            from runner.sim.wire import Command

            session.queue_private(
                Command("sendmsg", (("call-command", "execute"), ("execute-app-name", "park")))
            )
            await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid, count=2)
    assert rec.names(uuid).count("CHANNEL_PARK") == 1
    assert any(
        "Cannot park channels that are under control already." in line.data for line in rec.logs
    )


async def test_a_simulated_phone_rings_then_answers() -> None:
    async with running_core([extension("^1$", "bridge sim/2000")]) as (core, rec):
        session = call(core, "1")
        with anyio.fail_after(5):
            bridged = await rec.wait_for("CHANNEL_BRIDGE", session.channel.uuid)
        other = bridged.get("Other-Leg-Unique-ID") or ""
        names = rec.names(other)
        assert names[names.index("CHANNEL_PROGRESS") + 1 : names.index("CHANNEL_ANSWER")] == [
            "CHANNEL_CALLSTATE"
        ]
        progress = rec.last("CHANNEL_PROGRESS", other)
        assert progress.get("Channel-Call-State") == "DOWN"
        assert progress.get("Caller-Channel-Progress-Time") != "0"
        assert rec.last("CHANNEL_CALLSTATE", other).get("Channel-Call-State") == "ACTIVE"


async def test_sendmsg_xferext_replaces_what_the_call_does() -> None:
    from runner.sim.wire import Command

    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.queue_private(
                Command(
                    "sendmsg",
                    (
                        ("call-command", "xferext"),
                        ("application", "set via=xferext"),
                        ("application", "hangup CALL_REJECTED"),
                    ),
                )
            )
            await session.destroyed.wait()
    assert executed(rec, uuid)[-2:] == [("set", "via=xferext"), ("hangup", "CALL_REJECTED")]
    assert rec.last("CHANNEL_HANGUP", uuid).get("Hangup-Cause") == "CALL_REJECTED"
