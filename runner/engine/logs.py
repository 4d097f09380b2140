"""Structured logs: every line carries the call's uuid, the flow and the step.

The engine sets three context variables in each flow instance's task; anyio copies the
context into every task it starts, so a line logged anywhere below an instance knows
which call it belongs to. Text for people, JSON lines for log shippers.

Values in a line come from callers (a `log` step prints a caller name): in text lines
every control character is escaped, so a CR/LF in a value cannot forge a second line, and
bytes that were not UTF-8 (surrogate escapes) show as `\\xff`. JSON lines escape C0
controls by construction; surrogates, C1 controls and U+2028/U+2029 become `\\uXXXX`
escapes too, which decode back to the same string, so a line is valid UTF-8 and stays
one line for any splitter.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Literal, TextIO

from runner.text import json_line, printable

# The inbound node (its name from the config) whose connection a line is about.
node_name: ContextVar[str | None] = ContextVar("node_name", default=None)
call_uuid: ContextVar[str | None] = ContextVar("call_uuid", default=None)
flow_name: ContextVar[str | None] = ContextVar("flow_name", default=None)
# The running step itself (anything with a `where`), or its description: a log line
# asks for `where` only when there is a line to write, not at every step.
step_where: ContextVar[object | None] = ContextVar("step_where", default=None)

LogFormat = Literal["text", "json"]


class CallContextFilter(logging.Filter):
    """Copies the call context onto each record (`node`, `uuid`, `flow`, `step`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = node_name.get()
        record.uuid = call_uuid.get()
        record.flow = flow_name.get()
        step = step_where.get()
        record.step = getattr(step, "where", step)
        return True


class TextFormatter(logging.Formatter):
    """`2026-11-27T10:00:00.123Z INFO  [node uuid flow step] message`, one line per record.

    A traceback follows on lines of its own, each indented, so no line of it can pass for
    a record of its own.
    """

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ms = int(record.msecs)
        context = " ".join(
            printable(str(v))
            for v in (getattr(record, k, None) for k in ("node", "uuid", "flow", "step"))
            if v
        )
        prefix = f"{stamp}.{ms:03d}Z {record.levelname:<5} "
        line = prefix + (f"[{context}] " if context else "") + printable(record.getMessage())
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += "".join(f"\n    {printable(part)}" for part in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, node, uuid, flow, step."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("node", "uuid", "flow", "step"):
            value = getattr(record, key, None)
            if value:
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json_line(data)


def setup_logging(
    fmt: LogFormat = "text", level: str | int = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Route the `runner` loggers to `stream` (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(CallContextFilter())
    root = logging.getLogger("runner")
    for old in list(root.handlers):
        if getattr(old, "_eslflow", False):
            root.removeHandler(old)
    handler._eslflow = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    root.propagate = False
    return handler
