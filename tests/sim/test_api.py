"""API commands (mod_commands) with FreeSWITCH's exact output, run on the switch core."""

from __future__ import annotations

import json
import re

import anyio
import pytest
from helpers.sim_core import Recorder, call, running_core

from runner.sim.api import execute_api, separate_string
from runner.sim.core import SwitchCore
from runner.sim.dialplan import default_dialplan

pytestmark = pytest.mark.anyio

UUID = "c2381c63-b092-4796-b2bc-06591e4f9e61"
ORIGINATE = f"{{origination_uuid={UUID}}}loopback/9002/default &park()"


async def api(core: SwitchCore, line: str) -> str:
    name, sep, arg = line.partition(" ")
    result = await execute_api(core, name, arg if sep else None)
    assert result.found, line
    return result.output


async def originated(core: SwitchCore, rec: Recorder) -> None:
    with anyio.fail_after(5):
        assert await api(core, f"originate {ORIGINATE}") == f"+OK {UUID}\n"
        await rec.wait_for("CHANNEL_PARK", UUID)


async def test_status_uptime_version_hostname() -> None:
    async with running_core() as (core, _):
        status = await api(core, "status")
        assert re.fullmatch(
            r"UP 0 years, 0 days, 0 hours, 0 minutes, \d+ seconds?, \d+ milliseconds?, "
            r"\d+ microseconds?\n"
            r"FreeSWITCH \(Version 1\.10\.12-release  64bit\) is ready\n"
            r"0 session\(s\) since startup\n"
            r"0 session\(s\) - peak 0, last 5min 0 \n"
            r"0 session\(s\) per Sec out of max 30, peak 0, last 5min 0 \n"
            r"1000 session\(s\) max\n"
            r"min idle cpu 0\.00/100\.00\n"
            r"Current Stack Size/Max 240K/8192K\n",
            status,
        ), status
        assert re.fullmatch(r"\d+\n", await api(core, "uptime"))
        assert re.fullmatch(r"\d+\n", await api(core, "uptime ms"))
        assert (await api(core, "uptime bogus")).startswith("-USAGE: [us|ms|s|")
        assert await api(core, "version") == "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n"
        assert await api(core, "version short") == "1.10.12\n"
        assert await api(core, "hostname") == "sim"


async def test_unknown_commands_are_reported_not_found_and_fire_api_events() -> None:
    async with running_core() as (core, rec):
        result = await execute_api(core, "bogus_command", "  arg1 arg2 ")
        assert not result.found
        event = rec.last("API")
        assert event.get("API-Command") == "bogus_command"
        assert event.get("API-Command-Argument") == "arg1 arg2"  # stripped
        await api(core, "echo")
        assert "API-Command-Argument" not in rec.last("API").names()


async def test_echo_msleep_eval_global_vars() -> None:
    async with running_core() as (core, _):
        assert await api(core, "echo   spaced   args  ") == "spaced   args"
        assert await api(core, "echo") == ""
        assert await api(core, "msleep 10") == "+OK"
        assert await api(core, "global_getvar hostname") == "sim"
        assert await api(core, "global_getvar nope") == ""
        assert await api(core, "global_setvar flavour=vanilla") == "+OK\n"
        assert await api(core, "eval ${flavour} on $${hostname}") == "vanilla on sim"
        assert await api(core, "eval") == ""


async def test_originate_answers_both_loopback_legs_and_parks_the_a_leg() -> None:
    async with running_core() as (core, rec):
        await originated(core, rec)
        a_leg = rec.of(UUID)
        assert [e.name for e in a_leg][:4] == [
            "CHANNEL_UUID",
            "CHANNEL_OUTGOING",
            "CHANNEL_STATE",
            "CHANNEL_CREATE",
        ]
        create = rec.last("CHANNEL_CREATE", UUID)
        assert create.get("variable_origination_uuid") == UUID
        b_uuid = create.get("variable_other_loopback_leg_uuid")
        assert b_uuid is not None
        assert rec.last("CHANNEL_PARK", b_uuid).get("Channel-Name") == "loopback/9002-b"
        update = rec.last("CALL_UPDATE", UUID)
        assert update.headers[13] == ("Direction", "RECV")
        assert update.get("Caller-Caller-ID-Name") == "Outbound Call"
        assert update.get("variable_channel_cid_flipped") == "yes"
        # The API event comes after the events the originate caused (seq is lower).
        api_event = next(e for e in rec.events if e.name == "API")
        assert rec.events.index(api_event) > rec.events.index(update)
        assert int(api_event.get("Event-Sequence") or 0) < int(update.get("Event-Sequence") or 0)


