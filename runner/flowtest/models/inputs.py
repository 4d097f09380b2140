"""What a test feeds the simulator: calls (caller, keys, variables) and switch events.

A call may carry its own `expect` (with `calls:`); `call_uuid` names the channels of
calls that give no uuid.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from runner.flow.durations import DURATION_PATTERN
from runner.flow.errors import did_you_mean
from runner.flow.fields import (
    Duration,
    EventName,
    HeaderName,
    Model,
    Seq,
    Subclass,
    duration_value,
    invalid,
)
from runner.flowtest.models.expect import Expect
from runner.flowtest.models.values import Digits, Line, Text, dtmf_value


class Caller(Model):
    """Who calls: the caller ID the switch shows (Caller-Caller-ID-Number / -Name)."""

    number: Text = Field(default="1000", description="The caller's number.", examples=["1001"])
    name: Text = Field(default="", description="The caller's name.", examples=["Alice"])


class KeyPress(Model):
    """Keys pressed at a given time, whether or not an application collects them."""

    digits: Digits = Field(description="The keys, in order.", examples=["5"])
    after: Duration = Field(description="When, counted from the moment the call arrives.")


def _key_press(value: dict[str, object]) -> KeyPress:
    for key in value:
        if key not in ("digits", "after"):
            hint = did_you_mean(str(key), ["digits", "after"])
            raise invalid(f"unknown key '{key}' in a key press{hint}", at=(key,))
    for key in ("digits", "after"):
        if key not in value:
            raise invalid(f"missing key '{key}' in a key press ({{digits, after}})")
    try:
        digits = dtmf_value(value["digits"])
    except PydanticCustomError as exc:
        raise invalid(str(exc), at=("digits",)) from None
    try:
        after = duration_value(value["after"])
    except PydanticCustomError as exc:
        raise invalid(str(exc), at=("after",)) from None
    return KeyPress.model_construct(digits=digits, after=after)


def _dtmf_entry(value: object) -> str | KeyPress:
    if isinstance(value, KeyPress):
        return value
    if isinstance(value, dict):
        return _key_press(value)
    return dtmf_value(value)


DtmfEntry = Annotated[
    str | KeyPress,
    PlainValidator(_dtmf_entry),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": ["string", "number"],
                    "pattern": "^[0-9*#A-Da-d]+$",
                    "description": "Keys for the next prompt (read, play_and_get_digits).",
                },
                {
                    "type": "object",
                    "description": "Keys pressed at a given time, whether or not an "
                    "application collects them.",
                    "properties": {
                        "digits": {"type": ["string", "number"], "pattern": "^[0-9*#A-Da-d]+$"},
                        "after": {"type": "string", "pattern": DURATION_PATTERN},
                    },
                    "required": ["digits", "after"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


class Call(Model):
    """A call from a simulated phone, and (with `calls:`) what must happen to it."""

    destination: Text = Field(
        description="The number dialled (Caller-Destination-Number).", examples=["5000"]
    )
    caller: Caller = Field(default_factory=Caller, description="Who calls.")
    context: Text = Field(default="default", description="The dialplan context.")
    variables: dict[str, Text] = Field(
        default_factory=dict,
        description="Channel variables the call arrives with (events show them as "
        "variable_<name>).",
        examples=[{"sip_from_host": "example.com"}],
    )
    dtmf: Seq[DtmfEntry] = Field(
        default=(),
        description="Keys the caller presses: a string is keyed in at the next prompt "
        "(read, play_and_get_digits), {digits, after} at a given time.",
        examples=[["1"], ["1234#"], [{"digits": "5", "after": "12s"}]],
    )
    hangup_after: Duration | None = Field(
        default=None,
        description="The caller hangs up this long after calling; absent: only the flow "
        "(or the switch) ends the call.",
        examples=["20s"],
    )
    after: Duration | None = Field(
        default=None,
        description="When the call arrives, counted from the start of the test (default: at once).",
        examples=["2s"],
    )
    socket: Literal["async", "sync"] | None = Field(
        default=None,
        description="Hand the call to eslflow's outbound listener, as the dialplan's "
        "`socket 127.0.0.1:8084 async full` does (outbound flows). Absent: the simulator's "
        "dialplan (it parks the call, except 9000 and 9001, which go to the socket).",
    )
    actions: Seq[Line] | None = Field(
        default=None,
        description="Dialplan applications the switch runs for this call instead of its "
        "dialplan (before `socket`, when both are given).",
        examples=[["answer", "park"]],
    )
    uuid: Line | None = Field(
        default=None,
        description="The channel's Unique-ID (default: 00000000-0000-4000-8000-00000000000N "
        "for call N).",
    )
    expect: Expect | None = Field(
        default=None, description="What must happen to this call (with several calls)."
    )


class SwitchEvent(Model):
    """An event the switch fires (for flows triggered by events without a call)."""

    event: EventName = Field(description="Its Event-Name.", examples=["CUSTOM"])
    subclass: Subclass | None = Field(
        default=None, description="For CUSTOM: its Event-Subclass.", examples=["sofia::register"]
    )
    headers: dict[HeaderName, Text] = Field(
        default_factory=dict,
        description="Its headers (after those every event carries).",
        examples=[{"profile-name": "internal", "from-user": "1001"}],
    )
    body: Text | None = Field(default=None, description="A body, if it has one.")
    after: Duration | None = Field(
        default=None, description="When, counted from the start of the test (default: at once)."
    )

    @model_validator(mode="after")
    def _subclass(self) -> Self:
        if self.event == "CUSTOM" and self.subclass is None:
            raise invalid(
                "CUSTOM events need a subclass, e.g. subclass: sofia::register", at=("event",)
            )
        if self.event != "CUSTOM" and self.subclass is not None:
            raise invalid(f"only CUSTOM events have a subclass, not {self.event}", at=("subclass",))
        return self


def call_uuid(index: int) -> str:
    """The Unique-ID of the test's call number `index` (0-based) when it names none."""
    return f"00000000-0000-4000-8000-{index + 1:012d}"
