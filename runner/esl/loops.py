"""Whether a CHANNEL_EXECUTE_COMPLETE is the last run of a `sendmsg execute` with `loops`.

Pure (no clock, no I/O): the library's `ExecuteWaiter` and the engine's execute step
both feed it their app's CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE events and each
does its own waiting. FreeSWITCH runs the application up to `loops` times under one
Application-UUID, every run ending with its own CHANNEL_EXECUTE_COMPLETE
(`variable_current_loop` / `variable_total_loops` tell them apart); it stops early after
a run shorter than 0.5 s, on hangup, or on a break (switch_ivr.c, switch_ivr_parse_event:
`aftr - b4 < 500000`). No event says "the loop ended early", so a completion that is not
plainly the last must be held for `LOOP_SETTLE` seconds by the caller: the next run's
CHANNEL_EXECUTE follows at once when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping

# switch_ivr.c repeats an application only when its run lasted at least this long (µs).
LOOP_MIN_RUN_US = 500_000
# A run measured between its events' timestamps is a little shorter than FreeSWITCH's own
# measure (taken around both events); below this it surely did not repeat.
LOOP_SHORT_RUN_US = 450_000
# How long a completion that may be followed by another loop waits for its CHANNEL_EXECUTE.
LOOP_SETTLE = 1.0
# Answer-State once the channel is going down: FreeSWITCH then stops looping.
_HANGUP_STATES = frozenset({"hangup"})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class LoopRuns:
    """The runs of one `sendmsg execute` seen so far, and whether the last one came."""

    __slots__ = ("last", "loops", "run_started")

    def __init__(self, loops: int | None) -> None:
        self.loops = 1 if loops is None else loops
        self.last: Mapping[str, str] | None = None  # the latest completion
        self.run_started: int | None = None  # Event-Date-Timestamp of this run's start

    @property
    def looping(self) -> bool:
        """More than one run is possible (loops > 1, or -1 for ever)."""
        return self.loops != 1

    def started(self, event: Mapping[str, str]) -> None:
        """A CHANNEL_EXECUTE of ours: a (next) run started, so the previous was not last."""
        self.run_started = _int(event.get("Event-Date-Timestamp"))

    def completed(self, event: Mapping[str, str]) -> bool:
        """A CHANNEL_EXECUTE_COMPLETE of ours; True when it is surely the last run (else
        the caller holds it for `LOOP_SETTLE` seconds, unless `started` comes first)."""
        self.last = event
        if not self.looping:
            return True
        current = _int(event.get("variable_current_loop"))
        total = _int(event.get("variable_total_loops"))
        if current is None or total is None or (total > 0 and current >= total):
            return True
        if event.get("Answer-State") in _HANGUP_STATES:
            return True
        ended = _int(event.get("Event-Date-Timestamp"))
        started = self.run_started
        self.run_started = None
        return started is not None and ended is not None and ended - started < LOOP_SHORT_RUN_US
