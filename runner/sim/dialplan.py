"""The simulated dialplan: destination-number regexes mapped to application lists.

The default reproduces the extensions the captures were taken with (README of
esl-captures): 9000 hands the call to an outbound socket in async mode, 9001 in sync
mode, 9002 answers and parks. Anything else in context ``default`` is parked unanswered,
which is what an inbound-mode ESL application usually expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Action = tuple[str, str | None]


@dataclass(frozen=True)
class Extension:
    """One extension: if ``destination`` (a regex) matches, run ``actions`` in order."""

    destination: str
    actions: tuple[Action, ...]
    context: str = "default"
    name: str = ""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.destination)
        except re.error as exc:
            raise ValueError(
                f"extension {self.name or self.destination!r}: bad regex: {exc}"
            ) from None
        object.__setattr__(self, "_regex", compiled)

    def matches(self, destination: str, context: str) -> bool:
        return context == self.context and self._regex.search(destination) is not None


class Dialplan:
    """First matching extension wins (like the XML dialplan with one condition each)."""

    def __init__(self, extensions: list[Extension]) -> None:
        self.extensions = list(extensions)

    def lookup(self, destination: str, context: str) -> list[Action] | None:
        for ext in self.extensions:
            if ext.matches(destination, context):
                return list(ext.actions)
        return None

    def prepend(self, extension: Extension) -> None:
        self.extensions.insert(0, extension)


DEFAULT_OUTBOUND_TARGET = "127.0.0.1:8084"


def default_dialplan(outbound_target: str = DEFAULT_OUTBOUND_TARGET) -> Dialplan:
    """The captures' extensions, plus a catch-all park in context ``default``."""
    return Dialplan(
        [
            Extension(
                "^9000$", (("socket", f"{outbound_target} async full"),), name="socket_async"
            ),
            Extension("^9001$", (("socket", f"{outbound_target} sync full"),), name="socket_sync"),
            Extension("^9002$", (("answer", None), ("park", None)), name="answer_park"),
            Extension("", (("park", None),), name="park"),
        ]
    )


def parse_action(text: str) -> Action:
    """``"playback /tmp/x.wav"`` -> ``("playback", "/tmp/x.wav")``; ``"answer"`` -> no data."""
    app, _, data = text.strip().partition(" ")
    return app, (data.strip() or None)
