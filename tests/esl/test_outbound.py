"""OutboundServer: FreeSWITCH's `socket` app connects, we drive the call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.abc
import pytest
from helpers.fake_switch import DISCONNECT, api_response, plain_event, reply

from runner.esl import OutboundConnection, OutboundServer
from runner.esl.codec import Parser
from runner.esl.outbound import is_allowed, parse_networks, switch_true

pytestmark = pytest.mark.anyio

CAPTURE = Path(__file__).parent.parent / "data" / "captures" / "g1_outbound_async.O.recv.bin"
UUID = "24ac830d-29b5-44f6-a48d-6a00d0fff2d8"
HANGUP = b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"


def connect_reply() -> bytes:
    """The exact channel-data reply FreeSWITCH 1.10.12 sent to `connect`."""
    data = CAPTURE.read_bytes()
    return data[: data.index(b"\n\n") + 2]


async def read_command(stream: anyio.abc.SocketStream, buf: bytearray) -> bytes:
    while b"\n\n" not in buf:
        buf += await stream.receive()
    head, _, _ = bytes(buf).partition(b"\n\n")
    length = 0
    for line in head.split(b"\n"):
        if line.startswith(b"content-length: "):
            length = int(line.split(b": ")[1])
    while len(buf) < len(head) + 2 + length:
        buf += await stream.receive()
    command = bytes(buf[: len(head) + 2 + length])
    del buf[: len(command)]
    return command


async def fake_socket_app(port: int, transcript: list[bytes]) -> None:
    """Plays FreeSWITCH's side of `socket 127.0.0.1:<port> async full` for one call."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        buf = bytearray()
        while True:
            try:
                command = await read_command(stream, buf)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return
            transcript.append(command)
            first = command.split(b"\n", 1)[0]
            if first == b"connect":
                await stream.send(connect_reply())
            elif first == b"myevents":
                await stream.send(reply("+OK Events Enabled"))
            elif first == b"linger":
                await stream.send(reply("+OK will linger"))
            elif first == b"resume":
                await stream.send(reply("+OK"))
            elif first.startswith(b"getvar "):
                # The switch's values: a short one, one cut by its 512-byte reply buffer.
                values = {b"short": "abc", b"long": "x" * 511}
                value = values.get(first.split(b" ", 1)[1], "-ERR command not found")
                await stream.send(reply(value))
            elif first == f"api uuid_getvar {UUID} long".encode():
                await stream.send(api_response("x" * 600))
            elif first.split(b" ", 1)[0] == b"sendmsg":
                await stream.send(reply("+OK"))
                text = command.decode()
                if "Event-UUID: " in text:
                    app_uuid = text.split("Event-UUID: ", 1)[1].split("\n", 1)[0]
                    await stream.send(
                        plain_event(
                            {
                                "Event-Name": "CHANNEL_EXECUTE_COMPLETE",
                                "Unique-ID": UUID,
                                "Application": "answer",
                                "Application-UUID": app_uuid,
                            }
                        )
                    )
                if "call-command: hangup" in text:
                    await stream.send(
                        plain_event({"Event-Name": "CHANNEL_HANGUP", "Unique-ID": UUID})
                    )
            elif first == b"exit":
                await stream.send(reply("+OK bye") + DISCONNECT)
                return


async def test_outbound_call_connect_myevents_execute_hangup_exit() -> None:
    seen: dict[str, object] = {}

    async def handler(call: OutboundConnection) -> None:
        seen["uuid"] = call.uuid
        seen["async"] = call.async_mode
        seen["destination"] = call.channel_data["Caller-Destination-Number"]
        await call.myevents()
        await call.linger()
        done = await call.execute("answer", wait=True, event_uuid="app-1")
        assert done is not None
        seen["completed"] = done["Application-UUID"]
        await call.hangup("NORMAL_CLEARING")

    transcript: list[bytes] = []
    server = OutboundServer(handler, port=0)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            await fake_socket_app(port, transcript)
            tg.cancel_scope.cancel()
    assert seen == {"uuid": UUID, "async": True, "destination": "9000", "completed": "app-1"}
    assert transcript == [
        b"connect\n\n",
        b"myevents\n\n",
        b"linger\n\n",
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nEvent-UUID: app-1\n\n",
        b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n",
        b"exit\n\n",
    ]
    assert (server.served, server.active) == (1, 0)


