"""Scenario files: which calls to place on the simulator, when, and what they do.

    # scenario.yaml
    simulator:                     # optional; command-line flags win
      speed: 1.0
      outbound_target: 127.0.0.1:8084
    dialplan:                      # optional; tried before the default extensions
      - destination: ^1000$
        actions: [answer, playback /sounds/welcome.wav, park]
    calls:
      - at: 0.5                    # simulated seconds after the start
        destination: "1000"
        caller: {number: "+4930123456", name: Alice}
        variables: {sip_from_host: example.com}
        dtmf: ["1", "42#"]         # one entry per prompt (read, play_and_get_digits)
        hangup_after: 20           # the far end hangs up (seconds after the call starts)
      - destination: "9000"        # the default dialplan hands 9000 to the outbound socket
        socket: 127.0.0.1:8084 async full   # ... or name the outbound server here
        repeat: 3                  # three such calls,
        every: 2                   # two seconds apart

Validated with pydantic; a mistake is reported as ``file:line:col: message`` with the
line and a caret, positions coming from ruamel.yaml.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from runner.sim.core import MediaConfig
from runner.sim.dialplan import Extension, parse_action
from runner.sim.simulator import CallSpec, Simulator

_DTMF = re.compile(r"^[0-9*#A-Da-d]+$")
_HOST_PORT = re.compile(r"^\S+:\d+$")


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message points at the place."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Caller(_Model):
    number: str = "1000"
    name: str = ""


class Call(_Model):
    """One call (or ``repeat`` identical calls) from a simulated phone."""

    destination: str = Field(min_length=1)
    at: float = Field(default=0.0, ge=0)
    caller: Caller = Caller()
    context: str = "default"
    variables: dict[str, str] = Field(default_factory=dict)
    dtmf: list[str] = Field(default_factory=list)
    dtmf_delay: float = Field(default=0.5, ge=0)
    hangup_after: float | None = Field(default=None, gt=0)
    socket: str | None = None
    actions: list[str] | None = None
    repeat: int = Field(default=1, ge=1, le=100_000)
    every: float = Field(default=1.0, ge=0)
    uuid: str | None = None

    @field_validator("dtmf")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _DTMF.match(entry):
                raise ValueError(f"{entry!r} is not DTMF (use 0-9, *, #, A-D)")
        return value

    @field_validator("socket")
    @classmethod
    def _socket(cls, value: str | None) -> str | None:
        if value is None:
            return value
        words = value.split()
        if not words or not all(_HOST_PORT.match(h) for h in words[0].split("|")):
            raise ValueError(f"{value!r}: expected 'host:port [async] [full]'")
        if any(w not in ("async", "full") for w in words[1:]):
            raise ValueError(f"{value!r}: only 'async' and 'full' may follow the address")
        return value

    def spec(self, index: int = 0) -> CallSpec:
        uuid = self.uuid if index == 0 or self.uuid is None else f"{self.uuid}-{index}"
        return CallSpec(
            destination=self.destination,
            caller_number=self.caller.number,
            caller_name=self.caller.name,
            context=self.context,
            variables=dict(self.variables),
            dtmf=list(self.dtmf),
            dtmf_delay=self.dtmf_delay,
            hangup_after=self.hangup_after,
            actions=list(self.actions) if self.actions is not None else None,
            socket=self.socket,
            uuid=uuid,
        )


class DialplanEntry(_Model):
    destination: str
    context: str = "default"
    actions: list[str] = Field(min_length=1)

    @field_validator("destination")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    def extension(self) -> Extension:
        return Extension(
            self.destination, tuple(parse_action(a) for a in self.actions), context=self.context
        )


class Media(_Model):
    default_seconds: float = Field(default=1.0, ge=0)
    durations: dict[str, float] = Field(default_factory=dict)


class SimulatorSettings(_Model):
    speed: float | None = Field(default=None, gt=0)
    heartbeat_interval: float | None = Field(default=None, gt=0)
    outbound_target: str | None = Field(default=None, pattern=r"^\S+:\d+$")
    answer_delay: float | None = Field(default=None, ge=0)
    media: Media | None = None


class Scenario(_Model):
    simulator: SimulatorSettings = SimulatorSettings()
    dialplan: list[DialplanEntry] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)

    def simulator_options(self) -> dict[str, Any]:
        """Keyword arguments for `Simulator` from the ``simulator`` and ``dialplan`` keys."""
        options: dict[str, Any] = {
            k: v for k, v in self.simulator.model_dump(exclude={"media"}).items() if v is not None
        }
        if self.simulator.media is not None:
            media = self.simulator.media
            options["media"] = MediaConfig(media.default_seconds, dict(media.durations))
        if self.dialplan:
            options["extensions"] = [entry.extension() for entry in self.dialplan]
        return options

    def schedule(self) -> list[tuple[float, CallSpec]]:
        """Every call to place, as (simulated seconds from the start, spec), in order."""
        out = [
            (call.at + i * call.every, n, i, call)
            for n, call in enumerate(self.calls)
            for i in range(call.repeat)
        ]
        return [(at, call.spec(i)) for at, _, i, call in sorted(out, key=lambda x: x[:3])]


async def play(sim: Simulator, scenario: Scenario) -> list[str]:
    """Place the scenario's calls at their (simulated) times; returns their UUIDs."""
    started = sim.clock.now()
    uuids = []
    for at, spec in scenario.schedule():
        delay = started + at - sim.clock.now()
        if delay > 0:
            await sim.clock.sleep(delay)
        uuids.append(await sim.place_call(spec))
    return uuids


# -- loading -------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise `ScenarioError` pointing at the mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    lines = text.splitlines()
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(
            _located(source, lines, line, col, f"invalid YAML: {problem}")
        ) from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ScenarioError(_located(source, lines, 1, 1, "a scenario must be a mapping"))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        # An unknown key is usually a typo that also explains a "missing" error: say it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        error = errors[0]
        loc = tuple(error["loc"])
        line, col = _position(data, loc, key=error["type"] == "extra_forbidden")
        where = _dotted(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            where = _dotted(loc[:-1])
            message = f"unknown key {loc[-1]!r}"
        text_out = f"{where}: {message}" if where else message
        more = len(exc.errors()) - 1
        if more:
            text_out += f" (and {more} more error{'s' if more > 1 else ''})"
        raise ScenarioError(_located(source, lines, line, col, text_out)) from None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _position(root: Any, loc: tuple[Any, ...], *, key: bool) -> tuple[int, int]:
    """1-based (line, column) of the node ``loc`` names, or of its nearest ancestor."""
    line, col = 0, 0
    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap) and part in node:
            kline, kcol = node.lc.key(part)
            vline, vcol = node.lc.value(part)
            value = node[part]
            if (last and key) or (isinstance(value, CommentedMap | CommentedSeq) and not last):
                line, col = kline, kcol
            else:
                line, col = vline, vcol
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    return line + 1, col + 1


def _located(source: str, lines: list[str], line: int, col: int, message: str) -> str:
    out = f"{source}:{line}:{col}: {message}"
    if 1 <= line <= len(lines):
        out += f"\n    {lines[line - 1]}\n    {' ' * (col - 1)}^"
    return out
