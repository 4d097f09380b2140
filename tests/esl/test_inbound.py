"""InboundConnection against a scripted peer: replies, jobs, events, failures, reconnect."""

from __future__ import annotations

import itertools
import logging

import anyio
import pytest
from helpers.fake_switch import (
    DISCONNECT,
    FakeSwitch,
    api_response,
    plain_event,
    reply,
    running,
)

from runner.esl import (
    Backoff,
    EslAuthError,
    EslCommandError,
    EslConnectionClosed,
    EslConnectionError,
    EslProtocolError,
    EslTimeoutError,
    Event,
    InboundConnection,
)

pytestmark = pytest.mark.anyio

FAST = Backoff(initial=0.01, maximum=0.05)


async def test_auth_api_and_clean_exit() -> None:
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port, "ClueCon") as conn:
                assert await conn.api("status") == "+OK status"
        peer = switch.peers[0]
        assert peer.commands == [b"auth ClueCon\n\n", b"api status\n\n", b"exit\n\n"]


async def test_wrong_password_is_an_auth_error_without_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(5), pytest.raises(EslAuthError) as info:
            async with InboundConnection.connect(
                "127.0.0.1", switch.port, "s3cret-wrong", reconnect=True, backoff=FAST
            ):
                pass
        assert str(info.value) == (
            f"FreeSWITCH at 127.0.0.1:{switch.port} rejected the password (-ERR invalid)"
        )
        assert switch.connections == 1
    assert "s3cret-wrong" not in caplog.text
    assert "s3cret-wrong" not in str(info.value)


async def test_connection_refused_is_one_clear_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with anyio.fail_after(5), pytest.raises(EslConnectionError) as info:
        async with InboundConnection.connect("127.0.0.1", port):
            pass
    assert str(info.value).startswith(f"cannot connect to FreeSWITCH at 127.0.0.1:{port}: ")


async def test_acl_rejection_is_an_auth_error() -> None:
    switch = FakeSwitch(
        greeting=b"Content-Type: text/rude-rejection\nContent-Length: 24\n\n"
        b"Access Denied, go away.\n" + DISCONNECT
    )
    async with running(switch):
        with anyio.fail_after(5), pytest.raises(EslAuthError) as info:
            async with InboundConnection.connect("127.0.0.1", switch.port):
                pass
    assert str(info.value) == (
        f"FreeSWITCH at 127.0.0.1:{switch.port} refused this address (event socket ACL): "
        "Access Denied, go away."
    )


async def test_no_greeting_times_out() -> None:
    switch = FakeSwitch(greeting=b"")
    async with running(switch):
        with anyio.fail_after(5), pytest.raises(EslTimeoutError) as info:
            async with InboundConnection.connect("127.0.0.1", switch.port, timeout=0.2):
                pass
    assert str(info.value) == f"FreeSWITCH at 127.0.0.1:{switch.port} did not greet us in 0.2 s"


async def test_bgapi_subscribes_then_matches_its_job() -> None:
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                assert await conn.bgapi("status") == "+OK result of status\n"
                assert await conn.bgapi("uptime", job_uuid="my-job") == "+OK result of uptime\n"
        sent = switch.peers[0].commands
        assert sent[1] == b"event plain BACKGROUND_JOB\n\n"
        assert sent[2].startswith(b"bgapi status\nJob-UUID: ")
        assert sent[3] == b"bgapi uptime\nJob-UUID: my-job\n\n"


async def test_replies_match_commands_in_order_across_tasks() -> None:
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                results: dict[int, str] = {}

                async def one(i: int) -> None:
                    results[i] = await conn.api(f"echo {i}")

                async with anyio.create_task_group() as tg:
                    for i in range(50):
                        tg.start_soon(one, i)
        assert results == {i: f"+OK echo {i}" for i in range(50)}


