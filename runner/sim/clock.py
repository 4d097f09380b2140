"""Simulated time: one speed factor for every duration the switch core waits.

The simulator never sleeps for the real length of a prompt or a ``linger``: it sleeps
``seconds / speed``. Timestamps in events follow the same scaled time line, so a call
that "lasted" 30 s reports billsec 30 even when the test ran for 0.3 s.

Under a virtual clock (`eslflow test` runs on trio's MockClock) the simulator follows the
event loop's time instead: ``SimClock(start=epoch, timer=anyio.current_time)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio


class SimClock:
    """Scaled time: ``speed=1`` is real time, ``speed=100`` runs a minute in 0.6 s."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """`start`: the epoch seconds the simulation starts at (default: now); `timer`:
        the monotonic time it advances with (the event loop's, for a virtual clock)."""
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._wall0 = time.time() if start is None else start
        self._timer = timer
        self._mono0 = timer()

    def now(self) -> float:
        """Simulated epoch seconds (what Event-Date-Timestamp and CDR stamps show)."""
        return self._wall0 + (self._timer() - self._mono0) * self.speed

    def micros(self) -> int:
        return int(self.now() * 1_000_000)

    def real(self, seconds: float) -> float:
        """How long ``seconds`` of simulated time takes on the wall clock."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(self.real(seconds))
