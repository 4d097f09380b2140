"""The commands the engine sent, read back from their bytes and tied to the flow step
that sent them; and whether a command is what a test expects.

    sendmsg 00000000-...-000000000001        ->  SentCommand(kind="execute",
    call-command: execute                          app="playback",
    execute-app-name: playback                     arg="ivr/ivr-welcome.wav",
    content-type: text/plain                       where=flows/ivr.yaml:14:5)
    content-length: 19

    ivr/ivr-welcome.wav
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from runner.flow.errors import SourcePos
from runner.flowtest.models.expect import CommandPattern, EventPattern

_SOCKET_WORDS: Final = ("linger", "nolinger", "myevents", "resume", "divert_events")


@dataclass(frozen=True, slots=True)
class SentCommand:
    """One command on the wire: its kind and fields, when (simulated seconds from the
    start of the test), for which channel, and which flow step sent it (None: the
    engine on its own, such as the myevents of an outbound connection)."""

    time: float
    uuid: str
    kind: str
    line: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    flow: str | None = None
    pos: SourcePos | None = None
    instance: int = -1  # which flow instance sent it: 0 for the first that started

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def by_step(self) -> bool:
        return self.pos is not None

    @property
    def app(self) -> str:
        return self.header("execute-app-name") or ""

    @property
    def arg(self) -> str:
        """The application's argument: the execute-app-arg header, else the body."""
        return self.header("execute-app-arg") or self.body or ""

    @property
    def cause(self) -> str:
        return self.header("hangup-cause") or ""

    @property
    def rest(self) -> str:
        """What follows the command word on the first line (`api`'s command, linger's
        seconds)."""
        return self.line.partition(" ")[2]

    @property
    def event_name(self) -> str:
        return self.rest if self.kind == "sendevent" else ""

    def summary(self) -> str:
        """One line for reports: `execute playback ivr/x.wav`, `hangup USER_BUSY`."""
        if self.kind == "execute":
            return f"execute {self.app} {self.arg}".rstrip()
        if self.kind == "hangup":
            return f"hangup {self.cause}"
        if self.kind == "sendmsg":
            shown = " ".join(f"{k}={v}" for k, v in self.headers)
            return f"sendmsg {shown}"
        if self.kind == "sendevent":
            fields = [f"{k}={v}" for k, v in self.headers if k.lower() != "content-type"]
            return " ".join(["sendevent", self.event_name, *fields])
        return self.line

    @property
    def where(self) -> str:
        return str(self.pos) if self.pos is not None else "(engine)"


def parse_command(
    data: bytes,
    *,
    time: float = 0.0,
    uuid: str = "",
    flow: str | None = None,
    pos: SourcePos | None = None,
    instance: int = -1,
) -> SentCommand:
    """Read one serialized command back (runner.esl.commands wrote it)."""
    # surrogateescape, as the codec reads what FreeSWITCH sends: a caller's bytes that
    # are not UTF-8 compare equal to the same value in a test's expect:.
    text = data.decode("utf-8", "surrogateescape")
    head, _, rest = text.partition("\n\n")
    lines = head.split("\n")
    first = lines[0]
    headers: list[tuple[str, str]] = []
    length: int | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(": ")
        if not sep:
            continue
        if name.lower() == "content-length":
            length = int(value) if value.isdigit() else None
            continue
        headers.append((name, value))
    body = None
    if length is not None:
        raw = rest.encode("utf-8", "surrogateescape")[:length]
        body = raw.decode("utf-8", "surrogateescape")
    word = first.split(" ", 1)[0]
    kind = word if word in (*_SOCKET_WORDS, "api", "bgapi", "sendevent") else "other"
    if word == "sendmsg":
        call_command = next((v for k, v in headers if k.lower() == "call-command"), "")
        kind = call_command if call_command in ("execute", "hangup") else "sendmsg"
    return SentCommand(time, uuid, kind, first, tuple(headers), body, flow, pos, instance)


# --- matching ---------------------------------------------------------------------------


def command_matches(pattern: CommandPattern, sent: SentCommand) -> bool:
    """Whether `sent` is the command `pattern` describes (unlisted fields not checked)."""
    kind = pattern.kind
    if kind == "command":
        return pattern.command is None or pattern.command.matches(sent.line)
    if kind != sent.kind:
        return False
    if kind == "execute":
        expected = pattern.execute
        if expected is None:
            return True
        if expected.app is not None and not expected.app.matches(sent.app):
            return False
        if "arg" in expected.model_fields_set:
            if expected.arg is None:
                return sent.arg == ""
            return expected.arg.matches(sent.arg)
        return True
    if kind == "hangup":
        return pattern.hangup is None or pattern.hangup.matches(sent.cause)
    if kind == "sendmsg":
        wanted = pattern.sendmsg or {}
        return all(value.matches(sent.header(name)) for name, value in wanted.items())
    if kind in ("api", "bgapi", "linger"):
        value = getattr(pattern, kind)
        return value is None or value.matches(sent.rest)
    if kind == "divert_events":
        return pattern.divert_events is None or pattern.divert_events == sent.rest
    return True  # nolinger, myevents, resume


def describe_pattern(pattern: CommandPattern) -> str:
    """An expected command as a report shows it, in the words of `SentCommand.summary`."""
    kind = pattern.kind
    if kind == "execute":
        expected = pattern.execute
        if expected is None:
            return "execute (any application)"
        app = str(expected.app) if expected.app is not None else "(any application)"
        if "arg" in expected.model_fields_set:
            arg = str(expected.arg) if expected.arg is not None else "(no argument)"
            return f"execute {app} {arg}"
        return f"execute {app}"
    if kind == "sendmsg":
        shown = " ".join(f"{k}={v}" for k, v in (pattern.sendmsg or {}).items())
        return f"sendmsg {shown}".rstrip()
    value = getattr(pattern, kind)
    if value is None:
        return kind if kind != "command" else "(any command)"
    return str(value) if kind == "command" else f"{kind} {value}"


def event_matches(pattern: EventPattern, sent: SentCommand) -> bool:
    """Whether the sendevent `sent` is the event `pattern` describes."""
    if sent.kind != "sendevent" or sent.event_name != pattern.event:
        return False
    if pattern.subclass is not None and not pattern.subclass.matches(sent.header("Event-Subclass")):
        return False
    for name, value in pattern.headers.items():
        if not value.matches(sent.header(name)):
            return False
    return pattern.body is None or pattern.body.matches(sent.body or "")


def describe_event(pattern: EventPattern) -> str:
    parts = ["sendevent", pattern.event]
    if pattern.subclass is not None:
        parts.append(f"Event-Subclass={pattern.subclass}")
    parts += [f"{name}={value}" for name, value in pattern.headers.items()]
    if pattern.body is not None:
        parts.append(f"body={pattern.body}")
    return " ".join(parts)
