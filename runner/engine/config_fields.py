"""Value types of the engine's configuration: addresses, ports, secrets, paths, durations.

Each is an `Annotated` type whose validator raises the flow language's `invalid()` errors,
so the loader reports them as `path:line:col: message` like flow errors. None of them
echoes a password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import PlainSerializer, PlainValidator, SecretStr, ValidationInfo, WithJsonSchema

from runner.engine.address import check_host, check_port, parse_address
from runner.esl.outbound import parse_networks
from runner.esl.password import PasswordError, clean_password
from runner.flow.durations import DURATION_PATTERN
from runner.flow.fields import describe_input, duration_value, invalid

MASK: Final = "********"
"""What a password (or a value that may be one) shows as."""


def _listen_validator(example: str) -> Any:
    def validate(value: object) -> str:
        if not isinstance(value, str):
            raise invalid(f"expected host:port like {example}, got {describe_input(value)}")
        try:
            parse_address(value, example=example, lowest_port=0)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        return value

    return PlainValidator(validate)


def _listen_schema(example: str, what: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "description": f"{what}: host:port (IPv6 as [::1]:port; port 0 picks a free "
            "port). Listeners bind to loopback unless told otherwise.",
            "examples": [example, f"[::1]:{example.split(':')[-1]}"],
        }
    )


OutboundListen = Annotated[
    str,
    _listen_validator("127.0.0.1:8084"),
    _listen_schema("127.0.0.1:8084", "Where FreeSWITCH's socket application connects"),
]
MetricsListen = Annotated[
    str,
    _listen_validator("127.0.0.1:9184"),
    _listen_schema("127.0.0.1:9184", "Where /metrics and /healthz are served"),
]


def _host(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a host name or IP address, got {describe_input(value)}")
    if value.count(":") == 1 and not value.startswith("["):
        raise invalid(f"'{value}': put the port in 'port', not in 'host'")
    try:
        return check_host(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _node_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a name, got {describe_input(value)}")
    if not value.strip() or len(value) > 100 or not value.isprintable():
        raise invalid("a node's name is one line of 1 to 100 printable characters")
    return value


NodeName = Annotated[
    str,
    PlainValidator(_node_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100}),
]

Host = Annotated[
    str,
    PlainValidator(_host),
    WithJsonSchema({"type": "string"}),
]


def _port(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"port must be a whole number, got {describe_input(value)}")
    try:
        return check_port(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


Port = Annotated[
    int,
    PlainValidator(_port),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 65535}),
]


def _secret(value: object) -> SecretStr:
    # Never show the value: this is the one field whose input must not be echoed.
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise invalid("password must be text (put it in quotes)")
    try:
        return SecretStr(clean_password(value, "password"))
    except PasswordError as exc:
        raise invalid(str(exc)) from None


Password = Annotated[
    SecretStr,
    PlainValidator(_secret),
    PlainSerializer(lambda secret: MASK, when_used="json"),
    WithJsonSchema({"type": "string", "writeOnly": True}),
]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected the name of an environment variable, got {describe_input(value)}")
    if value.startswith("$") and _ENV_NAME.fullmatch(value.strip("${}")):
        raise invalid(f"write the variable's name without '$': {value.strip('${}')}")
    if not _ENV_NAME.fullmatch(value):
        raise invalid(f"'{value}' is not an environment variable name (letters, digits and _)")
    return value


EnvName = Annotated[
    str,
    PlainValidator(_env_name),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}),
]


def _path(value: object, info: ValidationInfo) -> Path:
    """A path; relative ones resolve against `context["base"]` (the config file's folder)."""
    if isinstance(value, Path):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise invalid(f"expected a path, got {describe_input(value)}")
    if not text or "\0" in text:
        raise invalid("expected a path, got an empty one" if not text else "a path cannot hold NUL")
    base = (info.context or {}).get("base")
    path = Path(text)
    if isinstance(base, Path) and not path.is_absolute():
        path = Path(os.path.normpath(base / path))
    return path


ConfigPath = Annotated[
    Path,
    PlainValidator(_path),
    PlainSerializer(str),
    WithJsonSchema({"type": "string"}),
]


def as_list(value: object) -> object:
    """A single item where a list is expected is a list of one (`flows: flows/`)."""
    return [value] if isinstance(value, str | Path | dict) else value


def flows_list(value: object) -> object:
    value = as_list(value)
    if isinstance(value, list) and not value:
        raise invalid("'flows' needs at least one file or folder")
    return value


def _drain(value: object, info: ValidationInfo) -> float:
    # Python callers may give seconds; a file writes a duration with its unit, as flows do.
    from_file = bool((info.context or {}).get("file"))
    if isinstance(value, int | float) and not isinstance(value, bool) and not from_file:
        if value <= 0:
            name = info.field_name or "a duration"
            raise invalid(f"{name} must be longer than zero, got {value}")
        return float(value)
    return duration_value(value)


def format_duration(seconds: float) -> str:
    """Seconds as a duration a config file accepts: 30s, 500ms, 2m."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    milliseconds = seconds * 1000
    return f"{int(milliseconds)}ms" if milliseconds.is_integer() else f"{seconds:g}s"


Duration = Annotated[
    float,
    PlainValidator(_drain),
    PlainSerializer(format_duration, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
"""Seconds: a duration with its unit in a file (`30s`), a positive number from Python."""
DrainTimeout = Duration


MATCH_TIMEOUT_RANGE: Final = (0.001, 10.0)
"""Bounds of `regex_timeout`: under 1 ms ordinary patterns fail; over 10 s one search
could stall every call for that long."""


def _match_timeout(value: object, info: ValidationInfo) -> float:
    from_file = bool((info.context or {}).get("file"))
    if isinstance(value, int | float) and not isinstance(value, bool) and not from_file:
        seconds = float(value)
    else:
        seconds = duration_value(value)
    low, high = MATCH_TIMEOUT_RANGE
    if not low <= seconds <= high:
        raise invalid(f"regex_timeout must be between 1ms and 10s, got {format_duration(seconds)}")
    return seconds


MatchTimeout = Annotated[
    float,
    PlainValidator(_match_timeout),
    PlainSerializer(format_duration, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
"""The time bound of one regex search (`regex_timeout`)."""


def _networks(value: object) -> list[str]:
    if not isinstance(value, list):
        value = [value] if isinstance(value, str) else value
    if not isinstance(value, list):
        raise invalid(f"expected a list of networks like 10.0.0.0/8, got {describe_input(value)}")
    if not value:
        raise invalid("'allow' must not be empty: an empty allow-list refuses every connection")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(
                f"expected a network like 10.0.0.0/8, got {describe_input(item)}", at=(index,)
            )
        try:
            parse_networks([item])
        except ValueError:
            raise invalid(
                f"'{item}' is not a network: write an address with a prefix length, "
                "like 10.0.0.0/8 or ::1/128",
                at=(index,),
            ) from None
    return list(value)


Networks = Annotated[
    list[str],
    PlainValidator(_networks),
    WithJsonSchema({"type": "array", "items": {"type": "string"}, "minItems": 1}),
]
