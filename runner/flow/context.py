"""What a template or expression can see while a flow runs: the engine fills one per use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_EMPTY: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class RenderContext:
    """The data a flow instance exposes to `$1..$9` and `${{ ... }}`.

    - `captures`: the regex captures, `captures[0]` is `$1`.
    - `event`: headers of the current event: the triggering event until a step that waits
      for an event (execute with `wait: complete`, `wait`) makes its event current.
    - `trigger`: headers of the event that started the flow (the channel data in outbound mode).
    - `vars`: flow variables and saved results (`set`, `save:`, the flow's `vars:`).
    - `uuid`: the channel's uuid (`Unique-ID`), empty for events without a channel.
    """

    captures: Sequence[str] = ()
    event: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    trigger: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    vars: Mapping[str, object] = field(default_factory=dict)
    uuid: str = ""
