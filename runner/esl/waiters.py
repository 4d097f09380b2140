"""What a `Connection` waits for: a command's reply, a job's event, an app's completion.

`BackgroundJob` is the caller's handle on a `bgapi` whose BACKGROUND_JOB is awaited.

`Waiter` is one outstanding answer with a deadline. `ExecuteWaiter` knows when a
`sendmsg execute` with `loops` is really over: `runner.esl.loops.LoopRuns` says whether a
completion is surely the last run; one that is not plainly the last is held for
`LOOP_SETTLE` seconds, as the next run's CHANNEL_EXECUTE follows at once when there is one.
"""

from __future__ import annotations

import math
from typing import TypeVar

import anyio

from runner.esl import commands
from runner.esl.event import Event
from runner.esl.loops import LOOP_SETTLE, LoopRuns
from runner.esl.messages import ApiResponse, CommandReply

Reply = CommandReply | ApiResponse


class Waiter:
    """One outstanding answer: a command's reply, a job's event, an app's completion."""

    __slots__ = ("_what", "abandoned", "deadline", "done", "error", "result", "timeout")

    def __init__(self, what: str | bytes, timeout: float = math.inf) -> None:
        self._what = what
        self.done = anyio.Event()
        self.result: Reply | Event | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.timeout = timeout
        # The event loop's clock (virtual under a test clock), as the keeper reads it.
        self.deadline = anyio.current_time() + timeout

    @property
    def what(self) -> str:
        """The command's first line, for messages (computed only when one is needed)."""
        what = self._what
        if isinstance(what, bytes):
            return commands.describe(what)
        return what

    def resolve(self, result: Reply | Event) -> None:
        self.result = result
        self.done.set()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


class ExecuteWaiter(Waiter):
    """The completion of one `sendmsg execute`, over all of its loops (`LoopRuns` decides
    which completion is the last)."""

    __slots__ = ("channel", "runs", "settle_at")

    def __init__(
        self, what: str, timeout: float, loops: int | None, channel: str | None = None
    ) -> None:
        super().__init__(what, timeout)
        self.channel = channel  # the Unique-ID it runs on, when known
        self.runs = LoopRuns(loops)
        self.settle_at = math.inf

    @property
    def loops(self) -> int:
        return self.runs.loops

    @property
    def last(self) -> Event | None:
        last = self.runs.last
        assert last is None or isinstance(last, Event)
        return last

    def on_execute(self, event: Event) -> None:
        """A CHANNEL_EXECUTE of ours: a (next) run started, so the previous was not last."""
        self.runs.started(event)
        self.settle_at = math.inf

    def on_complete(self, event: Event) -> bool:
        """A CHANNEL_EXECUTE_COMPLETE of ours; True when it is surely the last run."""
        if self.runs.completed(event):
            return True
        self.settle_at = anyio.current_time() + LOOP_SETTLE
        return False

    def settle(self, now: float) -> bool:
        """Resolve with the last completion when no further run started in time."""
        last = self.last
        if last is not None and self.settle_at <= now:
            self.resolve(last)
            return True
        return False


_W = TypeVar("_W", bound=Waiter)


async def wait_event(waiter: _W, table: dict[str, _W], key: str) -> Event:
    """Wait for the event `waiter` stands for; a caller that gives up leaves `table`."""
    try:
        await waiter.done.wait()
    except BaseException:
        table.pop(key, None)
        raise
    if waiter.error is not None:
        raise waiter.error
    assert isinstance(waiter.result, Event)
    return waiter.result


class BackgroundJob:
    """A `bgapi` FreeSWITCH accepted: `await job.result()` gives its output."""

    __slots__ = ("_jobs", "_waiter", "command", "uuid")

    def __init__(self, jobs: dict[str, Waiter], command: str, uuid: str, timeout: float) -> None:
        self._jobs = jobs  # the connection's pending jobs, where the reader finds this one
        self.command = command
        self.uuid = uuid
        self._waiter = Waiter(f"bgapi {command}", timeout)

    @property
    def done(self) -> bool:
        return self._waiter.done.is_set()

    async def event(self) -> Event:
        """The BACKGROUND_JOB event (headers and body) of this job."""
        return await wait_event(self._waiter, self._jobs, self.uuid)

    async def result(self) -> str:
        """The job's output: the body of its BACKGROUND_JOB event.

        The wait is bounded by the timeout given to `bgapi_start` (counted from then).
        """
        event = await self.event()
        return event.body or ""
