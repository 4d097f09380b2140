"""The flow: a trigger, dialplan-like conditions, steps, named blocks and handlers.

```yaml
flow: support-line
trigger: {event: CHANNEL_PARK}
when:
  - field: Caller-Destination-Number
    expression: ^(1\\d{3})$
steps:
  - execute: answer
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, PlainValidator, PrivateAttr, model_validator

from runner.flow.conditions import ConditionList
from runner.flow.errors import SourcePos
from runner.flow.fields import (
    EventName,
    Identifier,
    Model,
    Seq,
    Subclass,
    describe_input,
    invalid,
)
from runner.flow.steps import SetValue, Step, StepBase, StepPath

_FLOW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
FLOW_NAME_PATTERN: Final = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _flow_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a flow name, got {describe_input(value)}")
    if not _FLOW_NAME.fullmatch(value):
        raise invalid(
            f"'{value}' is not a valid flow name: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return value


FlowName = Annotated[
    str,
    PlainValidator(_flow_name),
    Field(json_schema_extra={"type": "string", "pattern": FLOW_NAME_PATTERN}),
]


def _trigger_short(value: object) -> object:
    return {"event": value} if isinstance(value, str) else value


class Trigger(Model):
    """What starts the flow: an event (inbound connections) or an outbound connection."""

    event: EventName | None = Field(
        default=None,
        description="The FreeSWITCH event that starts the flow.",
        examples=["CHANNEL_PARK", "CUSTOM", "DTMF"],
    )
    subclass: Subclass | None = Field(
        default=None,
        description="For CUSTOM events: the Event-Subclass.",
        examples=["sofia::register"],
    )
    outbound: bool = Field(
        default=False,
        description="Run on an outbound socket connection (the dialplan's `socket` app) "
        "instead of an event; when: then tests the channel data.",
    )

    @model_validator(mode="after")
    def _check(self) -> Any:
        if self.outbound and self.event is not None:
            raise invalid(
                "a trigger is either an event or outbound: true, not both", at=("outbound",)
            )
        if not self.outbound and self.event is None:
            if self.subclass is not None:
                raise invalid("subclass needs event: CUSTOM", at=("subclass",))
            raise invalid("a trigger needs event: NAME or outbound: true")
        if self.event == "CUSTOM" and self.subclass is None:
            raise invalid(
                "CUSTOM events need a subclass, e.g. subclass: sofia::register", at=("event",)
            )
        if self.event != "CUSTOM" and self.subclass is not None:
            shown = self.event if self.event is not None else "outbound flows"
            raise invalid(f"only CUSTOM events have a subclass, not {shown}", at=("subclass",))
        return self


OnBusy = Literal["queue", "skip", "replace"]


class Flow(Model):
    """One flow. `pos`/`path` say where it is written; `steps` carry their own positions."""

    flow: FlowName = Field(
        description="The flow's name, unique across all loaded files.",
        examples=["support-line"],
    )
    description: str | None = Field(default=None, description="What the flow is for.")
    trigger: Annotated[
        Trigger | None,
        BeforeValidator(_trigger_short, json_schema_input_type=EventName | Trigger | None),
    ] = Field(
        default=None,
        description="What starts it. Without a trigger the flow only runs by goto/call.",
        examples=[{"event": "CHANNEL_PARK"}, {"outbound": True}],
    )
    priority: int = Field(
        default=100,
        description="Flows with the same trigger are tried lowest priority first (then by "
        "file name); the first whose conditions hold runs.",
        examples=[10],
    )
    continue_: bool = Field(
        default=False,
        alias="continue",
        description='Like the dialplan\'s continue="true": after this flow matches, keep '
        "trying the next flows.",
    )
    on_busy: OnBusy = Field(
        default="skip",
        description="When the trigger comes for a channel already running this flow: skip "
        "the new one, queue it until the running one ends, or replace (stop) the running one.",
    )
    when: ConditionList = Field(
        default=(),
        description="Conditions on the trigger's headers; all must hold. Regex groups "
        "become $1..$9.",
        examples=[[{"field": "Caller-Destination-Number", "expression": "^(1\\d{3})$"}]],
    )
    vars: dict[Identifier, SetValue] = Field(
        default_factory=dict,
        description="Flow variables set when the flow starts (templates allowed).",
        examples=[{"attempts": 0}],
    )
    steps: Seq[Step] = Field(min_length=1, description="What the flow does, in order.")
    blocks: dict[Identifier, Seq[Step]] = Field(
        default_factory=dict,
        description="Named step lists for goto/call.",
        examples=[{"voicemail": [{"execute": "voicemail default ${domain_name} $1"}]}],
    )
    on_hangup: Seq[Step] = Field(
        default=(), description="Steps run when the channel hangs up while the flow runs."
    )
    on_error: Seq[Step] = Field(
        default=(),
        description="Steps run when a step fails (-ERR, timeout, bad value); the message "
        "is in vars.error. Without them the engine logs and stops the flow.",
        examples=[[{"hangup": "NORMAL_TEMPORARY_FAILURE"}]],
    )

    _pos: SourcePos | None = PrivateAttr(default=None)
    _steps: tuple[tuple[StepPath, StepBase], ...] | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        return self.flow

    @property
    def pos(self) -> SourcePos | None:
        """Where the flow's mapping starts in its file."""
        return self._pos

    @property
    def path(self) -> str:
        """The file the flow was loaded from."""
        return self._pos.path if self._pos is not None else ""

    @property
    def outbound(self) -> bool:
        """True for flows run on outbound socket connections."""
        return self.trigger is not None and self.trigger.outbound

    def step_lists(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        """The top-level step lists with their YAML paths: steps, blocks, handlers."""
        yield ("steps",), self.steps
        for name, steps in self.blocks.items():
            yield ("blocks", name), steps
        yield ("on_hangup",), self.on_hangup
        yield ("on_error",), self.on_error

    def walk(self) -> tuple[tuple[StepPath, StepBase], ...]:
        """Every step of the flow, nested ones included, with its YAML path (depth first)."""
        if self._steps is None:
            self._steps = tuple(
                found for path, steps in self.step_lists() for found in walk_steps(path, steps)
            )
        return self._steps


def walk_steps(path: StepPath, steps: tuple[Step, ...]) -> Iterator[tuple[StepPath, StepBase]]:
    """Steps of a list and everything nested in them, depth first, with their paths."""
    for index, step in enumerate(steps):
        step_path = (*path, index)
        yield step_path, step
        for child_path, children in step.children():
            yield from walk_steps((*step_path, *child_path), children)
