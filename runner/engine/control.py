"""Control flow between steps: how `stop` and `goto` unwind nested step lists."""

from __future__ import annotations

from runner.flow.models import Flow
from runner.flow.steps import Step

# goto/call between flows may nest this deep; beyond it the step fails (a loop).
MAX_CALL_DEPTH = 32

# Steps an instance may run in a row without waiting for an event (or sleeping): a
# goto/repeat loop that never waits fails once it has run this many, instead of holding
# the event loop for ever. The engine configuration's `step_budget` overrides it.
DEFAULT_STEP_BUDGET = 10_000


class StopFlow(Exception):
    """`stop`: the flow ends here."""


class GotoFlow(Exception):
    """`goto` another flow or block: unwind to the top and go on there."""

    def __init__(self, steps: tuple[Step, ...], flow: Flow) -> None:
        self.steps = steps
        self.flow = flow
