"""docs/flow-tests.md stays true: its YAML snippets validate, and the failure it shows is
what eslflow test prints for that broken flow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.greeter import BROKEN_FLOW, greeter_project
from typer.testing import CliRunner

from runner.cli import app
from runner.flow.yamldoc import parse_yaml
from runner.flowtest.models.case import TestCase

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "flow-tests.md").read_text()
SNIPPETS = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)
A_CALL = {"test": "t", "call": {"destination": "1"}}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda text: text.split("\n", 1)[0][:30])
def test_every_yaml_snippet_is_a_valid_test_or_part_of_one(snippet: str) -> None:
    source = parse_yaml(snippet, "doc.yaml")
    if snippet.lstrip().startswith("# yaml-language-server"):
        assert snippet == "# yaml-language-server: $schema=../../schemas/test.schema.json\n"
        return
    assert source.errors == []
    for document in source.documents:
        data = document.data
        assert isinstance(data, dict)
        TestCase.model_validate(data if "test" in data else {**A_CALL, **data})


def test_the_documented_failure_is_what_eslflow_test_prints(tmp_path: Path) -> None:
    shown = DOC.split("## When a test fails\n\n```text\n", 1)[1].split("```", 1)[0]
    with greeter_project(tmp_path, BROKEN_FLOW):
        result = CliRunner().invoke(app, ["test", "flows"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:-1] == shown.splitlines()
