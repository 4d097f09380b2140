"""mod_event_socket behaviour beyond the captures: filters, queues, permissions, barriers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest
from helpers.esl_raw import RawClient

from runner.sim import CallSpec, Simulator, UserAuth

pytestmark = pytest.mark.anyio

Connect = Callable[..., Awaitable[RawClient]]


async def received(sim: Simulator, line: str) -> None:
    """Wait until the simulator has read (and started handling) a command."""
    with anyio.fail_after(5):
        while not any(line in record.lines for record in sim.traffic.connections):
            await anyio.sleep(0.001)


async def test_filters_are_ored_and_a_minus_value_excludes(connect: Connect) -> None:
    async with Simulator(port=0, speed=100) as sim:
        client = await connect(sim.port)
        assert await client.reply("filter Event-Name CHANNEL_EXECUTE") == (
            "+OK filter added. [Event-Name]=[CHANNEL_EXECUTE]"
        )
        assert (
            await client.reply("filter Application -park")
            == "+OK filter added. [Application]=[-park]"
        )
        assert await client.reply("event plain ALL") == "+OK event listener enabled plain"
        uuid = await sim.place_call(
            CallSpec(destination="1", actions=["answer", "set x=1", "park"])
        )
        first = await client.event()
        second = await client.event()
        assert [first.event_get("Application"), second.event_get("Application")] == [
            "answer",
            "set",
        ]
        sim.hangup(uuid)
        with anyio.fail_after(5):
            await sim.wait_for_hangup(uuid)
        # Nothing else passed: neither the park EXECUTE nor any other event.
        assert await client.reply("noevents") == "+OK no longer listening for events"
        assert client.messages[-1].get("Reply-Text") == "+OK no longer listening for events"


async def test_a_regex_filter_between_slashes(connect: Connect) -> None:
    async with Simulator(port=0, speed=100) as sim:
        client = await connect(sim.port)
        await client.reply("event plain CHANNEL_EXECUTE")
        assert await client.reply("filter Application /^(set|park)$/") == (
            "+OK filter added. [Application]=[/^(set|park)$/]"
        )
        await sim.place_call(CallSpec(destination="1", actions=["answer", "set x=1", "park"]))
        assert (await client.event()).event_get("Application") == "set"
        assert (await client.event()).event_get("Application") == "park"


async def test_filter_delete_removes_one_value_or_all_values_of_a_header(connect: Connect) -> None:
    async with Simulator(port=0) as sim:
        client = await connect(sim.port)
        await client.reply("filter Event-Name HEARTBEAT")
        await client.reply("filter Event-Name CUSTOM")
        assert await client.reply("filter delete Event-Name HEARTBEAT") == (
            "+OK filter deleted. [Event-Name][HEARTBEAT]"
        )
        await client.reply("event plain ALL")
        await client.reply("sendevent CUSTOM")
        assert (await client.event()).event_get("Event-Name") == "CUSTOM"
        assert await client.reply("filter add Foo") == "+OK filter added. [Foo]=[(null)]"
        assert (
            await client.reply("filter delete Event-Name") == "+OK filter deleted. [Event-Name][]"
        )


async def test_the_queue_overflows_while_a_command_blocks_then_the_connection_is_killed(
    connect: Connect,
) -> None:
    async with Simulator(port=0, speed=100, event_queue_size=5, max_lost_events=3) as sim:
        client = await connect(sim.port)
        await client.reply("event plain ALL")
        await client.send("api msleep 5000\n\n")  # 50 ms here; no events go out meanwhile
        await received(sim, "api msleep 5000")
        await sim.place_call(CallSpec(destination="9002"))
        rest = await client.until_closed()
        assert [m.content_type for m in rest] == ["text/disconnect-notice"]
        assert rest[0].body == b"killed listener because of lost events\n"


async def test_a_full_queue_drops_events_but_keeps_the_connection(connect: Connect) -> None:
    async with Simulator(port=0, speed=100, event_queue_size=3, max_lost_events=1000) as sim:
        client = await connect(sim.port)
        await client.reply("event plain CHANNEL_STATE CHANNEL_CREATE CHANNEL_CALLSTATE")
        await client.send("api msleep 5000\n\n")
        await received(sim, "api msleep 5000")
        await sim.place_call(CallSpec(destination="9002"))
        response = await client.read()
        assert response.content_type == "api/response"
        kept = [await client.event() for _ in range(3)]
        assert [e.event_get("Event-Name") for e in kept] == [
            "CHANNEL_STATE",
            "CHANNEL_CREATE",
            "CHANNEL_CALLSTATE",
        ]
        assert await client.api("echo still here") == "still here"


async def test_a_client_sending_garbage_loses_only_its_own_connection(connect: Connect) -> None:
    async with Simulator(port=0) as sim:
        good = await connect(sim.port)
        bad = await connect(sim.port)
        await bad.send("sendevent CUSTOM\ncontent-length: 99999999999\n\n")
        assert [m.content_type for m in await bad.until_closed()] == ["text/disconnect-notice"]
        assert await good.api("echo fine") == "fine"
        again = await connect(sim.port)
        assert await again.api("echo new") == "new"


async def test_the_traffic_log_keeps_every_command_with_the_password_masked(
    connect: Connect,
) -> None:
    async with Simulator(port=0) as sim:
        client = await connect(sim.port)
        await client.api("status")
        await client.reply("event plain CHANNEL_ANSWER")
        await client.send("sendmsg\ncall-command: hangup\n\n")
        await client.read()
        record = sim.traffic.inbound()[0]
        assert record.lines == [
            "auth ********",
            "api status",
            "event plain CHANNEL_ANSWER",
            "sendmsg",
        ]
        assert record.commands[-1].header("call-command") == "hangup"
        assert record.kind == "inbound"


async def test_userauth_limits_events_and_api_commands(connect: Connect) -> None:
    users = {
        "alice@example.com": UserAuth(
            "secret", allowed_events="CHANNEL_ANSWER", allowed_api="status"
        )
    }
    async with Simulator(port=0, users=users) as sim:
        client = await connect(sim.port, auth=None)
        reply = await client.command("userauth alice@example.com:secret")
        assert reply.headers == [
            ("Content-Type", "command/reply"),
            ("Reply-Text", "+OK accepted"),
            ("Allowed-Events", "CHANNEL_ANSWER"),
            ("Allowed-API", "status"),
            ("Allowed-LOG", "true"),
        ]
        assert await client.reply("event plain ALL") == "-ERR permission denied"
        assert (
            await client.reply("event plain CHANNEL_ANSWER") == "+OK event listener enabled plain"
        )
        assert (await client.api("status")).startswith("UP ")
        assert await client.reply("api uptime") == "-ERR permission denied"
        assert await client.reply("bgapi bgapi uptime") == "-ERR permission denied"
        wrong = await connect(sim.port, auth=None)
        assert await wrong.reply("userauth alice@example.com:nope") == "-ERR invalid"
        assert [m.content_type for m in await wrong.until_closed()] == ["text/disconnect-notice"]


async def test_log_level_selects_which_lines_arrive(connect: Connect) -> None:
    async with Simulator(port=0) as sim:
        client = await connect(sim.port)
        assert await client.reply("log 4") == "+OK log level 4 [4]"
        await client.api("log INFO not for you")
        await client.api("log ERR for you")
        line = await client.read()
        assert line.content_type == "log/data"
        assert line.get("Log-Level") == "3"
        assert line.body.endswith(b"[ERR] mod_commands.c:7200 for you\n")
        assert await client.reply("nolog") == "+OK no longer logging"


async def test_sendevent_to_a_channel_is_fired_with_its_data(connect: Connect) -> None:
    async with Simulator(port=0, speed=100) as sim:
        client = await connect(sim.port)
        await client.reply("event plain CUSTOM my::event")
        uuid = await sim.place_call(CallSpec(destination="9002"))
        with anyio.fail_after(5):
            await sim.wait_for_answer(uuid)
        await client.reply(
            f"sendevent CUSTOM\nEvent-Subclass: my::event\nUnique-ID: {uuid}\nFoo: bar"
        )
        event = await client.event()
        assert event.event_get("Foo") == "bar"
        assert event.event_get("Channel-Name") == "sofia/internal/1000@127.0.0.1"
        assert event.event_get("variable_uuid") == uuid


async def test_several_messages_go_out_in_one_write(connect: Connect) -> None:
    async with Simulator(port=0) as sim:
        client = await connect(sim.port)
        await client.send("api echo one\n\napi echo two\n\napi echo three\n\n")
        with anyio.fail_after(5):
            data = b""
            while data.count(b"api/response") < 3:
                data += await client.stream.receive()
        assert data.endswith(b"Content-Length: 5\n\nthree")


async def test_a_reply_is_not_held_back_by_a_blocking_api_after_it(connect: Connect) -> None:
    async with Simulator(port=0, speed=1) as sim:
        client = await connect(sim.port)
        await client.send("api echo first\n\napi msleep 60000\n\n")
        with anyio.fail_after(5):  # far less than the minute the msleep blocks
            response = await client.read()
        assert (response.content_type, response.body) == ("api/response", b"first")
        await received(sim, "api msleep 60000")
