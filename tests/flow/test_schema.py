"""The committed JSON Schema matches the models; editors get descriptions and examples."""

import json
from pathlib import Path

from runner.flow.schema import flow_schema, render, stale_schemas, write_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_is_current() -> None:
    assert stale_schemas(ROOT / "schemas") == []


def test_written_schemas_are_checked(tmp_path: Path) -> None:
    assert stale_schemas(tmp_path) == [tmp_path / "flow.schema.json"]
    assert write_schemas(tmp_path) == [tmp_path / "flow.schema.json"]
    assert stale_schemas(tmp_path) == []
    (tmp_path / "flow.schema.json").write_text("{}\n")
    assert stale_schemas(tmp_path) == [tmp_path / "flow.schema.json"]


def test_the_schema_documents_keys_for_editors() -> None:
    schema = flow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["flow", "steps"]
    assert schema["properties"]["steps"]["items"] == {"$ref": "#/$defs/Step"}
    execute = schema["$defs"]["ExecuteArgs"]["properties"]
    assert execute["wait"]["enum"] == ["none", "start", "complete"]
    assert execute["timeout"]["anyOf"][0]["examples"] == ["500ms", "10s", "2m", "1h"]
    assert "description" in execute["app"] and "examples" in execute["app"]
    for name, definition in schema["$defs"].items():
        if "properties" in definition:
            assert definition.get("description"), f"{name} has no description"
            assert definition["additionalProperties"] is False, name
            for key, value in definition["properties"].items():
                assert "description" in value, f"{name}.{key} has no description"


def test_render_is_stable_json() -> None:
    text = render(flow_schema())
    assert text.endswith("}\n")
    assert json.loads(text) == flow_schema()