async def test_originate_errors() -> None:
    async with running_core() as (core, _):
        with anyio.fail_after(5):
            assert await api(core, "originate loopback/doesnotexist/nowhere &park()") == (
                "-ERR NO_ROUTE_DESTINATION\n"
            )
            assert await api(core, "originate foo/bar &park()") == "-ERR CHAN_NOT_IMPLEMENTED\n"
            assert (await api(core, "originate onlyone")).startswith("-USAGE: <call url> <exten>")
            assert (await api(core, "originate")).startswith("-USAGE:")


async def test_originate_to_a_simulated_phone_and_a_dialplan_extension() -> None:
    async with running_core() as (core, rec):
        with anyio.fail_after(5):
            out = await api(core, "originate {origination_uuid=u1,foo=bar}sim/2000 9002")
            assert out == "+OK u1\n"
            await rec.wait_for("CHANNEL_PARK", "u1")
        park = rec.last("CHANNEL_PARK", "u1")
        assert park.get("Caller-Destination-Number") == "9002"
        assert park.get("variable_foo") == "bar"
        assert park.get("Channel-Name") == "sofia/sim/2000"


async def test_uuid_commands_on_a_live_call() -> None:
    async with running_core() as (core, rec):
        await originated(core, rec)
        assert await api(core, f"uuid_exists {UUID}") == "true"
        assert await api(core, "uuid_exists 00000000-0000-0000-0000-000000000000") == "false"
        assert await api(core, f"uuid_setvar {UUID} foo bar baz") == "+OK\n"
        assert await api(core, f"uuid_getvar {UUID} foo") == "bar baz"
        assert await api(core, f"uuid_getvar {UUID} channel_name") == "loopback/9002-a"
        assert await api(core, f"uuid_getvar {UUID} destination_number") == "9002"
        assert await api(core, f"uuid_getvar {UUID} nonexistent_var") == "_undef_"
        assert await api(core, f"uuid_setvar {UUID} foo") == "+OK\n"
        assert await api(core, f"uuid_getvar {UUID} foo") == "_undef_"
        assert await api(core, "uuid_getvar nope x") == "-ERR No such channel!\n"
        assert await api(core, "uuid_getvar") == "-USAGE: <uuid> <var>\n"
        assert await api(core, "uuid_setvar nope a b") == "-ERR No such channel!\n"
        assert await api(core, f"uuid_answer {UUID}") == "+OK\n"
        assert await api(core, "uuid_answer nope") == "-ERROR\n"
        dump = await api(core, f"uuid_dump {UUID}")
        assert dump.startswith("Event-Name: CHANNEL_DATA\n")
        assert "Event-Calling-Function: uuid_dump_function\n" in dump
        assert "Channel-Name: loopback/9002-a\n" in dump
        assert dump.endswith("\n\n")
        as_json = json.loads(await api(core, f"uuid_dump {UUID} json"))
        assert as_json["Unique-ID"] == UUID
        assert f"Unique-ID: [{UUID}]\n" in await api(core, f"uuid_dump {UUID} plain")
        assert (await api(core, f"uuid_dump {UUID} xml")).startswith("<event>\n  <headers>\n")
        assert await api(core, "uuid_dump nope") == "-ERR No such channel!\n"
        with anyio.fail_after(5):
            assert await api(core, f"uuid_kill {UUID}") == "+OK\n"
            assert await api(core, f"uuid_kill {UUID}") == "-ERR No such channel!\n"
            assert await api(core, "uuid_kill") == "-USAGE: <uuid> [cause]\n"


async def test_uuid_broadcast_plays_on_a_parked_call() -> None:
    async with running_core() as (core, rec):
        await originated(core, rec)
        out = await api(
            core, f"uuid_broadcast {UUID} playback::tone_stream://%(100,50,440);loops=1 aleg"
        )
        assert out == "+OK Message sent\n"
        with anyio.fail_after(5):
            done = await rec.wait_for("CHANNEL_EXECUTE_COMPLETE", UUID)
        assert done.get("Application") == "playback"
        assert done.get("Application-Data") == "tone_stream://%(100,50,440);loops=1"
        assert await api(core, "uuid_broadcast nope x") == "-ERR invalid uuid\n"


