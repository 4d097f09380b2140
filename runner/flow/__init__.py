"""The flow language: YAML flows, their models, validation, conditions and templates.

The engine's entry points:
- `load_flows(paths) -> FlowSet` (raises `FlowValidationError` with every error);
- `FlowSet.match_event(headers, now)` / `match_outbound(channel_data, now)`: dispatch;
- `match(conditions, headers, now, context)`: captures or None (if/wait/until too);
- `Template.render(ctx, guard=..., raw=..., where=...)` and the steps' `render_*`
  helpers, which refuse injected `${` and CR/LF;
- `Flow.walk()`, `step.pos`, `step.where`: every step and where it is written.
"""

from runner.flow.conditions import Captures, Condition, holds, match
from runner.flow.context import RenderContext
from runner.flow.errors import (
    ExpressionError,
    FlowError,
    FlowRuntimeError,
    FlowValidationError,
    SourcePos,
    UnsafeSubstitutionError,
)
from runner.flow.expansion import Piece
from runner.flow.expr import Expression, RawStr, compile_expression
from runner.flow.flowset import EventKey, FlowSet, Match
from runner.flow.loader import find_flow_files, load_flow_sources, load_flows
from runner.flow.models import Flow, Trigger
from runner.flow.steps import STEP_KINDS, Step, StepBase
from runner.flow.template import Guard, Rendered, Template

__all__ = [
    "STEP_KINDS",
    "Captures",
    "Condition",
    "EventKey",
    "Expression",
    "ExpressionError",
    "Flow",
    "FlowError",
    "FlowRuntimeError",
    "FlowSet",
    "FlowValidationError",
    "Guard",
    "Match",
    "Piece",
    "RawStr",
    "RenderContext",
    "Rendered",
    "SourcePos",
    "Step",
    "StepBase",
    "Template",
    "Trigger",
    "UnsafeSubstitutionError",
    "compile_expression",
    "find_flow_files",
    "holds",
    "load_flow_sources",
    "load_flows",
    "match",
]
