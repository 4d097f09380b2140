"""Flow regexes: PCRE syntax, the same matches as before, and a time bound per search.

Issue 10, finding 6: `expression: ^(a+)+$` validated and a 31-character caller name
stalled the event loop ~25 s, doubling with each character.
"""

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from runner.flow import load_flow_sources
from runner.flow.checks import _regex_conditions
from runner.flow.conditions import match
from runner.flow.errors import ConditionTimeoutError, ExpressionError
from runner.flow.models import Flow
from runner.flow.regexes import (
    DEFAULT_MATCH_TIMEOUT,
    RegexTimeout,
    compile_regex,
    match_timeout,
    match_timeout_set,
    search,
)
from runner.flowtest.patterns import parse_pattern

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

FLOWS = """\
flow: hostile
trigger: CHANNEL_PARK
when:
  - field: Caller-Caller-ID-Name
    expression: ^(a|a)+$
steps: [stop]
---
flow: nested
trigger: CHANNEL_PARK
priority: 200
when:
  - field: Caller-Caller-ID-Name
    expression: ^(a+)+$
steps: [stop]
"""

EVIL = "a" * 40 + "!"


def flows() -> dict[str, Flow]:
    return {flow.flow: flow for flow in load_flow_sources([("flows/t.yaml", FLOWS)])}


def test_40_characters_against_nested_quantifiers_cost_milliseconds() -> None:
    nested = flows()["nested"]
    started = time.perf_counter()
    assert match(nested.when, {"Caller-Caller-ID-Name": EVIL}, NOW) is None
    assert match(nested.when, {"Caller-Caller-ID-Name": "a" * 40}, NOW) == ("a" * 40,)
    assert time.perf_counter() - started < 0.5


def test_a_search_past_the_bound_is_an_error_naming_the_condition() -> None:
    hostile = flows()["hostile"]
    started = time.perf_counter()
    with pytest.raises(ConditionTimeoutError) as caught:
        match(hostile.when, {"Caller-Caller-ID-Name": EVIL}, NOW)
    elapsed = time.perf_counter() - started
    assert str(caught.value) == (
        "condition at flows/t.yaml:4:5: regex /^(a|a)+$/ on header 'Caller-Caller-ID-Name' "
        "took longer than 20 ms; the condition does not hold"
    )
    assert caught.value.seconds == DEFAULT_MATCH_TIMEOUT == 0.020
    assert isinstance(caught.value, ExpressionError)  # the router's "condition failed" path
    assert 0.015 <= elapsed < 0.5
    assert match(hostile.when, {"Caller-Caller-ID-Name": "aaa"}, NOW) == ("a",)


def test_the_bound_comes_from_the_context() -> None:
    hostile = flows()["hostile"]
    with match_timeout_set(0.005):
        assert match_timeout() == 0.005
        with pytest.raises(ConditionTimeoutError, match="took longer than 5 ms;"):
            match(hostile.when, {"Caller-Caller-ID-Name": EVIL}, NOW)
    assert match_timeout() == DEFAULT_MATCH_TIMEOUT


@pytest.mark.anyio
async def test_tasks_inherit_the_bound_of_the_context_that_starts_them() -> None:
    seen: list[float] = []

    async def task() -> None:
        seen.append(match_timeout())

    with match_timeout_set(0.25):
        async with anyio.create_task_group() as tg:
            tg.start_soon(task)
    async with anyio.create_task_group() as tg:
        tg.start_soon(task)
    assert seen == [0.25, DEFAULT_MATCH_TIMEOUT]


def test_a_timed_out_flow_does_not_start_and_the_next_flow_is_tried() -> None:
    text = FLOWS.replace("^(a+)+$", "^a+!$")
    flow_set = load_flow_sources([("flows/t.yaml", text)])
    failures: list[tuple[str, ExpressionError]] = []
    event = {"Event-Name": "CHANNEL_PARK", "Caller-Caller-ID-Name": EVIL}
    found = flow_set.match_event(event, NOW, lambda flow, exc: failures.append((flow.flow, exc)))
    assert [m.flow.flow for m in found] == ["nested"]
    assert [(name, type(exc)) for name, exc in failures] == [("hostile", ConditionTimeoutError)]


def test_a_value_condition_names_its_value() -> None:
    flow = load_flow_sources(
        [
            (
                "flows/v.yaml",
                "flow: v\nsteps:\n  - if: {value: '${{ vars.x }}', expression: '^(a|a)+$'}\n"
                "    then: [stop]\nvars: {x: ''}\n",
            )
        ]
    )["v"]
    (condition,) = (c for _, c in _regex_conditions(flow, ()))
    with pytest.raises(RegexTimeout):
        search(condition.expression, EVIL)
    assert str(condition._timed_out(RegexTimeout(0.02))) == (
        "condition at flows/v.yaml:3:9: regex /^(a|a)+$/ on its value took longer than 20 ms; "
        "the condition does not hold"
    )


def test_pcre_named_groups_are_captures() -> None:
    flow = load_flow_sources(
        [
            (
                "flows/n.yaml",
                "flow: n\ntrigger: CHANNEL_PARK\nwhen:\n"
                "  - {field: Caller-Destination-Number, expression: '^(?<ext>1\\d{3})(?>#)?$'}\n"
                "steps: [{log: 'extension $1'}]\n",
            )
        ]
    )["n"]
    assert match(flow.when, {"Caller-Destination-Number": "1234#"}, NOW) == ("1234",)
    assert compile_regex("(?<ext>\\d+)").groupindex == {"ext": 1}


SUBJECTS = [
    "",
    "2000",
    "1234",
    "12345",
    "5000",
    "*99",
    "*9912345",
    "912",
    "9123",
    "3999",
    "internal",
    "external",
    "INTERNAL",
    "+OK 8d2f-11",
    "-ERR no",
    "NORMAL_CLEARING",
    "friendly-scanner",
    "SIPVicious 1.0",
    "é1234",
    "١٢٣٤",  # Arabic-Indic digits: not \d in PCRE, nor with ASCII classes
    "line\nbreak",
]


def test_every_example_regex_matches_as_re_did() -> None:
    examples = load_flow_sources(
        [(str(path), path.read_text()) for path in sorted((ROOT / "flows").glob("*.yaml"))]
    )
    patterns = [c.expression for flow in examples for _, c in _regex_conditions(flow, ())]
    assert len(patterns) == 12
    for pattern in patterns:
        old = re.compile(pattern.pattern, re.ASCII)
        for subject in SUBJECTS:
            new_found, old_found = search(pattern, subject), old.search(subject)
            assert (new_found and new_found.groups()) == (old_found and old_found.groups()), (
                pattern.pattern,
                subject,
            )


def test_test_patterns_are_bounded_too() -> None:
    pattern = parse_pattern("/^(a|a)+$/")
    started = time.perf_counter()
    assert not pattern.matches(EVIL)
    assert time.perf_counter() - started < 0.5
    assert pattern.matches("aaa")
    assert parse_pattern("/(?<d>\\d)x/i").matches("1X")
    with pytest.raises(ValueError, match="nested too deeply") as caught:
        parse_pattern("/" + "(" * 40 + "/")
    assert caught.value.offset == 33  # type: ignore[attr-defined]
