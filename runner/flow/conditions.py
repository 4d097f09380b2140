"""Conditions, and the dialplan-like matcher that tests them against an event's headers.

Semantics follow FreeSWITCH's XML dialplan:
- every condition of a list must hold (`<condition>`s of an extension);
- `field` + `expression` searches the header with a regex; a missing header is the
  empty string, as a missing dialplan field is;
- `any`/`all`/`xor` are the dialplan's `regex="any|all|xor"` groups (`xor`: exactly one);
- `time` compares the clock like the dialplan's wday/hour/minute-of-day attributes.

Captures: the regex condition that matched *last* (in document order) among those with
capture groups supplies `$1..$9`, as the dialplan's last `<condition>` does for its
actions. Inside `any`/`xor`, the alternative that matched supplies them; `not` never does.
Groups that did not take part read as empty strings.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runner.flow.context import RenderContext
from runner.flow.errors import ConditionTimeoutError, SourcePos, did_you_mean
from runner.flow.fields import (
    ExpressionStr,
    HeaderName,
    Model,
    OrSingle,
    Regex,
    Seq,
    TemplateStr,
    describe_input,
    invalid,
)
from runner.flow.headers import header
from runner.flow.regexes import RegexTimeout, format_bound, search
from runner.flow.timeranges import (
    MONTH_NAMES,
    MONTHS,
    WEEKDAY_NAMES,
    WEEKDAYS,
    Ranges,
    TimeSpecError,
    moment_seconds,
    parse_date_times,
    parse_dates,
    parse_numbers,
    parse_time_of_day,
)

Captures = tuple[str, ...]
"""`$1..$9` in order; an empty tuple when no regex with groups took part."""

MAX_CAPTURES: Final = 9


@dataclass(slots=True)
class _Env:
    """What one evaluation of a condition list sees."""

    headers: Mapping[str, str]
    now: dt.datetime
    context: RenderContext | None

    def render_context(self) -> RenderContext:
        if self.context is None:
            self.context = RenderContext(event=self.headers, trigger=self.headers)
        return self.context


# Result of one condition: (holds, captures or None when it supplies none).
_Outcome = tuple[bool, Captures | None]


class _SubjectMixin(Model):
    """A `field` (header name) or a `value` (template) that a test is applied to."""

    field: HeaderName | None = Field(
        default=None,
        description="The event header to test (channel variables are variable_<name>).",
        examples=["Caller-Destination-Number"],
    )
    value: TemplateStr | None = Field(
        default=None,
        description="Text to test instead of a header, e.g. ${{ vars.digits }}.",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Any:
        if self.field is None and self.value is None:
            raise invalid("a condition needs 'field' (a header name) or 'value' (a template)")
        if self.field is not None and self.value is not None:
            raise invalid("give either 'field' or 'value', not both", at=("value",))
        return self

    def subject(self, env: _Env) -> str:
        if self.field is not None:
            return header(env.headers, self.field) or ""
        assert self.value is not None
        return self.value.render(env.render_context()).text


class RegexCondition(_SubjectMixin):
    """`field` + `expression`: the header matches the regex; its groups become $1..$9."""

    expression: Regex = Field(description="A regular expression searched in the header.")

    _pos: SourcePos | None = PrivateAttr(default=None)

    def holds(self, env: _Env) -> _Outcome:
        try:
            found = search(self.expression, self.subject(env))
        except RegexTimeout as exc:
            raise self._timed_out(exc) from None
        if found is None:
            return False, None
        if self.expression.groups == 0:
            return True, None
        groups = found.groups()[:MAX_CAPTURES]
        return True, tuple(group if group is not None else "" for group in groups)

    def static_groups(self) -> int | None:
        return min(self.expression.groups, MAX_CAPTURES) or None

    def _timed_out(self, exc: RegexTimeout) -> ConditionTimeoutError:
        where = f"condition at {self._pos}" if self._pos is not None else "a condition"
        tested = f"header '{self.field}'" if self.field is not None else "its value"
        return ConditionTimeoutError(
            f"{where}: regex /{self.expression.pattern}/ on {tested} took longer than "
            f"{format_bound(exc.seconds)}; the condition does not hold",
            seconds=exc.seconds,
        )


def _equals_value(value: object) -> object:
    # `equals: 1000` is the text 1000, as a dialplan attribute would be.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class EqualsCondition(_SubjectMixin):
    """`field` + `equals`: the header is exactly this text."""

    equals: Annotated[TemplateStr, BeforeValidator(_equals_value)] = Field(
        description="The exact text the header must have (templates allowed).",
        examples=["example.com"],
    )

    def holds(self, env: _Env) -> _Outcome:
        expected = self.equals
        if not expected.is_literal:
            text = expected.render(env.render_context()).text
        else:
            text = expected.source
        return self.subject(env) == text, None

    def static_groups(self) -> int | None:
        return None


class ExistsCondition(Model):
    """`field` + `exists`: the event carries the header (even empty), or does not."""

    field: HeaderName = Field(description="The event header that must (not) be present.")
    exists: bool = Field(description="true: the header is present; false: absent.")

    def holds(self, env: _Env) -> _Outcome:
        return (header(env.headers, self.field) is not None) == self.exists, None

    def static_groups(self) -> int | None:
        return None


class TestCondition(Model):
    """`test`: an eslflow expression whose value is true (Python truthiness)."""

    test: ExpressionStr = Field(description="An expression, e.g. int(vars.attempts) < 3.")

    def holds(self, env: _Env) -> _Outcome:
        return bool(self.test.evaluate(env.render_context())), None

    def static_groups(self) -> int | None:
        return None


def _zone(value: object) -> zoneinfo.ZoneInfo:
    if not isinstance(value, str):
        raise invalid(f"expected a time zone name, got {describe_input(value)}")
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        known = zoneinfo.available_timezones()
        raise invalid(f"unknown time zone '{value}'{did_you_mean(value, known)}") from None


def _spec_text(value: object) -> str:
    """`9-17`, `9`, `[mon, wed]` all become one comma-separated spec."""
    if isinstance(value, list):
        return ",".join(_spec_text(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise invalid(f"expected a number, a range or a list, got {describe_input(value)}")


_SPEC_PARSERS: Final[dict[str, Callable[[str], Ranges]]] = {
    "wday": lambda text: parse_numbers(text, "wday", 1, 7, WEEKDAYS, WEEKDAY_NAMES),
    "mon": lambda text: parse_numbers(text, "mon", 1, 12, MONTHS, MONTH_NAMES),
    "mday": lambda text: parse_numbers(text, "mday", 1, 31),
    "yday": lambda text: parse_numbers(text, "yday", 1, 366),
    "year": lambda text: parse_numbers(text, "year", 1970, 9999),
    "hour": lambda text: parse_numbers(text, "hour", 0, 23),
    "minute": lambda text: parse_numbers(text, "minute", 0, 59),
    "minute_of_day": lambda text: parse_numbers(text, "minute-of-day", 1, 1440),
    "time_of_day": parse_time_of_day,
    "date": parse_dates,
    "date_time": parse_date_times,
}

_Spec = Annotated[
    Ranges | None,
    PlainSerializer(lambda ranges: None if ranges is None else [list(s) for s in ranges.spans]),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "integer"},
                {"type": "array", "items": {"type": ["string", "integer"]}},
            ]
        }
    ),
]


class TimeSpec(Model):
    """When a `time` condition holds: every given part must match the clock."""

    wday: _Spec = Field(
        default=None,
        description="Days of the week, 1 = Sunday .. 7 = Saturday, or sun..sat.",
        examples=["mon-fri", "sat,sun", "2-6"],
    )
    mon: _Spec = Field(default=None, description="Months, 1-12 or jan..dec.", examples=["jun-aug"])
    mday: _Spec = Field(default=None, description="Days of the month, 1-31.", examples=["1-15"])
    yday: _Spec = Field(default=None, description="Days of the year, 1-366.", examples=["1-7"])
    year: _Spec = Field(default=None, description="Years.", examples=["2025-2026"])
    hour: _Spec = Field(
        default=None,
        description="Hours 0-23, ends included: 9-17 holds from 09:00 to 17:59.",
        examples=["9-17"],
    )
    minute: _Spec = Field(default=None, description="Minutes of the hour, 0-59.", examples=["0-29"])
    minute_of_day: _Spec = Field(
        default=None,
        alias="minute-of-day",
        description="Minutes of the day, 1-1440 (00:00 is 1), as in the dialplan.",
        examples=["541-1020"],
    )
    time_of_day: _Spec = Field(
        default=None,
        alias="time-of-day",
        description="Clock ranges HH:MM[:SS]-HH:MM[:SS], ends included; 22:00-06:00 wraps.",
        examples=["08:00-17:00", "22:00-06:00"],
    )
    date: _Spec = Field(
        default=None,
        description="Days YYYY-MM-DD and ~ ranges of days, e.g. holidays.",
        examples=["2025-12-24~2025-12-26", ["2025-01-01", "2025-05-01"]],
    )
    date_time: _Spec = Field(
        default=None,
        alias="date-time",
        description="Wall-clock ranges 'YYYY-MM-DD HH:MM~YYYY-MM-DD HH:MM' (dialplan date-time).",
        examples=["2025-12-24 18:00~2025-12-27 08:00"],
    )
    tz: Annotated[
        zoneinfo.ZoneInfo | None,
        PlainValidator(_zone),
        PlainSerializer(lambda zone: None if zone is None else zone.key),
        WithJsonSchema({"type": "string"}),
    ] = Field(
        default=None,
        description="IANA time zone; without it the clock the engine passes is read as is.",
        examples=["Europe/Berlin", "America/New_York"],
    )

    @field_validator(*_SPEC_PARSERS, mode="plain")
    @classmethod
    def _parse_spec(cls, value: object, info: ValidationInfo) -> Ranges:
        assert info.field_name is not None
        try:
            return _SPEC_PARSERS[info.field_name](_spec_text(value))
        except TimeSpecError as exc:
            offset = exc.offset if isinstance(value, str) else None
            raise invalid(str(exc), offset=offset) from None

    @model_validator(mode="after")
    def _something_to_test(self) -> Any:
        if all(getattr(self, name) is None for name in _SPEC_PARSERS):
            raise invalid(
                "a time condition needs at least one of wday, mon, mday, yday, year, hour, "
                "minute, minute-of-day, time-of-day, date, date-time"
            )
        return self

    def holds_at(self, now: dt.datetime) -> bool:
        """True when wall-clock `now` (in `tz` when given) is within every given part."""
        local = now.astimezone(self.tz) if self.tz is not None else now
        checks: tuple[tuple[Ranges | None, int], ...] = (
            (self.wday, (local.weekday() + 1) % 7 + 1),  # Python: Monday=0; dialplan: Sunday=1
            (self.mon, local.month),
            (self.mday, local.day),
            (self.yday, local.timetuple().tm_yday),
            (self.year, local.year),
            (self.hour, local.hour),
            (self.minute, local.minute),
            (self.minute_of_day, local.hour * 60 + local.minute + 1),
            (self.time_of_day, local.hour * 3600 + local.minute * 60 + local.second),
            (self.date, local.toordinal()),
            (self.date_time, moment_seconds(local)),
        )
        return all(ranges is None or value in ranges for ranges, value in checks)


class TimeCondition(Model):
    """`time`: the clock is within the given ranges (dialplan time-of-day routing)."""

    time: TimeSpec = Field(
        description="Clock ranges; all given parts must hold.",
        examples=[{"wday": "mon-fri", "hour": "9-17", "tz": "Europe/Berlin"}],
    )

    def holds(self, env: _Env) -> _Outcome:
        return self.time.holds_at(env.now), None

    def static_groups(self) -> int | None:
        return None


def _as_list(value: object) -> object:
    """A single condition mapping where a list is expected is a list of one."""
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    raise invalid(
        f"expected a condition (a mapping) or a list of conditions, got {describe_input(value)}"
    )


def _fold(conditions: Sequence[Condition], env: _Env) -> _Outcome:
    """All must hold; captures of the last one that supplies them."""
    captures: Captures | None = None
    for condition in conditions:
        ok, found = condition.holds(env)
        if not ok:
            return False, None
        if found is not None:
            captures = found
    return True, captures


def static_groups(conditions: Sequence[Condition], previous: int | None = None) -> int | None:
    """How many captures a list is sure to supply (None: it supplies none, keep previous).

    Used at load time to check `$N`. An `any`/`xor` whose alternatives differ counts the
    fewest, so `$N` is checked against what every match provides.
    """
    count = previous
    for condition in conditions:
        count = _static(condition, count)
    return count


def _static(condition: Condition, previous: int | None) -> int | None:
    if isinstance(condition, AllCondition):
        return static_groups(condition.all, previous)
    if isinstance(condition, AnyCondition | XorCondition):
        items = condition.any if isinstance(condition, AnyCondition) else condition.xor
        counts = [_static(item, previous) for item in items]
        known = [count or 0 for count in counts]
        return min(known) if any(count is not None for count in counts) else previous
    if isinstance(condition, NotCondition):
        return previous
    groups = condition.static_groups()
    return groups if groups is not None else previous


class NotCondition(Model):
    """`not`: the condition (or all of a list) does not hold. Supplies no captures."""

    not_: ConditionList = Field(
        alias="not", min_length=1, description="Condition(s) that must not hold."
    )

    def holds(self, env: _Env) -> _Outcome:
        ok, _ = _fold(self.not_, env)
        return not ok, None


class AllCondition(Model):
    """`all`: every condition holds (the dialplan's regex="all")."""

    all: Seq[Condition] = Field(min_length=1, description="Conditions that must all hold.")

    def holds(self, env: _Env) -> _Outcome:
        return _fold(self.all, env)


class AnyCondition(Model):
    """`any`: at least one holds; the first that does supplies captures (regex="any")."""

    any: Seq[Condition] = Field(min_length=1, description="Conditions, one must hold.")

    def holds(self, env: _Env) -> _Outcome:
        for condition in self.any:
            ok, captures = condition.holds(env)
            if ok:
                return True, captures
        return False, None


class XorCondition(Model):
    """`xor`: exactly one holds (the dialplan's regex="xor")."""

    xor: Seq[Condition] = Field(min_length=2, description="Conditions, exactly one must hold.")

    def holds(self, env: _Env) -> _Outcome:
        winner: _Outcome | None = None
        for condition in self.xor:
            ok, captures = condition.holds(env)
            if ok:
                if winner is not None:
                    return False, None
                winner = (True, captures)
        return winner if winner is not None else (False, None)


CONDITION_KINDS: Final[dict[str, type[Model]]] = {
    "expression": RegexCondition,
    "equals": EqualsCondition,
    "exists": ExistsCondition,
    "time": TimeCondition,
    "test": TestCondition,
    "not": NotCondition,
    "all": AllCondition,
    "any": AnyCondition,
    "xor": XorCondition,
}
"""The key that makes a mapping each kind of condition."""

CONDITION_KEYS: Final = frozenset({"field", "value"})


def condition_kind(value: object) -> str | None:
    """The discriminator tag (`<expression>`...) of a condition mapping, None if unclear."""
    if isinstance(value, dict):
        kinds = [key for key in value if key in CONDITION_KINDS]
        if len(kinds) == 1:
            return f"<{kinds[0]}>"
        return None
    if isinstance(value, Model):
        for key, model in CONDITION_KINDS.items():
            if type(value) is model:
                return f"<{key}>"
    return None


def condition_kind_error(value: object) -> tuple[str, tuple[str, ...]]:
    """Why `value` is not a condition, and the key below it to point at."""
    if not isinstance(value, dict):
        return (
            "expected a condition (a mapping such as {field: ..., expression: ...}), "
            f"got {describe_input(value)}",
            (),
        )
    if not value:
        return "empty condition: expected field + expression, equals or exists, or time", ()
    kinds = [key for key in value if key in CONDITION_KINDS]
    if len(kinds) > 1:
        return (
            f"a condition tests one thing; found '{kinds[0]}' and '{kinds[1]}' "
            "— write two conditions",
            (kinds[1],),
        )
    unknown = [key for key in value if key not in CONDITION_KEYS]
    if unknown:
        key = str(unknown[0])
        return f"unknown condition '{key}'{did_you_mean(key, CONDITION_KINDS)}", (key,)
    subject = value.get("field", "the value")
    return f"condition on '{subject}' needs 'expression', 'equals' or 'exists'", ()


Condition = Annotated[
    Annotated[RegexCondition, Tag("<expression>")]
    | Annotated[EqualsCondition, Tag("<equals>")]
    | Annotated[ExistsCondition, Tag("<exists>")]
    | Annotated[TimeCondition, Tag("<time>")]
    | Annotated[TestCondition, Tag("<test>")]
    | Annotated[NotCondition, Tag("<not>")]
    | Annotated[AllCondition, Tag("<all>")]
    | Annotated[AnyCondition, Tag("<any>")]
    | Annotated[XorCondition, Tag("<xor>")],
    Discriminator(
        condition_kind,
        custom_error_type="unknown_condition",
        custom_error_message="not a valid condition",
    ),
]
"""One dialplan-like condition; the key present (`expression`, `equals`...) picks the kind."""

ConditionList = Annotated[
    tuple[Condition, ...],
    BeforeValidator(_as_list),
    OrSingle(),
]
"""A list of conditions (all must hold); a single condition mapping is a list of one."""

for _kind, _model in CONDITION_KINDS.items():
    _model.model_rebuild()


def match(
    conditions: Sequence[Condition],
    headers: Mapping[str, str],
    now: dt.datetime,
    context: RenderContext | None = None,
) -> Captures | None:
    """Test `conditions` (all must hold) against an event's `headers` at time `now`.

    Returns the captures `$1..$9` (an empty tuple when no regex with groups took part),
    or None when the conditions do not hold. `now` should be timezone-aware; a `time`
    condition without `tz` reads it in its own zone. `context` serves `value:`, `equals:`
    templates and `test:` expressions; without it they see `event` = `trigger` = `headers`.
    Raises ExpressionError when a `test` or template expression fails.
    """
    ok, captures = _fold(conditions, _Env(headers, now, context))
    if not ok:
        return None
    return captures if captures is not None else ()


def holds(
    conditions: Sequence[Condition],
    headers: Mapping[str, str],
    now: dt.datetime,
    context: RenderContext | None = None,
) -> bool:
    """True when `conditions` hold; `match` without the captures."""
    return match(conditions, headers, now, context) is not None
