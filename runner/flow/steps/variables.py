"""The `set` step: eslflow's own flow variables (not channel variables).

A value that is exactly one `${{ expr }}` keeps its type; other text is a template.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema

from runner.flow.context import RenderContext
from runner.flow.fields import Identifier, describe_input, invalid, template_value
from runner.flow.steps.base import StepBase
from runner.flow.template import Template


def _set_value(value: object) -> Template | bool | int | float | None:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return template_value(value)
    raise invalid(f"expected text, a number or true/false, got {describe_input(value)}")


SetValue = Annotated[
    Template | bool | int | float | None,
    PlainValidator(_set_value),
    PlainSerializer(lambda value: value.source if isinstance(value, Template) else value),
    WithJsonSchema({"type": ["string", "number", "boolean", "null"]}),
]


class SetStep(StepBase):
    """Set flow variables (eslflow's, not channel variables: for those run the `set` app)."""

    KIND: ClassVar[str] = "set"
    set: dict[Identifier, SetValue] = Field(
        min_length=1,
        description="name: value; a value that is exactly one ${{ expr }} keeps its type.",
        examples=[{"attempts": 0, "caller": "${{ event['Caller-Caller-ID-Number'] }}"}],
    )

    def values(self, ctx: RenderContext) -> dict[str, object]:
        """The new values, evaluated in `ctx`."""
        return {
            name: value.evaluate(ctx, where=self) if isinstance(value, Template) else value
            for name, value in self.set.items()
        }
