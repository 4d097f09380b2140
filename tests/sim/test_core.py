"""The switch core without sockets: call lifecycles, applications, sendmsg semantics."""

from __future__ import annotations

import anyio
import pytest
from helpers.sim_core import Recorder, call, extension, running_core

from runner.sim.apps import media_seconds
from runner.sim.session import Session
from runner.sim.wire import Command

pytestmark = pytest.mark.anyio

LIFECYCLE_TAIL = [
    "CHANNEL_STATE",  # CS_HANGUP
    "CHANNEL_CALLSTATE",  # HANGUP
    "CHANNEL_STATE",  # CS_REPORTING
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",  # CS_DESTROY
]


def sendmsg(**headers: str) -> Command:
    return Command("sendmsg", tuple((k.replace("_", "-"), v) for k, v in headers.items()))


async def parked(core_rec: tuple[object, Recorder], session: Session) -> None:
    _, rec = core_rec
    await rec.wait_for("CHANNEL_PARK", session.channel.uuid)


async def test_an_inbound_call_runs_its_extension_and_reports_every_state() -> None:
    plan = [extension("^100$", "answer", "playback tone_stream://%(100,0,440)", "hangup")]
    async with running_core(plan) as (core, rec):
        session = call(core, "100", variables={"sip_from_host": "example.com"})
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await session.destroyed.wait()
    assert rec.names(uuid) == [
        "CHANNEL_STATE",  # CS_INIT
        "CHANNEL_CREATE",
        "CHANNEL_CALLSTATE",  # RINGING
        "CHANNEL_STATE",  # CS_ROUTING
        "CHANNEL_STATE",  # CS_EXECUTE
        "CHANNEL_EXECUTE",
        "CHANNEL_ANSWER",
        "CHANNEL_CALLSTATE",  # ACTIVE
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_EXECUTE",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_EXECUTE",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE",
        *LIFECYCLE_TAIL,
    ]
    states = [e.get("Channel-State") for e in rec.of(uuid) if e.name == "CHANNEL_STATE"]
    assert states == [
        "CS_INIT",
        "CS_ROUTING",
        "CS_EXECUTE",
        "CS_HANGUP",
        "CS_REPORTING",
        "CS_DESTROY",
    ]
    create = rec.last("CHANNEL_CREATE", uuid)
    assert create.get("Caller-Caller-ID-Name") == "Alice"
    assert create.get("Caller-Destination-Number") == "100"
    assert create.get("Channel-Name") == "sofia/internal/1000@example.com"
    assert create.get("variable_sip_from_host") == "example.com"
    done = rec.last("CHANNEL_HANGUP_COMPLETE", uuid)
    assert done.headers[13] == ("Hangup-Cause", "NORMAL_CLEARING")
    assert done.get("variable_last_app") == "hangup"
    assert done.get("variable_playback_ms") == "100"
    assert done.get("variable_current_application_response") is None
    assert uuid not in core.channels


async def test_a_call_whose_extension_runs_out_is_hung_up_normal_clearing() -> None:
    async with running_core([extension("^1$", "answer")]) as (core, rec):
        session = call(core, "1")
        with anyio.fail_after(5):
            await session.destroyed.wait()
    assert rec.last("CHANNEL_HANGUP", session.channel.uuid).get("Hangup-Cause") == "NORMAL_CLEARING"


async def test_an_unrouted_call_fails_with_no_route_destination() -> None:
    async with running_core([extension("^1$", "answer")]) as (core, rec):
        session = call(core, "404")
        with anyio.fail_after(5):
            await session.destroyed.wait()
    uuid = session.channel.uuid
    assert rec.names(uuid)[:5] == [
        "CHANNEL_STATE",
        "CHANNEL_CREATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP",
    ]
    assert rec.last("CHANNEL_HANGUP", uuid).get("Hangup-Cause") == "NO_ROUTE_DESTINATION"


