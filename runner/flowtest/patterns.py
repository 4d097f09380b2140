"""Expected values in a test case: an exact string, or a regex written between slashes.

    arg: ivr/ivr-welcome.wav          # exactly this
    arg: /^user\\/10\\d\\d/             # a regex, searched as the dialplan does
    arg: /welcome/i                   # case-insensitive

`\\/` inside a regex stands for `/`. A value that starts and ends with `/` is always a
regex; to expect such a value exactly, write it as one (`/^\\/tmp\\/$/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final

import regex
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from runner.flow.fields import invalid, scalar_text
from runner.flow.regexes import Pattern as RegexPattern
from runner.flow.regexes import RegexSyntaxError, RegexTimeout, compile_regex, search

_FLAGS: Final = {"i": regex.IGNORECASE, "s": regex.DOTALL}


@dataclass(frozen=True, slots=True)
class Pattern:
    """An expected value: `text` exactly, or `regex` searched."""

    source: str
    regex: RegexPattern | None = None

    def matches(self, value: str | None) -> bool:
        """Whether `value` is the text, or the regex finds it within the time bound of one
        search (a search that runs past it does not match, as a flow condition does not)."""
        if value is None:
            return False
        if self.regex is not None:
            try:
                return search(self.regex, value) is not None
            except RegexTimeout:
                return False
        return value == self.source

    @property
    def is_regex(self) -> bool:
        return self.regex is not None

    def __str__(self) -> str:
        return self.source


def _split_regex(text: str) -> tuple[str, str] | None:
    """`/body/flags` -> (body, flags), or None when `text` is not written as a regex."""
    if len(text) < 2 or not text.startswith("/"):
        return None
    end = text.rfind("/")
    if end == 0:
        return None
    flags = text[end + 1 :]
    if any(flag not in _FLAGS for flag in flags):
        return None
    return text[1:end], flags


def parse_pattern(text: str) -> Pattern:
    """A Pattern from its written form; ValueError (with `.offset` into `text`) on a bad
    regex."""
    parts = _split_regex(text)
    if parts is None:
        return Pattern(text)
    body, flags = parts
    compiled_flags = 0
    for flag in flags:
        compiled_flags |= _FLAGS[flag]
    try:
        compiled = compile_regex(body.replace("\\/", "/"), compiled_flags)
    except RegexSyntaxError as exc:
        error = ValueError(str(exc))
        error.offset = 1 + (exc.offset or 0)  # type: ignore[attr-defined]
        raise error from None
    return Pattern(text, compiled)


_SPECIAL: Final = re.compile(r"([.^$*+?{}\[\]\\|()/])")


def escape(text: str) -> str:
    """`text` as a literal inside a /regex/: metacharacters and `/` get a backslash
    (unlike re.escape, spaces and letters stay readable)."""
    return _SPECIAL.sub(r"\\\1", text)


def written_exact(text: str) -> str:
    """How a test writes `text` to expect exactly it (a regex when it looks like one)."""
    if _split_regex(text) is None:
        return text
    return f"/^{escape(text)}$/"


def pattern_value(value: object) -> Pattern:
    """A Pattern from a YAML scalar, or a validation error pointing into it."""
    if isinstance(value, Pattern):
        return value
    if isinstance(value, dict) and len(value) == 1:
        raise invalid(
            "expected a value (text, or a /regex/), got a mapping: put the value in quotes "
            "(YAML reads 'a: b' as a mapping)"
        )
    text = scalar_text(value, "a value (text, or a /regex/)")
    try:
        return parse_pattern(text)
    except ValueError as exc:
        raise invalid(str(exc), offset=getattr(exc, "offset", None)) from None


ValuePattern = Annotated[
    Pattern,
    PlainValidator(pattern_value),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "description": "The exact value, or a regular expression between slashes "
            "(/^user\\/10\\d\\d/, /welcome/i), searched as the dialplan does.",
        }
    ),
]
