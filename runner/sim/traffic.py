"""What each connection sent: the simulator's record of commands, for tests to inspect."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from itertools import chain
from typing import Literal

from runner.sim.wire import Command

Kind = Literal["inbound", "outbound"]


# (line, body, raw, header name, value, name, value, ...): one kept command.
_Kept = tuple[str | bytes | None, ...]


@dataclass
class ConnectionRecord:
    """One connection: who, which way, and every command it sent, in order.

    ``commands`` keeps the most recent ``limit`` commands so a long-running simulator
    does not grow without bound. They are kept as flat tuples of strings, which the
    cycle collector soon stops tracking: kept as Command objects, thousands a second
    of them reached the oldest generation and set off a full collection (~15 ms)
    every few seconds under load.
    """

    id: int
    kind: Kind
    peer: str
    limit: int = 10_000
    _kept: deque[_Kept] = field(default_factory=deque, repr=False)
    closed: bool = False

    def add(self, command: Command) -> None:
        if len(self._kept) >= self.limit:
            self._kept.popleft()
        self._kept.append(
            (command.line, command.body, command.raw, *chain.from_iterable(command.headers))
        )

    @property
    def commands(self) -> list[Command]:
        """The kept commands, oldest first (new objects, equal to those received)."""
        return [_command(kept) for kept in self._kept]

    @property
    def lines(self) -> list[str]:
        """The first line of each command (``auth`` lines show the password masked)."""
        return [mask_secret(str(kept[0])) for kept in self._kept]


def _command(kept: _Kept) -> Command:
    line, body, raw = kept[0], kept[1], kept[2]
    assert isinstance(line, str) and isinstance(raw, bytes)
    assert body is None or isinstance(body, str)
    flat = [str(item) for item in kept[3:]]
    return Command(line, tuple(zip(flat[::2], flat[1::2], strict=True)), body, raw)


def mask_secret(line: str) -> str:
    low = line.lower()
    if low.startswith("auth "):
        return "auth ********"
    if low.startswith("userauth "):
        user = line[9:].split(":", 1)[0].split("@", 1)[0]
        return f"userauth {user}@… ********"
    return line


class Traffic:
    """All connections the simulator has seen, oldest first (bounded)."""

    def __init__(self, max_connections: int = 1000, max_commands: int = 10_000) -> None:
        self._ids = itertools.count(1)
        self.max_commands = max_commands
        self.connections: deque[ConnectionRecord] = deque(maxlen=max_connections)

    def open(self, kind: Kind, peer: str) -> ConnectionRecord:
        record = ConnectionRecord(next(self._ids), kind, peer, limit=self.max_commands)
        self.connections.append(record)
        return record

    def inbound(self) -> list[ConnectionRecord]:
        return [c for c in self.connections if c.kind == "inbound"]

    def outbound(self) -> list[ConnectionRecord]:
        return [c for c in self.connections if c.kind == "outbound"]
