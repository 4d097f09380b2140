"""The traffic log gives back each command as it was received, bounded per connection."""

from __future__ import annotations

from runner.sim.traffic import Traffic
from runner.sim.wire import CommandReader


def test_kept_commands_equal_the_received_ones_and_the_oldest_go_first() -> None:
    reader = CommandReader()
    reader.feed(
        b"auth ClueCon\n\n"
        b"sendmsg 1234\ncall-command: execute\nexecute-app-name: playback\n"
        b"content-type: text/plain\ncontent-length: 5\n\nx.wav"
        b"api echo one\n\napi echo two\n\n"
    )
    received = []
    while (command := reader.next()) is not None:
        received.append(command)
    record = Traffic(max_commands=3).open("inbound", "127.0.0.1:5555")
    for command in received:
        record.add(command)
    assert record.commands == received[1:]  # three kept: the auth line went first
    kept = record.commands[0]
    assert kept.header("execute-app-name") == "playback"
    assert (kept.body, kept.raw) == ("x.wav", received[1].raw)
    assert record.lines == ["sendmsg 1234", "api echo one", "api echo two"]
    record.add(received[0])
    assert record.lines[-1] == "auth ********"
