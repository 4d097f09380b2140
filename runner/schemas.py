"""Every JSON Schema committed in `schemas/`: flows, the engine config, flow tests.

`eslflow schema` writes them and `eslflow schema --check` compares them with the models.
"""

from __future__ import annotations

from typing import Final

from runner.engine.config import CONFIG_SCHEMA_FILE, config_schema
from runner.flow.schema import SCHEMAS, SchemaBuilders
from runner.flowtest.schema import TEST_SCHEMA_FILE, test_schema

ALL_SCHEMAS: Final[SchemaBuilders] = {
    **SCHEMAS,
    CONFIG_SCHEMA_FILE: config_schema,
    TEST_SCHEMA_FILE: test_schema,
}
"""File name in `schemas/` -> the function that generates it."""
