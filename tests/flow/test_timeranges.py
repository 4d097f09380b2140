"""Time specs as the dialplan writes them, and their errors with offsets."""

import pytest

from runner.flow.timeranges import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    Ranges,
    TimeSpecError,
    parse_date_times,
    parse_dates,
    parse_numbers,
    parse_time_of_day,
)


def wday(text: str) -> Ranges:
    return parse_numbers(text, "wday", 1, 7, WEEKDAYS, WEEKDAY_NAMES)


def test_numbers_names_lists_and_ranges() -> None:
    assert wday("mon-fri") == Ranges(((2, 6),))
    assert wday("1,7") == Ranges(((1, 1), (7, 7)))
    assert wday("Sat-SUN") == Ranges(((7, 1),))
    assert [day for day in range(1, 8) if day in wday("fri-mon")] == [1, 2, 6, 7]
    assert parse_numbers(" 9 - 17 ", "hour", 0, 23) == Ranges(((9, 17),))


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("mon-fir", "unknown wday 'fir' — did you mean 'fri'? (use 1-7 or sun..sat)", 4),
        ("8", "wday 8 is out of range 1-7", 0),
        ("mon,,fri", "empty item in the list", 4),
    ],
)
def test_wday_errors(text: str, message: str, offset: int) -> None:
    with pytest.raises(TimeSpecError) as caught:
        wday(text)
    assert (str(caught.value), caught.value.offset) == (message, offset)


def test_number_errors() -> None:
    with pytest.raises(TimeSpecError, match=r"^hour: expected a number 0-23, got 'nine'$"):
        parse_numbers("nine", "hour", 0, 23)


def test_time_of_day() -> None:
    ranges = parse_time_of_day("08:00-12:30, 13:30:15-17:00")
    assert ranges == Ranges(((28800, 45000), (48615, 61200)))
    for text, message in [
        ("08:00", "expected a range like 08:00-17:00, got '08:00'"),
        ("8-17", "expected a time like 08:00 or 17:30:00, got '8'"),
        ("08:00-24:00", "'24:00' is not a time of day"),
    ]:
        with pytest.raises(TimeSpecError) as caught:
            parse_time_of_day(text)
        assert str(caught.value) == message


def test_dates() -> None:
    assert parse_dates("2025-01-01~2025-01-02") == Ranges(((739252, 739253),))
    with pytest.raises(TimeSpecError, match=r"^expected a date like 2024-12-24, got '2025-13-01'$"):
        parse_dates("2025-13-01")
    with pytest.raises(TimeSpecError, match="ends before it starts"):
        parse_dates("2025-01-02~2025-01-01")


def test_date_times() -> None:
    with pytest.raises(TimeSpecError, match=r"^expected a range like"):
        parse_date_times("2025-01-01 10:00")
    with pytest.raises(TimeSpecError, match="give the zone with tz:"):
        parse_date_times("2025-01-01 10:00+01:00~2025-01-02 10:00")
    with pytest.raises(TimeSpecError, match="ends before it starts"):
        parse_date_times("2025-01-02 10:00~2025-01-01 10:00")
