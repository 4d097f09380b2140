"""The steps' render helpers: exactly what the engine will put on the wire, and what
they refuse (injected `${`, CR/LF), naming flow, step, place and origin."""

import datetime as dt

import pytest

from runner.flow import (
    ExpressionError,
    RenderContext,
    StepBase,
    UnsafeSubstitutionError,
    load_flow_sources,
)
from runner.flow.steps import (
    ApiStep,
    BgapiStep,
    ExecuteStep,
    LingerStep,
    LogStep,
    NomediaStep,
    SendeventStep,
    SetStep,
    SwitchStep,
    WaitStep,
    XferextStep,
)

FLOW = """\
flow: t
trigger: CHANNEL_PARK
when: {field: Caller-Destination-Number, expression: '^(\\d+)$'}
vars: {greeting: hello}
steps:
  - execute: {app: playback, arg: "${{ event['Caller-Caller-ID-Name'] }}.wav"}
  - execute: {app: set, arg: "name=${{ event['Caller-Caller-ID-Name'] }}"}
    raw: true
  - api: "uuid_setvar ${{ uuid }} caller ${{ event['Caller-Caller-ID-Name'] }}"
  - bgapi: {command: originate, args: "user/$1 &park()", save: job}
  - sendevent:
      event: CUSTOM
      subclass: eslflow::routed
      headers: {Caller: "${{ event['Caller-Caller-ID-Name'] }}", Extension: "$1"}
      body: "line one\\n${{ event['Caller-Caller-ID-Name'] }}"
  - xferext: ["playback ${{ vars.greeting }}.wav", {app: bridge, arg: "user/$1"}]
  - nomedia
  - switch: "${{ event['DTMF-Digit'] }}"
    cases: {"1": [{log: one}]}
    default: [{log: other}]
  - set: {count: "${{ len(vars.greeting) }}", text: "n=$1", flag: true}
  - log: "caller $1"
  - wait:
      event: BACKGROUND_JOB
      channel: any
      when: {field: Job-UUID, equals: "${{ vars.job }}"}
  - nomedia: {uuid: "${{ vars.greeting }}"}
  - execute: answer
"""

NOW = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)


def steps() -> tuple[StepBase, ...]:
    return load_flow_sources([("flows/t.yaml", FLOW)])["t"].steps


def ctx(name: str = "Bob", **event: str) -> RenderContext:
    headers = {"Caller-Caller-ID-Name": name, **event}
    return RenderContext(
        captures=("1000",), event=headers, trigger=headers, vars={"greeting": "hello"}, uuid="u-1"
    )


def test_execute_arg() -> None:
    playback = steps()[0]
    assert isinstance(playback, ExecuteStep)
    assert playback.render_arg(ctx()) == "Bob.wav"
    with pytest.raises(UnsafeSubstitutionError) as caught:
        playback.render_arg(ctx("${system(reboot)}"))
    assert str(caught.value) == (
        "flows/t.yaml:6:5: flow 't' step execute: value from event header "
        "Caller-Caller-ID-Name would put '${' into the command, and FreeSWITCH expands ${...} "
        "when it runs it (${system(...)} runs a shell command); refused — only if the value "
        "is trusted, mark the step `raw: true` or wrap it in raw(...)"
    )


def test_a_raw_step_lets_dollar_brace_through_but_never_a_line_break() -> None:
    raw_set = steps()[1]
    assert isinstance(raw_set, ExecuteStep) and raw_set.raw
    assert raw_set.render_arg(ctx("${x}")) == "name=${x}"
    with pytest.raises(UnsafeSubstitutionError, match="contains a line break"):
        raw_set.render_arg(ctx("Bob\nsendevent x"))


def test_execute_without_arg() -> None:
    answer = steps()[-1]
    assert isinstance(answer, ExecuteStep)
    assert answer.render_arg(ctx()) is None


def test_api_command_line() -> None:
    api = steps()[2]
    assert isinstance(api, ApiStep)
    assert api.render_command(ctx()) == "uuid_setvar u-1 caller Bob"
    with pytest.raises(UnsafeSubstitutionError) as caught:
        api.render_command(ctx("Bob\r\napi system reboot"))
    assert str(caught.value) == (
        "flows/t.yaml:9:5: flow 't' step api: value from event header Caller-Caller-ID-Name "
        "contains a line break (CR or LF); refused: on the wire it would end this command "
        "and start another"
    )
    with pytest.raises(UnsafeSubstitutionError, match="would put"):
        api.render_command(ctx("$${hold_music}"))


