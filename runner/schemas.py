"""Every JSON Schema committed in `schemas/`: the flow language's and the engine config's.

`eslflow schema` writes them and `eslflow schema --check` compares them with the models.
"""

from __future__ import annotations

from typing import Final

from runner.engine.config import CONFIG_SCHEMA_FILE, config_schema
from runner.flow.schema import SCHEMAS, SchemaBuilders

ALL_SCHEMAS: Final[SchemaBuilders] = {**SCHEMAS, CONFIG_SCHEMA_FILE: config_schema}
"""File name in `schemas/` -> the function that generates it."""
