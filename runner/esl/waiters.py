"""What a `Connection` waits for: a command's reply, a job's event, an app's completion.

`Waiter` is one outstanding answer with a deadline. `ExecuteWaiter` knows when a
`sendmsg execute` with `loops` is really over: FreeSWITCH runs the application up to
`loops` times under one Application-UUID, and every run ends with its own
CHANNEL_EXECUTE_COMPLETE (`variable_current_loop` / `variable_total_loops` tell them
apart), but it stops early after a run shorter than 0.5 s, on hangup, or on a break
(switch_ivr.c, switch_ivr_parse_event: `aftr - b4 < 500000`). No event says "the loop
ended early", so a completion that is not plainly the last one is held for
`LOOP_SETTLE` seconds: the next run's CHANNEL_EXECUTE follows at once when there is one.
"""

from __future__ import annotations

import math

import anyio

from runner.esl.event import Event
from runner.esl.messages import ApiResponse, CommandReply

Reply = CommandReply | ApiResponse

# switch_ivr.c repeats an application only when its run lasted at least this long (µs).
LOOP_MIN_RUN_US = 500_000
# A run measured between its events' timestamps is a little shorter than FreeSWITCH's own
# measure (taken around both events); below this it surely did not repeat.
LOOP_SHORT_RUN_US = 450_000
# How long a completion that may be followed by another loop waits for its CHANNEL_EXECUTE.
LOOP_SETTLE = 1.0
# Answer-State once the channel is going down: FreeSWITCH then stops looping.
_HANGUP_STATES = frozenset({"hangup"})


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
            return what.split(b"\n", 1)[0].decode(errors="replace")
        return what

    def resolve(self, result: Reply | Event) -> None:
        self.result = result
        self.done.set()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class ExecuteWaiter(Waiter):
    """The completion of one `sendmsg execute`, over all of its loops."""

    __slots__ = ("last", "loops", "run_started", "settle_at")

    def __init__(self, what: str, timeout: float, loops: int | None) -> None:
        super().__init__(what, timeout)
        self.loops = 1 if loops is None else loops
        self.last: Event | None = None
        self.run_started: int | None = None  # Event-Date-Timestamp of this run's CHANNEL_EXECUTE
        self.settle_at = math.inf

    def on_execute(self, event: Event) -> None:
        """A CHANNEL_EXECUTE of ours: a (next) run started, so the previous was not last."""
        self.run_started = _int(event.get("Event-Date-Timestamp"))
        self.settle_at = math.inf

    def on_complete(self, event: Event) -> bool:
        """A CHANNEL_EXECUTE_COMPLETE of ours; True when it is surely the last run."""
        self.last = event
        if self.loops == 1:
            return True
        current = _int(event.get("variable_current_loop"))
        total = _int(event.get("variable_total_loops"))
        if current is None or total is None or (total > 0 and current >= total):
            return True
        if event.get("Answer-State") in _HANGUP_STATES:
            return True
        ended = _int(event.get("Event-Date-Timestamp"))
        started = self.run_started
        if started is not None and ended is not None and ended - started < LOOP_SHORT_RUN_US:
            return True
        self.run_started = None
        self.settle_at = anyio.current_time() + LOOP_SETTLE
        return False

    def settle(self, now: float) -> bool:
        """Resolve with the last completion when no further run started in time."""
        if self.last is not None and self.settle_at <= now:
            self.resolve(self.last)
            return True
        return False
