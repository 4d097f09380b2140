"""Steps: what a flow does, one YAML mapping each, its kind named by its one kind key.

```yaml
- execute: {app: bridge, arg: "user/$1@${domain_name}", wait: complete, timeout: 30s}
- hangup: NORMAL_CLEARING
```

Every step keeps its place in the YAML (`step.pos`) and its flow's name, so the engine
can say `flows/x.yaml:12:7: flow 'support-line' step execute: ...` (`step.where`).
The `render_*` helpers apply the right wire guard for each field (see `Guard`), so an
engine cannot forget the `${` or CR/LF check.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from runner.flow.conditions import ConditionList, match
from runner.flow.context import RenderContext
from runner.flow.errors import SourcePos, did_you_mean
from runner.flow.fields import (
    AlsoAccepts,
    Duration,
    EventName,
    HangupCause,
    HeaderName,
    Identifier,
    LineTemplate,
    Model,
    Seq,
    Subclass,
    TemplateStr,
    describe_input,
    duration_value,
    invalid,
    template_value,
)
from runner.flow.template import Guard, Template

StepPath = tuple[str | int, ...]

_APP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.\-]*")
_COMMAND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.\-]*")


def _app_name(value: object) -> object:
    if isinstance(value, str) and not _APP_NAME.fullmatch(value):
        if "$" in value:
            raise invalid("the application name must be written out, not substituted")
        raise invalid(f"'{value}' is not an application name")
    return value


def _split_app(value: object) -> object:
    """`answer` or `playback ivr/welcome.wav`: the short form of an application call."""
    if isinstance(value, str):
        app, _, arg = value.strip().partition(" ")
        if "$" in app:
            raise invalid("the application name must be written out, not substituted")
        return {"app": app, "arg": arg.strip()} if arg.strip() else {"app": app}
    if not isinstance(value, dict):
        raise invalid(
            "expected an application ('answer', 'playback file.wav') or a mapping "
            f"{{app, arg}}, got {describe_input(value)}"
        )
    return value


_APP_SCHEMA = {
    "type": "string",
    "description": "Application and argument in one: 'answer', 'playback ivr/ivr-welcome.wav'.",
}


class StepBase(Model):
    """What every step has: an optional `name` for logs, and its place in the YAML."""

    KIND: ClassVar[str] = ""

    name: str | None = Field(
        default=None,
        description="A label for logs and error messages (defaults to the step kind).",
    )

    _pos: SourcePos | None = PrivateAttr(default=None)
    _flow: str = PrivateAttr(default="")

    @property
    def kind(self) -> str:
        """The step kind: `execute`, `hangup`, ..."""
        return self.KIND

    @property
    def pos(self) -> SourcePos | None:
        """Where the step is written (path, line, column), set by the loader."""
        return self._pos

    @property
    def flow_name(self) -> str:
        """The name of the flow this step belongs to, set by the loader."""
        return self._flow

    @property
    def where(self) -> str:
        """`flows/x.yaml:12:7: flow 'support-line' step execute` for log and error lines."""
        label = self.name or self.KIND
        place = f"{self._pos}: " if self._pos is not None else ""
        return f"{place}flow '{self._flow}' step {label}"

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        """Nested step lists with their path below this step (`then`, `cases/1`...)."""
        return iter(())


# --- sendmsg: execute, hangup, unicast, nomedia, xferext -------------------------------


class ExecuteArgs(Model):
    """An application run on the channel by `sendmsg` `call-command: execute`."""

    app: Annotated[str, BeforeValidator(_app_name)] = Field(
        description="The application (dialplan tool), e.g. playback, bridge, answer.",
        examples=["playback", "bridge", "play_and_get_digits"],
    )
    arg: TemplateStr | None = Field(
        default=None,
        description="Its argument; FreeSWITCH expands ${var} in it when it runs.",
        examples=["ivr/ivr-welcome.wav", "user/$1@${domain_name}"],
    )
    # FreeSWITCH reads `loops` with atoi() into an int (src/switch_ivr.c): 4294967295
    # wraps to -1, "forever". Seen on 1.10.12: `sleep 600` with loops 4294967295 ran
    # until the call was killed (loops 3 ran three times). It stops looping only an app
    # that returned in under 0.5 s.
    loops: int = Field(
        default=1,
        ge=-1,
        le=2_147_483_647,
        description="How many times to run it (sendmsg `loops`); -1 repeats until stopped.",
    )
    wait: Literal["none", "start", "complete"] = Field(
        default="complete",
        description="Go on at once (none), when it starts (CHANNEL_EXECUTE) or when it "
        "completes (CHANNEL_EXECUTE_COMPLETE).",
    )
    timeout: Duration | None = Field(
        default=None, description="How long to wait for start/completion before on_error."
    )
    lock: bool = Field(
        default=False,
        description="sendmsg `event-lock`: run it before any later message on the channel.",
    )
    hold_bleg: bool = Field(
        default=False,
        description="sendmsg `hold-bleg`: play hold music to the bridged leg meanwhile.",
    )
    save: Identifier | None = Field(
        default=None,
        description="Variable that keeps the completion event's headers "
        "(Application-Response, variable_*); needs wait: complete.",
    )

    @model_validator(mode="after")
    def _check(self) -> Any:
        if self.loops == 0:
            raise invalid("loops must be at least 1 (or -1 for ever)", at=("loops",))
        if self.wait == "none" and self.timeout is not None:
            raise invalid("timeout needs wait: start or wait: complete", at=("timeout",))
        if self.save is not None and self.wait != "complete":
            raise invalid(
                "save needs wait: complete (the result is in the completion event)", at=("save",)
            )
        return self


DIAL_STRING_APPS: Final = frozenset({"bridge", "att_xfer"})
"""Applications whose argument is a dial string: a value must not add legs or variables."""


class ExecuteStep(StepBase):
    """Run an application on the channel (`sendmsg` execute)."""

    KIND: ClassVar[str] = "execute"
    execute: Annotated[
        ExecuteArgs, BeforeValidator(_split_app, json_schema_input_type=str | ExecuteArgs)
    ] = Field(
        description="An application: 'answer', 'playback file', or {app, arg, wait, ...}.",
        examples=["answer", {"app": "playback", "arg": "ivr/ivr-welcome.wav"}],
    )
    raw: bool = Field(
        default=False,
        description="DANGEROUS: let substituted values carry ${...} into the argument, where "
        "FreeSWITCH expands them (${system(...)} runs shell commands). Only for trusted values.",
    )

    def render_arg(self, ctx: RenderContext) -> str | None:
        """The argument, guarded for an application arg (Guard.APP_ARG; DIAL_ARG for bridge).

        A result with a line break comes from the flow's own text: send it in the body
        form of `sendmsg` execute (content-type text/plain), never as a header.
        """
        if self.execute.arg is None:
            return None
        guard = Guard.DIAL_ARG if self.execute.app in DIAL_STRING_APPS else Guard.APP_ARG
        return self.execute.arg.render(ctx, guard=guard, raw=self.raw, where=self).text


def _hangup_short(value: object) -> object:
    if value is None:
        return {}
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"cause": value}
    return value


class HangupArgs(Model):
    """`sendmsg` `call-command: hangup`."""

    cause: HangupCause = Field(
        default="NORMAL_CLEARING", description="The hangup cause.", examples=["USER_BUSY"]
    )


class HangupStep(StepBase):
    """Hang the channel up (`sendmsg` hangup) with a cause."""

    KIND: ClassVar[str] = "hangup"
    hangup: Annotated[
        HangupArgs,
        BeforeValidator(
            _hangup_short, json_schema_input_type=HangupCause | int | HangupArgs | None
        ),
    ] = Field(
        description="A cause name (NORMAL_CLEARING if empty) or {cause}.",
        examples=["NORMAL_CLEARING", "USER_BUSY"],
    )

    @property
    def cause(self) -> str:
        return self.hangup.cause


def _ip(value: object) -> object:
    if value is None:
        return value
    if not isinstance(value, str):
        raise invalid(f"expected an IP address, got {describe_input(value)}")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise invalid(f"'{value}' is not an IP address") from None
    return value


IpAddress = Annotated[str | None, BeforeValidator(_ip)]


class UnicastArgs(Model):
    """`sendmsg` `call-command: unicast`: stream the channel's audio over UDP/TCP.

    Unset fields take FreeSWITCH's defaults (switch_ivr.c): 127.0.0.1:8025 local,
    127.0.0.1:8026 remote, udp.
    """

    local_ip: IpAddress = Field(default=None, description="local-ip (default 127.0.0.1).")
    local_port: int | None = Field(default=None, ge=1, le=65535, description="local-port.")
    remote_ip: IpAddress = Field(default=None, description="remote-ip (default 127.0.0.1).")
    remote_port: int | None = Field(default=None, ge=1, le=65535, description="remote-port.")
    transport: Literal["udp", "tcp"] = Field(default="udp", description="transport.")
    flags: Literal["native"] | None = Field(
        default=None, description="native: send the native codec, not L16."
    )


class UnicastStep(StepBase):
    """Stream the channel's media to a socket (`sendmsg` unicast)."""

    KIND: ClassVar[str] = "unicast"
    unicast: UnicastArgs = Field(
        description="Addresses, ports, transport and flags.",
        examples=[{"remote_ip": "10.0.0.5", "remote_port": 9000, "transport": "udp"}],
    )


