"""Steps that hold the flow in time: `wait` for an event, `sleep` on eslflow's timer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from runner.flow.conditions import ConditionList, match
from runner.flow.context import RenderContext
from runner.flow.fields import (
    Duration,
    EventName,
    Identifier,
    Model,
    Seq,
    Subclass,
    describe_input,
    invalid,
)
from runner.flow.steps.base import StepBase, StepPath

if TYPE_CHECKING:
    from runner.flow.steps.kinds import Step


def _wait_short(value: object) -> object:
    if isinstance(value, str):
        return {"event": value}
    if not isinstance(value, dict):
        raise invalid(
            f"expected an event name or a mapping {{event, ...}}, got {describe_input(value)}"
        )
    return value


class WaitArgs(Model):
    """What a `wait` step waits for."""

    event: EventName = Field(description="The event to wait for.", examples=["DTMF"])
    subclass: Subclass | None = Field(default=None, description="For CUSTOM events.")
    when: ConditionList = Field(
        default=(), description="Conditions the event must meet (as the flow's when)."
    )
    channel: Literal["this", "any"] = Field(
        default="this", description="An event of this flow's channel, or of any."
    )
    timeout: Duration | None = Field(
        default=None, description="Give up after this long: on_timeout, else on_error."
    )
    save: Identifier | None = Field(default=None, description="Variable for the event's headers.")

    @model_validator(mode="after")
    def _check(self) -> Any:
        if self.event == "CUSTOM" and self.subclass is None:
            raise invalid(
                "CUSTOM events need a subclass, e.g. subclass: sofia::register", at=("event",)
            )
        if self.event != "CUSTOM" and self.subclass is not None:
            raise invalid(f"only CUSTOM events have a subclass, not {self.event}", at=("subclass",))
        return self


class WaitStep(StepBase):
    """Wait for an event (on this channel or any), with conditions and a timeout."""

    KIND: ClassVar[str] = "wait"
    wait: Annotated[
        WaitArgs, BeforeValidator(_wait_short, json_schema_input_type=EventName | WaitArgs)
    ] = Field(
        description="An event name, or {event, subclass, when, channel, timeout, save}.",
        examples=[{"event": "DTMF", "timeout": "10s", "save": "digit"}],
    )
    on_timeout: Seq[Step] = Field(
        default=(), description="Steps to run when the timeout passes (instead of on_error)."
    )

    @model_validator(mode="after")
    def _check(self) -> Any:
        if self.on_timeout and self.wait.timeout is None:
            raise invalid("on_timeout needs a timeout in the wait", at=("on_timeout",))
        return self

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        yield ("on_timeout",), self.on_timeout

    def accepts(self, headers: Mapping[str, str], now: datetime, ctx: RenderContext) -> bool:
        """Whether an event (already of the right name, subclass and channel) ends the wait."""
        return match(self.wait.when, headers, now, ctx) is not None


class SleepStep(StepBase):
    """Pause the flow (eslflow's own timer; the channel is untouched)."""

    KIND: ClassVar[str] = "sleep"
    sleep: Duration = Field(description="How long.", examples=["500ms", "2s"])
