"""Wake-ups for the simulator's tasks: a level-triggered `Signal` and a one-way `Flag`.

Both make an event-loop Event only when someone waits, because most notifications of a
call find nobody waiting (see docs/simulator.md, "Cost per call").
"""

from __future__ import annotations

import anyio


class Signal:
    """A level-triggered wake-up: ``notify`` sets it, ``wait`` consumes it.

    The event-loop Event exists only while someone waits: most notifications of a
    call find nobody waiting, and creating one per wake-up was a cost per event.

    A wait with a timeout sleeps, and a notify cancels the sleep: a media wait nearly
    always runs out, and on uvloop a cancel scope's deadline is re-armed until the
    loop's millisecond clock reaches it, ~130 us of CPU for a 1 ms wait against ~40
    us for a sleep.
    """

    __slots__ = ("_event", "_set", "_sleepers")

    def __init__(self) -> None:
        self._set = False
        self._event: anyio.Event | None = None
        self._sleepers: list[anyio.CancelScope] = []

    def notify(self) -> None:
        self._set = True
        event = self._event
        if event is not None:
            self._event = None
            event.set()
        if self._sleepers:
            for scope in self._sleepers:
                scope.cancel()
            self._sleepers.clear()

    def is_set(self) -> bool:
        return self._set

    async def wait(self, timeout: float | None) -> None:
        """Return at once if notified since the last wait, else wait for a notify or
        ``timeout`` real seconds (None: no limit)."""
        if not self._set:
            if timeout is None:
                event = self._event
                if event is None:
                    event = self._event = anyio.Event()
                await event.wait()
            else:
                with anyio.CancelScope() as scope:
                    self._sleepers.append(scope)
                    try:
                        await anyio.sleep(timeout)
                    finally:
                        if scope in self._sleepers:
                            self._sleepers.remove(scope)
        self._set = False


class Flag:
    """A one-way flag with anyio.Event's interface (set, is_set, wait); the event-loop
    Event is made only for a waiter: most flags of a call are set, never awaited."""

    __slots__ = ("_event", "_set")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._event: anyio.Event | None = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            if self._event is not None:
                self._event.set()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            await anyio.lowlevel.checkpoint()  # as anyio.Event.wait does
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()
