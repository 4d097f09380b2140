"""Reading a header of an event the way FreeSWITCH does: exact name first, then any case.

FreeSWITCH looks event headers up case-insensitively (`switch_event_get_header` hashes
names with `switch_ci_hashfunc_default`), so `caller-destination-number` finds
`Caller-Destination-Number`; flows behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name`, or None when the event does not carry it."""
    value = headers.get(name)
    if value is not None:
        return value
    folded = name.casefold()
    for key, candidate in headers.items():
        if key.casefold() == folded:
            return candidate
    return None
