"""What must happen: the commands, events, flows, logs and errors a test expects.

Only what is written is checked, except errors; a command item names its kind by its
one key (`- execute: answer`), or alone (`- hangup`) to match any command of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from runner.flow.fields import EventName, HangupCause, HeaderName, Model, Seq, hangup_cause, invalid
from runner.flow.models import FlowName
from runner.flowtest.patterns import Pattern, ValuePattern, pattern_value

BARE_COMMANDS: Final = (
    "execute",
    "hangup",
    "sendmsg",
    "api",
    "bgapi",
    "linger",
    "nolinger",
    "myevents",
    "resume",
    "divert_events",
    "command",
)
"""Kinds a command item may name alone (`- hangup`): any command of that kind matches."""


def _app_pattern_short(value: object) -> object:
    return {"app": value} if isinstance(value, str | int | float | Pattern) else value


@dataclass(frozen=True, slots=True)
class OrWord:
    """JSON Schema marker: the mapping may also be written as one of `words` alone."""

    words: tuple[str, ...]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "string", "enum": list(self.words)}]}


class ExecutePattern(Model):
    """An application run with sendmsg execute: its name and argument."""

    app: ValuePattern | None = Field(default=None, description="The application.")
    arg: ValuePattern | None = Field(
        default=None,
        description="Its argument; left out: any (null: none at all).",
    )


def _cause_pattern(value: object) -> Pattern:
    if isinstance(value, str) and value.startswith("/"):
        return pattern_value(value)
    return Pattern(hangup_cause(value))


CausePattern = Annotated[
    Pattern,
    PlainValidator(_cause_pattern),
    WithJsonSchema({"type": "string", "description": "A hangup cause name, or a /regex/."}),
]


def _bare_command(value: object) -> object:
    if isinstance(value, str):
        if value in BARE_COMMANDS:
            return {value: None}
        if value in ("sendevent",):
            raise invalid("list the events a flow sends under expect.events_sent")
        raise invalid(
            f"'{value}' is not a command: write one of {', '.join(BARE_COMMANDS)}, "
            f"e.g. execute: {value}"
        )
    return value


class CommandPattern(Model):
    """One command the flow must send; the key says which kind. A kind written alone
    (`- hangup`) matches any command of that kind; a value is exact or a /regex/."""

    execute: Annotated[
        ExecutePattern | None,
        BeforeValidator(_app_pattern_short, json_schema_input_type=str | ExecutePattern | None),
    ] = Field(
        default=None,
        description="sendmsg execute: the application, or {app, arg}.",
        examples=["answer", {"app": "playback", "arg": "ivr/ivr-welcome.wav"}],
    )
    hangup: CausePattern | None = Field(
        default=None, description="sendmsg hangup with this cause.", examples=["NORMAL_CLEARING"]
    )
    sendmsg: dict[HeaderName, ValuePattern] | None = Field(
        default=None,
        description="Any sendmsg (unicast, nomedia, xferext, ...): the headers listed.",
        examples=[{"call-command": "xferext"}],
    )
    api: ValuePattern | None = Field(
        default=None,
        description="api with this command and its arguments.",
        examples=["/^uuid_setvar .* routed true$/"],
    )
    bgapi: ValuePattern | None = Field(
        default=None,
        description="bgapi with this command and its arguments.",
        examples=["originate user/1000 &park()"],
    )
    linger: ValuePattern | None = Field(
        default=None, description="linger with these seconds (outbound).", examples=[5]
    )
    nolinger: None = Field(default=None, description="nolinger (outbound).")
    myevents: None = Field(default=None, description="myevents (outbound).")
    resume: None = Field(default=None, description="resume (outbound).")
    divert_events: Literal["on", "off"] | None = Field(
        default=None, description="divert_events on|off (outbound)."
    )
    command: ValuePattern | None = Field(
        default=None,
        description="Any command, by its first line (`linger 5`, `sendmsg`, ...).",
        examples=["/^linger/"],
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: object) -> object:
        value = _bare_command(value)
        if isinstance(value, dict) and "sendevent" in value:
            raise invalid(
                "list the events a flow sends under expect.events_sent", at=("sendevent",)
            )
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [name for name in BARE_COMMANDS if name in self.model_fields_set]
        if not given:
            raise invalid(f"name the command: one of {', '.join(BARE_COMMANDS)}")
        if len(given) > 1:
            raise invalid(
                f"one command per item: {given[0]} and {given[1]} are two (make them two items)",
                at=(given[1],),
            )
        return self

    @property
    def kind(self) -> str:
        return next(name for name in BARE_COMMANDS if name in self.model_fields_set)


class EventPattern(Model):
    """An event the flow sent with sendevent."""

    event: EventName = Field(description="Its name.", examples=["CUSTOM"])
    subclass: ValuePattern | None = Field(
        default=None, description="For CUSTOM: its subclass.", examples=["ivr::choice"]
    )
    headers: dict[str, ValuePattern] = Field(
        default_factory=dict,
        description="Headers it must carry (others are not checked).",
        examples=[{"Choice": "1"}],
    )
    body: ValuePattern | None = Field(default=None, description="Its body.")


class Expect(Model):
    """What must happen. Only what is written is checked, except errors: a flow that
    fails without `errors:` saying so fails the test."""

    flow: FlowName | None = Field(
        default=None,
        description="The flow that takes the call (the first one started).",
        examples=["main-menu"],
    )
    flows: Seq[FlowName] | None = Field(
        default=None,
        description="Every flow started, in order ([]: none may start).",
        examples=[["main-menu", "support-line"], []],
    )
    commands: Seq[Annotated[CommandPattern, OrWord(BARE_COMMANDS)]] | None = Field(
        default=None,
        description="The commands the flows send, in order (sendevent goes to events_sent); "
        "an unlisted one fails the test unless partial: true.",
        examples=[[{"execute": "answer"}, {"hangup": "NORMAL_CLEARING"}]],
    )
    events_sent: Seq[EventPattern] | None = Field(
        default=None,
        description="The events the flows send (sendevent), in order.",
        examples=[[{"event": "CUSTOM", "subclass": "ivr::choice", "headers": {"Choice": "1"}}]],
    )
    hangup_cause: HangupCause | None = Field(
        default=None,
        description="How the call ends (its Hangup-Cause).",
        examples=["NORMAL_CLEARING"],
    )
    answered: bool | None = Field(default=None, description="Whether the call was answered.")
    variables: dict[str, ValuePattern] | None = Field(
        default=None,
        description="Channel variables at the end of the call.",
        examples=[{"routed": "true"}],
    )
    logs: Seq[ValuePattern] | None = Field(
        default=None,
        description="The flows' log lines (log steps), in order.",
        examples=[["/^called 1001 back/"]],
    )
    errors: Seq[ValuePattern] = Field(
        default=(),
        description="Errors the engine reports (a step that failed with no on_error, a "
        "condition that cannot be evaluated), in order; none by default.",
        examples=[["/did not complete within 30 s/"]],
    )
    partial: bool | None = Field(
        default=None,
        description="true: commands, events_sent, flows and logs may hold more than listed "
        "(the listed ones still in order). Default: the test's partial.",
    )
