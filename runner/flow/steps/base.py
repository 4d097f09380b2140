"""The base every step model shares: its optional name and where it is written.

`StepBase.where` gives `flows/x.yaml:12:7: flow 'support-line' step execute` for the
engine's log and error lines; the loader sets the position and the flow's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, PrivateAttr

from runner.flow.errors import SourcePos
from runner.flow.fields import Model

if TYPE_CHECKING:
    from runner.flow.steps.kinds import Step

StepPath = tuple[str | int, ...]


class StepBase(Model):
    """What every step has: an optional `name` for logs, and its place in the YAML."""

    KIND: ClassVar[str] = ""

    name: str | None = Field(
        default=None,
        description="A label for logs and error messages (defaults to the step kind).",
    )

    _pos: SourcePos | None = PrivateAttr(default=None)
    _flow: str = PrivateAttr(default="")

    @property
    def kind(self) -> str:
        """The step kind: `execute`, `hangup`, ..."""
        return self.KIND

    @property
    def pos(self) -> SourcePos | None:
        """Where the step is written (path, line, column), set by the loader."""
        return self._pos

    @property
    def flow_name(self) -> str:
        """The name of the flow this step belongs to, set by the loader."""
        return self._flow

    @property
    def where(self) -> str:
        """`flows/x.yaml:12:7: flow 'support-line' step execute` for log and error lines."""
        label = self.name or self.KIND
        place = f"{self._pos}: " if self._pos is not None else ""
        return f"{place}flow '{self._flow}' step {label}"

    def children(self) -> Iterator[tuple[StepPath, tuple[Step, ...]]]:
        """Nested step lists with their path below this step (`then`, `cases/1`...)."""
        return iter(())
