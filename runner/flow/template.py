"""Templates: text with `$1..$9` captures and `${{ expr }}` expressions, parsed once at load.

Three kinds of `$`, never confused (DESIGN.md, "Flow language principles"):
- `$1`..`$9`: regex captures of the flow's conditions, filled in by eslflow;
- `${name}` and `$${name}`: FreeSWITCH's own variables, passed through untouched so the
  switch expands them when it runs the application;
- `${{ expr }}`: eslflow's expression (see `expr.py`), evaluated by eslflow.
`$0`, `$10`-style text and a lone `$` are plain text (`$10` is `$1` then `0`, as in the
dialplan).

Rendering records where every substituted piece came from, so a refused value can be
named (`capture $1`, `event header Caller-Caller-ID-Name`, `variable job`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from runner.flow import expansion
from runner.flow.context import RenderContext
from runner.flow.errors import ExpressionError, UnsafeSubstitutionError
from runner.flow.expansion import Piece
from runner.flow.expr import Expression, ExprSyntaxError, RawStr, compile_expression, to_text
from runner.text import unsendable


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed; `offset` is the 0-based index in its text."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Literal:
    """Text taken as written (FreeSWITCH's `${var}` and `$${var}` included)."""

    text: str


@dataclass(frozen=True, slots=True)
class Capture:
    """`$n`: the n-th regex capture (1..9); `offset` is its index in the template text."""

    number: int
    offset: int


@dataclass(frozen=True, slots=True)
class Expr:
    """`${{ expr }}`; `offset` is the index of the `$` in the template text."""

    expression: Expression
    offset: int


Part = Literal | Capture | Expr


class Guard(enum.Flag):
    """What a rendered value must not contain, by where it goes on the wire.

    Use the presets: `TEXT` (logs), `BODY` (a content-length framed body), `HEADER` (a
    header line of `sendevent`/`sendmsg`), `APP_ARG` (an application argument, which
    FreeSWITCH expands), `APP_LINE` (the same on one line: xferext), `DIAL_ARG` (an
    application argument that is a dial string: bridge), `COMMAND` (an `api`/`bgapi` line).
    """

    NONE = 0
    NO_BREAK_IN_VALUES = 1
    """No CR or LF in any substituted value."""
    SINGLE_LINE = 2
    """No CR or LF anywhere in the result."""
    NO_EXPANSION = 4
    """No value takes part in opening a `${`/`$${` (after any number of expansion passes)
    or in an escape the expander rewrites, unless the value is raw (expansion.py)."""
    NO_SCOPE = 8
    """No value in a leading `%[...]`, which sets scope variables for the application."""
    FIXED_SHAPE = 16
    """No value adds arguments, applications or call legs (spaces, `&`, `{`, `,`, ...)."""
    FIXED_DIAL = 32
    """No value adds call legs or channel variables to a dial string (`,`, `|`, `{`, ...)."""
    WHOLE_BYTES = 64
    """Every value has bytes FreeSWITCH reads whole: no NUL, no lone surrogate."""

    TEXT = NONE
    BODY = WHOLE_BYTES
    HEADER = NO_BREAK_IN_VALUES | SINGLE_LINE | WHOLE_BYTES
    APP_ARG = NO_BREAK_IN_VALUES | NO_EXPANSION | NO_SCOPE | WHOLE_BYTES
    APP_LINE = APP_ARG | SINGLE_LINE
    DIAL_ARG = APP_ARG | FIXED_DIAL
    COMMAND = NO_BREAK_IN_VALUES | SINGLE_LINE | NO_EXPANSION | FIXED_SHAPE | WHOLE_BYTES


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered template: its text and the substituted pieces in it."""

    text: str
    pieces: tuple[Piece, ...]


def _breaks(text: str) -> bool:
    return "\r" in text or "\n" in text


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template. Build with `Template.parse(text)`; render with a `RenderContext`."""

    source: str
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Split `text` into parts; TemplateSyntaxError for a broken `${{ ... }}`."""
        return cls(source=text, parts=tuple(_parse(text)))

    @property
    def is_literal(self) -> bool:
        """True when nothing is substituted: the text goes out as written."""
        return all(isinstance(part, Literal) for part in self.parts)

    @property
    def capture_refs(self) -> frozenset[int]:
        """The capture numbers used, by `$n` or `captures[n]`."""
        found: set[int] = set()
        for part in self.parts:
            if isinstance(part, Capture):
                found.add(part.number)
            elif isinstance(part, Expr):
                found |= part.expression.capture_refs
        return frozenset(found)

    @property
    def var_refs(self) -> frozenset[str]:
        """The flow variables read by the expressions, by constant name."""
        found: set[str] = set()
        for part in self.parts:
            if isinstance(part, Expr):
                found |= part.expression.var_refs
        return frozenset(found)

    @property
    def expansion_holes(self) -> tuple[Capture | Expr, ...]:
        """Captures and expressions written inside a FreeSWITCH `${...}` of the flow's own
        text (`${$1}`): the value would choose what FreeSWITCH expands."""
        layout = [(p.text, True) if isinstance(p, Literal) else ("", False) for p in self.parts]
        found: list[Capture | Expr] = []
        for index in expansion.template_holes(layout):
            part = self.parts[index]
            assert not isinstance(part, Literal)
            found.append(part)
        return tuple(found)

    def evaluate(self, ctx: RenderContext, *, where: Where = "") -> object:
        """The value for `set`: a template that is exactly one `${{ }}` keeps its type."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Expr):
            return _evaluate(self.parts[0].expression, ctx, where)
        return self.render(ctx, where=where).text

    def render(
        self,
        ctx: RenderContext,
        *,
        guard: Guard = Guard.TEXT,
        raw: bool = False,
        where: Where = "",
    ) -> Rendered:
        """Substitute captures and expressions, then enforce `guard`.

        `raw=True` (the step is marked `raw: true`) lifts the `${` check but never the
        CR/LF checks. `where` prefixes error messages (the step's description, e.g.
        `flows/x.yaml:12:7: flow 'support-line' step execute`; pass the step itself to
        have it asked only when there is an error). Raises UnsafeSubstitutionError
        for a refused value and ExpressionError for a failing expression.
        """
        chunks: list[str] = []
        pieces: list[Piece] = []
        length = 0
        for part in self.parts:
            if isinstance(part, Literal):
                chunks.append(part.text)
                length += len(part.text)
                continue
            if isinstance(part, Capture):
                number = part.number
                value = ctx.captures[number - 1] if number <= len(ctx.captures) else ""
                origin = f"capture ${number}"
                trusted = False
            else:
                result = _evaluate(part.expression, ctx, where)
                value = _text(result, part.expression, where)
                origin = part.expression.origin
                trusted = isinstance(result, RawStr)
            chunks.append(value)
            pieces.append(Piece(length, length + len(value), origin, trusted))
            length += len(value)
        text = "".join(chunks)
        if guard:
            _enforce(text, pieces, guard, raw, where)
        return Rendered(text, tuple(pieces))


class HasWhere(Protocol):
    """Something that can say where it is written (a step: `flows/x.yaml:12:7: ...`)."""

    @property
    def where(self) -> str: ...


Where = str | HasWhere
"""Text for error messages, or an object asked for it only when an error happens."""


def _prefix(where: Where) -> str:
    label = where if isinstance(where, str) else where.where
    return f"{label}: " if label else ""


def _evaluate(expression: Expression, ctx: RenderContext, where: Where) -> object:
    try:
        return expression.evaluate(ctx)
    except ExpressionError as exc:
        prefix = _prefix(where)
        if not prefix:
            raise
        raise ExpressionError(f"{prefix}{exc}") from None


def _text(value: object, expression: Expression, where: Where) -> str:
    try:
        return to_text(value)
    except ExpressionError as exc:
        raise ExpressionError(f"{_prefix(where)}expression `{expression.source}`: {exc}") from None


def _enforce(text: str, pieces: list[Piece], guard: Guard, raw: bool, where: Where) -> None:
    if Guard.NO_BREAK_IN_VALUES in guard:
        for piece in pieces:
            if _breaks(text[piece.start : piece.end]):
                raise UnsafeSubstitutionError(
                    f"{_prefix(where)}value from {piece.origin} contains a line break (CR or LF); "
                    "refused: on the wire it would end this command and start another",
                    origin=piece.origin,
                )
    if Guard.WHOLE_BYTES in guard:
        for piece in pieces:
            reason = unsendable(text[piece.start : piece.end])
            if reason is not None:
                raise UnsafeSubstitutionError(
                    f"{_prefix(where)}value from {piece.origin} {reason}; refused: it cannot "
                    "reach FreeSWITCH as it is",
                    origin=piece.origin,
                )
    if Guard.SINGLE_LINE in guard and _breaks(text):
        raise UnsafeSubstitutionError(
            f"{_prefix(where)}text contains a line break (CR or LF); refused: it must be one line",
            origin="template text",
        )
    if raw or not pieces:
        return
    if Guard.NO_EXPANSION in guard:
        culprit = expansion.expansion_culprit(text, pieces)
        if culprit is not None:
            raise UnsafeSubstitutionError(
                f"{_prefix(where)}value from {culprit.origin} would put '${{' into the "
                "command, and FreeSWITCH expands ${...} when it runs it "
                f"(${{system(...)}} runs a shell command); refused — {_TRUSTED}",
                origin=culprit.origin,
            )
        found = expansion.rewrite_culprit(text, pieces)
        if found is not None:
            culprit, escape = found
            raise UnsafeSubstitutionError(
                f"{_prefix(where)}value from {culprit.origin} would put the escape "
                f"'{escape}' into the command, which FreeSWITCH's expander rewrites "
                f"(\\\\ to \\, \\$ to $, \\' dropped, $$ to $): the value would not "
                f"arrive as sent; refused — {_TRUSTED}",
                origin=culprit.origin,
            )
    if Guard.NO_SCOPE in guard:
        culprit = expansion.scope_culprit(text, pieces)
        if culprit is not None:
            raise UnsafeSubstitutionError(
                f"{_prefix(where)}value from {culprit.origin} would start the argument with "
                "'%[', which FreeSWITCH reads as scope variables for the application, not as "
                f"its argument; refused — {_TRUSTED}",
                origin=culprit.origin,
            )
    if Guard.FIXED_SHAPE in guard or Guard.FIXED_DIAL in guard:
        dial = Guard.FIXED_SHAPE not in guard
        shape = expansion.shape_culprit(text, pieces, dial_string=dial)
        if shape is not None:
            culprit, char = shape
            raise UnsafeSubstitutionError(
                f"{_prefix(where)}value from {culprit.origin} contains {_describe(char)}, "
                f"which FreeSWITCH's commands read as {_meaning(char)}; refused: it could add "
                f"arguments, applications or call legs to the command — {_TRUSTED}",
                origin=culprit.origin,
            )


_TRUSTED = "only if the value is trusted, mark the step `raw: true` or wrap it in raw(...)"

_MEANINGS = {
    **dict.fromkeys("'\"\\", "quoting or an escape"),
    "^": "a change of argument delimiter (^^x)",
    **dict.fromkeys("&()", "an application to run (&app(args))"),
    **dict.fromkeys("{}[]<>", "a block of channel variables"),
    **dict.fromkeys([",", "|", expansion.ENTERPRISE], "a separator between call legs"),
    ";": "a separator of URI parameters",
}


def _describe(char: str) -> str:
    if char == " ":
        return "a space"
    if char.isspace():
        return f"whitespace ({char!r})"
    return f"'{char}'"


def _meaning(char: str) -> str:
    return "an argument separator" if char.isspace() else _MEANINGS[char]


def _parse(text: str) -> list[Part]:
    parts: list[Part] = []
    literal: list[str] = []

    def flush() -> None:
        joined = "".join(literal)
        literal.clear()
        if joined:
            parts.append(Literal(joined))

    index = 0
    while index < len(text):
        dollar = text.find("$", index)
        if dollar == -1:
            literal.append(text[index:])
            break
        literal.append(text[index:dollar])
        following = text[dollar + 1 : dollar + 2]
        if text.startswith("$${", dollar):
            # FreeSWITCH's preprocessor variable: kept as written.
            literal.append("$${")
            index = dollar + 3
        elif text.startswith("${{", dollar):
            close, expression = _parse_expression(text, dollar)
            flush()
            parts.append(Expr(expression, dollar))
            index = close + 2
        elif "1" <= following <= "9":
            flush()
            parts.append(Capture(int(following), dollar))
            index = dollar + 2
        else:
            literal.append("$")
            index = dollar + 1
    flush()
    return parts


def _parse_expression(text: str, dollar: int) -> tuple[int, Expression]:
    """Compile the expression of the `${{` at `dollar`; returns the index of its `}}`.

    The first `}}` after which the text compiles closes it, so a `}}` inside a string
    literal of the expression does not end it early.
    """
    body_start = dollar + 3
    close = text.find("}}", body_start)
    if close == -1:
        raise TemplateSyntaxError("'${{' is not closed: expected '}}'", dollar)
    first_error: ExprSyntaxError | None = None
    first_close = close
    while close != -1:
        try:
            return close, compile_expression(text[body_start:close])
        except ExprSyntaxError as exc:
            if first_error is None:
                first_error = exc
                first_close = close
        close = text.find("}}", close + 1)
    assert first_error is not None
    offset = min(body_start + first_error.offset, first_close)
    raise TemplateSyntaxError(str(first_error), offset)
