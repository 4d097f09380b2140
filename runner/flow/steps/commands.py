"""Steps sent as connection commands: sendevent, api and bgapi.

An api/bgapi line is one line of FreeSWITCH command text: `render_command` guards it
(Guard.COMMAND) so a substituted value cannot add arguments or expansions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final

from pydantic import BeforeValidator, Field, model_validator

from runner.flow.context import RenderContext
from runner.flow.fields import (
    Duration,
    EventName,
    HeaderName,
    Identifier,
    LineTemplate,
    Model,
    Subclass,
    TemplateStr,
    describe_input,
    invalid,
)
from runner.flow.steps.base import StepBase
from runner.flow.template import Guard

_COMMAND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.\-]*")


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