async def test_a_failing_handler_is_logged_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def handler(call: OutboundConnection) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("flow bug")
        await call.hangup()

    server = OutboundServer(handler, port=0)
    transcripts: list[list[bytes]] = [[], []]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            await fake_socket_app(port, transcripts[0])
            await fake_socket_app(port, transcripts[1])
            tg.cancel_scope.cancel()
    # The crashed handler's call is hung up, not left to the socket app's park.
    assert transcripts[0] == [b"connect\n\n", HANGUP, b"exit\n\n"]
    assert transcripts[1][-2:] == [
        b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n",
        b"exit\n\n",
    ]
    assert f"call {UUID}: the handler failed" in caplog.text
    assert "RuntimeError: flow bug" in caplog.text


async def serve_one(handler: Callable[[OutboundConnection], Awaitable[None]]) -> list[bytes]:
    """What one call's socket received from an OutboundServer running `handler`."""
    server = OutboundServer(handler, port=0)
    transcript: list[bytes] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            await fake_socket_app(port, transcript)
            tg.cancel_scope.cancel()
    return transcript


async def test_a_handler_that_returns_without_resume_hangs_the_call_up_before_exit() -> None:
    async def handler(call: OutboundConnection) -> None:
        pass

    assert await serve_one(handler) == [b"connect\n\n", HANGUP, b"exit\n\n"]


async def test_after_resume_the_socket_closes_with_exit_only() -> None:
    async def handler(call: OutboundConnection) -> None:
        await call.resume()
        assert call.resumed

    assert await serve_one(handler) == [b"connect\n\n", b"resume\n\n", b"exit\n\n"]


async def test_resume_and_hangup_count_whichever_api_sent_them() -> None:
    async def resumes(call: OutboundConnection) -> None:
        await call.command(b"resume\n\n")  # as the engine's resume step sends it

    async def hangs_up(call: OutboundConnection) -> None:
        await call.send(HANGUP)

    assert await serve_one(resumes) == [b"connect\n\n", b"resume\n\n", b"exit\n\n"]
    assert await serve_one(hangs_up) == [b"connect\n\n", HANGUP, b"exit\n\n"]


async def test_getvar_values_and_a_cut_one_read_again_through_api() -> None:
    seen: list[str | None] = []

    async def handler(call: OutboundConnection) -> None:
        for name in ("short", "missing", "long"):
            seen.append(await call.getvar(name))

    transcript = await serve_one(handler)
    assert seen == ["abc", None, "x" * 600]
    assert transcript[1:5] == [
        b"getvar short\n\n",
        b"getvar missing\n\n",
        b"getvar long\n\n",
        f"api uuid_getvar {UUID} long\n\n".encode(),
    ]


async def test_a_hangup_of_another_channel_still_hangs_this_call_up_at_the_end() -> None:
    async def handler(call: OutboundConnection) -> None:
        await call.hangup("USER_BUSY", uuid="11111111-2222-3333-4444-555555555555")

    assert await serve_one(handler) == [
        b"connect\n\n",
        b"sendmsg 11111111-2222-3333-4444-555555555555\n"
        b"call-command: hangup\nhangup-cause: USER_BUSY\n\n",
        HANGUP,
        b"exit\n\n",
    ]


@pytest.mark.parametrize(
    ("value", "resumed"),
    [("true", True), ("YES", True), ("1", True), ("42", True), ("false", False), ("", False)],
)
def test_socket_resume_is_read_the_way_switch_true_reads_it(value: str, resumed: bool) -> None:
    assert switch_true(value) is resumed


async def test_peers_outside_the_allow_list_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def handler(call: OutboundConnection) -> None:  # pragma: no cover - never called
        raise AssertionError("must not run")

    server = OutboundServer(handler, port=0, allow=["10.0.0.0/8"])
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                    await stream.receive()
            tg.cancel_scope.cancel()
    assert server.refused == 1
    assert "outbound connection from 127.0.0.1 refused: not in the allow-list" in caplog.text


def test_allow_list_matching() -> None:
    nets = parse_networks(["127.0.0.0/8", "10.1.0.0/16", "::1/128"])
    assert is_allowed("127.0.0.1", nets)
    assert is_allowed("10.1.2.3", nets)
    assert is_allowed("::ffff:10.1.2.3", nets)
    assert is_allowed("::1", nets)
    assert not is_allowed("10.2.0.1", nets)
    assert not is_allowed("not-an-ip", nets)
    with pytest.raises(ValueError) as info:
        parse_networks(["10.0.0.0/33"])
    assert str(info.value).startswith("invalid network in allow-list: '10.0.0.0/33'")


