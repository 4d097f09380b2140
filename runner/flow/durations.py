"""Durations as flows write them (`500ms`, `10s`, `2m`, `1h`), parsed once at load to seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|h)$"
DURATION_HELP = "a duration like 500ms, 10s, 2m or 1h"


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError with the reason when it is not a positive duration."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"expected {DURATION_HELP}, got '{text}'")
    seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got '{text}'")
    return seconds
