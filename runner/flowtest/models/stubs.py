"""The simulated switch as a test wants it: application and API stubs, prompt lengths."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from runner.flow.fields import Duration, HangupCause, Model
from runner.flowtest.models.values import Text


def _app_short(value: object) -> object:
    if value is None:
        return {}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"duration": value}
    return value


class AppStub(Model):
    """A dialplan application as the test wants it to behave: it takes `duration`, sets
    channel variables, and may end the call (the far end hung up)."""

    duration: Duration | None = Field(
        default=None, description="How long it runs (default: it completes at once)."
    )
    set: dict[str, Text] = Field(
        default_factory=dict,
        description="Channel variables it sets before it completes (its EXECUTE_COMPLETE "
        "shows them as variable_<name>).",
        examples=[{"bridge_hangup_cause": "NORMAL_CLEARING"}],
    )
    response: Text | None = Field(
        default=None,
        description="Its Application-Response.",
        examples=["FILE PLAYED"],
    )
    hangup: HangupCause | None = Field(
        default=None, description="The call is hung up with this cause when it ends."
    )
    answer: bool = Field(
        default=True,
        description="For bridge, att_xfer and intercept: the far end answers at once "
        "(CHANNEL_BRIDGE) and talks for `duration`; false: it only rings for `duration`.",
    )


class Media(Model):
    """How long simulated prompts play."""

    default: Duration | None = Field(
        default=None, description="Any file not listed (the simulator's default: 1s)."
    )
    files: dict[str, Duration] = Field(
        default_factory=dict,
        description="Durations of named files.",
        examples=[{"ivr/ivr-welcome.wav": "4s"}],
    )


class Switch(Model):
    """The simulated FreeSWITCH: applications and API commands it answers as told."""

    apps: dict[
        str,
        Annotated[AppStub, BeforeValidator(_app_short, json_schema_input_type=str | AppStub)],
    ] = Field(
        default_factory=dict,
        description="Applications added or replaced (voicemail, record_session, bridge, "
        "...): a duration, or {duration, set, response, hangup}.",
        examples=[{"voicemail": "20s", "bridge": {"duration": "30s", "hangup": "NORMAL_CLEARING"}}],
    )
    api: dict[str, Text] = Field(
        default_factory=dict,
        description="API commands added or replaced, by name: their output (api and bgapi).",
        examples=[{"sofia": "+OK\n"}],
    )
    media: Media = Field(default_factory=Media, description="Prompt durations.")
    answer_delay: Duration | None = Field(
        default=None,
        description="How long a called phone (bridge, originate) rings before it answers "
        "(the simulator's default: 0.5s).",
    )
