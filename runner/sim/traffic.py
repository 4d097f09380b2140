"""What each connection sent: the simulator's record of commands, for tests to inspect."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from runner.sim.wire import Command

Kind = Literal["inbound", "outbound"]


@dataclass
class ConnectionRecord:
    """One connection: who, which way, and every command it sent, in order.

    ``commands`` keeps the most recent ``limit`` commands so a long-running simulator
    does not grow without bound.
    """

    id: int
    kind: Kind
    peer: str
    limit: int = 10_000
    commands: deque[Command] = field(default_factory=deque)
    closed: bool = False

    def add(self, command: Command) -> None:
        if len(self.commands) >= self.limit:
            self.commands.popleft()
        self.commands.append(command)

    @property
    def lines(self) -> list[str]:
        """The first line of each command (``auth`` lines show the password masked)."""
        return [mask_secret(c.line) for c in self.commands]


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
