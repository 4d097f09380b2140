"""The Known differences table of docs/simulator.md is well formed and names real
scenarios (runs without a real switch: the table is read by test_differential.py)."""

from __future__ import annotations

import fnmatch

from helpers.differential import (
    DOC,
    Divergence,
    Known,
    Trace,
    compare,
    known_differences,
    unlisted,
)
from helpers.differential_scenarios import SCENARIOS

KINDS = {"events", "headers", "reply", "api", "order"}


def test_every_row_names_a_scenario_a_kind_and_a_reason() -> None:
    rows = known_differences()
    assert len(rows) >= 10, f"{DOC}: the Known differences table is missing or was cut"
    for row in rows:
        assert row.kind in KINDS, f"{row}: kind must be one of {sorted(KINDS)}"
        assert len(row.reason) > 20, f"{row}: say why the difference is kept"
        assert fnmatch.filter(SCENARIOS, row.scenario), f"{row}: matches no scenario"


def test_rows_are_fnmatch_patterns_over_divergences() -> None:
    row = Known("bridge_*", "order", "*-a", "moved CHANNEL_ANSWER", "a race of two threads")
    assert row.matches(Divergence("bridge_leg_timeout", "order", "9002-a", "moved CHANNEL_ANSWER"))
    assert not row.matches(Divergence("park", "order", "9002-a", "moved CHANNEL_ANSWER"))
    assert not row.matches(Divergence("bridge_x", "order", "9002-b", "moved CHANNEL_ANSWER"))
    new = Divergence("park", "events", "9002-a", "+PRIVATE_COMMAND")
    assert unlisted([new], [row]) == [new]


def test_a_changed_hangup_cause_is_one_divergence_per_event() -> None:
    sim, real = Trace(), Trace()
    sim.legs["9002-b"] = [
        "CHANNEL_HANGUP(ALLOTTED_TIMEOUT)",
        "CHANNEL_HANGUP_COMPLETE(ALLOTTED_TIMEOUT)",
    ]
    real.legs["9002-b"] = [
        "CHANNEL_HANGUP(NORMAL_CLEARING)",
        "CHANNEL_HANGUP_COMPLETE(NORMAL_CLEARING)",
    ]
    assert [d.detail for d in compare("x", sim, real)] == [
        "CHANNEL_HANGUP cause ALLOTTED_TIMEOUT -> NORMAL_CLEARING",
        "CHANNEL_HANGUP_COMPLETE cause ALLOTTED_TIMEOUT -> NORMAL_CLEARING",
    ]
    real.legs["9002-b"] = ["CHANNEL_HANGUP_COMPLETE(NORMAL_CLEARING)"]
    assert [d.detail for d in compare("x", sim, real)] == [
        "-CHANNEL_HANGUP(ALLOTTED_TIMEOUT)",
        "CHANNEL_HANGUP_COMPLETE cause ALLOTTED_TIMEOUT -> NORMAL_CLEARING",
    ]
