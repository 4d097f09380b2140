"""docs/simulator.md stays true: its scenario example validates, its Python compiles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from runner.sim import parse_scenario

DOC = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()


def test_the_documented_scenario_is_valid() -> None:
    (yaml,) = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)
    scenario = parse_scenario(yaml, "docs/simulator.md")
    schedule = [(at, spec.destination) for at, spec in scenario.schedule()]
    assert schedule == [(0.0, "9000"), (0.5, "1000"), (2.0, "9000"), (4.0, "9000")]
    assert scenario.schedule()[2][1].uuid == "7f1d5a6e-0c0b-4c9a-8d2e-3b4a5c6d7e8f-1"
    assert scenario.dialplan[0].actions[1].startswith("play_and_get_digits 1 1 3 3000 # ")


def test_the_documented_python_compiles() -> None:
    (python,) = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    compile(python, "docs/simulator.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
