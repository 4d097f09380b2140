"""The test-case file: a simulated call (or event), the clock, and what must happen.

```yaml
test: digit 1 reaches sales
flows: [../ivr.yaml]
call:
  destination: "5000"
  caller: {number: "+4930123456", name: Alice}
  dtmf: ["1"]
at: "2026-03-02T10:00:00+01:00"
expect:
  flow: main-menu
  commands:
    - execute: answer
    - execute: {app: transfer, arg: "1000 XML default"}
  hangup_cause: NORMAL_CLEARING
```

The models validate as the flow language's do (strict types, unknown keys refused with a
suggestion) and the loader reports mistakes as `path:line:col: message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
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
from pydantic_core import CoreSchema, PydanticCustomError

from runner.engine.config_fields import ConfigPath, as_list, format_duration
from runner.flow.durations import DURATION_PATTERN
from runner.flow.errors import did_you_mean
from runner.flow.fields import (
    Duration,
    EventName,
    HangupCause,
    HeaderName,
    Model,
    OrSingle,
    Seq,
    Subclass,
    describe_input,
    duration_value,
    hangup_cause,
    invalid,
    scalar_text,
)
from runner.flow.models import FlowName
from runner.flowtest.patterns import Pattern, ValuePattern, pattern_value

DEFAULT_TIMEOUT: Final = 3600.0
"""How much simulated time a test may take before it fails as still running."""

# --- small value types -----------------------------------------------------------------


def _text(value: object) -> str:
    return scalar_text(value, "text")


Text = Annotated[
    str,
    PlainValidator(_text),
    WithJsonSchema({"type": ["string", "number"]}),
]


def _line(value: object) -> str:
    text = _text(value)
    if "\n" in text or "\r" in text or not text.strip():
        raise invalid("expected one line of text")
    return text


Line = Annotated[str, PlainValidator(_line), WithJsonSchema({"type": "string", "minLength": 1})]


def _dtmf(value: object) -> str:
    text = scalar_text(value, "DTMF digits")
    found = re.search(r"[^0-9*#A-Da-d]", text)
    if found is not None or not text:
        offset = found.start() if found is not None else None
        raise invalid(f"'{text}' is not DTMF: use the keys 0-9, *, # and A-D", offset=offset)
    return text


Digits = Annotated[
    str,
    PlainValidator(_dtmf),
    WithJsonSchema(
        {"type": ["string", "number"], "pattern": "^[0-9*#A-Da-d]+$", "examples": ["1", "1234#"]}
    ),
]


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(
                f"'{value}' is not a date and time: write it as ISO 8601 with a UTC offset, "
                "like 2026-03-02T10:00:00+01:00"
            ) from None
    else:
        raise invalid(
            f"expected a date and time like 2026-03-02T10:00:00+01:00, got {describe_input(value)}"
        )
    if moment.tzinfo is None:
        raise invalid(
            f"'{value}' has no UTC offset: add one (+01:00, or Z for UTC), so the time does "
            "not depend on where the test runs"
        )
    return moment


Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "description": "ISO 8601 with a UTC offset.",
            "examples": ["2026-03-02T10:00:00+01:00", "2026-12-24T18:30:00Z"],
        }
    ),
]


# --- inputs: calls, key presses, events, the switch ---------------------------------------


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
        digits = _dtmf(value["digits"])
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
    return _dtmf(value)


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


def _app_short(value: object) -> object:
    if value is None:
        return {}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"duration": value}
    return value


class AppStub(Model):
    """A dialplan application as the test wants it to behave: it takes `duration`, sets
    channel variables, and may end the call (the far end hung up)."""

    duration: Duration | None = Field(
        default=None, description="How long it runs (default: it completes at once)."
    )
    set: dict[str, Text] = Field(
        default_factory=dict,
        description="Channel variables it sets before it completes (its EXECUTE_COMPLETE "
        "shows them as variable_<name>).",
        examples=[{"bridge_hangup_cause": "NORMAL_CLEARING"}],
    )
    response: Text | None = Field(
        default=None,
        description="Its Application-Response.",
        examples=["FILE PLAYED"],
    )
    hangup: HangupCause | None = Field(
        default=None, description="The call is hung up with this cause when it ends."
    )
    answer: bool = Field(
        default=True,
        description="For bridge, att_xfer and intercept: the far end answers at once "
        "(CHANNEL_BRIDGE) and talks for `duration`; false: it only rings for `duration`.",
    )


class Media(Model):
    """How long simulated prompts play."""

    default: Duration | None = Field(
        default=None, description="Any file not listed (the simulator's default: 1s)."
    )
    files: dict[str, Duration] = Field(
        default_factory=dict,
        description="Durations of named files.",
        examples=[{"ivr/ivr-welcome.wav": "4s"}],
    )


class Switch(Model):
    """The simulated FreeSWITCH: applications and API commands it answers as told."""

    apps: dict[
        str,
        Annotated[AppStub, BeforeValidator(_app_short, json_schema_input_type=str | AppStub)],
    ] = Field(
        default_factory=dict,
        description="Applications added or replaced (voicemail, record_session, bridge, "
        "...): a duration, or {duration, set, response, hangup}.",
        examples=[{"voicemail": "20s", "bridge": {"duration": "30s", "hangup": "NORMAL_CLEARING"}}],
    )
    api: dict[str, Text] = Field(
        default_factory=dict,
        description="API commands added or replaced, by name: their output (api and bgapi).",
        examples=[{"sofia": "+OK\n"}],
    )
    media: Media = Field(default_factory=Media, description="Prompt durations.")
    answer_delay: Duration | None = Field(
        default=None,
        description="How long a called phone (bridge, originate) rings before it answers "
        "(the simulator's default: 0.5s).",
    )


# --- expectations ----------------------------------------------------------------------

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


Call.model_rebuild()


def _flows_list(value: object) -> object:
    value = as_list(value)
    if isinstance(value, list) and not value:
        raise invalid("'flows' needs at least one file or folder")
    return value


class TestCase(Model):
    """One test: a document of a test file (a file may hold several, separated by ---)."""

    __test__ = False  # not a pytest test class

    test: Line = Field(
        description="What the test shows, in a line.", examples=["digit 1 reaches sales"]
    )
    description: str | None = Field(default=None, description="More words, if needed.")
    flows: Annotated[list[ConfigPath], BeforeValidator(_flows_list), OrSingle()] | None = Field(
        default=None,
        description="Flow files and folders to load, relative to this file (default: the "
        "nearest flows/ folder: the folder this file is in, or a flows/ next to it or "
        "above it).",
        examples=[["../flows/ivr.yaml"], "../flows"],
    )
    at: Instant | None = Field(
        default=None,
        description="The clock at the start of the test, for time conditions (default: "
        "now, so give it whenever a flow looks at the time).",
        examples=["2026-03-02T10:00:00+01:00"],
    )
    call: Call | None = Field(default=None, description="The simulated call.")
    calls: Seq[Call] | None = Field(
        default=None, description="Several simulated calls, each with its own expect."
    )
    events: Seq[SwitchEvent] = Field(
        default=(),
        description="Events the switch fires (registrations, custom events).",
        examples=[
            [
                {
                    "event": "CUSTOM",
                    "subclass": "sofia::register",
                    "headers": {"profile-name": "internal"},
                }
            ]
        ],
    )
    switch: Switch = Field(
        default_factory=Switch,
        description="How the simulated switch "
        "behaves: application and API stubs, prompt durations.",
    )
    expect: Expect | None = Field(default=None, description="What must happen.")
    partial: bool = Field(
        default=False,
        description="true: every expect's lists may hold more than listed.",
    )
    timeout: Duration = Field(
        default=DEFAULT_TIMEOUT,
        description="Simulated time after which a test still running fails (default 1h).",
        json_schema_extra={"default": "1h"},
        examples=["10m"],
    )

    @model_validator(mode="after")
    def _inputs(self) -> Self:
        if self.call is not None and self.calls is not None:
            raise invalid("give call: or calls:, not both", at=("calls",))
        if self.call is None and self.calls is None and not self.events:
            raise invalid("nothing to test: give call:, calls: or events:")
        if self.calls is not None and not self.calls:
            raise invalid("'calls' needs at least one call", at=("calls",))
        expect = self.expect
        if expect is not None and self.call is None:
            for key in ("hangup_cause", "answered", "variables"):
                if key in expect.model_fields_set:
                    where = "each call's expect" if self.calls else "a call's expect"
                    raise invalid(
                        f"'{key}' is about one call: put it under {where}",
                        at=("expect", key),
                    )
        if self.call is not None and self.call.expect is not None and expect is not None:
            raise invalid(
                "give the expectations once: under expect:, or under call.expect",
                at=("call", "expect"),
            )
        self._within_timeout()
        return self

    def _within_timeout(self) -> None:
        """Every call, key press, hangup and event happens before the test times out."""
        limit = format_duration(self.timeout)
        calls: list[tuple[tuple[str | int, ...], Call]] = (
            [(("call",), self.call)]
            if self.call is not None
            else [(("calls", index), call) for index, call in enumerate(self.calls or ())]
        )
        moments: list[tuple[tuple[str | int, ...], float, str]] = []
        for where, call in calls:
            start = call.after or 0.0
            moments.append(((*where, "after"), start, "the call arrives"))
            if call.hangup_after is not None:
                moments.append(
                    ((*where, "hangup_after"), start + call.hangup_after, "the caller hangs up")
                )
            for index, entry in enumerate(call.dtmf):
                if isinstance(entry, KeyPress):
                    moments.append(
                        ((*where, "dtmf", index), start + entry.after, "a key is pressed")
                    )
        for index, event in enumerate(self.events):
            moments.append((("events", index, "after"), event.after or 0.0, "the event fires"))
        for where, moment, what in moments:
            if moment >= self.timeout:
                raise invalid(
                    f"{what} {format_duration(moment)} into the test, after its timeout "
                    f"({limit}): give the test a longer timeout",
                    at=where,
                )

    def all_calls(self) -> tuple[Call, ...]:
        if self.call is not None:
            return (self.call,)
        return self.calls or ()


def call_uuid(index: int) -> str:
    """The Unique-ID of the test's call number `index` (0-based) when it names none."""
    return f"00000000-0000-4000-8000-{index + 1:012d}"
