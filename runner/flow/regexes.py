"""Flow regexes: PCRE-like syntax, compiled within limits, searched with a time bound.

FreeSWITCH's dialplan matches with PCRE, so flow authors write PCRE: `(?<name>...)`
named groups, possessive quantifiers, atomic groups. The `regex` package reads those
(Python's `re` refuses `(?<name>`) and, unlike `re`, takes a per-call `timeout`: a
pattern such as `^(a|a)+$` backtracks exponentially on a caller's 40-character name, and
one search must never stall the event loop that serves every other call.

The time bound comes from a context variable: the engine sets it once from its config
(`regex_timeout`), every task it starts inherits it, and a search that passes it raises
`RegexTimeout`, which the caller turns into an error that names the condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

import regex

MAX_REGEX: Final = 1000
"""Longest regular expression, in characters."""

MAX_GROUP_DEPTH: Final = 32
"""Levels of nested groups; the compiler recurses once per level (492 overflowed it)."""

DEFAULT_MATCH_TIMEOUT: Final = 0.020
"""Longest one search may run, in seconds, unless the engine config says otherwise."""

_TIMEOUT: ContextVar[float] = ContextVar("eslflow_regex_timeout", default=DEFAULT_MATCH_TIMEOUT)

Pattern = regex.Pattern[str]
Match = regex.Match[str]


class RegexSyntaxError(ValueError):
    """A regex that cannot be compiled; `offset` is the 0-based index of the problem."""

    def __init__(self, message: str, offset: int | None) -> None:
        self.offset = offset
        super().__init__(message)


class RegexTimeout(Exception):
    """A search ran past its time bound (`seconds`): treated as no match, and reported."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"regex search took longer than {format_bound(seconds)}")


def format_bound(seconds: float) -> str:
    """`20 ms`, `1.5 s`: a time bound as people read it."""
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    return f"{seconds:g} s"


def match_timeout() -> float:
    """The time bound of one search in this context, in seconds."""
    return _TIMEOUT.get()


@contextmanager
def match_timeout_set(seconds: float) -> Iterator[None]:
    """Searches in this context (and tasks started inside it) stop after `seconds`."""
    token = _TIMEOUT.set(seconds)
    try:
        yield
    finally:
        _TIMEOUT.reset(token)


@dataclass(slots=True)
class _Shape:
    """What a scan of a regex's brackets finds (no recursion, so any depth is safe)."""

    too_deep: int | None = None
    """Offset of the first `(` past MAX_GROUP_DEPTH."""
    unclosed: int | None = None
    """Offset of the innermost group left open."""
    open_class: int | None = None
    """Offset of a `[` never closed."""


def _shape(text: str) -> _Shape:
    shape = _Shape()
    opened: list[int] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if shape.open_class is not None:
            if char == "]":
                shape.open_class = None
        elif char == "[":
            shape.open_class = index
            index += 1
            if text.startswith("^", index):
                index += 1
            if text.startswith("]", index):  # `[]...]` and `[^]...]`: a literal `]`, as in PCRE
                index += 1
            continue
        elif char == "(":
            opened.append(index)
            if len(opened) > MAX_GROUP_DEPTH and shape.too_deep is None:
                shape.too_deep = index
        elif char == ")" and opened:
            opened.pop()
        index += 1
    shape.unclosed = opened[-1] if opened else None
    return shape


def compile_regex(text: str, flags: int = 0) -> Pattern:
    """Compile a flow's regex (ASCII classes, as PCRE has them); RegexSyntaxError if bad."""
    if len(text) > MAX_REGEX:
        raise RegexSyntaxError(
            f"regular expression too long: {len(text):,} characters, at most {MAX_REGEX:,}",
            MAX_REGEX,
        )
    shape = _shape(text)
    if shape.too_deep is not None:
        raise RegexSyntaxError(
            f"regular expression nested too deeply: more than {MAX_GROUP_DEPTH} levels of groups",
            shape.too_deep,
        )
    try:
        return regex.compile(text, flags | regex.ASCII)
    except regex.error as exc:
        # The stubs omit them: `regex.error` carries `msg` and `pos` as `re.error` does.
        msg: str = getattr(exc, "msg", str(exc))
        pos: int | None = getattr(exc, "pos", None)
        # `regex` points past the end for these; `re` (and people) point at the opening.
        if msg == "missing )" and shape.unclosed is not None:
            message = "invalid regular expression: missing ), unterminated subpattern"
            raise RegexSyntaxError(message, shape.unclosed) from None
        if msg == "unterminated character set" and shape.open_class is not None:
            message = "invalid regular expression: unterminated character set"
            raise RegexSyntaxError(message, shape.open_class) from None
        raise RegexSyntaxError(f"invalid regular expression: {msg}", pos) from None
    except (RecursionError, OverflowError, ValueError, MemoryError) as exc:
        # The scan above keeps the compiler's recursion short; these remain for
        # shapes it does not see. Nothing the user wrote may escape as a traceback.
        raise RegexSyntaxError(f"invalid regular expression: {exc}", None) from None


def search(pattern: Pattern, text: str) -> Match | None:
    """`pattern.search(text)` within this context's time bound; RegexTimeout past it."""
    seconds = _TIMEOUT.get()
    try:
        return pattern.search(text, timeout=seconds)
    except TimeoutError:
        raise RegexTimeout(seconds) from None
