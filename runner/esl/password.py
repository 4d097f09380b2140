"""The event socket password as it may be sent: one check for every place it comes from.

A password read from an environment file written on Windows ends in CR LF, and one
from `$(cat file)` or a YAML block scalar may end in LF; FreeSWITCH compares the whole
`auth` line, so such a password never matches, and a line break in it would end the
`auth` command early. One trailing CR LF or LF is dropped; an empty password and any
other control character are refused. Errors name where the password came from and
never show it, not even in part.
"""

from __future__ import annotations

import re

from runner.esl.errors import EslUsageError

# C0 controls, DEL and C1 controls: none can be typed into a password on purpose, and
# CR/LF would end the command (mod_event_socket.c reads a command up to a blank line).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class PasswordError(EslUsageError):
    """A password that cannot be sent; the message names its source, never its value."""


def clean_password(value: str, source: str) -> str:
    """`value` with one trailing CR LF or LF removed; PasswordError naming `source` when
    what is left is empty or holds a control character."""
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    if not value:
        raise PasswordError(f"{source} is empty")
    found = _CONTROL.search(value)
    if found is not None:
        what = "a line break" if found.group() in "\r\n" else "a control character"
        raise PasswordError(f"{source} holds {what}")
    return value
