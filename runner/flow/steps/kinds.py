"""The `Step` union: every step kind by its key, and why a mapping is not a step.

The discriminator reads the one kind key of a mapping (`execute`, `hangup`, ...); a
bare word such as `- stop` is accepted for the kinds in `BARE_STEPS`. Defining the
union here, after every family module, lets the nested step lists resolve it.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BeforeValidator, Discriminator, Tag

from runner.flow.errors import did_you_mean
from runner.flow.fields import AlsoAccepts, describe_input
from runner.flow.steps.base import StepBase, StepPath
from runner.flow.steps.commands import ApiStep, BgapiStep, SendeventStep
from runner.flow.steps.connection import DivertEventsStep, LingerStep, MyeventsStep, ResumeStep
from runner.flow.steps.control import (
    CallStep,
    GotoStep,
    IfStep,
    LogStep,
    RepeatStep,
    StopStep,
    SwitchStep,
)
from runner.flow.steps.sendmsg import ExecuteStep, HangupStep, NomediaStep, UnicastStep, XferextStep
from runner.flow.steps.variables import SetStep
from runner.flow.steps.waiting import SleepStep, WaitStep

STEP_KINDS: Final[dict[str, type[StepBase]]] = {
    model.KIND: model
    for model in (
        ExecuteStep,
        HangupStep,
        SendeventStep,
        ApiStep,
        BgapiStep,
        SetStep,
        WaitStep,
        SleepStep,
        IfStep,
        SwitchStep,
        RepeatStep,
        GotoStep,
        CallStep,
        LogStep,
        StopStep,
        UnicastStep,
        NomediaStep,
        XferextStep,
        LingerStep,
        MyeventsStep,
        DivertEventsStep,
        ResumeStep,
    )
}
"""Every step kind by its key."""

CONNECTION_STEPS: Final = frozenset({"linger", "myevents", "divert_events", "resume"})
"""Kinds that act on the socket itself: valid only in outbound flows."""

BARE_STEPS: Final = ("hangup", "linger", "myevents", "nomedia", "resume", "stop")
"""Kinds that may be written as a bare word (`- stop`)."""

_SIBLING_KEYS: Final = frozenset(
    {"name", "raw", "then", "else", "cases", "default", "steps", "until", "counter", "on_timeout"}
)


def _bare_step(value: object) -> object:
    if isinstance(value, str) and value in BARE_STEPS:
        return {value: None}
    return value


def step_kind(value: object) -> str | None:
    """The discriminator tag (`<execute>`...) of a step mapping, None if unclear."""
    if isinstance(value, dict):
        kinds = [key for key in value if key in STEP_KINDS]
        return f"<{kinds[0]}>" if len(kinds) == 1 else None
    if isinstance(value, StepBase):
        return f"<{value.KIND}>"
    return None


def step_kind_error(value: object) -> tuple[str, StepPath]:
    """Why `value` is not a step, and the key below it to point at."""
    if isinstance(value, str):
        if value in STEP_KINDS:
            return f"step '{value}' needs a value: write '{value}: ...'", ()
        near = did_you_mean(value, STEP_KINDS)
        if near:
            return f"unknown step '{value}'{near}", ()
        return (
            f"unknown step '{value}' — to run the application, write 'execute: {value}'",
            (),
        )
    if not isinstance(value, dict):
        return (
            f"expected a step (a mapping such as execute: answer), got {describe_input(value)}",
            (),
        )
    if not value:
        return "empty step: expected a mapping such as execute: answer", ()
    kinds = [key for key in value if key in STEP_KINDS]
    if len(kinds) > 1:
        return (
            f"a step does one thing; found '{kinds[0]}' and '{kinds[1]}' — write two steps",
            (kinds[1],),
        )
    unknown = [key for key in value if key not in _SIBLING_KEYS]
    if unknown:
        key = str(unknown[0])
        return f"unknown step '{key}'{did_you_mean(key, STEP_KINDS)}", (key,)
    found = ", ".join(f"'{key}'" for key in value)
    return f"step has no kind (execute, hangup, if, ...); found only {found}", ()


Step = Annotated[
    Annotated[ExecuteStep, Tag("<execute>")]
    | Annotated[HangupStep, Tag("<hangup>")]
    | Annotated[SendeventStep, Tag("<sendevent>")]
    | Annotated[ApiStep, Tag("<api>")]
    | Annotated[BgapiStep, Tag("<bgapi>")]
    | Annotated[SetStep, Tag("<set>")]
    | Annotated[WaitStep, Tag("<wait>")]
    | Annotated[SleepStep, Tag("<sleep>")]
    | Annotated[IfStep, Tag("<if>")]
    | Annotated[SwitchStep, Tag("<switch>")]
    | Annotated[RepeatStep, Tag("<repeat>")]
    | Annotated[GotoStep, Tag("<goto>")]
    | Annotated[CallStep, Tag("<call>")]
    | Annotated[LogStep, Tag("<log>")]
    | Annotated[StopStep, Tag("<stop>")]
    | Annotated[UnicastStep, Tag("<unicast>")]
    | Annotated[NomediaStep, Tag("<nomedia>")]
    | Annotated[XferextStep, Tag("<xferext>")]
    | Annotated[LingerStep, Tag("<linger>")]
    | Annotated[MyeventsStep, Tag("<myevents>")]
    | Annotated[DivertEventsStep, Tag("<divert_events>")]
    | Annotated[ResumeStep, Tag("<resume>")],
    Discriminator(
        step_kind, custom_error_type="unknown_step", custom_error_message="not a valid step"
    ),
    BeforeValidator(_bare_step),
    AlsoAccepts({"enum": list(BARE_STEPS), "description": "A step without arguments."}),
]
"""One step; its kind key (`execute`, `hangup`, ...) picks the model."""

# The nested step lists of `control` and `waiting` name `Step`, which exists only now:
# model_rebuild() resolves it from the namespace it is called in (this module's).
for _model in STEP_KINDS.values():
    _model.model_rebuild()
