"""`validate` warns about goto/call cycles that never wait on the switch (issue 10, finding 4).

Exact warnings, with the place of every jump of the cycle, and the loops that wait get none.
"""

import pytest

from runner.flow import load_flow_sources

HEAD = "flow: t\ntrigger: CHANNEL_PARK\n"
TAIL = "; an instance that enters it keeps the engine busy until its step budget ends it"


def cycle(chain: str) -> str:
    return (
        "this goto/call cycle never waits on the switch (no execute, api, bgapi, wait, sleep, "
        f"hangup...): {chain}{TAIL}"
    )


# name: (flows, the warnings in order)
CASES: dict[str, tuple[str, list[str]]] = {
    "the_finding": (
        HEAD + "steps: [{goto: a}]\nvars: {x: 0}\nblocks:\n"
        "  a: [{set: {x: 1}}, {goto: b}]\n  b: [{goto: a}]\n",
        [
            "flows/t.yaml:6:22: warning: "
            + cycle("goto b at flows/t.yaml:6:22 -> goto a at flows/t.yaml:7:7")
        ],
    ),
    "a_block_that_goes_to_itself": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a: [{log: again}, {goto: a}]\n",
        ["flows/t.yaml:5:21: warning: " + cycle("goto a at flows/t.yaml:5:21")],
    ),
    "execute_without_waiting": (
        HEAD + "steps: [{goto: a}]\nblocks:\n"
        "  a: [{execute: {app: answer, wait: none}}, {goto: a}]\n",
        ["flows/t.yaml:5:45: warning: " + cycle("goto a at flows/t.yaml:5:45")],
    ),
    "a_call_that_recurses": (
        HEAD + "steps: [{call: a}]\nblocks:\n  a: [{log: hi}, {call: a}]\n",
        ["flows/t.yaml:5:18: warning: " + cycle("call a at flows/t.yaml:5:18")],
    ),
    "a_goto_inside_an_if": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a:\n    - if: {field: x, exists: true}\n"
        "      then: [{goto: a}]\n    - hangup\n",
        ["flows/t.yaml:7:14: warning: " + cycle("goto a at flows/t.yaml:7:14")],
    ),
    "between_flows": (
        HEAD + "steps: [{log: x}, {goto: {flow: u}}]\n---\nflow: u\nsteps: [{goto: {flow: t}}]\n",
        [
            "flows/t.yaml:3:19: warning: "
            + cycle("goto u at flows/t.yaml:3:19 -> goto t at flows/t.yaml:6:9")
        ],
    ),
    "a_wait_in_one_branch_only": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a:\n    - if: {field: x, exists: true}\n"
        "      then: [{sleep: 1s}]\n    - goto: a\n",
        ["flows/t.yaml:8:7: warning: " + cycle("goto a at flows/t.yaml:8:7")],
    ),
    "a_loop_that_answers": (
        HEAD
        + "steps: [{goto: a}]\nblocks:\n  a: [{execute: answer}, {goto: b}]\n  b: [{goto: a}]\n",
        [],
    ),
    "a_menu_that_calls_a_prompt": (
        HEAD + "steps: [{goto: menu}]\nblocks:\n  menu: [{call: prompt}, {goto: menu}]\n"
        "  prompt: [{execute: playback x.wav}]\n",
        [],
    ),
    "a_call_that_goes_on_to_wait": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a: [{call: b}, {goto: a}]\n  b: [{goto: c}]\n"
        "  c: [{sleep: 1s}]\n",
        [],
    ),
    "a_wait_in_every_branch_of_a_loop_block": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a:\n    - wait: {event: DTMF, timeout: 5s}\n"
        "    - goto: a\n",
        [],
    ),
    "a_stop_before_the_goto": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a: [{stop: }, {goto: a}]\n",
        [],
    ),
    "api_and_hangup_wait": (
        HEAD + "steps: [{goto: a}]\nblocks:\n  a: [{api: status}, {goto: b}]\n"
        "  b: [{hangup: NORMAL_CLEARING}, {goto: a}]\n",
        [],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cycle_warnings(name: str) -> None:
    text, expected = CASES[name]
    flows = load_flow_sources([("flows/t.yaml", text)])
    assert [str(warning) for warning in flows.warnings] == expected
    assert all(warning.warning for warning in flows.warnings)


def test_a_warning_shows_its_line_with_a_caret() -> None:
    text, _ = CASES["the_finding"]
    (warning,) = load_flow_sources([("flows/t.yaml", text)]).warnings
    assert warning.display().splitlines()[1:] == [
        "      a: [{set: {x: 1}}, {goto: b}]",
        "                         ^",
    ]
