"""Value types shared by the flow models: templates, durations, regexes, names.

Each is an `Annotated` type whose validator parses the YAML scalar once at load and
raises `invalid()` errors that the loader turns into `path:line:col: message`
(`offset` points inside the scalar, `at` at a key below the failing value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel as _PydanticModel
from pydantic import (
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from runner.flow.durations import DURATION_HELP, DURATION_PATTERN, parse_duration
from runner.flow.errors import did_you_mean
from runner.flow.expr import Expression, ExprSyntaxError, compile_expression, kind_of
from runner.flow.regexes import Pattern, RegexSyntaxError, compile_regex
from runner.flow.template import Template, TemplateSyntaxError
from runner.freeswitch import (
    CAUSE_BY_CODE,
    HANGUP_CAUSE_ALIASES,
    HANGUP_CAUSES,
    NEWER_EVENT_NAMES,
)
from runner.freeswitch import EVENT_NAMES as SWITCH_EVENT_NAMES

ERROR_TYPE: Final = "eslflow"


def invalid(
    message: str, *, offset: int | None = None, at: tuple[str | int, ...] = ()
) -> PydanticCustomError:
    """A validation error with our own message; `offset`/`at` sharpen its position."""
    context: dict[str, Any] = {"message": message}
    if offset is not None:
        context["offset"] = offset
    if at:
        context["at"] = at
    return PydanticCustomError(ERROR_TYPE, "{message}", context)


class Model(_PydanticModel):
    """Base of every flow model: strict types, unknown keys refused, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


@dataclass(frozen=True, slots=True)
class AlsoAccepts:
    """JSON Schema marker: the value may also be `extra` (a short form a validator expands)."""

    extra: dict[str, Any]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), self.extra]}


@dataclass(frozen=True, slots=True)
class OrSingle:
    """JSON Schema marker: a list that may also be written as its single item."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        inner = handler(schema)
        return {"anyOf": [inner, inner["items"]]}


def _to_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


T = TypeVar("T")

# What a flow may name: what 1.10 sends, plus names newer switches added.
EVENT_NAMES: Final = frozenset(SWITCH_EVENT_NAMES) | NEWER_EVENT_NAMES

Seq = Annotated[tuple[T, ...], BeforeValidator(_to_tuple)]
"""An immutable list: YAML sequences load as tuples, so loaded flows cannot be changed."""


def describe_input(value: object) -> str:
    """`'abc'`, `5`, `a list`: the offending value as a message shows it."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "nothing (null)"
    return kind_of(value)


def scalar_text(value: object, what: str) -> str:
    """YAML numbers are text where text is expected (`arg: 1000`); other types are refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise invalid(f"expected {what}, got {describe_input(value)}")


def template_value(value: object) -> Template:
    """A Template from a YAML scalar, or a validation error pointing into it."""
    text = scalar_text(value, "text")
    try:
        return Template.parse(text)
    except TemplateSyntaxError as exc:
        raise invalid(str(exc), offset=exc.offset) from None


def _source(value: Template | Expression) -> str:
    return value.source


TemplateStr = Annotated[
    Template,
    PlainValidator(template_value),
    PlainSerializer(_source),
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "description": "Text with $1..$9 (captures), ${{ expr }} (eslflow expressions); "
            "${var} and $${var} pass through to FreeSWITCH.",
        }
    ),
]


def _line_template(value: object) -> Template:
    template = template_value(value)
    for index, char in enumerate(template.source):
        if char in "\r\n":
            raise invalid(
                "line break in a one-line value (it would break the command)", offset=index
            )
    return template


LineTemplate = Annotated[
    Template,
    PlainValidator(_line_template),
    PlainSerializer(_source),
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "description": "One line of text with $1..$9 and ${{ expr }}; "
            "${var} and $${var} pass through to FreeSWITCH.",
        }
    ),
]


def _expression(value: object) -> Expression:
    if not isinstance(value, str):
        raise invalid(f"expected an expression, got {describe_input(value)}")
    try:
        return compile_expression(value)
    except ExprSyntaxError as exc:
        raise invalid(str(exc), offset=exc.offset) from None


ExpressionStr = Annotated[
    Expression,
    PlainValidator(_expression),
    PlainSerializer(_source),
    WithJsonSchema(
        {
            "type": "string",
            "description": "An eslflow expression (without ${{ }}), true when its value is.",
            "examples": ["int(vars.attempts) < 3", "event['DTMF-Digit'] in ['1', '2']"],
        }
    ),
]


def duration_value(value: object) -> float:
    """Seconds of a YAML duration scalar, or a validation error saying what is wrong."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise invalid(f"a duration needs a unit: write {value}s or {value}ms")
    if not isinstance(value, str):
        raise invalid(f"expected {DURATION_HELP}, got {describe_input(value)}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


Duration = Annotated[
    float,
    PlainValidator(duration_value),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: milliseconds, seconds, minutes or hours.",
            "examples": ["500ms", "10s", "2m", "1h"],
        }
    ),
]


