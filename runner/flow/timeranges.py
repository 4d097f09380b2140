"""Time-of-day specs of `time:` conditions, read the way FreeSWITCH's dialplan reads them.

As in the dialplan (`switch_xml.c` time matching): `wday` 1-7 with 1 = Sunday (or
`sun`..`sat`), `mon` 1-12 (or `jan`..`dec`), `mday` 1-31, `yday` 1-366, `hour` 0-23,
`minute` 0-59, `minute-of-day` 1-1440 (00:00 is minute 1), `time-of-day` `HH:MM[:SS]`
ranges; lists with commas, ranges inclusive (`hour: 9-17` holds from 09:00 to 17:59).
Beyond the dialplan: a range whose start is after its end wraps around (`wday: fri-mon`,
`time-of-day: 22:00-06:00`), and `date` takes `YYYY-MM-DD` days and `~` ranges.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from runner.flow.errors import did_you_mean

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class TimeSpecError(ValueError):
    """A time spec that cannot be read; `offset` is the index of the bad item in the text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.offset = offset
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Ranges:
    """Inclusive integer ranges; a range with start > end wraps (`22-6` is 22..max, 0..6)."""

    spans: tuple[tuple[int, int], ...]

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        for low, high in self.spans:
            if low <= high:
                if low <= value <= high:
                    return True
            elif value >= low or value <= high:
                return True
        return False


def _items(text: str, separator: str = ",") -> list[tuple[str, int]]:
    """Comma-separated items with the index where each starts in `text`."""
    items: list[tuple[str, int]] = []
    start = 0
    for piece in text.split(separator):
        stripped = piece.strip()
        offset = start + (len(piece) - len(piece.lstrip()))
        if not stripped:
            raise TimeSpecError("empty item in the list", offset)
        items.append((stripped, offset))
        start += len(piece) + len(separator)
    return items


def parse_numbers(
    text: str,
    key: str,
    low: int,
    high: int,
    names: Sequence[str] = (),
    long_names: Sequence[str] = (),
) -> Ranges:
    """`9-17`, `1,3,5-7`, `mon-fri`: numbers (or names, the first being `low`) in low..high."""

    def number(word: str, offset: int) -> int:
        lowered = word.lower()
        if lowered in names:
            return names.index(lowered) + low
        if lowered in long_names:
            return long_names.index(lowered) + low
        if re.fullmatch(r"\d+", word):
            value = int(word)
            if not low <= value <= high:
                raise TimeSpecError(f"{key} {value} is out of range {low}-{high}", offset)
            return value
        if names:
            raise TimeSpecError(
                f"unknown {key} '{word}'{did_you_mean(lowered, [*names, *long_names])} "
                f"(use {low}-{high} or {names[0]}..{names[-1]})",
                offset,
            )
        raise TimeSpecError(f"{key}: expected a number {low}-{high}, got '{word}'", offset)

    spans: list[tuple[int, int]] = []
    for item, offset in _items(text):
        first, dash, last = item.partition("-")
        start = number(first.strip(), offset)
        end = number(last.strip(), offset + len(first) + 1) if dash else start
        spans.append((start, end))
    return Ranges(tuple(spans))


WEEKDAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _seconds(word: str, offset: int) -> int:
    found = _CLOCK.fullmatch(word)
    if found is None:
        raise TimeSpecError(f"expected a time like 08:00 or 17:30:00, got '{word}'", offset)
    hour, minute, second = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeSpecError(f"'{word}' is not a time of day", offset)
    return hour * 3600 + minute * 60 + second


def parse_time_of_day(text: str) -> Ranges:
    """`08:00-17:00,19:00-20:30`: ranges of seconds of the day, ends included."""
    spans: list[tuple[int, int]] = []
    for item, offset in _items(text):
        first, dash, last = item.partition("-")
        if not dash:
            raise TimeSpecError(f"expected a range like 08:00-17:00, got '{item}'", offset)
        start = _seconds(first.strip(), offset)
        end = _seconds(last.strip(), offset + len(first) + 1)
        spans.append((start, end))
    return Ranges(tuple(spans))


def _day(word: str, offset: int) -> int:
    try:
        return dt.date.fromisoformat(word).toordinal()
    except ValueError:
        raise TimeSpecError(f"expected a date like 2024-12-24, got '{word}'", offset) from None


def parse_dates(text: str) -> Ranges:
    """`2024-12-24,2024-12-31~2025-01-01`: days and `~` ranges of days, ends included."""
    spans: list[tuple[int, int]] = []
    for item, offset in _items(text):
        first, tilde, last = item.partition("~")
        start = _day(first.strip(), offset)
        end = _day(last.strip(), offset + len(first) + 1) if tilde else start
        if end < start:
            raise TimeSpecError(f"date range '{item}' ends before it starts", offset)
        spans.append((start, end))
    return Ranges(tuple(spans))


def _moment(word: str, offset: int) -> int:
    try:
        moment = dt.datetime.fromisoformat(word)
    except ValueError:
        raise TimeSpecError(
            f"expected a date and time like 2024-12-24 18:00, got '{word}'", offset
        ) from None
    if moment.tzinfo is not None:
        raise TimeSpecError(f"'{word}': give the zone with tz:, not in the time", offset)
    return moment_seconds(moment)


def moment_seconds(moment: dt.datetime) -> int:
    """Seconds since year 1 of a wall-clock time (time zone ignored)."""
    return moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second


def parse_date_times(text: str) -> Ranges:
    """`2024-12-24 18:00~2024-12-27 08:00`: wall-clock ranges, as the dialplan's date-time."""
    spans: list[tuple[int, int]] = []
    for item, offset in _items(text, ","):
        first, tilde, last = item.partition("~")
        if not tilde:
            raise TimeSpecError(
                f"expected a range like 2024-12-24 18:00~2024-12-27 08:00, got '{item}'", offset
            )
        start = _moment(first.strip(), offset)
        end = _moment(last.strip(), offset + len(first) + 1)
        if end < start:
            raise TimeSpecError(f"date-time range '{item}' ends before it starts", offset)
        spans.append((start, end))
    return Ranges(tuple(spans))
