"""Text from the wire, made safe to print: one line, every byte accounted for.

Values a caller controls (a name, a variable, a log step's output) reach logs, traces,
reports and the shell. Decoded with surrogateescape, they may hold bytes that are not
UTF-8; and they may hold CR/LF, terminal escapes or Unicode line separators that would
forge a line or move a terminal's cursor. `printable` escapes all of those for text
meant for people; `json_line` makes a JSON line that is valid UTF-8, decodes back to
the same strings, and stays one line for any splitter.
"""

from __future__ import annotations

import json
import re

# C0 and C1 controls, DEL, the Unicode line and paragraph separators (some viewers break
# lines there) and surrogates (bytes that were not UTF-8, or no bytes at all).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a surrogate escape: the byte it stands for
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` on one line: control characters and undecodable bytes as backslash escapes."""
    return _UNPRINTABLE.sub(_escape_char, text)


# What json.dumps(ensure_ascii=False) leaves raw but should not be: surrogates (not
# UTF-8), and DEL, C1 controls and U+2028/U+2029, where str.splitlines() and some
# viewers break a line. They only occur inside JSON strings, where \\uXXXX is valid.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def json_line(data: object) -> str:
    """`data` as one JSON line that is valid UTF-8 and that no line splitter breaks."""
    text = json.dumps(data, ensure_ascii=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Surrogate escapes U+DC80..U+DCFF are the bytes 0x80..0xFF the codec could not decode
# (surrogateescape); every other surrogate has no byte form.
LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def unsendable(value: str) -> str | None:
    """Why `value` cannot go to FreeSWITCH as it is (None when it can): a NUL, which
    mod_event_socket reads as the end of a C string, or a surrogate that stands for no
    byte (a JSON event's `\\ud800`)."""
    if "\0" in value:
        return "holds a NUL byte (FreeSWITCH would cut it there)"
    if not value.isascii() and LONE_SURROGATE.search(value):
        return "holds a lone surrogate that stands for no byte"
    return None