def _regex(value: object) -> Pattern:
    text = scalar_text(value, "a regular expression")
    try:
        return compile_regex(text)
    except RegexSyntaxError as exc:
        raise invalid(str(exc), offset=exc.offset) from None


Regex = Annotated[
    Pattern,
    PlainValidator(_regex),
    PlainSerializer(lambda pattern: pattern.pattern),
    WithJsonSchema(
        {
            "type": "string",
            "format": "regex",
            "description": "A regular expression (searched, as in the dialplan); "
            "its groups become $1..$9.",
            "examples": ["^(1\\d{3})$"],
        }
    ),
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _identifier(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a name, got {describe_input(value)}")
    if not _IDENTIFIER.fullmatch(value):
        raise invalid(
            f"'{value}' is not a valid name: use letters, digits and _, not starting with a digit"
        )
    return value


Identifier = Annotated[
    str,
    PlainValidator(_identifier),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}),
]

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII except ':'


def _header_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a header name, got {describe_input(value)}")
    if not _HEADER_NAME.fullmatch(value):
        raise invalid(f"'{value}' is not a valid header name (printable ASCII, no spaces or ':')")
    return value


HeaderName = Annotated[
    str,
    PlainValidator(_header_name),
    WithJsonSchema(
        {
            "type": "string",
            "description": "An event header name; channel variables are variable_<name>.",
            "examples": ["Caller-Destination-Number", "variable_sip_from_host"],
        }
    ),
]


def _event_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected an event name, got {describe_input(value)}")
    if value not in EVENT_NAMES:
        raise invalid(f"unknown event '{value}'{did_you_mean(value, EVENT_NAMES)}")
    return value


EventName = Annotated[
    str,
    PlainValidator(_event_name),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(EVENT_NAMES),
            "description": "A FreeSWITCH event name; CUSTOM needs a subclass.",
        }
    ),
]

_SUBCLASS = re.compile(r"[!-~]+")


def _subclass(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected an event subclass, got {describe_input(value)}")
    if not _SUBCLASS.fullmatch(value):
        raise invalid(f"'{value}' is not a valid event subclass (no spaces)")
    return value


Subclass = Annotated[
    str,
    PlainValidator(_subclass),
    WithJsonSchema(
        {
            "type": "string",
            "description": "The Event-Subclass of a CUSTOM event.",
            "examples": ["sofia::register", "eslflow::routed"],
        }
    ),
]


def hangup_cause(value: object) -> str:
    """A FreeSWITCH cause name (or Q.850 number), normalised to the name FreeSWITCH knows."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in CAUSE_BY_CODE:
            return CAUSE_BY_CODE[value]
        raise invalid(f"unknown hangup cause code {value}")
    if not isinstance(value, str):
        raise invalid(f"expected a hangup cause, got {describe_input(value)}")
    if value in HANGUP_CAUSES:
        return value
    if value in HANGUP_CAUSE_ALIASES:
        return HANGUP_CAUSE_ALIASES[value]
    raise invalid(f"unknown hangup cause '{value}'{did_you_mean(value, HANGUP_CAUSES)}")


HangupCause = Annotated[
    str,
    PlainValidator(hangup_cause),
    WithJsonSchema(
        {
            "type": "string",
            "enum": [*HANGUP_CAUSES, *HANGUP_CAUSE_ALIASES],
            "description": "A FreeSWITCH hangup cause (switch_channel.c's cause names).",
        }
    ),
]
