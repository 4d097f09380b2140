"""Durations as flows write them (`500ms`, `10s`, `2m`, `1h`), parsed once at load to seconds."""

from __future__ import annotations

import re
from typing import Final

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|h)$"
DURATION_HELP = "a duration like 500ms, 10s, 2m or 1h"


MAX_DURATION: Final = 1e9
"""Longest duration, in seconds (about 31 years): past it a timer is a mistake, and
`9...9h` with hundreds of digits would read as infinity."""

_SHOWN: Final = 40


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError with the reason when it is not a positive duration."""
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"expected {DURATION_HELP}, got '{shown}'")
    seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got '{shown}'")
    if not seconds <= MAX_DURATION:
        raise ValueError(f"a duration must be at most 1000000000s (about 31 years), got '{shown}'")
    return seconds
