"""A small flow and its test, shared by the tests of `eslflow test` and of its docs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FLOW = """\
flow: greeter
trigger: CHANNEL_PARK
when: {field: Caller-Destination-Number, expression: ^(7\\d\\d\\d)$}
steps:
  - execute: answer
  - execute: {app: playback, arg: "greetings/$1.wav"}
  - sendevent: {event: CUSTOM, subclass: "greeter::done", headers: {Line: "$1"}}
  - hangup: NORMAL_CLEARING
"""

TEST = """\
# The greeter answers 7xxx and plays that line's greeting.
test: 7001 hears its greeting
at: "2026-03-02T10:00:00+01:00"
call: {destination: "7001", caller: {number: "1001"}}
expect:
  flow: greeter
  commands:
    - execute: answer
    - execute: {app: playback, arg: greetings/7001.wav}
    - hangup: NORMAL_CLEARING
  events_sent:
    - {event: CUSTOM, subclass: "greeter::done", headers: {Line: "7001"}}
  hangup_cause: NORMAL_CLEARING
"""

# What breaks it: the wrong prompt, and the hangup forgotten.
BROKEN_FLOW = FLOW.replace('"greetings/$1.wav"', '"greeting/$1.wav"').replace(
    "  - hangup: NORMAL_CLEARING\n", ""
)


@contextmanager
def greeter_project(root: Path, flow: str = FLOW) -> Iterator[Path]:
    """flows/greeter.yaml and flows/tests/greeter.test.yaml under `root`, which is the
    working directory meanwhile, so paths print relative to it."""
    (root / "flows" / "tests").mkdir(parents=True, exist_ok=True)
    (root / "flows" / "greeter.yaml").write_text(flow)
    (root / "flows" / "tests" / "greeter.test.yaml").write_text(TEST)
    here = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(here)