def _empty_mapping(value: object) -> object:
    return {} if value is None else value


class NomediaArgs(Model):
    """`sendmsg` `call-command: nomedia`."""

    uuid: LineTemplate | None = Field(
        default=None, description="nomedia-uuid: the channel to take media off (this one)."
    )


class NomediaStep(StepBase):
    """Take the channel's media path off the switch (`sendmsg` nomedia)."""

    KIND: ClassVar[str] = "nomedia"
    nomedia: Annotated[
        NomediaArgs,
        BeforeValidator(_empty_mapping, json_schema_input_type=NomediaArgs | None),
    ] = Field(description="Empty for this channel, or {uuid}.")

    def render_uuid(self, ctx: RenderContext) -> str:
        """The nomedia-uuid header value: the given uuid, or the channel's."""
        if self.nomedia.uuid is None:
            return ctx.uuid
        return self.nomedia.uuid.render(ctx, guard=Guard.HEADER, where=self).text


class XferApp(Model):
    """One application of an `xferext` extension."""

    app: Annotated[str, BeforeValidator(_app_name)] = Field(description="The application.")
    arg: LineTemplate | None = Field(default=None, description="Its argument.")


class XferextStep(StepBase):
    """Transfer the channel to an inline extension of applications (`sendmsg` xferext)."""

    KIND: ClassVar[str] = "xferext"
    xferext: Seq[
        Annotated[XferApp, BeforeValidator(_split_app, json_schema_input_type=str | XferApp)]
    ] = Field(
        min_length=1,
        description="The extension's applications, in order.",
        examples=[["answer", {"app": "playback", "arg": "ivr/ivr-welcome.wav"}]],
    )
    raw: bool = Field(
        default=False,
        description="DANGEROUS: let substituted values open ${...} or carry escapes into "
        "the arguments (docs/flow-language.md). Only for trusted values.",
    )

    def render_apps(self, ctx: RenderContext) -> list[str]:
        """One `application` header value per app: `name arg`, guarded like an app arg
        on one line (Guard.APP_LINE)."""
        lines = []
        for item in self.xferext:
            if item.arg is None:
                lines.append(item.app)
                continue
            arg = item.arg.render(ctx, guard=Guard.APP_LINE, raw=self.raw, where=self)
            lines.append(f"{item.app} {arg.text}")
        return lines


