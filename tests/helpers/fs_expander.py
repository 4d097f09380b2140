"""A model of one pass of FreeSWITCH's variable expander, to test the guard against.

Written from reading `switch_channel_expand_variables_check` (src/switch_channel.c) and
the gates it calls first (`switch_string_var_check_const` in src/include/switch_utils.h,
`switch_string_has_escaped_data` in src/include/switch_utils.h); tests/realfs checks it
against a real FreeSWITCH 1.10.12. Every variable is undefined (expands to nothing);
each expansion is counted.
"""

from __future__ import annotations


def would_expand(text: str) -> bool:
    """The first gate: a `$` then any backslashes then `{`."""
    dollar = False
    for char in text:
        if char == "$":
            dollar = True
        elif dollar and char == "{":
            return True
        elif char != "\\":
            dollar = False
    return False


def has_escapes(text: str) -> bool:
    """The second gate: a backslash before `\\`, `n`, `s`, `t` or `'`."""
    return any(
        text[i] == "\\" and text[i + 1 : i + 2] in {"\\", "n", "s", "t", "'"}
        for i in range(len(text))
    )


def expand_once(text: str) -> tuple[str, int]:
    """One pass: the text FreeSWITCH makes of `text`, and how many expansions it ran."""
    if not (would_expand(text) or has_escapes(text)):
        return text, 0
    out: list[str] = []
    count = 0
    i, n = 0, len(text)
    while i < n:
        literal_dollar = False
        if text[i] == "\\" and i + 1 < n:
            following = text[i + 1]
            if following == "$":
                literal_dollar = True
                i += 1
                if text[i + 1 : i + 2] == "$":
                    i += 1
            elif following == "'":
                i += 2
                continue
            elif following == "\\":
                out.append("\\")
                i += 2
                continue
        opens = False
        if text[i] == "$" and not literal_dollar:
            if text[i + 1 : i + 2] == "$":
                i += 1  # `$${`: a global variable; `$$x`: one `$` goes
            if text[i + 1 : i + 2] == "{":
                opens = True
        if not opens:
            out.append(text[i])
            i += 1
            continue
        count += 1
        j = i + 2
        depth = 1
        while j < n:
            if depth == 1 and text[j] == "}":
                j += 1
                break
            if text[j] == "{" and j != i + 2:
                depth += 1
            elif depth > 1 and text[j] == "}":
                depth -= 1
            j += 1
        i = j
        # The character after the `}` is copied as it is, unless it starts another `$`.
        if i < n and text[i] != "$":
            out.append(text[i])
            i += 1
    return "".join(out), count


def expand(text: str, passes: int) -> tuple[str, int]:
    """`passes` passes (set: 2; api `expand` adds one each time)."""
    total = 0
    for _ in range(passes):
        text, count = expand_once(text)
        total += count
    return text, total
