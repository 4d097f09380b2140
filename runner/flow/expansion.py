"""What FreeSWITCH does to the text eslflow sends, and which substituted values may not go.

FreeSWITCH expands `${...}` in application arguments and in some api commands, and may do
so more than once (`set` expands what `execute` already expanded; `expand`, `eval` and
`originate ... &app(...)` add passes). The expander (`switch_channel_expand_variables_check`
in src/switch_channel.c) also rewrites escapes: `\\'` vanishes, `\\\\` becomes `\\`, `\\$`
becomes `$`. So `$\\'{system(id)}` is `${system(id)}` after one pass and runs on the next.
A `{` can only ever open an expansion if the run of `$`, `\\` and `'` characters right
before it holds a `$`: those are the only characters a pass deletes, and only a `${...}`
(which needs such a `$`) produces new text. That gives a rule that holds for any number
of passes, checked over the whole rendered string so that a value and the flow's text
cannot build the sequence between them. docs/flow-language.md, "What reaches the switch".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

RUN_CHARS: Final = "$\\'"
"""Characters that may vanish between a `$` and a `{`: the expander's escapes
(switch_channel.c) and switch_separate_string's quotes (switch_utils.c)."""

REWRITTEN: Final = ("\\\\", "\\'", "\\$")
"""Escapes the expander rewrites (switch_channel_expand_variables_check)."""

SHAPE_CHARS: Final = frozenset("'\"\\^&(){}[]<>,|;")
"""Characters with a meaning in api command lines: quotes and escapes and the `^^x`
delimiter of switch_separate_string (src/switch_utils.c), originate's `&app(args)`,
`{...}`/`[...]`/`<...>` variable blocks and `,`/`|` leg separators
(src/switch_ivr_originate.c), `;` URI parameters."""

DIAL_CHARS: Final = frozenset("'\"\\^{}[]<>,|;")
"""Characters with a meaning in a dial string (bridge's argument): variable blocks and
their `,`/quotes/escapes (switch_event_create_brackets), leg separators, URI parameters.
Spaces and `&()` are plain text there."""