# --- commands: sendevent, api, bgapi ------------------------------------------------------

RESERVED_EVENT_HEADERS: Final = frozenset(
    {"event-name", "event-subclass", "content-length", "content-type"}
)


class SendeventArgs(Model):
    """A `sendevent` command: fire an event into FreeSWITCH's event system."""

    event: EventName = Field(description="The event name.", examples=["CUSTOM"])
    subclass: Subclass | None = Field(default=None, description="Needed for CUSTOM events.")
    headers: dict[HeaderName, LineTemplate] = Field(
        default_factory=dict,
        description="Headers to add (one line each).",
        examples=[{"Extension": "$1"}],
    )
    body: TemplateStr | None = Field(default=None, description="A body (sent with its length).")

    @model_validator(mode="after")
    def _check(self) -> Any:
        if self.event == "CUSTOM" and self.subclass is None:
            raise invalid(
                "CUSTOM events need a subclass, e.g. subclass: eslflow::routed", at=("event",)
            )
        if self.event != "CUSTOM" and self.subclass is not None:
            raise invalid(f"only CUSTOM events have a subclass, not {self.event}", at=("subclass",))
        for name in self.headers:
            if name.lower() in RESERVED_EVENT_HEADERS:
                raise invalid(
                    f"header '{name}' is set by eslflow; use event/subclass/body",
                    at=("headers", name),
                )
        return self


class SendeventStep(StepBase):
    """Send an event (`sendevent`), e.g. a CUSTOM event for other listeners."""

    KIND: ClassVar[str] = "sendevent"
    sendevent: SendeventArgs = Field(
        description="Event name, subclass, headers and body.",
        examples=[{"event": "CUSTOM", "subclass": "eslflow::routed", "headers": {"Ext": "$1"}}],
    )

    def render_headers(self, ctx: RenderContext) -> dict[str, str]:
        """Header values, one line each (CR/LF refused)."""
        return {
            name: value.render(ctx, guard=Guard.HEADER, where=f"{self.where} header {name}").text
            for name, value in self.sendevent.headers.items()
        }

    def render_body(self, ctx: RenderContext) -> str | None:
        """The body; it is length-framed, so line breaks are fine."""
        body = self.sendevent.body
        return None if body is None else body.render(ctx, guard=Guard.BODY, where=self).text


