"""Errors of the flow language: where a problem is in the YAML, and what it is.

Load-time problems are `FlowError`s (one per mistake, `path:line:col: message`),
gathered into one `FlowValidationError`. Problems found while a flow runs (an
unsafe substituted value, an expression that fails) are `FlowRuntimeError`s
naming the flow, the step and its position, so the engine can log them as they are.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

MAX_SHOWN_LINE: Final = 160
"""Characters of a source line shown under an error; longer lines show a window."""

# Control characters would act on the terminal (or vanish) in the caret display.
_UNPRINTABLE: Final = {code: "?" for code in (*range(0x20), 0x7F)}


MAX_QUOTED: Final = 40
"""Characters of a quoted value kept in a message."""

# A quoted value: an opening quote not after a letter, to the first closing quote not
# before one (so `'O'Brien'` is one value and `'a' or 'b'` two).
_QUOTED: Final = re.compile(r"(?<!\w)'(?=\S)(.*?)(?<=\S)'(?!\w)")


def _cut(found: re.Match[str]) -> str:
    value = found.group(1)
    if len(value) <= MAX_QUOTED + 3:
        return found.group(0)
    return f"'{value[:MAX_QUOTED]}...'"


@dataclass(frozen=True, slots=True, order=True)
class SourcePos:
    """A place in a flow file: 1-based line and column, as editors count them."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class FlowError:
    """One mistake in a flow file.

    `line`/`column` are 1-based; they are None only for problems that have no place
    inside a file (a folder without flow files, a file that cannot be read).
    `source_line` is the text of that line, for the caret display.
    """

    path: str
    line: int | None
    column: int | None
    message: str
    source_line: str | None = None
    warning: bool = False
    """A warning (`eslflow validate` still exits 0), not an error."""

    def __post_init__(self) -> None:
        # A value quoted in a message ('...') is cut, wherever the message was written, so
        # a 100 KB flow name or event name is not echoed whole.
        object.__setattr__(self, "message", _QUOTED.sub(_cut, self.message))

    def __str__(self) -> str:
        message = f"warning: {self.message}" if self.warning else self.message
        if self.line is None:
            return f"{self.path}: {message}"
        return f"{self.path}:{self.line}:{self.column}: {message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line or 0, self.column or 0, self.message)

    def display(self) -> str:
        """The error line, then the source line and a caret under the column."""
        if self.source_line is None or self.column is None:
            return str(self)
        text = self.source_line.rstrip("\r\n").expandtabs(1).translate(_UNPRINTABLE)
        column = self.column - 1
        if len(text) > MAX_SHOWN_LINE:
            # A window around the column, so a 1 MB line is not printed whole.
            start = max(0, min(column - MAX_SHOWN_LINE // 2, len(text) - MAX_SHOWN_LINE))
            end = start + MAX_SHOWN_LINE
            head = "..." if start > 0 else ""
            text = head + text[start:end] + ("..." if end < len(text) else "")
            column = column - start + len(head)
        caret = " " * column + "^"
        return f"{self}\n    {text}\n    {caret}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class FlowValidationError(Exception):
    """Every mistake found in a set of flow files; `errors` is sorted by place."""

    def __init__(self, errors: Iterable[FlowError]) -> None:
        self.errors: list[FlowError] = sorted(errors, key=FlowError.sort_key)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def display(self) -> str:
        """All errors with their source lines and carets, as `eslflow validate` prints them."""
        return "\n".join(e.display() for e in self.errors)


class FlowRuntimeError(Exception):
    """A flow failed while running: the message names flow, step and position."""


class UnsafeSubstitutionError(FlowRuntimeError):
    """A substituted value would inject into a FreeSWITCH command (`${`, CR or LF)."""

    def __init__(self, message: str, *, origin: str) -> None:
        self.origin = origin
        super().__init__(message)


class ExpressionError(FlowRuntimeError):
    """An eslflow `${{ ... }}` expression failed while evaluating (bad type, bad index)."""


class ConditionTimeoutError(ExpressionError):
    """A condition's regex search ran past its time bound: the condition does not hold.

    `seconds` is the bound; the message names the condition's place and what it tested.
    """

    def __init__(self, message: str, *, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(message)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest valid word for a typo, or None when nothing is close.

    Case-insensitive, so `normal_clearing` finds `NORMAL_CLEARING`.
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` — did you mean 'x'?` when a near word exists, else an empty string."""
    near = suggest(word, choices)
    return f" — did you mean '{near}'?" if near is not None else ""


def one_of(choices: Sequence[str]) -> str:
    """`'a', 'b' or 'c'` for messages listing the valid words."""
    quoted = [f"'{c}'" for c in choices]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
