"""Steps sent to the channel as `sendmsg`: execute, hangup, unicast, nomedia, xferext.

Their `render_*` helpers apply the wire guard each field needs (see `Guard`), so the
engine cannot forget the `${` or CR/LF check on an application argument or header.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import BeforeValidator, Field, model_validator

from runner.flow.context import RenderContext
from runner.flow.fields import (
    Duration,
    HangupCause,
    Identifier,
    LineTemplate,
    Model,
    Seq,
    TemplateStr,
    describe_input,
    invalid,
)
from runner.flow.steps.base import StepBase
from runner.flow.template import Guard

_APP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.\-]*")


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
        description="How many times to run it (sendmsg `loops`); -1 repeats until stopped. "
        "`wait: complete` and `save` then mean the last run (FreeSWITCH stops early after "
        "a run shorter than 0.5 s).",
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