async def test_sendmsg_execute_reports_the_event_uuid_as_application_uuid() -> None:
    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            assert session.queue_private(
                sendmsg(
                    call_command="execute",
                    execute_app_name="set",
                    execute_app_arg="foo=bar",
                    Event_UUID="11111111-2222-3333-4444-555555555555",
                )
            )
            done = await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid, count=2)
    execute = rec.last("CHANNEL_EXECUTE", uuid)
    assert execute.get("Application") == "set"
    assert execute.get("Application-Data") == "foo=bar"
    assert execute.get("Application-UUID") == "11111111-2222-3333-4444-555555555555"
    assert done.get("Application-UUID") == "11111111-2222-3333-4444-555555555555"
    assert done.get("Application-Response") == "_none_"
    assert done.get("variable_foo") == "bar"
    # switch_ivr_parse_event's loop variables are gone once the command is done.
    assert session.channel.get_var("current_loop") is None


@pytest.mark.parametrize(("tone_ms", "runs"), [(600, 2), (100, 1)])
async def test_loops_repeat_only_runs_of_half_a_second_or_more(tone_ms: int, runs: int) -> None:
    # A modest speed: the 0.5 s threshold is measured on the simulated clock, which a
    # busy machine would otherwise stretch past it.
    async with running_core([extension("^1$", "answer", "park")], speed=10) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.queue_private(
                sendmsg(
                    call_command="execute",
                    execute_app_name="playback",
                    execute_app_arg=f"tone_stream://%({tone_ms},0,440)",
                    loops="2",
                )
            )
            await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid, count=1 + runs)
            # Queued only now: anything queued during a playback would run nested in it.
            session.queue_private(sendmsg(call_command="execute", execute_app_name="answer"))
            await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid, count=2 + runs)
    apps = [e.get("Application") for e in rec.of(uuid) if e.name == "CHANNEL_EXECUTE"]
    assert apps == ["answer", "park"] + ["playback"] * runs + ["answer"]


