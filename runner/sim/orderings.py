"""Which way the simulator settles the races a real FreeSWITCH runs between threads.

By default (``"sim"``) the simulator always takes the common order. ``"real"`` makes it
take, call by call, the orderings FreeSWITCH 1.10.12 showed over 140 loopback calls,
each with probability ``chance`` (much more often than the switch, so that flow tests
meet them), drawn from a seeded generator so that a failing run can be replayed:

- ``late_create``: the originated (a) leg's CHANNEL_CREATE comes after the b-leg
  answered or parked, so its CHANNEL_ANSWER fires in CS_INIT, before its CREATE;
- ``a_destroyed_first``: the a-leg's CHANNEL_DESTROY comes before the b-leg's;
- ``unpark_first``: a parked leg whose loopback partner hung up leaves park
  (CHANNEL_UNPARK, CHANNEL_EXECUTE_COMPLETE) before its own CHANNEL_HANGUP;
- ``other_cause``: that leg hangs up NORMAL_CLEARING although its partner's cause
  was another one.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["sim", "real"]
MODES: tuple[Mode, ...] = ("sim", "real")
RACES = ("late_create", "a_destroyed_first", "unpark_first", "other_cause")


class OrderingsError(ValueError):
    """An unknown orderings mode or a bad chance."""


@dataclass
class Orderings:
    """The races' outcomes for one simulator: ``rare(race)`` says whether this time the
    real switch's less common order is taken. ``seed`` replays a run."""

    mode: Mode = "sim"
    seed: int = field(default_factory=lambda: secrets.randbelow(2**31))
    chance: float = 0.5
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise OrderingsError(f"orderings must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0.0 <= self.chance <= 1.0:
            raise OrderingsError(f"orderings chance must be within 0..1, not {self.chance}")
        self._rng = random.Random(self.seed)

    def rare(self, race: str) -> bool:
        """True when this occurrence of ``race`` takes the real switch's rarer order."""
        if self.mode != "real":
            return False
        taken = self._rng.random() < self.chance
        if taken:
            self.counts[race] = self.counts.get(race, 0) + 1
        return taken

    def describe(self) -> str:
        """How to replay this run (for a failing test's message)."""
        return f"orderings={self.mode!r}, seed={self.seed}" if self.mode == "real" else "sim"
