"""The JSON Schema of test-case files, committed in `schemas/` for editors.

A test file points at it with `# yaml-language-server: $schema=../../schemas/test.schema.json`
(relative to the file); `eslflow schema --check` keeps it in step with the models.
"""

from __future__ import annotations

from typing import Any, Final

from runner.flow.schema import SCHEMA_DIALECT
from runner.flowtest.models.case import TestCase

TEST_SCHEMA_FILE: Final = "test.schema.json"


def test_schema() -> dict[str, Any]:
    """The JSON Schema of one test case (one document of a *.test.yaml file)."""
    schema = TestCase.model_json_schema(by_alias=True, mode="validation")
    schema["$defs"] = dict(sorted(schema["$defs"].items()))
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "eslflow test case",
        "description": "A flow test run by `eslflow test`: a simulated call or event, the "
        "clock, and what the flows must do (commands, events, hangup cause).",
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }


test_schema.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
