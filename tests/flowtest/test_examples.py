"""The example flows' tests (flows/tests/*.test.yaml) pass: every example flow has some,
and each runs on the simulator under the virtual clock, as `eslflow test flows/` does."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner.flow import load_flows
from runner.flow.yamldoc import parse_yaml
from runner.flowtest.loader import LoadedCase, find_test_files, load_test_file
from runner.flowtest.report import render
from runner.flowtest.suite import FlowCache, run_loaded

ROOT = Path(__file__).resolve().parents[2]
TEST_FILES, _ = find_test_files([ROOT / "flows" / "tests"])
CASES = [loaded for path in TEST_FILES for loaded in load_test_file(path).cases]
SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/test.schema.json"


@pytest.fixture(scope="module")
def cache() -> FlowCache:
    return FlowCache()


def test_every_example_flow_file_has_a_test_file() -> None:
    flows = sorted(path.stem for path in (ROOT / "flows").glob("*.yaml"))
    tests = sorted(path.name.removesuffix(".test.yaml") for path in TEST_FILES)
    assert tests == flows


def test_every_example_flow_is_started_by_some_test() -> None:
    flows = {flow.flow for flow in load_flows([ROOT / "flows"])}
    expected = set()
    for loaded in CASES:
        expects = [loaded.case.expect, *(call.expect for call in loaded.case.all_calls())]
        for expect in expects:
            if expect is not None:
                expected.update([expect.flow] if expect.flow else [])
                expected.update(expect.flows or ())
    assert expected == flows


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_every_test_file_is_valid_and_points_editors_at_the_schema(path: Path) -> None:
    assert load_test_file(path).errors == []
    assert path.read_text().splitlines()[0] == SCHEMA_LINE
    validator = jsonschema.Draft202012Validator(
        json.loads((ROOT / "schemas" / "test.schema.json").read_text())
    )
    for document in parse_yaml(path.read_text(), str(path)).documents:
        assert [error.message for error in validator.iter_errors(document.data)] == []


@pytest.mark.parametrize("loaded", CASES, ids=lambda loaded: f"{loaded.path.name}:{loaded.line}")
def test_example(loaded: LoadedCase, cache: FlowCache) -> None:
    result = run_loaded(loaded, cache)
    assert result.status == "passed", render(result)