async def test_a_timed_out_command_does_not_shift_later_replies() -> None:
    held: list[bytes] = []

    def hold_first_api(peer: object, command: bytes) -> bytes | None:
        if command == b"api slow\n\n":
            return b"SILENT"
        if command == b"api fast\n\n":
            # The held reply to `slow` comes first, as FreeSWITCH would send it.
            return api_response("slow result") + api_response("fast result")
        return None

    async with running(FakeSwitch(on_command=hold_first_api)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                with pytest.raises(EslTimeoutError) as info:
                    await conn.api("slow", timeout=0.1)
                assert str(info.value) == (
                    f"127.0.0.1:{switch.port}: no reply to 'api slow' within 0.1 s"
                )
                assert await conn.api("fast") == "fast result"
    assert held == []


async def test_api_error_body_is_returned_and_bare_errors_raise() -> None:
    def answers(peer: object, command: bytes) -> bytes | None:
        if command == b"api bogus\n\n":
            return api_response("-ERR bogus Command not found!\n")
        if command.startswith(b"event plain NOT_AN_EVENT"):
            return reply("-ERR no keywords supplied")
        return None

    async with running(FakeSwitch(on_command=answers)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                assert await conn.api("bogus") == "-ERR bogus Command not found!\n"
                with pytest.raises(EslCommandError) as info:
                    await conn.subscribe(["NOT_AN_EVENT"], "plain")
    assert str(info.value) == "'event plain NOT_AN_EVENT' failed: -ERR no keywords supplied"


async def test_events_are_delivered_in_order_with_replies_interleaved() -> None:
    def with_events(peer: object, command: bytes) -> bytes | None:
        if command.startswith(b"event json"):
            return reply("+OK event listener enabled json") + b"".join(
                plain_event({"Event-Name": "CHANNEL_CREATE", "Unique-ID": f"u{i}"})
                for i in range(5)
            )
        return None

    async with running(FakeSwitch(on_command=with_events)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                events = conn.events()
                await conn.subscribe(["CHANNEL_CREATE"])
                got = [await anext(events) for _ in range(5)]
    assert [e.uuid for e in got] == [f"u{i}" for i in range(5)]
    assert all(isinstance(e, Event) and e.name == "CHANNEL_CREATE" for e in got)


async def test_slow_consumer_never_blocks_the_reader_and_drops_are_counted() -> None:
    def flood(peer: object, command: bytes) -> bytes | None:
        if command.startswith(b"event"):
            return (
                reply("+OK event listener enabled plain")
                + b"".join(
                    plain_event({"Event-Name": "HEARTBEAT", "Event-Sequence": str(i)})
                    for i in range(100)
                )
                + plain_event({"Event-Name": "BACKGROUND_JOB", "Job-UUID": "x"}, "late\n")
            )
        return None

    async with running(FakeSwitch(on_command=flood)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                buffer = conn.event_buffer(maxsize=10)
                await conn.subscribe(["HEARTBEAT"], "plain")
                # The reader got everything while nobody consumed: api still answers.
                assert await conn.api("status") == "+OK status"
                assert len(buffer) == 10
                assert buffer.dropped == 91
                kept = [buffer.get_nowait() for _ in range(10)]
    assert [e.get("Event-Sequence") for e in kept if e is not None][:9] == [
        str(i) for i in range(91, 100)
    ]
    assert kept[-1] is not None and kept[-1].name == "BACKGROUND_JOB"


async def test_peer_vanishing_fails_pending_calls_and_ends_events() -> None:
    def vanish(peer: object, command: bytes) -> bytes | None:
        return b"CLOSE" if command == b"api hang\n\n" else None

    async with running(FakeSwitch(on_command=vanish)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                events = conn.events()
                with pytest.raises(EslConnectionClosed) as info:
                    await conn.api("hang")
                assert "the peer closed the connection" in str(info.value)
                with pytest.raises(EslConnectionClosed):
                    await anext(events)
                with pytest.raises(EslConnectionClosed):
                    await conn.api("status")


async def test_malformed_frame_closes_only_that_connection() -> None:
    def garbage(peer: object, command: bytes) -> bytes | None:
        if command == b"api status\n\n":
            return b"Content-Type: api/response\nContent-Length: nope\n\n"
        return None

    async with running(FakeSwitch(on_command=garbage)) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                with pytest.raises(EslProtocolError) as info:
                    await conn.api("status")
                assert str(info.value) == "invalid Content-Length 'nope'"
                assert not conn.connected


async def test_reconnect_replays_subscriptions_and_filters() -> None:
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(10):
            async with InboundConnection.connect(
                "127.0.0.1", switch.port, reconnect=True, backoff=FAST
            ) as conn:
                events = conn.events()
                await conn.subscribe(["CHANNEL_PARK", "CUSTOM", "sofia::register"], "json")
                await conn.filter("Event-Name", "CHANNEL_PARK")
                await switch.peers[0].close()
                while len(switch.peers) < 2 or len(switch.peers[1].commands) < 3:
                    await anyio.sleep(0.01)
                await conn.wait_connected()
                assert conn.reconnects == 1
                await switch.peers[1].send(
                    plain_event({"Event-Name": "CHANNEL_PARK", "Unique-ID": "after"})
                )
                event = await anext(events)
                assert event.uuid == "after"
                assert await conn.api("status") == "+OK status"
        assert switch.peers[1].commands[:3] == [
            b"auth ClueCon\n\n",
            b"event json CHANNEL_PARK CUSTOM sofia::register\n\n",
            b"filter Event-Name CHANNEL_PARK\n\n",
        ]


async def test_reconnect_waits_for_a_switch_that_is_down_at_start() -> None:
    switch = FakeSwitch(accept=False)
    async with running(switch):
        with anyio.fail_after(10):

            async def let_in() -> None:
                while switch.connections < 3:
                    await anyio.sleep(0.01)
                switch.accept = True

            async with anyio.create_task_group() as tg:
                tg.start_soon(let_in)
                async with InboundConnection.connect(
                    "127.0.0.1", switch.port, reconnect=True, backoff=FAST
                ) as conn:
                    assert await conn.api("status") == "+OK status"
    assert switch.connections >= 4


async def test_execute_waits_for_its_own_completion() -> None:
    async with running(FakeSwitch()) as switch:
        with anyio.fail_after(5):
            async with InboundConnection.connect("127.0.0.1", switch.port) as conn:
                done = await conn.execute("u1", "playback", "a.wav", wait=True, event_uuid="e-1")
                assert done is not None
                assert (done.name, done["Application-UUID"], done["Application"]) == (
                    "CHANNEL_EXECUTE_COMPLETE",
                    "e-1",
                    "playback",
                )
        assert switch.peers[0].commands[1] == (
            b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\nEvent-UUID: e-1\n"
            b"content-type: text/plain\ncontent-length: 5\n\na.wav"
        )


async def test_backoff_grows_across_auth_then_drop_cycles() -> None:
    # Before: each successful auth restarted the delays at zero (40 reconnects in 15 s).
    backoff = Backoff(initial=0.05, maximum=10.0, jitter=0.0, stable_after=10.0)
    switch = FakeSwitch()
    async with running(switch):
        times: list[float] = []
        with anyio.fail_after(10):
            async with InboundConnection.connect(
                "127.0.0.1", switch.port, reconnect=True, backoff=backoff
            ) as conn:
                await conn.subscribe(["CHANNEL_PARK"], "plain")
                with anyio.move_on_after(1.7):
                    while True:
                        # Each connection is dropped once auth and the replayed
                        # subscription were answered: the reconnect itself succeeded.
                        await conn.wait_connected()
                        times.append(anyio.current_time())
                        await switch.peers[-1].close()
                        while conn.connected:
                            await anyio.sleep(0.001)
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
    # 1 + 5 connections: the delays 0.05, 0.1, 0.2, 0.4, 0.8 s, each one doubled.
    assert switch.connections == 6, gaps
    assert all(len(peer.commands) >= 2 for peer in switch.peers[:-1])
    for gap, delay in zip(gaps, (0.05, 0.1, 0.2, 0.4, 0.8), strict=True):
        assert delay - 0.01 <= gap < delay + 0.15, gaps


async def test_backoff_starts_over_after_a_connection_that_stayed_up() -> None:
    backoff = Backoff(initial=0.05, maximum=10.0, jitter=0.0, stable_after=0.3)
    switch = FakeSwitch()
    async with running(switch):
        with anyio.fail_after(10):
            async with InboundConnection.connect(
                "127.0.0.1", switch.port, reconnect=True, backoff=backoff
            ) as conn:
                for expected in (2, 3):
                    await anyio.sleep(0.35)  # longer than stable_after
                    lost = anyio.current_time()
                    await switch.peers[-1].close()
                    while switch.connections < expected:
                        await anyio.sleep(0.002)
                    # A settled connection is re-made at once, not after a delay.
                    assert anyio.current_time() - lost < 0.04
                    await conn.wait_connected()
                assert conn.reconnects == 2