def test_bgapi_command_line() -> None:
    bgapi = steps()[3]
    assert isinstance(bgapi, BgapiStep)
    assert bgapi.render_command(ctx()) == "originate user/1000 &park()"
    evil = RenderContext(captures=("${system(id)}",))
    with pytest.raises(UnsafeSubstitutionError, match="value from capture \\$1 would put"):
        bgapi.render_command(evil)


def test_sendevent_headers_are_single_lines_and_the_body_is_free() -> None:
    event = steps()[4]
    assert isinstance(event, SendeventStep)
    assert event.render_headers(ctx()) == {"Caller": "Bob", "Extension": "1000"}
    assert event.render_body(ctx("a\nb")) == "line one\na\nb"
    with pytest.raises(UnsafeSubstitutionError) as caught:
        event.render_headers(ctx("Bob\nEvent-Name: HEARTBEAT"))
    assert str(caught.value) == (
        "flows/t.yaml:11:5: flow 't' step sendevent header Caller: value from event header "
        "Caller-Caller-ID-Name contains a line break (CR or LF); refused: on the wire it "
        "would end this command and start another"
    )


def test_xferext_applications() -> None:
    xferext = steps()[5]
    assert isinstance(xferext, XferextStep)
    assert xferext.render_apps(ctx()) == ["playback hello.wav", "bridge user/1000"]


def test_nomedia_defaults_to_the_channel() -> None:
    default, given = steps()[6], steps()[11]
    assert isinstance(default, NomediaStep) and isinstance(given, NomediaStep)
    assert default.render_uuid(ctx()) == "u-1"
    assert given.render_uuid(ctx()) == "hello"


def test_switch_picks_a_case_or_the_default() -> None:
    switch = steps()[7]
    assert isinstance(switch, SwitchStep)
    assert [s.kind for s in switch.choose(ctx(**{"DTMF-Digit": "1"}))] == ["log"]
    one, other = switch.choose(ctx(**{"DTMF-Digit": "1"}))[0], switch.choose(ctx())[0]
    assert isinstance(one, LogStep) and one.render_message(ctx()) == "one"
    assert isinstance(other, LogStep) and other.render_message(ctx()) == "other"


def test_set_evaluates_its_values() -> None:
    set_step = steps()[8]
    assert isinstance(set_step, SetStep)
    assert set_step.values(ctx()) == {"count": 5, "text": "n=1000", "flag": True}


def test_log_message() -> None:
    log = steps()[9]
    assert isinstance(log, LogStep)
    assert log.render_message(ctx()) == "caller 1000"


def test_wait_accepts_the_matching_event() -> None:
    wait = steps()[10]
    assert isinstance(wait, WaitStep)
    context = RenderContext(vars={"job": "j-1"})
    assert wait.accepts({"Job-UUID": "j-1"}, NOW, context)
    assert not wait.accepts({"Job-UUID": "j-2"}, NOW, context)


def test_expression_failures_name_the_step() -> None:
    (log,) = load_flow_sources([("f.yaml", "flow: t\nsteps: [{log: '${{ 1 + uuid }}'}]\n")])[
        "t"
    ].steps
    assert isinstance(log, LogStep)
    with pytest.raises(ExpressionError) as caught:
        log.render_message(RenderContext(uuid="u"))
    assert str(caught.value) == (
        "f.yaml:2:9: flow 't' step log: expression `1 + uuid`: cannot use '+' on an integer "
        "and a string; use str() or int() to convert"
    )


def test_linger_forms() -> None:
    text = "flow: t\ntrigger: {outbound: true}\nsteps: [linger, {linger: 3s}, {linger: false}]\n"
    forever, three, off = load_flow_sources([("f.yaml", text)])["t"].steps
    assert isinstance(forever, LingerStep) and forever.linger is True and forever.seconds is None
    assert isinstance(three, LingerStep) and three.seconds == 3
    assert isinstance(off, LingerStep) and off.linger is False
