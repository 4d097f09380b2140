"""A readable trace of calls: events in, commands out, flow and step — for `eslflow demo`.

call 1  <- CHANNEL_PARK  5000 from +4930123456 "Alice"
call 1     flow main-menu: flows/ivr.yaml:12:5 execute
call 1  -> sendmsg execute answer
call 1  <- CHANNEL_EXECUTE_COMPLETE answer (_none_)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from runner.engine.instance import FlowInstance
from runner.flow.steps import StepBase
from runner.text import printable

# Events worth a line; the rest (CHANNEL_STATE, CODEC, ...) would drown the story.
SHOWN_EVENTS = frozenset(
    {
        "CHANNEL_CREATE",
        "CHANNEL_ANSWER",
        "CHANNEL_PARK",
        "CHANNEL_BRIDGE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "DTMF",
        "CUSTOM",
        "BACKGROUND_JOB",
    }
)


class Tracer:
    """Prints one line per thing that happens to a call, tagged `call N`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._numbers: dict[str, int] = {}
        self.lines: list[str] = []

    def _tag(self, uuid: str | None) -> str:
        if not uuid:
            return "       "
        number = self._numbers.setdefault(uuid, len(self._numbers) + 1)
        return f"call {number:<2}"

    def _print(self, uuid: str | None, text: str) -> None:
        # Caller names and values are the caller's: one line each, bytes shown as \xff.
        line = f"{self._tag(uuid)} {printable(text)}"
        self.lines.append(line)
        print(line, file=self.stream, flush=True)

    def known(self, uuid: str | None) -> bool:
        return bool(uuid) and uuid in self._numbers

    def label(self, uuid: str) -> None:
        """Follow this call from now on (its events get lines)."""
        self._tag(uuid)

    def note(self, uuid: str | None, text: str) -> None:
        """A free-form line for a call (a flow's log line, say)."""
        self._print(uuid, text)

    # -- hooks -----------------------------------------------------------------------------------
    def event(self, node: str, event: Mapping[str, str]) -> None:
        name = event.get("Event-Name", "")
        if name not in SHOWN_EVENTS or node == "outbound":
            # An outbound socket's events also reach the inbound node: show them once.
            return
        uuid = event.get("Unique-ID")
        if name == "CHANNEL_PARK" or (name == "CHANNEL_CREATE" and not self.known(uuid)):
            detail = (
                f"{event.get('Caller-Destination-Number', '?')} from "
                f"{event.get('Caller-Caller-ID-Number', '?')} "
                f'"{event.get("Caller-Caller-ID-Name", "")}"'
            )
        elif name == "CHANNEL_EXECUTE_COMPLETE":
            detail = f"{event.get('Application', '?')} ({event.get('Application-Response', '')})"
        elif name == "CHANNEL_HANGUP":
            detail = event.get("Hangup-Cause", "")
        elif name == "DTMF":
            detail = event.get("DTMF-Digit", "")
        elif name == "CUSTOM":
            detail = event.get("Event-Subclass", "")
        elif name == "BACKGROUND_JOB":
            detail = (event.get("Job-Command", "") + " " + event.get("Job-Command-Arg", "")).strip()
        else:
            detail = ""
        if name in ("CUSTOM", "BACKGROUND_JOB") or self.known(uuid) or name == "CHANNEL_PARK":
            self._print(uuid, f"<- {name} {detail}".rstrip())

    def command(self, uuid: str, data: bytes) -> None:
        text = data.decode("utf-8", "surrogateescape")
        head, _, body = text.partition("\n\n")
        lines = head.split("\n")
        first = lines[0]
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if first.startswith("sendmsg"):
            command = fields.get("call-command", "")
            if command == "execute":
                arg = fields.get("execute-app-arg") or body
                summary = f"sendmsg execute {fields.get('execute-app-name', '')} {arg}".rstrip()
            elif command == "hangup":
                summary = f"sendmsg hangup {fields.get('hangup-cause', '')}"
            else:
                summary = f"sendmsg {command}"
        elif first.startswith("sendevent"):
            subclass = fields.get("Event-Subclass", "")
            summary = f"{first} {subclass}".rstrip()
        else:
            summary = first
        self._print(uuid, f"-> {summary}")

    def finished(self, instance: FlowInstance) -> None:
        """Observer.finished: the trace shows the hangup and the end, not the instance."""

    def step(self, instance: FlowInstance, step: StepBase) -> None:
        place = str(step.pos) if step.pos is not None else ""
        self._print(instance.uuid, f"   flow {instance.flow.flow}: {place} {step.kind}")
