"""`EventBuffer`: the bounded hand-off between a connection's reader and one consumer.

The reader must never wait on a consumer, so `put` never blocks. When the buffer is
full, the overflow policy decides:

- `drop-oldest` (default): the oldest buffered event that is not a BACKGROUND_JOB is
  dropped to make room; the drop is counted in `dropped` and logged (every 1000th).
  BACKGROUND_JOB events are kept, up to twice the size, since they carry `bgapi`
  results (a connection's own `bgapi` calls get theirs directly, never via a buffer).
- `close`: the buffer fails with `EventBufferOverflow`; the consumer sees the error at
  its next `get`, as FreeSWITCH's own listener is cut off when its queue overflows.

Replies never pass through here: they are matched to their commands directly.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Literal

import anyio

from runner.esl.errors import EslError
from runner.esl.event import Event

OverflowPolicy = Literal["drop-oldest", "close"]

log = logging.getLogger("runner.esl")


class EventBufferOverflow(EslError):
    """The consumer fell too far behind the event stream (policy `close`)."""


class EventBuffer:
    """A bounded FIFO of events with a non-blocking `put` and an awaitable `get`."""

    __slots__ = (
        "_closed",
        "_error",
        "_items",
        "_waiter",
        "dropped",
        "maxsize",
        "name",
        "policy",
    )

    def __init__(
        self, maxsize: int = 10_000, policy: OverflowPolicy = "drop-oldest", name: str = ""
    ) -> None:
        if maxsize < 1:
            raise ValueError("an event buffer needs room for at least one event")
        self.maxsize = maxsize
        self.policy = policy
        self.name = name
        self.dropped = 0
        self._items: deque[Event] = deque()
        self._waiter: anyio.Event | None = None
        self._closed = False
        self._error: BaseException | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: Event) -> None:
        """Add an event; never blocks (see the module docstring for a full buffer)."""
        if self._closed:
            return
        items = self._items
        if len(items) >= self.maxsize:
            if self.policy == "close":
                self.close(
                    EventBufferOverflow(
                        f"event buffer {self.name or ''} overflowed: the consumer fell "
                        f"{self.maxsize} events behind"
                    )
                )
                return
            if not self._make_room(event):
                return
        items.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _make_room(self, incoming: Event) -> bool:
        """Drop one event from a full buffer; False if the incoming one is dropped."""
        items = self._items
        for index, old in enumerate(items):
            if old.get("Event-Name") != "BACKGROUND_JOB":
                del items[index]
                self._count_drop()
                return True
        if incoming.get("Event-Name") != "BACKGROUND_JOB":
            # Only job results are buffered: drop the newcomer, keep the results.
            self._count_drop()
            return False
        if len(items) < 2 * self.maxsize:
            # A buffer full of job results keeps them, up to twice its size.
            return True
        self._count_drop()
        return False

    def _count_drop(self) -> None:
        if self.dropped == 0 or self.dropped % 1000 == 0:
            log.warning(
                "event buffer %s full (%d events): dropping the oldest; %d dropped so far",
                self.name,
                self.maxsize,
                self.dropped + 1,
            )
        self.dropped += 1

    def close(self, error: BaseException | None = None) -> None:
        """No more events: `get` drains what is left, then raises `error` or ends."""
        if self._closed:
            return
        self._closed = True
        self._error = error
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    async def get(self) -> Event:
        """The next event; raises `anyio.EndOfStream` after a clean close."""
        while not self._items:
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise anyio.EndOfStream
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = anyio.Event()
            await waiter.wait()
        return self._items.popleft()

    def get_nowait(self) -> Event | None:
        """The next event if one is buffered, else None."""
        return self._items.popleft() if self._items else None

    async def __aiter__(self) -> AsyncIterator[Event]:
        items = self._items
        while True:
            # Drain without awaiting while events are buffered: the loop costs one deque
            # pop per event; it parks only when the buffer is empty.
            while items:
                yield items.popleft()
            try:
                yield await self.get()
            except anyio.EndOfStream:
                return