async def test_uuid_kill_with_a_cause_and_hupall() -> None:
    async with running_core() as (core, rec):
        await originated(core, rec)
        with anyio.fail_after(5):
            await api(core, f"uuid_kill {UUID} USER_BUSY")
            done = await rec.wait_for("CHANNEL_HANGUP_COMPLETE", UUID)
        assert done.get("Hangup-Cause") == "USER_BUSY"
        with anyio.fail_after(5):
            a = call(core, "9002")
            await rec.wait_for("CHANNEL_PARK", a.channel.uuid)
            assert (
                await api(core, "hupall") == "+OK hangup all channels with cause MANAGER_REQUEST\n"
            )
            await a.destroyed.wait()
        assert a.channel.hangup_cause == "MANAGER_REQUEST"
        with anyio.fail_after(5):
            b = call(core, "9002", variables={"team": "red"})
            c = call(core, "9002")
            await rec.wait_for("CHANNEL_PARK", b.channel.uuid)
            await rec.wait_for("CHANNEL_PARK", c.channel.uuid)
            assert await api(core, "hupall NORMAL_CLEARING team red") == (
                "+OK hangup all channels matching [team]=[red] with cause: NORMAL_CLEARING\n"
            )
            await b.destroyed.wait()
        assert c.channel.ready()


async def test_show_channels_and_calls() -> None:
    async with running_core() as (core, rec):
        assert await api(core, "show channels") == "\n0 total.\n"
        assert await api(core, "show channels as json") == '{"row_count": 0}\n'
        await originated(core, rec)
        text = await api(core, "show channels")
        lines = text.split("\n")
        assert lines[0].startswith("uuid,direction,created,created_epoch,name,state,cid_name,")
        assert lines[-2:] == ["2 total.", ""]
        rows = json.loads(await api(core, "show channels as json"))
        assert rows["row_count"] == 2
        a_leg = next(r for r in rows["rows"] if r["uuid"] == UUID)
        assert (a_leg["name"], a_leg["state"], a_leg["callstate"]) == (
            "loopback/9002-a",
            "CS_EXECUTE",
            "ACTIVE",
        )
        assert (a_leg["cid_name"], a_leg["callee_direction"], a_leg["application"]) == (
            "Outbound Call",
            "RECV",
            "park",
        )
        calls = json.loads(await api(core, "show calls as json"))
        assert "b_uuid" in calls["rows"][0]
        listing = await api(core, "show api")
        assert listing.startswith("name,description,syntax,ikey\n")
        assert "\noriginate,Originate a call," in listing


async def test_log_api_logs_a_line() -> None:
    async with running_core() as (core, rec):
        assert await api(core, "log INFO hello from esl capture") == "+OK\n"
        assert await api(core, "log") == "-ERR\n"
    line = rec.logs[-1]
    assert (line.level, line.file, line.func, line.line) == (
        6,
        "mod_commands.c",
        "log_function",
        7200,
    )
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} 100\.00% \[INFO\] "
        r"mod_commands\.c:7200 hello from esl capture\n",
        line.data,
    )


def test_default_dialplan_routes_like_the_capture_machine() -> None:
    plan = default_dialplan("127.0.0.1:9999")
    assert plan.lookup("9000", "default") == [("socket", "127.0.0.1:9999 async full")]
    assert plan.lookup("9001", "default") == [("socket", "127.0.0.1:9999 sync full")]
    assert plan.lookup("9002", "default") == [("answer", None), ("park", None)]
    assert plan.lookup("1000", "default") == [("park", None)]
    assert plan.lookup("1000", "nowhere") is None


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("a  b   c", 10, ["a", "b", "c"]),
        ("uuid var value with spaces", 3, ["uuid", "var", "value with spaces"]),
        (
            "x '&socket(127.0.0.1:8084 async full)' XML",
            10,
            ["x", "&socket(127.0.0.1:8084 async full)", "XML"],
        ),
        ("it\\'s a\\ b", 10, ["it's", "a\\ b"]),  # only quotes, \\ and \\n etc. unescape
        ("  padded  ", 10, ["padded"]),
        ("", 10, []),
    ],
)
def test_separate_string_splits_like_switch_separate_string(
    text: str, limit: int, parts: list[str]
) -> None:
    assert separate_string(text, limit) == parts
