"""Scenario files: validation with positions, and playing them on a simulator."""

from __future__ import annotations

import textwrap
from pathlib import Path

import anyio
import pytest

from runner.sim import Simulator
from runner.sim.scenario import ScenarioError, load_scenario, parse_scenario, play

GOOD = textwrap.dedent(
    """\
    simulator:
      speed: 50
      media:
        durations: {/sounds/menu.wav: 0.5}
    dialplan:
      - destination: ^1000$
        actions:
          - answer
          # quoted: an unquoted " #" would start a YAML comment
          - "play_and_get_digits 1 1 2 3000 # /sounds/menu.wav silence_stream://100 choice [12]"
          - hangup
    calls:
      - destination: "1000"
        caller: {number: "+4930123456", name: Alice}
        variables: {sip_from_host: example.com}
        dtmf: ["2"]
      - at: 0.2
        destination: "9002"
        repeat: 2
        every: 0.1
        hangup_after: 1
    """
)


def test_a_scenario_validates_and_schedules_its_calls() -> None:
    scenario = parse_scenario(GOOD, "good.yaml")
    schedule = scenario.schedule()
    assert [(at, spec.destination) for at, spec in schedule] == [
        (0.0, "1000"),
        (0.2, "9002"),
        (pytest.approx(0.3), "9002"),
    ]
    first = schedule[0][1]
    assert (first.caller_number, first.caller_name, first.dtmf) == ("+4930123456", "Alice", ["2"])
    options = scenario.simulator_options()
    assert options["speed"] == 50
    assert options["media"].durations == {"/sounds/menu.wav": 0.5}
    assert options["extensions"][0].destination == "^1000$"


@pytest.mark.anyio
async def test_playing_a_scenario_places_its_calls_on_the_simulator() -> None:
    scenario = parse_scenario(GOOD, "good.yaml")
    async with Simulator(port=0, heartbeat_interval=1e6, **scenario.simulator_options()) as sim:
        with anyio.fail_after(5):
            uuids = await play(sim, scenario)
            assert len(uuids) == 3
            menu = await sim.wait_for_hangup(uuids[0])
            parked = [await sim.wait_for_hangup(u) for u in uuids[1:]]
    assert menu.variables["choice"] == "2"
    assert menu.caller_name == "Alice"
    assert menu.variables["sip_from_host"] == "example.com"
    assert [p.hangup_cause for p in parked] == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert [p.answer_state for p in parked] == ["hangup", "hangup"]


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "calls:\n  - destinaton: '1000'\n",
            "bad.yaml:2:5: calls[0]: unknown key 'destinaton' (and 1 more error)\n"
            "      - destinaton: '1000'\n"
            "        ^",
        ),
        (
            "calls:\n  - destination: '1'\n    hangup_after: -3\n",
            "bad.yaml:3:19: calls[0].hangup_after: Input should be greater than 0\n"
            "        hangup_after: -3\n"
            "                      ^",
        ),
        (
            "calls:\n  - at: 1\n",
            "bad.yaml:2:5: calls[0].destination: Field required\n      - at: 1\n        ^",
        ),
        (
            "calls:\n  - destination: '1'\n    dtmf: ['1', 'x']\n",
            "bad.yaml:3:11: calls[0].dtmf: 'x' is not DTMF (use 0-9, *, #, A-D)\n"
            "        dtmf: ['1', 'x']\n"
            "              ^",
        ),
        (
            "calls:\n  - destination: '1'\n    socket: somewhere\n",
            "bad.yaml:3:13: calls[0].socket: 'somewhere': expected 'host:port [async] [full]'\n"
            "        socket: somewhere\n"
            "                ^",
        ),
        (
            "dialplan:\n  - destination: '(('\n    actions: [park]\n",
            "bad.yaml:2:18: dialplan[0].destination: not a regular expression: "
            "missing ), unterminated subpattern at position 1\n"
            "      - destination: '(('\n"
            "                     ^",
        ),
        (
            "simulator:\n  speed: fast\n",
            "bad.yaml:2:10: simulator.speed: Input should be a valid number, "
            "unable to parse string as a number\n"
            "      speed: fast\n"
            "             ^",
        ),
        ("- just\n- a list\n", "bad.yaml:1:1: a scenario must be a mapping\n    - just\n    ^"),
        (
            "calls: [\n",
            "bad.yaml:2:1: invalid YAML: expected the node content, but found '<stream end>'",
        ),
    ],
)
def test_mistakes_are_reported_with_file_line_and_column(yaml: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(yaml, "bad.yaml")
    assert str(caught.value) == message


def test_several_mistakes_are_counted() -> None:
    with pytest.raises(ScenarioError, match=r"\(and 1 more error\)\n"):
        parse_scenario("calls:\n  - at: -1\n", "bad.yaml")


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read: No such file"):
        load_scenario(missing)


def test_an_empty_file_is_an_empty_scenario(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_scenario(empty).calls == []