async def test_the_body_is_the_argument_when_content_type_is_text_plain() -> None:
    async with running_core([extension("^1$", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.queue_private(
                Command(
                    "sendmsg",
                    (
                        ("call-command", "execute"),
                        ("execute-app-name", "set"),
                        ("content-type", "text/plain"),
                        ("content-length", "11"),
                    ),
                    "multi=line\n",
                )
            )
            done = await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid)
    assert done.get("Application-Data") == "multi=line\n"
    assert session.channel.get_var("multi") == "line\n"


async def test_an_unknown_application_hangs_the_call_up_without_execute_events() -> None:
    async with running_core([extension("^1$", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.queue_private(sendmsg(call_command="execute", execute_app_name="no_such_app"))
            await session.destroyed.wait()
    assert [e.get("Application") for e in rec.of(uuid) if e.name == "CHANNEL_EXECUTE"] == ["park"]
    assert rec.last("CHANNEL_HANGUP", uuid).get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"


async def test_sendmsg_hangup_uses_the_cause_given() -> None:
    async with running_core([extension("^1$", "park")]) as (core, rec):
        session = call(core, "1")
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", session.channel.uuid)
            session.queue_private(sendmsg(call_command="hangup", hangup_cause="USER_BUSY"))
            await session.destroyed.wait()
    assert (
        rec.last("CHANNEL_HANGUP_COMPLETE", session.channel.uuid).get("variable_hangup_cause_q850")
        == "17"
    )


@pytest.mark.parametrize("locked", [False, True])
async def test_queued_commands_run_nested_unless_event_lock(locked: bool) -> None:
    """FreeSWITCH's playback loop parses queued events; ``event-lock: true`` stops that."""
    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            first = sendmsg(
                call_command="execute",
                execute_app_name="playback",
                execute_app_arg="silence_stream://1000",
            )
            if locked:
                first = Command(first.line, (*first.headers, ("event-lock", "true")))
            session.queue_private(first)
            await rec.wait_for("PLAYBACK_START", uuid)
            session.queue_private(
                sendmsg(call_command="execute", execute_app_name="set", execute_app_arg="x=1")
            )
            await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", uuid, count=3)
    order = [
        (e.name, e.get("Application"))
        for e in rec.of(uuid)
        if e.name.startswith("CHANNEL_EXECUTE") and e.get("Application") in ("playback", "set")
    ]
    if locked:
        assert order == [
            ("CHANNEL_EXECUTE", "playback"),
            ("CHANNEL_EXECUTE_COMPLETE", "playback"),
            ("CHANNEL_EXECUTE", "set"),
            ("CHANNEL_EXECUTE_COMPLETE", "set"),
        ]
    else:
        assert order == [
            ("CHANNEL_EXECUTE", "playback"),
            ("CHANNEL_EXECUTE", "set"),
            ("CHANNEL_EXECUTE_COMPLETE", "set"),
            ("CHANNEL_EXECUTE_COMPLETE", "playback"),
        ]


async def test_dtmf_from_the_far_end_fires_dtmf_events() -> None:
    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.queue_dtmf("4#")
    dtmf = [e for e in rec.of(uuid) if e.name == "DTMF"]
    assert [(e.get("DTMF-Digit"), e.get("DTMF-Duration"), e.get("DTMF-Source")) for e in dtmf] == [
        ("4", "2000", "RTP"),
        ("#", "2000", "RTP"),
    ]
    assert "variable_uuid" not in dtmf[0].names()  # DTMF carries no variables


async def test_a_crashing_application_hangs_up_only_its_own_call() -> None:
    async def boom(session: Session, data: str | None) -> None:
        raise RuntimeError("bug in an application")

    plan = [extension("^bad$", "answer", "boom"), extension("^good$", "answer", "park")]
    async with running_core(plan) as (core, rec):
        core.applications["boom"] = boom
        good = call(core, "good")
        bad = call(core, "bad")
        with anyio.fail_after(5):
            await bad.destroyed.wait()
            await rec.wait_for("CHANNEL_PARK", good.channel.uuid)
        assert good.channel.ready()
        assert good.channel.uuid in core.channels
    assert rec.last("CHANNEL_HANGUP", bad.channel.uuid).get("Hangup-Cause") == "CRASH"
    assert any("crashed: RuntimeError('bug in an application')" in line.data for line in rec.logs)


async def test_the_far_end_hangs_up_a_parked_call() -> None:
    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        session = call(core, "1")
        uuid = session.channel.uuid
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", uuid)
            session.hangup("NORMAL_CLEARING")
            await session.destroyed.wait()
    assert rec.names(uuid)[-9:] == [
        "CHANNEL_HANGUP",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        *LIFECYCLE_TAIL,
    ]


@pytest.mark.parametrize(
    ("path", "seconds"),
    [
        ("tone_stream://%(200,100,440);loops=2", 0.6),
        ("tone_stream://%(400,200,660);loops=1", 0.6),
        ("tone_stream://%(100,50,880)", 0.15),
        ("tone_stream://%(100,0,440)%(200,0,880)", 0.3),
        ("tone_stream://%(100,0,440);loops=-1", None),
        ("silence_stream://250", 0.25),
        ("silence_stream://-1", None),
        ("/sounds/hello.wav", 1.0),
        ("known.wav", 2.5),
    ],
)
def test_media_seconds(path: str, seconds: float | None) -> None:
    assert media_seconds(path, 1.0, {"known.wav": 2.5}) == seconds


async def test_simulated_time_runs_at_the_clock_speed() -> None:
    async with running_core([extension("^1$", "answer", "sleep 2000", "hangup")], speed=100) as (
        core,
        rec,
    ):
        session = call(core, "1")
        started = anyio.current_time()
        with anyio.fail_after(5):
            await session.destroyed.wait()
        elapsed = anyio.current_time() - started
    assert 0.02 <= elapsed < 1.0  # 2 simulated seconds at 100x
    done = rec.last("CHANNEL_HANGUP_COMPLETE", session.channel.uuid)
    # At least the 2 simulated seconds slept (more if the machine stalled the loop: the
    # simulated clock is the wall clock times the speed).
    assert int(done.get("variable_billsec") or 0) >= 2
    assert int(done.get("variable_billmsec") or 0) >= 2000


async def test_a_failing_background_task_is_logged_and_contained() -> None:
    async def broken() -> None:
        raise RuntimeError("nope")

    async with running_core([extension("^1$", "answer", "park")]) as (core, rec):
        core.spawn(broken, name="broken job")
        session = call(core, "1")
        with anyio.fail_after(5):
            await rec.wait_for("CHANNEL_PARK", session.channel.uuid)
    assert any("task 'broken job' failed: RuntimeError('nope')" in line.data for line in rec.logs)
