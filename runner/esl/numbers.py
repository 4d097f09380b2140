"""Reading the decimal numbers a peer writes in header values, without trusting them.

`str.isdigit()` is true for '²' and other Unicode digits that `int()` refuses (and
`int()` takes '٣' as 3); `int()` also refuses more than 4,300 digits with a ValueError.
FreeSWITCH writes these fields with `%d`/`%" SWITCH_SIZE_T_FMT "` and reads them with
`atoi` (libesl's esl_event.c, mod_event_socket.c): plain ASCII. Every number the codec
reads from the wire goes through `ascii_int`, which never raises.
"""

from __future__ import annotations

# Numbers with more digits than this read as SATURATED: no length, level or time that
# FreeSWITCH sends comes close, and a caller comparing with a limit sees it over.
_MAX_DIGITS = 18
SATURATED = 10**_MAX_DIGITS
_SPACE = " \t\r\n\v\f"


def ascii_int(value: str | bytes, *, signed: bool = False) -> int | None:
    """The integer `value` spells in ASCII digits; None if it spells none.

    Spaces around the number are allowed, a leading '-' only if `signed`. Anything
    else (Unicode digits, signs, '12x', '') is None, and a number of more than 18
    significant digits is `SATURATED` rather than an `int()` of unbounded cost.
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip(_SPACE)
    negative = signed and text[:1] == "-"
    if negative:
        text = text[1:]
    if not (text.isascii() and text.isdigit()):
        return None
    text = text.lstrip("0")
    number = SATURATED if len(text) > _MAX_DIGITS else int(text or "0")
    return -number if negative else number
