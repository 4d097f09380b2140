"""The dialplan-like matcher: which conditions hold, and which captures fill $1..$9."""

import datetime as dt
from typing import Any

import pytest
from pydantic import TypeAdapter

from runner.flow.conditions import ConditionList, holds, match, static_groups
from runner.flow.context import RenderContext
from runner.flow.errors import ExpressionError

CONDITIONS = TypeAdapter(ConditionList)
UTC = dt.UTC
# Tuesday 2025-03-04 10:00 UTC = 11:00 in Berlin.
TUESDAY = dt.datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def when(*conditions: Any) -> Any:
    return CONDITIONS.validate_python(list(conditions))


def test_all_conditions_must_hold_and_the_regex_captures() -> None:
    conditions = when(
        {"field": "Caller-Destination-Number", "expression": r"^(1\d{3})$"},
        {"field": "variable_sip_from_host", "equals": "example.com"},
    )
    headers = {"Caller-Destination-Number": "1234", "variable_sip_from_host": "example.com"}
    assert match(conditions, headers, TUESDAY) == ("1234",)
    assert match(conditions, {**headers, "variable_sip_from_host": "evil.com"}, TUESDAY) is None
    assert match(conditions, {**headers, "Caller-Destination-Number": "12345"}, TUESDAY) is None


def test_no_conditions_match_everything_with_no_captures() -> None:
    assert match(when(), {}, TUESDAY) == ()


def test_regex_searches_like_the_dialplan() -> None:
    conditions = when({"field": "A", "expression": "PARK"})
    assert match(conditions, {"A": "CHANNEL_PARK"}, TUESDAY) == ()


def test_a_missing_header_is_an_empty_string() -> None:
    assert match(when({"field": "Nope", "expression": "^$"}), {}, TUESDAY) == ()
    assert match(when({"field": "Nope", "equals": ""}), {}, TUESDAY) == ()
    assert match(when({"field": "Nope", "expression": "."}), {}, TUESDAY) is None


def test_headers_are_found_whatever_their_case() -> None:
    conditions = when({"field": "caller-destination-number", "equals": "1000"})
    assert match(conditions, {"Caller-Destination-Number": "1000"}, TUESDAY) == ()


def test_the_last_regex_with_groups_supplies_the_captures() -> None:
    conditions = when(
        {"field": "A", "expression": "^(a)(b)$"},
        {"field": "B", "expression": "^c$"},  # no groups: keeps the earlier captures
        {"field": "C", "expression": "^(d)$"},
        {"field": "D", "expression": "^e$"},
    )
    headers = {"A": "ab", "B": "c", "C": "d", "D": "e"}
    assert match(conditions, headers, TUESDAY) == ("d",)
    assert static_groups(conditions) == 1


def test_groups_that_do_not_take_part_are_empty_and_only_nine_count() -> None:
    conditions = when({"field": "A", "expression": "^(x)?(y)$"})
    assert match(conditions, {"A": "y"}, TUESDAY) == ("", "y")
    eleven = when({"field": "A", "expression": "(.)" * 11})
    assert match(eleven, {"A": "abcdefghijk"}, TUESDAY) == tuple("abcdefghi")
    assert static_groups(eleven) == 9


def test_exists() -> None:
    assert holds(when({"field": "A", "exists": True}), {"A": ""}, TUESDAY)
    assert not holds(when({"field": "A", "exists": True}), {}, TUESDAY)
    assert holds(when({"field": "A", "exists": False}), {}, TUESDAY)
    assert holds(when({"field": "A"} | {"exists": True}), {"a": "1"}, TUESDAY)


def test_not_holds_when_its_conditions_do_not_and_captures_nothing() -> None:
    conditions = when(
        {"field": "A", "expression": "^(1)$"},
        {"not": {"field": "B", "expression": "^(x)$"}},
    )
    assert match(conditions, {"A": "1", "B": "y"}, TUESDAY) == ("1",)
    assert match(conditions, {"A": "1", "B": "x"}, TUESDAY) is None
    both = when({"not": [{"field": "A", "equals": "1"}, {"field": "B", "equals": "2"}]})
    assert holds(both, {"A": "1", "B": "3"}, TUESDAY)
    assert not holds(both, {"A": "1", "B": "2"}, TUESDAY)


