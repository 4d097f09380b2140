"""FreeSWITCH's variable expansion, as the simulator runs it on application arguments.

One pass of `switch_channel_expand_variables_check` (src/switch_channel.c): it runs only
when the text has a `$`, backslashes, `{` sequence or an escape (`\\\\`, `\\n`, `\\s`,
`\\t`, `\\'`); `\\'` is dropped, `\\\\` becomes `\\`, `\\$` a literal `$`; `${name}` and
`$${name}` take the variable, whose value (and name) is expanded again; braces nest; an
unclosed `${...` runs to the end; `${name:offset:length}` cuts the value. The simulator
runs no API: `${api(args)}` and `${api args}` expand to nothing. tests/realfs checks the
same rules against a real FreeSWITCH 1.10.12.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.sim.wire import c_atoi

Lookup = Callable[[str], str | None]

MAX_DEPTH = 100
"""switch_channel_expand_variables_check gives up (returns the text) past 100 levels."""


def expand(text: str, lookup: Lookup, depth: int = 0) -> str:
    """The text after one expansion pass, with variables from `lookup`."""
    if depth > MAX_DEPTH or not _needs_pass(text):
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        literal_dollar = False
        if text[i] == "\\" and i + 1 < n:
            following = text[i + 1]
            if following == "'":
                i += 2
                continue
            if following == "\\":
                out.append("\\")
                i += 2
                continue
            if following == "$":
                literal_dollar = True
                i += 2 if text[i + 2 : i + 3] == "$" else 1
        if text[i] != "$" or literal_dollar:
            out.append(text[i])
            i += 1
            continue
        if text[i + 1 : i + 2] == "$":
            i += 1  # `$${`: a global variable; `$$x`: one `$` goes
        if text[i + 1 : i + 2] != "{":
            out.append("$")
            i += 1
            continue
        end = _close(text, i + 2)
        out.append(_value(text[i + 2 : end], lookup, depth))
        i = end + 1
        # The character after the `}` is copied as it is, unless it starts another `$`.
        if i < n and text[i] != "$":
            out.append(text[i])
            i += 1
    return "".join(out)


def _needs_pass(text: str) -> bool:
    """switch_string_var_check_const or switch_string_has_escaped_data (switch_utils.h)."""
    if "$" not in text and "\\" not in text:
        return False
    dollar = False
    for index, char in enumerate(text):
        if char == "$":
            dollar = True
        elif dollar and char == "{":
            return True
        elif char != "\\":
            dollar = False
        if char == "\\" and text[index + 1 : index + 2] in {"\\", "n", "s", "t", "'"}:
            return True
    return False


def _close(text: str, start: int) -> int:
    """Index of the `}` closing a `${` whose name starts at `start` (len(text) if none)."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == "}":
            depth -= 1
            if depth == 0:
                return index
        elif char == "{" and index != start:
            depth += 1
    return len(text)


def _value(inner: str, lookup: Lookup, depth: int) -> str:
    """What `${inner}` becomes: a variable's (expanded) value, or nothing for an API."""
    for char in inner:
        if char in " (":
            return ""  # an API call: the simulator runs none
    name = expand(inner, lookup, depth + 1)
    offset = length = 0
    name, _, cut = name.partition(":")
    if cut:
        offset_text, _, length_text = cut.partition(":")
        offset, length = c_atoi(offset_text), c_atoi(length_text)
    name = name.partition("[")[0]
    value = lookup(name)
    if value is None:
        return ""
    value = expand(value, lookup, depth + 1)
    if offset >= 0 or -offset <= len(value):
        value = value[offset:]
    if 0 < length < len(value):
        value = value[:length]
    return value
