"""`eslflow test` and time (issue 10): idle simulated time costs (close to) no wall
time, and a flow that never waits ends its test as failed instead of hanging it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.greeter import greeter_project
from typer.testing import CliRunner

from runner.cli import app

STAMP = """\
flow: stamp
trigger: CHANNEL_PARK
when: {field: Caller-Destination-Number, expression: ^(7\\d\\d\\d)$}
steps:
  - execute: answer
  - if: {time: {date: "2026-07-26", tz: Europe/Berlin}}
    then: [{api: "uuid_setvar ${{ uuid }} day later"}]
    else: [{api: "uuid_setvar ${{ uuid }} day first"}]
  - hangup: NORMAL_CLEARING
"""

# Two calls 146 days apart (3504 h): the engine's clock (the flow's date condition) and
# the switch's (the call's start_stamp) both went there.
FAR_APART = """\
test: two calls 146 days apart
at: "2026-03-02T10:00:00+01:00"
timeout: 3600h
calls:
  - destination: "7001"
    expect:
      commands:
        - execute: answer
        - api: /^uuid_setvar \\S+ day first$/
        - hangup: NORMAL_CLEARING
      variables: {day: first, start_stamp: /^2026-03-02 /}
  - destination: "7002"
    after: 3504h
    expect:
      commands:
        - execute: answer
        - api: /^uuid_setvar \\S+ day later$/
        - hangup: NORMAL_CLEARING
      variables: {day: later, start_stamp: /^2026-07-26 /}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    with greeter_project(tmp_path, STAMP) as root:
        yield root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_calls_146_days_apart_take_seconds_not_hours(project: Path) -> None:
    (project / "flows" / "tests" / "greeter.test.yaml").write_text(FAR_APART)
    began = time.perf_counter()
    code, output = invoke("test", "flows")
    took = time.perf_counter() - began
    assert code == 0, output
    assert output.splitlines()[0] == (
        "PASS  flows/tests/greeter.test.yaml:1  two calls 146 days apart  (12614401 s simulated)"
    )
    assert took < 10, f"{took:.1f} s of wall time"


SPIN = """\
flow: spin
trigger: CHANNEL_PARK
blocks:
  a: [{set: {x: 1}}, {goto: b}]
  b: [{goto: a}]
steps:
  - goto: a
"""

SPIN_TEST = """\
test: the goto cycle
at: "2026-03-02T10:00:00+01:00"
call: {destination: "7001"}
expect:
  flow: spin
"""


def test_a_goto_cycle_that_never_waits_fails_its_test_with_the_budget_error(
    project: Path,
) -> None:
    (project / "flows" / "greeter.yaml").write_text(SPIN)
    (project / "flows" / "tests" / "greeter.test.yaml").write_text(SPIN_TEST)
    code, output = invoke("test", "flows")
    lines = output.splitlines()
    assert code == 1, output
    assert lines[0].startswith("FAIL  flows/tests/greeter.test.yaml:1  the goto cycle  (")
    assert (
        "flows/greeter.yaml:4:7: flow 'spin' step set: 10000 steps ran without waiting "
        "for an event or sleeping (a goto or repeat loop that never waits?); the step "
        "budget is 10000"
    ) in output
    assert lines[-1].startswith("1 test: 0 passed, 1 failed in ")
