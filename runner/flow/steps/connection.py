"""Connection-level steps: linger, myevents, divert_events, resume (outbound flows only).

They act on the outbound socket itself, not on the channel; the checks refuse them in
inbound flows (`CONNECTION_STEPS`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from runner.flow.fields import duration_value, invalid
from runner.flow.steps.base import StepBase


def _linger(value: object) -> bool | float:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    seconds = duration_value(value)
    if seconds < 1 or seconds != int(seconds):
        raise invalid("linger takes whole seconds (FreeSWITCH reads an integer)")
    return seconds


class LingerStep(StepBase):
    """Keep the outbound socket open after hangup to receive the last events (`linger`).

    `linger: 10s` lingers that long; `linger: true` (or a bare `- linger`) until eslflow
    closes the socket (FreeSWITCH's bare `linger`, Linger-Time -1); `linger: false`
    sends `nolinger`.
    """

    KIND: ClassVar[str] = "linger"
    linger: Annotated[
        bool | float,
        PlainValidator(_linger),
        WithJsonSchema({"type": ["string", "boolean", "null"], "examples": ["10s", True]}),
    ] = Field(description="A duration in whole seconds, true (until closed), or false.")

    @property
    def seconds(self) -> int | None:
        """Seconds to linger; None for `linger` without a time (true) or for false."""
        if isinstance(self.linger, bool):
            return None
        return int(self.linger)


class MyeventsStep(StepBase):
    """Receive this channel's events on the outbound socket (`myevents`)."""

    KIND: ClassVar[str] = "myevents"
    myevents: Literal[True] | None = Field(description="Nothing: write - myevents.")


class DivertEventsStep(StepBase):
    """Divert the channel's events to the socket while an app runs (`divert_events on|off`)."""

    KIND: ClassVar[str] = "divert_events"
    divert_events: bool = Field(description="on (true) or off (false).")


class ResumeStep(StepBase):
    """Let the dialplan go on if the socket closes (`resume`): the call survives eslflow."""

    KIND: ClassVar[str] = "resume"
    resume: Literal[True] | None = Field(description="Nothing: write - resume.")