def _split_command(value: object) -> object:
    """`uuid_setvar ${{ uuid }} routed true`: command word, then its arguments."""
    if isinstance(value, str):
        text = value.strip()
        for index, char in enumerate(value):
            if char in "\r\n" and index < len(value.rstrip("\r\n")):
                raise invalid("line break in a command (it must be one line)", offset=index)
        command, _, args = text.partition(" ")
        if "$" in command:
            raise invalid("the command name must be written out, not substituted")
        return {"command": command, "args": args.strip()} if args.strip() else {"command": command}
    if not isinstance(value, dict):
        raise invalid(
            f"expected a command line or a mapping {{command, args}}, got {describe_input(value)}"
        )
    return value


def _command_name(value: object) -> object:
    if isinstance(value, str) and not _COMMAND_NAME.fullmatch(value):
        if "$" in value:
            raise invalid("the command name must be written out, not substituted")
        raise invalid(f"'{value}' is not a command name (one word; arguments go in args)")
    return value


class ApiArgs(Model):
    """An `api` command: FreeSWITCH runs it and answers with its output."""

    command: Annotated[str, BeforeValidator(_command_name)] = Field(
        description="The API command (one word, written out).",
        examples=["uuid_setvar", "originate", "show"],
    )
    args: LineTemplate | None = Field(default=None, description="Its arguments (one line).")
    save: Identifier | None = Field(default=None, description="Variable for its output.")


class BgapiArgs(ApiArgs):
    """A `bgapi` command: runs in the background; its BACKGROUND_JOB event completes it."""

    timeout: Duration | None = Field(
        default=None, description="How long to wait for the BACKGROUND_JOB before on_error."
    )


_COMMAND_DESCRIPTION = "A command line ('uuid_setvar ${{ uuid }} routed true') or {command, args}."


class _CommandStep(StepBase):
    raw: bool = Field(
        default=False,
        description="DANGEROUS: let substituted values carry ${...}, escapes, spaces, & or "
        "{...} into the command, where FreeSWITCH expands them or reads more arguments "
        "(docs/flow-language.md). Only for trusted values.",
    )

    def _render(self, args: ApiArgs, ctx: RenderContext) -> str:
        if args.args is None:
            return args.command
        rendered = args.args.render(ctx, guard=Guard.COMMAND, raw=self.raw, where=self)
        return f"{args.command} {rendered.text}"


class ApiStep(_CommandStep):
    """Run an API command (`api`); it blocks the connection until FreeSWITCH answers."""

    KIND: ClassVar[str] = "api"
    api: Annotated[
        ApiArgs, BeforeValidator(_split_command, json_schema_input_type=str | ApiArgs)
    ] = Field(description=_COMMAND_DESCRIPTION, examples=["uuid_setvar ${{ uuid }} routed true"])

    def render_command(self, ctx: RenderContext) -> str:
        """`command args`, guarded for an api line (one line; see Guard.COMMAND)."""
        return self._render(self.api, ctx)


class BgapiStep(_CommandStep):
    """Run an API command in the background (`bgapi`); the step completes on its job."""

    KIND: ClassVar[str] = "bgapi"
    bgapi: Annotated[
        BgapiArgs, BeforeValidator(_split_command, json_schema_input_type=str | BgapiArgs)
    ] = Field(
        description=_COMMAND_DESCRIPTION,
        examples=[{"command": "originate", "args": "user/1000 &park()", "save": "job"}],
    )

    def render_command(self, ctx: RenderContext) -> str:
        """`command args`, guarded for an api line (one line; see Guard.COMMAND)."""
        return self._render(self.bgapi, ctx)


# --- flow control: set, wait, sleep, if, switch, repeat, goto, call, log, stop ----------


def _set_value(value: object) -> Template | bool | int | float | None:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return template_value(value)
    raise invalid(f"expected text, a number or true/false, got {describe_input(value)}")


SetValue = Annotated[
    Template | bool | int | float | None,
    PlainValidator(_set_value),
    PlainSerializer(lambda value: value.source if isinstance(value, Template) else value),
    WithJsonSchema({"type": ["string", "number", "boolean", "null"]}),
]


class SetStep(StepBase):
    """Set flow variables (eslflow's, not channel variables: for those run the `set` app)."""

    KIND: ClassVar[str] = "set"
    set: dict[Identifier, SetValue] = Field(
        min_length=1,
        description="name: value; a value that is exactly one ${{ expr }} keeps its type.",
        examples=[{"attempts": 0, "caller": "${{ event['Caller-Caller-ID-Number'] }}"}],
    )

    def values(self, ctx: RenderContext) -> dict[str, object]:
        """The new values, evaluated in `ctx`."""
        return {
            name: value.evaluate(ctx, where=self) if isinstance(value, Template) else value
            for name, value in self.set.items()
        }


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


# --- connection-level commands: outbound flows only -------------------------------------


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

for _model in STEP_KINDS.values():
    _model.model_rebuild()