def test_any_takes_the_captures_of_the_first_alternative_that_matches() -> None:
    conditions = when(
        {
            "any": [
                {"field": "A", "expression": "^(\\d)(\\d)$"},
                {"field": "B", "expression": "^(x)$"},
            ]
        }
    )
    assert match(conditions, {"A": "12", "B": "x"}, TUESDAY) == ("1", "2")
    assert match(conditions, {"A": "no", "B": "x"}, TUESDAY) == ("x",)
    assert match(conditions, {"A": "no", "B": "no"}, TUESDAY) is None
    assert static_groups(conditions) == 1  # what every alternative provides


def test_all_group_is_a_nested_list() -> None:
    conditions = when({"all": [{"field": "A", "equals": "1"}, {"field": "B", "expression": "(2)"}]})
    assert match(conditions, {"A": "1", "B": "2"}, TUESDAY) == ("2",)
    assert match(conditions, {"A": "0", "B": "2"}, TUESDAY) is None


def test_xor_needs_exactly_one() -> None:
    conditions = when({"xor": [{"field": "A", "equals": "1"}, {"field": "B", "equals": "1"}]})
    assert holds(conditions, {"A": "1", "B": "0"}, TUESDAY)
    assert holds(conditions, {"A": "0", "B": "1"}, TUESDAY)
    assert not holds(conditions, {"A": "1", "B": "1"}, TUESDAY)
    assert not holds(conditions, {"A": "0", "B": "0"}, TUESDAY)


def test_value_and_equals_take_templates_from_the_context() -> None:
    conditions = when(
        {"value": "${{ vars.digits }}", "expression": "^(\\d)(\\d+)$"},
        {"field": "Job-UUID", "equals": "${{ vars.job }}"},
    )
    context = RenderContext(vars={"digits": "123", "job": "j-1"})
    assert match(conditions, {"Job-UUID": "j-1"}, TUESDAY, context) == ("1", "23")
    assert match(conditions, {"Job-UUID": "j-2"}, TUESDAY, context) is None


def test_without_a_context_templates_see_the_headers_as_the_event() -> None:
    conditions = when({"value": "${{ event['A'] }}-${{ event['B'] }}", "equals": "1-2"})
    assert holds(conditions, {"A": "1", "B": "2"}, TUESDAY)


def test_equals_takes_a_yaml_number_as_text() -> None:
    assert holds(when({"field": "A", "equals": 1000}), {"A": "1000"}, TUESDAY)


def test_test_is_an_expression() -> None:
    conditions = when({"test": "int(vars.attempts) < 3"})
    assert holds(conditions, {}, TUESDAY, RenderContext(vars={"attempts": "2"}))
    assert not holds(conditions, {}, TUESDAY, RenderContext(vars={"attempts": 3}))


def test_an_expression_that_fails_raises() -> None:
    conditions = when({"test": "int(vars.attempts) < 3"})
    with pytest.raises(ExpressionError, match="int\\(\\): 'many' is not a whole number"):
        holds(conditions, {}, TUESDAY, RenderContext(vars={"attempts": "many"}))


# --- time -------------------------------------------------------------------------------


def at(spec: dict[str, Any], now: dt.datetime) -> bool:
    return holds(when({"time": spec}), {}, now)


def test_business_hours_in_a_time_zone() -> None:
    spec = {"wday": "mon-fri", "hour": "9-17", "tz": "Europe/Berlin"}
    assert at(spec, TUESDAY)  # 11:00 Berlin
    assert at(spec, TUESDAY.replace(hour=16, minute=59))  # 17:59 Berlin: hour 17 included
    assert not at(spec, TUESDAY.replace(hour=17))  # 18:00 Berlin
    assert not at(spec, TUESDAY.replace(hour=7, minute=59))  # 08:59 Berlin
    assert not at(spec, TUESDAY.replace(day=8))  # Saturday


