"""`Pacer`: runaway flow instances share a small slice of the event loop, all together.

A checkpoint lets other tasks run, but a task that is always ready still takes its turn
in every round of the loop: a flow looping without waiting would take most of the CPU
and slow every call next to it (bench/chaos_spin.py measured it). So an instance that
has run RUNAWAY_STEPS steps without waiting for an event counts as a runaway, and at
each of its checkpoints it waits out RATIO times the time it just ran, on one schedule
shared by every runaway instance of the engine: together they use at most about
1 / (1 + RATIO) of the loop, however many there are, until the step budget stops them.
"""

from __future__ import annotations

import anyio

# Steps in a row without waiting after which an instance is paced: ordinary flows wait
# for an event every few steps and never get near it.
RUNAWAY_STEPS = 256
# Runaways wait this many times as long as they ran: they get about a tenth of the loop.
RATIO = 9.0


class Pacer:
    """The schedule runaway instances take turns on (one per engine)."""

    def __init__(self, ratio: float = RATIO) -> None:
        self.ratio = ratio
        self._free_at = float("-inf")

    async def pause(self, ran: float) -> None:
        """A runaway ran `ran` seconds since its last pause: wait for its next turn."""
        now = anyio.current_time()
        self._free_at = max(self._free_at, now) + ran * self.ratio
        await anyio.sleep_until(self._free_at)
