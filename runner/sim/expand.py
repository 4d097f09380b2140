"""Channel-variable expansion as the simulator does it: ``${var}`` and ``$${var}`` only.

FreeSWITCH (switch_channel_expand_variables) also runs ``${api(args)}``; the simulator
has no API side effects to offer there, so such a reference expands to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_VAR_REF = re.compile(r"\$\$\{([^{}]*)\}|\$\{([^{}]*)\}")


def expand(
    text: str | None, channel_var: Callable[[str], str | None], globals_: Mapping[str, str]
) -> str | None:
    """``${name}`` from the channel (then the globals), ``$${name}`` from the globals."""
    if text is None or "$" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return globals_.get(match.group(1), "")
        name = match.group(2)
        if "(" in name:
            return ""
        value = channel_var(name)
        return value if value is not None else globals_.get(name, "")

    return _VAR_REF.sub(repl, text)