ENTERPRISE: Final = ":_:"
"""originate's enterprise separator (src/switch_ivr_originate.c)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """A substituted span `text[start:end]` of a rendered template and where it came from."""

    start: int
    end: int
    origin: str
    raw: bool


def openers(text: str) -> Iterator[int]:
    """Indexes of the `{` that open (now or after some passes) a FreeSWITCH expansion."""
    brace = text.find("{")
    while brace != -1:
        start = run_start(text, brace)
        if "$" in text[start:brace]:
            yield brace
        brace = text.find("{", brace + 1)


def run_start(text: str, brace: int) -> int:
    """Start of the run of `$`, `\\`, `'` characters that ends just before `brace`."""
    start = brace
    while start > 0 and text[start - 1] in RUN_CHARS:
        start -= 1
    return start


def closer(text: str, brace: int) -> int:
    """Index of the `}` that closes the expansion opened at `brace` (len(text) if none).

    Nested braces count, as switch_channel_expand_variables_check counts them (not a
    `{` right after the opening one); an unclosed expansion runs to the end of the text
    (and is still expanded).
    """
    depth = 1
    for index in range(brace + 1, len(text)):
        char = text[index]
        if char == "{" and index != brace + 1:
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def expansions(text: str) -> list[tuple[int, int]]:
    """(start of its `$` run, index of its `}`) of each top-level expansion in `text`."""
    spans: list[tuple[int, int]] = []
    end = -1
    for brace in openers(text):
        if brace > end:
            end = closer(text, brace)
            spans.append((run_start(text, brace), end))
    return spans


class Owners:
    """Which non-raw substituted piece (if any) each character of the text came from."""

    def __init__(self, text: str, pieces: Sequence[Piece]) -> None:
        self._owner: list[Piece | None] = [None] * len(text)
        for piece in pieces:
            if not piece.raw:
                for index in range(piece.start, piece.end):
                    self._owner[index] = piece

    def first(self, start: int, end: int) -> Piece | None:
        """The first value owning a character of `text[start:end]`."""
        for index in range(max(start, 0), min(end, len(self._owner))):
            owner = self._owner[index]
            if owner is not None:
                return owner
        return None


def expansion_culprit(text: str, pieces: Sequence[Piece]) -> Piece | None:
    """A value that takes part in opening an expansion: its `$`, escapes or `{`.

    Also refused: a value right after an expansion the flow wrote, as in `${x}$1`, where a
    value of `x` ending in `$` and a `$1` of `{system(id)}` meet on the second pass.
    """
    owners = Owners(text, pieces)
    closes = {end for _, end in expansions(text)}
    brace = text.find("{")
    while brace != -1:
        start = run_start(text, brace)
        if "$" in text[start:brace] or start - 1 in closes:
            culprit = owners.first(start, brace + 1)
            if culprit is not None:
                return culprit
        brace = text.find("{", brace + 1)
    return None


def rewrite_culprit(text: str, pieces: Sequence[Piece]) -> tuple[Piece, str] | None:
    """A value that takes part in an escape the expander rewrites, and that escape.

    `$$` counts too: when the expander runs over the text, `$$x` loses a `$`.
    """
    owners = Owners(text, pieces)
    index = text.find("$$")
    while index != -1:
        culprit = owners.first(index, index + 2)
        if culprit is not None:
            return culprit, "$$"
        index = text.find("$$", index + 1)
    index = text.find("\\")
    while index != -1:
        pair = text[index : index + 2]
        if pair in REWRITTEN:
            culprit = owners.first(index, index + 2)
            if culprit is not None:
                return culprit, pair
            index += 1  # `\\\\` is one escape: the next backslash is its second half
        index = text.find("\\", index + 1)
    return None


def scope_culprit(text: str, pieces: Sequence[Piece]) -> Piece | None:
    """A value in a leading `%[...]` or `%x[...]`: switch_core_session.c reads it, after
    expansion, as scope variables for the application (`%[var=val]arg`).

    The flow's own expansions at the start of the text may expand to anything (`%` or
    nothing included), so after them a value may not bring a `%` or a `[` either.
    """
    owners = Owners(text, pieces)
    if text.startswith("%"):
        bracket = 1 if text[1:2] == "[" else 2 if text[2:3] == "[" else 0
        if bracket:
            culprit = owners.first(0, bracket + 1)
            if culprit is not None:
                return culprit
    lead = 0
    for start, end in expansions(text):
        if start != lead:
            break
        lead = end + 1
        window = text[lead : lead + 3]
        if window.startswith("%") or "[" in window:
            culprit = owners.first(lead, lead + 3)
            if culprit is not None:
                return culprit
    return None


def shape_culprit(
    text: str, pieces: Sequence[Piece], *, dial_string: bool = False
) -> tuple[Piece, str] | None:
    """A value carrying what splits or extends an api command (SHAPE_CHARS, whitespace)
    or, with `dial_string`, a dial string (DIAL_CHARS); `:_:` in both."""
    for piece in pieces:
        if piece.raw:
            continue
        for char in text[piece.start : piece.end]:
            if dial_string:
                if char in DIAL_CHARS:
                    return piece, char
            elif char in SHAPE_CHARS or char.isspace():
                return piece, char
    owners = Owners(text, pieces)
    index = text.find(ENTERPRISE)
    while index != -1:
        culprit = owners.first(index, index + len(ENTERPRISE))
        if culprit is not None:
            return culprit, ENTERPRISE
        index = text.find(ENTERPRISE, index + 1)
    return None


def template_holes(parts: Sequence[tuple[str, bool]]) -> Iterator[int]:
    """Indexes (into `parts`) of substitutions written inside a flow's `${...}`.

    `parts` is the template as (text, is literal) in order. A substitution inside an
    expansion the flow's own text opened chooses what FreeSWITCH expands (`${$1}` with
    `$1` = `system(id)`), so such a template is refused when the flow loads.
    """
    text = ""
    for index, (part, literal) in enumerate(parts):
        if literal:
            text += part
            continue
        spans = expansions(text)
        if spans and spans[-1][1] == len(text):
            yield index
        text += "\0"  # a value: nothing the flow's text can count on