def test_connect_reply_fixture_is_the_capture() -> None:
    (message,) = Parser().feed(connect_reply())
    assert message.headers["Unique-ID"] == UUID  # type: ignore[union-attr]


async def quiet_socket_app(port: int, transcript: list[bytes]) -> None:
    """Answers `connect` and every command with +OK, and never sends an event: the call
    stays up and silent (issue 10 finding 7)."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        buf = bytearray()
        while True:
            try:
                command = await read_command(stream, buf)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return
            transcript.append(command)
            first = command.split(b"\n", 1)[0]
            if first == b"connect":
                await stream.send(connect_reply())
            elif first == b"exit":
                await stream.send(reply("+OK bye") + DISCONNECT)
                return
            else:
                await stream.send(reply("+OK"))


async def closed_at_once(port: int) -> bool:
    """True when the server closes a new connection without sending anything."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        with anyio.fail_after(1):
            try:
                await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return True
    return False


async def test_connections_over_the_cap_are_closed_at_once_and_logged_once_per_burst(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    outcomes: list[str] = []
    served: list[str] = []

    async def handler(call: OutboundConnection) -> None:
        served.append(call.uuid)
        await call.hangup()

    server = OutboundServer(
        handler, port=0, max_connections=2, connect_timeout=0.5, on_outcome=outcomes.append
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            # Two peers that never answer `connect` hold both places ...
            silent = [await anyio.connect_tcp("127.0.0.1", port) for _ in range(2)]
            while server.active < 2:
                await anyio.sleep(0.01)
            # ... so the next three are closed without a word.
            assert [await closed_at_once(port) for _ in range(3)] == [True, True, True]
            assert (server.over_cap, server.active) == (3, 2)
            # The connect timeout frees the places; a real call is served again.
            while server.active:
                await anyio.sleep(0.01)
            transcript: list[bytes] = []
            await fake_socket_app(port, transcript)
            for stream in silent:
                await stream.aclose()
            tg.cancel_scope.cancel()
    assert served == [UUID]
    assert outcomes == ["over_cap"] * 3 + ["connect_failed"] * 2
    cap_lines = [r.getMessage() for r in caplog.records if "maximum" in r.getMessage()]
    assert cap_lines == [
        "outbound: 2 connections open, the maximum; refusing new ones",
        "outbound: below the maximum of 2 connections again; 3 refused meanwhile",
    ]


async def test_a_peer_that_never_answers_connect_is_closed_after_the_connect_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(call: OutboundConnection) -> None:  # pragma: no cover - never called
        raise AssertionError("must not run")

    outcomes: list[str] = []
    server = OutboundServer(handler, port=0, connect_timeout=0.2, on_outcome=outcomes.append)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            started = anyio.current_time()
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                buf = bytearray()
                assert await read_command(stream, buf) == b"connect\n\n"
                with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                    while True:
                        buf += await stream.receive()
                took = anyio.current_time() - started
            tg.cancel_scope.cancel()
    assert 0.2 <= took < 1.0
    assert outcomes == ["connect_failed"]
    assert "connect failed" in caplog.text


async def test_a_call_past_the_maximum_duration_is_hung_up_and_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(call: OutboundConnection) -> None:
        await call.myevents()
        await call.execute("playback", "silence_stream://-1", wait=True, event_uuid="app-1")

    outcomes: list[str] = []
    transcript: list[bytes] = []
    server = OutboundServer(handler, port=0, max_call_duration=0.3, on_outcome=outcomes.append)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            port = await tg.start(server.serve)
            started = anyio.current_time()
            await quiet_socket_app(port, transcript)
            took = anyio.current_time() - started
            tg.cancel_scope.cancel()
    assert 0.3 <= took < 1.5
    assert transcript == [
        b"connect\n\n",
        b"myevents\n\n",
        b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nEvent-UUID: app-1\n"
        b"content-type: text/plain\ncontent-length: 19\n\nsilence_stream://-1",
        b"sendmsg\ncall-command: hangup\nhangup-cause: ALLOTTED_TIMEOUT\n\n",
        b"exit\n\n",
    ]
    assert (outcomes, server.expired, server.active) == (["expired"], 1, 0)
    assert (
        f"call {UUID}: still connected after the maximum call duration (0.3 s); "
        "hanging up with ALLOTTED_TIMEOUT"
    ) in caplog.text
