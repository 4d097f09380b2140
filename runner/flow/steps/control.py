"""Control flow: if, switch, repeat, goto, call (with their `Target`), log and stop.

The nested step lists (`then`, `cases`, `steps`...) hold the `Step` union of
`runner.flow.steps.kinds`, which rebuilds these models once every kind is defined.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator
from pydantic.json_schema import SkipJsonSchema

from runner.flow.conditions import ConditionList
from runner.flow.context import RenderContext
from runner.flow.fields import Identifier, Model, Seq, TemplateStr, describe_input, invalid
from runner.flow.steps.base import StepBase, StepPath

if TYPE_CHECKING:
    from runner.flow.steps.kinds import Step


class IfStep(StepBase):
    """`if` conditions hold: `then`, else `else` (the dialplan's actions and anti-actions).

    When the conditions have capture groups, `then` steps see those captures as `$1..$9`
    (like a dialplan condition's actions); `else` steps keep the flow's.
    """

    KIND: ClassVar[str] = "if"
    if_: ConditionList = Field(
        alias="if",
        min_length=1,
        description="A condition or a list of them (all must hold).",
        examples=[{"field": "variable_bridge_hangup_cause", "expression": "^NORMAL_CLEARING$"}],
    )
    then: Seq[Step] = Field(default=(), description="Steps when the conditions hold.")
    else_: Seq[Step] = Field(default=(), alias="else", description="Steps when they do not.")

    @model_validator(mode="after")
    def _check(self) -> Any:
        if not self.then and not self.else_:
            raise invalid("an if needs then: or else: steps")
        return self

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        yield ("then",), self.then
        yield ("else",), self.else_


class SwitchStep(StepBase):
    """Pick steps by a value: the `cases` entry equal to it, else `default`."""

    KIND: ClassVar[str] = "switch"
    switch: TemplateStr = Field(
        description="The value to compare, e.g. ${{ vars.digits['variable_digits'] }}.",
        examples=["${{ event['variable_digits'] }}"],
    )
    cases: dict[str, Seq[Step]] = Field(
        min_length=1, description="Exact values and their steps.", examples=[{"1": []}]
    )
    default: Seq[Step] = Field(default=(), description="Steps when no case is equal.")

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        for value, steps in self.cases.items():
            yield ("cases", value), steps
        yield ("default",), self.default

    def choose(self, ctx: RenderContext) -> tuple[Step, ...]:
        """The steps for the current value (the default when no case equals it)."""
        value = self.switch.render(ctx, where=self).text
        return self.cases.get(value, self.default)


MAX_REPEAT: Final = 1000


class RepeatStep(StepBase):
    """Run `steps` up to `repeat` times (bounded), stopping early when `until` holds."""

    KIND: ClassVar[str] = "repeat"
    repeat: int = Field(ge=1, le=MAX_REPEAT, description="Most passes (1-1000).", examples=[3])
    steps: Seq[Step] = Field(min_length=1, description="The steps of one pass.")
    until: ConditionList = Field(
        default=(), description="Checked after each pass: stop when these hold."
    )
    counter: Identifier | None = Field(
        default=None, description="Variable set to the pass number, 1 first."
    )

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        yield ("steps",), self.steps


def _target_short(value: object) -> object:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise invalid(
            f"expected a block or flow name, or {{block: ...}} / {{flow: ...}}, "
            f"got {describe_input(value)}"
        )
    return value


class Target(Model):
    """Where `goto`/`call` go: a block of this flow or another flow.

    The short form `goto: name` means the block of that name, else the flow; the loader
    resolves it (`kind`, `target`) and refuses a name that is both.
    """

    block: Identifier | None = Field(default=None, description="A block of this flow.")
    flow: str | None = Field(default=None, description="Another flow, by its name.")
    name: SkipJsonSchema[str | None] = None

    _kind: Literal["block", "flow"] = PrivateAttr(default="block")
    _target: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _one(self) -> Any:
        given = [value for value in (self.block, self.flow, self.name) if value is not None]
        if len(given) != 1:
            raise invalid("give either block: or flow:")
        if self.block is not None:
            self._kind, self._target = "block", self.block
        elif self.flow is not None:
            self._kind, self._target = "flow", self.flow
        return self

    @property
    def kind(self) -> Literal["block", "flow"]:
        return self._kind

    @property
    def target(self) -> str:
        return self._target


_TARGET_SCHEMA = str | Target


class GotoStep(StepBase):
    """Go to a block or flow and do not come back (the dialplan's transfer)."""

    KIND: ClassVar[str] = "goto"
    goto: Annotated[
        Target, BeforeValidator(_target_short, json_schema_input_type=_TARGET_SCHEMA)
    ] = Field(description="A block or flow name, or {block} / {flow}.", examples=["voicemail"])


class CallStep(StepBase):
    """Run a block or flow, then go on with the next step (a subroutine)."""

    KIND: ClassVar[str] = "call"
    call: Annotated[
        Target, BeforeValidator(_target_short, json_schema_input_type=_TARGET_SCHEMA)
    ] = Field(description="A block or flow name, or {block} / {flow}.", examples=["greeting"])


def _log_short(value: object) -> object:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"message": value}
    if not isinstance(value, dict):
        raise invalid(f"expected a message or {{message, level}}, got {describe_input(value)}")
    return value


class LogArgs(Model):
    """A line in eslflow's log (with flow, step and call uuid)."""

    message: TemplateStr = Field(description="The text.")
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level."
    )


class LogStep(StepBase):
    """Write a line to eslflow's log."""

    KIND: ClassVar[str] = "log"
    log: Annotated[LogArgs, BeforeValidator(_log_short, json_schema_input_type=str | LogArgs)] = (
        Field(description="A message, or {message, level}.", examples=["routed to $1"])
    )

    def render_message(self, ctx: RenderContext) -> str:
        return self.log.message.render(ctx, where=self).text


class StopStep(StepBase):
    """End the flow here (the channel is left as it is)."""

    KIND: ClassVar[str] = "stop"
    stop: str | None = Field(description="Why, for the log (or nothing: - stop).")
