"""The test-case document: one `test:` with its flows, clock, inputs and expectations.

It checks what no single part can: call or calls, expectations given once, and every
input happening before the test's timeout.
"""

from __future__ import annotations

from typing import Annotated, Final, Self

from pydantic import BeforeValidator, Field, model_validator

from runner.engine.config_fields import ConfigPath, as_list, format_duration
from runner.flow.fields import Duration, Model, OrSingle, Seq, invalid
from runner.flowtest.models.expect import Expect
from runner.flowtest.models.inputs import Call, KeyPress, SwitchEvent
from runner.flowtest.models.stubs import Switch
from runner.flowtest.models.values import Instant, Line

DEFAULT_TIMEOUT: Final = 3600.0
"""How much simulated time a test may take before it fails as still running."""


def _flows_list(value: object) -> object:
    value = as_list(value)
    if isinstance(value, list) and not value:
        raise invalid("'flows' needs at least one file or folder")
    return value


class TestCase(Model):
    """One test: a document of a test file (a file may hold several, separated by ---)."""

    __test__ = False  # not a pytest test class

    test: Line = Field(
        description="What the test shows, in a line.", examples=["digit 1 reaches sales"]
    )
    description: str | None = Field(default=None, description="More words, if needed.")
    flows: Annotated[list[ConfigPath], BeforeValidator(_flows_list), OrSingle()] | None = Field(
        default=None,
        description="Flow files and folders to load, relative to this file (default: the "
        "nearest flows/ folder: the folder this file is in, or a flows/ next to it or "
        "above it).",
        examples=[["../flows/ivr.yaml"], "../flows"],
    )
    at: Instant | None = Field(
        default=None,
        description="The clock at the start of the test, for time conditions (default: "
        "now, so give it whenever a flow looks at the time).",
        examples=["2026-03-02T10:00:00+01:00"],
    )
    call: Call | None = Field(default=None, description="The simulated call.")
    calls: Seq[Call] | None = Field(
        default=None, description="Several simulated calls, each with its own expect."
    )
    events: Seq[SwitchEvent] = Field(
        default=(),
        description="Events the switch fires (registrations, custom events).",
        examples=[
            [
                {
                    "event": "CUSTOM",
                    "subclass": "sofia::register",
                    "headers": {"profile-name": "internal"},
                }
            ]
        ],
    )
    switch: Switch = Field(
        default_factory=Switch,
        description="How the simulated switch "
        "behaves: application and API stubs, prompt durations.",
    )
    expect: Expect | None = Field(default=None, description="What must happen.")
    partial: bool = Field(
        default=False,
        description="true: every expect's lists may hold more than listed.",
    )
    timeout: Duration = Field(
        default=DEFAULT_TIMEOUT,
        description="Simulated time after which a test still running fails (default 1h).",
        json_schema_extra={"default": "1h"},
        examples=["10m"],
    )

    @model_validator(mode="after")
    def _inputs(self) -> Self:
        if self.call is not None and self.calls is not None:
            raise invalid("give call: or calls:, not both", at=("calls",))
        if self.call is None and self.calls is None and not self.events:
            raise invalid("nothing to test: give call:, calls: or events:")
        if self.calls is not None and not self.calls:
            raise invalid("'calls' needs at least one call", at=("calls",))
        expect = self.expect
        if expect is not None and self.call is None:
            for key in ("hangup_cause", "answered", "variables"):
                if key in expect.model_fields_set:
                    where = "each call's expect" if self.calls else "a call's expect"
                    raise invalid(
                        f"'{key}' is about one call: put it under {where}",
                        at=("expect", key),
                    )
        if self.call is not None and self.call.expect is not None and expect is not None:
            raise invalid(
                "give the expectations once: under expect:, or under call.expect",
                at=("call", "expect"),
            )
        self._within_timeout()
        return self

    def _within_timeout(self) -> None:
        """Every call, key press, hangup and event happens before the test times out."""
        limit = format_duration(self.timeout)
        calls: list[tuple[tuple[str | int, ...], Call]] = (
            [(("call",), self.call)]
            if self.call is not None
            else [(("calls", index), call) for index, call in enumerate(self.calls or ())]
        )
        moments: list[tuple[tuple[str | int, ...], float, str]] = []
        for where, call in calls:
            start = call.after or 0.0
            moments.append(((*where, "after"), start, "the call arrives"))
            if call.hangup_after is not None:
                moments.append(
                    ((*where, "hangup_after"), start + call.hangup_after, "the caller hangs up")
                )
            for index, entry in enumerate(call.dtmf):
                if isinstance(entry, KeyPress):
                    moments.append(
                        ((*where, "dtmf", index), start + entry.after, "a key is pressed")
                    )
        for index, event in enumerate(self.events):
            moments.append((("events", index, "after"), event.after or 0.0, "the event fires"))
        for where, moment, what in moments:
            if moment >= self.timeout:
                raise invalid(
                    f"{what} {format_duration(moment)} into the test, after its timeout "
                    f"({limit}): give the test a longer timeout",
                    at=where,
                )

    def all_calls(self) -> tuple[Call, ...]:
        if self.call is not None:
            return (self.call,)
        return self.calls or ()