def test_weekdays_count_from_sunday_as_in_the_dialplan() -> None:
    sunday = dt.datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
    assert at({"wday": 1}, sunday)
    assert at({"wday": "sun"}, sunday)
    assert at({"wday": "Sunday"}, sunday)
    assert at({"wday": 7}, sunday.replace(day=1))  # Saturday
    assert at({"wday": "1,7"}, sunday)
    assert at({"wday": ["sat", "sun"]}, sunday)
    assert not at({"wday": "2-6"}, sunday)


def test_ranges_wrap_around() -> None:
    assert at({"wday": "fri-mon"}, dt.datetime(2025, 3, 2, 12, 0, tzinfo=UTC))  # Sunday
    assert not at({"wday": "fri-mon"}, TUESDAY)
    assert at({"hour": "22-6"}, TUESDAY.replace(hour=23))
    assert at({"hour": "22-6"}, TUESDAY.replace(hour=3))
    assert not at({"hour": "22-6"}, TUESDAY.replace(hour=12))
    assert at({"time-of-day": "22:00-06:00"}, TUESDAY.replace(hour=5, minute=59))
    assert not at({"time-of-day": "22:00-06:00"}, TUESDAY.replace(hour=6, minute=1))


def test_minute_of_day_is_one_based_as_in_the_dialplan() -> None:
    midnight = TUESDAY.replace(hour=0, minute=0)
    assert at({"minute-of-day": 1}, midnight)
    assert at({"minute-of-day": "541-1020"}, TUESDAY.replace(hour=9, minute=0))
    assert not at({"minute-of-day": "541-1020"}, TUESDAY.replace(hour=8, minute=59))
    assert at({"minute-of-day": 1440}, TUESDAY.replace(hour=23, minute=59))


def test_time_of_day_includes_its_ends() -> None:
    spec = {"time-of-day": "08:00-17:00"}
    assert at(spec, TUESDAY.replace(hour=8, minute=0))
    assert at(spec, TUESDAY.replace(hour=17, minute=0))
    assert not at(spec, TUESDAY.replace(hour=17, minute=0, second=1))


def test_dates_and_date_ranges() -> None:
    holidays = {"date": ["2025-12-25", "2025-12-31~2026-01-01"], "tz": "Europe/Berlin"}
    assert at(holidays, dt.datetime(2025, 12, 25, 12, 0, tzinfo=UTC))
    assert at(holidays, dt.datetime(2025, 12, 31, 23, 30, tzinfo=UTC))  # Jan 1st in Berlin
    assert not at(holidays, dt.datetime(2025, 12, 24, 22, 59, tzinfo=UTC))
    assert at(holidays, dt.datetime(2025, 12, 24, 23, 0, tzinfo=UTC))  # midnight in Berlin


def test_date_time_ranges() -> None:
    spec = {"date-time": "2025-12-24 18:00~2025-12-27 08:00", "tz": "UTC"}
    assert at(spec, dt.datetime(2025, 12, 24, 18, 0, tzinfo=UTC))
    assert at(spec, dt.datetime(2025, 12, 26, 3, 0, tzinfo=UTC))
    assert not at(spec, dt.datetime(2025, 12, 27, 8, 1, tzinfo=UTC))


def test_month_day_year_and_minute() -> None:
    assert at({"mon": "mar", "mday": 4, "year": 2025, "yday": 63, "minute": "0-29"}, TUESDAY)
    assert not at({"mon": "jan-feb"}, TUESDAY)


def test_without_tz_the_clock_is_read_in_its_own_zone() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert at({"hour": 5}, TUESDAY.astimezone(new_york))
    assert not at({"hour": 10}, TUESDAY.astimezone(new_york))


def test_daylight_saving_time_is_followed() -> None:
    spec = {"hour": 9, "tz": "Europe/Berlin"}
    assert at(spec, dt.datetime(2025, 1, 15, 8, 30, tzinfo=UTC))  # winter: UTC+1
    assert at(spec, dt.datetime(2025, 7, 15, 7, 30, tzinfo=UTC))  # summer: UTC+2
