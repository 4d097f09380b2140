"""JSON Schema of the flow language, generated from the models and committed in `schemas/`.

Editors use it through yaml-language-server (`# yaml-language-server: $schema=...` at the
top of a flow) to complete and document keys. `eslflow schema --check` compares the
committed files with freshly generated ones, so the schema never drifts from the models.
`SCHEMAS` holds the flow language's; `runner.schemas.ALL_SCHEMAS` adds the engine
configuration's (the flow package does not depend on the engine).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from runner.flow.models import Flow

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def _hoist(schema: dict[str, Any], name: str, marker: str) -> None:
    """Move every inline union whose members are `$defs/*<marker>` into `$defs/<name>`.

    Pydantic inlines the step and condition unions at each use; one shared definition
    keeps the file small and gives editors one name ("Step", "Condition") to show.
    """
    found: list[Any] = []

    def is_union(node: Any) -> bool:
        if not isinstance(node, dict) or set(node) != {"oneOf"}:
            return False
        refs = [item.get("$ref", "") for item in node["oneOf"] if isinstance(item, dict)]
        return len(refs) == len(node["oneOf"]) > 1 and all(r.endswith(marker) for r in refs)

    def visit(node: Any) -> Any:
        if is_union(node):
            if not found:
                found.append(node)
            return {"$ref": f"#/$defs/{name}"}
        if isinstance(node, dict):
            return {key: visit(value) for key, value in node.items()}
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    rewritten = visit(schema)
    schema.clear()
    schema.update(rewritten)
    if found:
        schema["$defs"][name] = found[0]


def _share(schema: dict[str, Any], name: str, wrapper: Any) -> None:
    """Replace every copy of `wrapper` by a reference to `$defs/<name>`."""

    def visit(node: Any) -> Any:
        if node == wrapper:
            return {"$ref": f"#/$defs/{name}"}
        if isinstance(node, dict):
            return {key: visit(value) for key, value in node.items()}
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    rewritten = visit(schema)
    schema.clear()
    schema.update(rewritten)
    schema["$defs"][name] = wrapper


def flow_schema() -> dict[str, Any]:
    """The JSON Schema of one flow document."""
    schema = Flow.model_json_schema(by_alias=True, mode="validation")
    _hoist(schema, "StepMapping", "Step")
    _hoist(schema, "Condition", "Condition")
    # A step is a mapping or a bare word (`- stop`): share that pair as "Step".
    steps_items = schema["properties"]["steps"]["items"]
    _share(schema, "Step", steps_items)
    schema["$defs"] = dict(sorted(schema["$defs"].items()))
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "eslflow flow",
        "description": "A declarative, dialplan-like call flow for FreeSWITCH, run by eslflow "
        "over the Event Socket. Validate with `eslflow validate`.",
        **{key: value for key, value in schema.items() if key != "title"},
    }


SchemaBuilders = Mapping[str, Callable[[], dict[str, Any]]]
"""File name in `schemas/` -> the function that generates it."""

SCHEMAS: Final[SchemaBuilders] = {
    "flow.schema.json": flow_schema,
}
"""File name in `schemas/` -> the function that generates it."""


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: stable key order, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path, schemas: SchemaBuilders = SCHEMAS) -> list[Path]:
    """Write every schema into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in schemas.items():
        path = folder / name
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(folder: Path, schemas: SchemaBuilders = SCHEMAS) -> list[Path]:
    """The schema files in `folder` that are missing or differ from the models."""
    stale = []
    for name, build in schemas.items():
        path = folder / name
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            stale.append(path)
            continue
        if current != render(build()):
            stale.append(path)
    return stale
