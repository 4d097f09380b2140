"""Loading valid flows: the language as written in the issue, short forms, positions,
folders, many files at once, and the checks that span flows."""

import datetime as dt
from pathlib import Path

import pytest

from runner.flow import (
    Flow,
    FlowSet,
    FlowValidationError,
    SourcePos,
    load_flow_sources,
    load_flows,
    match,
)
from runner.flow.steps import (
    ApiStep,
    BgapiStep,
    CallStep,
    ExecuteStep,
    GotoStep,
    HangupStep,
    IfStep,
    LingerStep,
    LogStep,
    NomediaStep,
    SendeventStep,
    SetStep,
    StopStep,
    SwitchStep,
    UnicastStep,
    WaitStep,
    XferextStep,
)

ISSUE_EXAMPLE = """\
# yaml-language-server: $schema=../schemas/flow.schema.json
flow: support-line                 # unique name
description: Route 1xxx to the user's phone, after hours to voicemail
trigger:
  event: CHANNEL_PARK              # any FreeSWITCH event name; CUSTOM needs `subclass:`
  # subclass: sofia::register
  # outbound: true                 # instead of event: runs on an outbound socket connection
priority: 10                       # flows with the same trigger are tried in order
continue: false                    # like the dialplan's continue="true"
when:                              # all must hold; each is a dialplan condition
  - field: Caller-Destination-Number
    expression: ^(1\\d{3})$         # regex; captures become $1..$9
  - field: variable_sip_from_host
    equals: example.com
  - time: {wday: mon-fri, hour: 9-17, tz: Europe/Berlin}
steps:
  - execute: answer
  - execute: {app: playback, arg: "ivr/ivr-welcome.wav"}
  - execute: {app: bridge, arg: "user/$1@${domain_name}", wait: complete, timeout: 30s}
  - if:
      field: variable_bridge_hangup_cause
      expression: ^NORMAL_CLEARING$
    then: [{hangup: NORMAL_CLEARING}]
    else: [{execute: {app: voicemail, arg: "default ${domain_name} $1"}}]
  - sendevent: {event: CUSTOM, subclass: "eslflow::routed", headers: {Extension: "$1"}}
  - api: "uuid_setvar ${{ uuid }} routed true"
  - bgapi: {command: "originate", args: "user/$1 &park()", save: job}
  - wait: {event: DTMF, timeout: 10s, save: digit}
  - hangup: NORMAL_CLEARING
on_hangup: [{log: "hung up"}]
on_error: [{hangup: TEMPORARY_FAILURE}]
"""

TUESDAY_11_BERLIN = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)


def load(text: str, path: str = "flows/t.yaml") -> FlowSet:
    return load_flow_sources([(path, text)])


def errors_of(sources: list[tuple[str, str]]) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_flow_sources(sources)
    return [str(error) for error in caught.value.errors]


def test_the_issue_example_loads_as_written() -> None:
    flow = load(ISSUE_EXAMPLE, "flows/support-line.yaml")["support-line"]
    assert flow.description == "Route 1xxx to the user's phone, after hours to voicemail"
    assert flow.trigger is not None
    assert (flow.trigger.event, flow.trigger.subclass, flow.trigger.outbound) == (
        "CHANNEL_PARK",
        None,
        False,
    )
    assert (flow.priority, flow.continue_, flow.on_busy) == (10, False, "skip")
    assert [step.kind for step in flow.steps] == [
        "execute",
        "execute",
        "execute",
        "if",
        "sendevent",
        "api",
        "bgapi",
        "wait",
        "hangup",
    ]
    answer, playback, bridge, branch, event, api, bgapi, wait, hangup = flow.steps
    assert isinstance(answer, ExecuteStep)
    assert (answer.execute.app, answer.execute.arg, answer.execute.wait) == (
        "answer",
        None,
        "complete",
    )
    assert isinstance(playback, ExecuteStep) and playback.execute.arg is not None
    assert playback.execute.arg.source == "ivr/ivr-welcome.wav"
    assert isinstance(bridge, ExecuteStep) and bridge.execute.arg is not None
    assert (bridge.execute.app, bridge.execute.arg.source, bridge.execute.timeout) == (
        "bridge",
        "user/$1@${domain_name}",
        30.0,
    )
    assert isinstance(branch, IfStep)
    assert [type(step) for step in branch.then] == [HangupStep]
    assert [type(step) for step in branch.else_] == [ExecuteStep]
    assert isinstance(event, SendeventStep)
    assert event.sendevent.subclass == "eslflow::routed"
    assert {k: v.source for k, v in event.sendevent.headers.items()} == {"Extension": "$1"}
    assert isinstance(api, ApiStep) and api.api.args is not None
    assert (api.api.command, api.api.args.source) == ("uuid_setvar", "${{ uuid }} routed true")
    assert isinstance(bgapi, BgapiStep) and bgapi.bgapi.args is not None
    assert (bgapi.bgapi.command, bgapi.bgapi.args.source, bgapi.bgapi.save) == (
        "originate",
        "user/$1 &park()",
        "job",
    )
    assert isinstance(wait, WaitStep)
    assert (wait.wait.event, wait.wait.timeout, wait.wait.save, wait.wait.channel) == (
        "DTMF",
        10.0,
        "digit",
        "this",
    )
    assert isinstance(hangup, HangupStep) and hangup.cause == "NORMAL_CLEARING"
    assert [type(step) for step in flow.on_hangup] == [LogStep]
    # FreeSWITCH has no TEMPORARY_FAILURE: it would clear normally; the real name is sent.
    (on_error,) = flow.on_error
    assert isinstance(on_error, HangupStep) and on_error.cause == "NORMAL_TEMPORARY_FAILURE"

    headers = {"Caller-Destination-Number": "1234", "variable_sip_from_host": "example.com"}
    assert match(flow.when, headers, TUESDAY_11_BERLIN) == ("1234",)


def test_flows_and_steps_know_where_they_are_written() -> None:
    flow = load(ISSUE_EXAMPLE, "flows/support-line.yaml")["support-line"]
    assert flow.pos == SourcePos("flows/support-line.yaml", 2, 1)
    assert flow.path == "flows/support-line.yaml"
    places = [(path, str(step.pos)) for path, step in flow.walk()]
    assert places == [
        (("steps", 0), "flows/support-line.yaml:17:5"),
        (("steps", 1), "flows/support-line.yaml:18:5"),
        (("steps", 2), "flows/support-line.yaml:19:5"),
        (("steps", 3), "flows/support-line.yaml:20:5"),
        (("steps", 3, "then", 0), "flows/support-line.yaml:23:12"),
        (("steps", 3, "else", 0), "flows/support-line.yaml:24:12"),
        (("steps", 4), "flows/support-line.yaml:25:5"),
        (("steps", 5), "flows/support-line.yaml:26:5"),
        (("steps", 6), "flows/support-line.yaml:27:5"),
        (("steps", 7), "flows/support-line.yaml:28:5"),
        (("steps", 8), "flows/support-line.yaml:29:5"),
        (("on_hangup", 0), "flows/support-line.yaml:30:13"),
        (("on_error", 0), "flows/support-line.yaml:31:12"),
    ]
    bridge = flow.steps[2]
    assert bridge.flow_name == "support-line"
    assert bridge.where == "flows/support-line.yaml:19:5: flow 'support-line' step execute"


def test_a_named_step_uses_its_name_in_messages() -> None:
    flow = load("flow: t\nsteps:\n  - name: greet\n    execute: answer\n")["t"]
    assert flow.steps[0].where == "flows/t.yaml:3:5: flow 't' step greet"


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("execute: answer", "execute: {app: answer}"),
        ('execute: "playback  ivr/welcome.wav"', "execute: {app: playback, arg: ivr/welcome.wav}"),
        ("hangup", "hangup: {cause: NORMAL_CLEARING}"),
        ("hangup:", "hangup: {cause: NORMAL_CLEARING}"),
        ("hangup: USER_BUSY", "hangup: {cause: USER_BUSY}"),
        ("hangup: 17", "hangup: {cause: USER_BUSY}"),
        # switch_types.h numbers FreeSWITCH's own causes from 500 and 600.
        ("hangup: 503", "hangup: {cause: MANAGER_REQUEST}"),
        ("hangup: 600", "hangup: {cause: BLIND_TRANSFER}"),
        ('api: "show calls as json"', "api: {command: show, args: calls as json}"),
        ("api: status", "api: {command: status}"),
        ("bgapi: status", "bgapi: {command: status}"),
        ("wait: DTMF", "wait: {event: DTMF}"),
        ("log: hello", "log: {message: hello, level: info}"),
        ("stop", "stop: null"),
        ("nomedia", "nomedia: {}"),
        ("goto: {block: b}", "goto: {block: b}"),
    ],
)
def test_short_forms_mean_the_long_forms(short: str, long: str) -> None:
    base = "flow: t\nsteps:\n  - {}\nblocks: {{b: [stop]}}\n"
    first = load(base.format(short))["t"].steps[0]
    second = load(base.format(long))["t"].steps[0]
    assert first.model_dump() == second.model_dump()


def test_a_single_condition_needs_no_list() -> None:
    one = load("flow: t\nwhen: {field: A, equals: b}\nsteps: [stop]\n")["t"]
    listed = load("flow: t\nwhen: [{field: A, equals: b}]\nsteps: [stop]\n")["t"]
    assert one.when == listed.when


def test_the_trigger_may_be_an_event_name() -> None:
    flow = load("flow: t\ntrigger: DTMF\nsteps: [stop]\n")["t"]
    assert flow.trigger is not None and flow.trigger.event == "DTMF"


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "flow: t\n"
        "blocks:\n"
        "  greet: &greet [{execute: answer}, {execute: {app: playback, arg: hi.wav}}]\n"
        "steps:\n"
        "  - execute: &bridge {app: bridge, arg: user/1000, timeout: 30s}\n"
        "  - execute: {<<: *bridge, arg: user/1001}\n"
        "on_error: *greet\n"
    )
    flow = load(text)["t"]
    first, second = flow.steps
    assert isinstance(first, ExecuteStep) and isinstance(second, ExecuteStep)
    assert second.execute.timeout == 30.0
    assert second.execute.arg is not None and second.execute.arg.source == "user/1001"
    assert [step.kind for step in flow.on_error] == ["execute", "execute"]


def test_several_documents_in_one_file() -> None:
    flows = load("flow: a\nsteps: [stop]\n---\nflow: b\nsteps: [stop]\n")
    assert [flow.flow for flow in flows] == ["a", "b"]
    assert flows["b"].pos == SourcePos("flows/t.yaml", 4, 1)


def test_all_errors_of_all_files_in_one_run() -> None:
    assert errors_of(
        [
            ("flows/a.yaml", "flow: a\nsteps: [exectue: x]\n"),
            ("flows/b.yaml", "flow: b\nsteps:\n  - hangup: BUSY\n  - sleep: 5\n"),
            ("flows/c.yaml", "flow: c\nsteps:\n\t- stop\n"),
        ]
    ) == [
        "flows/a.yaml:2:9: unknown step 'exectue' — did you mean 'execute'?",
        "flows/b.yaml:3:13: unknown hangup cause 'BUSY' — did you mean 'USER_BUSY'?",
        "flows/b.yaml:4:12: a duration needs a unit: write 5s or 5ms",
        "flows/c.yaml:3:1: tab character in indentation: YAML indents with spaces",
    ]


def test_flow_names_are_unique_across_files() -> None:
    assert errors_of(
        [
            ("flows/a.yaml", "flow: same\nsteps: [stop]\n"),
            ("flows/b.yaml", "# another\nflow: same\nsteps: [stop]\n"),
        ]
    ) == ["flows/b.yaml:2:7: duplicate flow name 'same' (also defined at flows/a.yaml:1:1)"]


def test_a_flow_that_failed_still_counts_as_a_goto_target() -> None:
    assert errors_of(
        [
            ("flows/a.yaml", "flow: a\nsteps: [{goto: b}]\n"),
            ("flows/b.yaml", "flow: b\nsteps: [{sleep: 5}]\n"),
        ]
    ) == ["flows/b.yaml:2:17: a duration needs a unit: write 5s or 5ms"]


def test_goto_and_call_resolve_blocks_and_flows() -> None:
    flows = load_flow_sources(
        [
            (
                "flows/a.yaml",
                "flow: a\nsteps: [{call: greet}, {goto: b}, {call: {flow: b}}]\n"
                "blocks: {greet: [{execute: answer}]}\n",
            ),
            ("flows/b.yaml", "flow: b\nsteps: [stop]\n"),
        ]
    )
    call_block, goto_flow, call_flow = flows["a"].steps
    assert isinstance(call_block, CallStep) and isinstance(call_flow, CallStep)
    assert isinstance(goto_flow, GotoStep)
    assert (call_block.call.kind, call_block.call.target) == ("block", "greet")
    assert (goto_flow.goto.kind, goto_flow.goto.target) == ("flow", "b")
    assert (call_flow.call.kind, call_flow.call.target) == ("flow", "b")


def test_a_name_that_is_both_a_block_and_a_flow_must_say_which() -> None:
    assert errors_of(
        [
            ("flows/a.yaml", "flow: a\nsteps: [{goto: b}]\nblocks: {b: [stop]}\n"),
            ("flows/b.yaml", "flow: b\nsteps: [stop]\n"),
        ]
    ) == [
        "flows/a.yaml:2:16: 'b' is both a block of this flow and a flow; "
        "write {block: b} or {flow: b}"
    ]


OUTBOUND_LIBRARY = "flow: keep-socket\nsteps: [{linger: 10s}, {divert_events: true}, myevents]\n"


def test_connection_steps_in_outbound_flows_and_what_they_call() -> None:
    flows = load_flow_sources(
        [
            (
                "flows/o.yaml",
                "flow: o\ntrigger: {outbound: true}\nsteps: [resume, {call: keep-socket}]\n",
            ),
            ("flows/lib.yaml", OUTBOUND_LIBRARY),
        ]
    )
    linger = flows["keep-socket"].steps[0]
    assert isinstance(linger, LingerStep) and linger.seconds == 10


def test_an_event_flow_may_not_reach_connection_steps_through_a_call() -> None:
    assert errors_of(
        [
            ("flows/e.yaml", "flow: e\ntrigger: CHANNEL_PARK\nsteps: [{goto: keep-socket}]\n"),
            ("flows/lib.yaml", OUTBOUND_LIBRARY),
        ]
    ) == [
        "flows/e.yaml:3:16: flow 'keep-socket' uses 'linger', which works only in outbound "
        "flows, and this flow is triggered by CHANNEL_PARK"
    ]


def test_variables_set_by_a_calling_flow_are_known() -> None:
    load_flow_sources(
        [
            ("flows/a.yaml", "flow: a\nvars: {who: me}\nsteps: [{call: b}]\n"),
            ("flows/b.yaml", "flow: b\nsteps: [{log: '${{ vars.who }}'}]\n"),
        ]
    )


def test_variables_from_every_kind_of_definition_are_known() -> None:
    text = (
        "flow: t\n"
        "vars: {a: 1}\n"
        "steps:\n"
        "  - set: {b: 2}\n"
        "  - execute: {app: x, save: c}\n"
        "  - api: {command: status, save: d}\n"
        "  - bgapi: {command: status, save: e}\n"
        "  - wait: {event: DTMF, save: f}\n"
        "  - repeat: 2\n"
        "    counter: g\n"
        "    steps: [{log: '${{ vars.a }}${{ vars.b }}${{ vars.c }}${{ vars.d }}'}]\n"
        "  - log: '${{ vars.e }}${{ vars.f }}${{ vars.g }}${{ vars.error }}'\n"
    )
    assert load(text)["t"].steps


# --- folders ---------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folders_are_searched_for_yaml_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "flow: a\nsteps: [stop]\n")
    write(tmp_path / "sub" / "b.yml", "flow: b\nsteps: [stop]\n")
    write(tmp_path / ".hidden" / "c.yaml", "not: [valid\n")
    write(tmp_path / ".d.yaml", "not: [valid\n")
    write(tmp_path / "notes.txt", "not a flow")
    flows = load_flows([tmp_path])
    assert sorted(flow.flow for flow in flows) == ["a", "b"]
    assert flows["b"].path == str(tmp_path / "sub" / "b.yml")


def test_missing_paths_empty_folders_and_bad_bytes_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "latin1.yaml").write_bytes(b"flow: caf\xe9\nsteps: [stop]\n")
    write(tmp_path / "bad.yaml", "flow: bad\nsteps: [stpo]\n")
    with pytest.raises(FlowValidationError) as caught:
        load_flows(
            [
                tmp_path / "nope.yaml",
                tmp_path / "empty",
                tmp_path / "latin1.yaml",
                tmp_path / "bad.yaml",
            ]
        )
    assert [str(error) for error in caught.value.errors] == [
        f"{tmp_path / 'bad.yaml'}:2:9: unknown step 'stpo' — did you mean 'stop'?",
        f"{tmp_path / 'empty'}: no flow files (*.yaml, *.yml)",
        f"{tmp_path / 'latin1.yaml'}:1:10: not UTF-8 text: byte 0xE9 cannot be decoded "
        "(save the file as UTF-8)",
        f"{tmp_path / 'nope.yaml'}: no such file or folder",
    ]


# --- dispatch --------------------------------------------------------------------------


def park(number: str, **more: str) -> dict[str, str]:
    return {"Event-Name": "CHANNEL_PARK", "Caller-Destination-Number": number, **more}


DISPATCH = [
    (
        "flows/a.yaml",
        "flow: late\ntrigger: CHANNEL_PARK\npriority: 20\n"
        "when: {field: Caller-Destination-Number, expression: '^(2\\d+)$'}\nsteps: [stop]\n",
    ),
    (
        "flows/b.yaml",
        "flow: early\ntrigger: CHANNEL_PARK\npriority: 10\ncontinue: true\n"
        "when: {field: Caller-Destination-Number, expression: '^(\\d)(\\d+)$'}\nsteps: [stop]\n",
    ),
    (
        "flows/c.yaml",
        "flow: also-20\ntrigger: CHANNEL_PARK\npriority: 20\nsteps: [stop]\n",
    ),
    (
        "flows/d.yaml",
        "flow: reg\ntrigger: {event: CUSTOM, subclass: sofia::register}\n"
        "steps: [{wait: {event: CUSTOM, subclass: sofia::unregister}}]\n",
    ),
    (
        "flows/e.yaml",
        "flow: out\ntrigger: {outbound: true}\n"
        "when: {field: Caller-Destination-Number, expression: '^9'}\nsteps: [{wait: DTMF}]\n",
    ),
    (
        "flows/f.yaml",
        "flow: broken-test\ntrigger: CHANNEL_PARK\npriority: 5\ncontinue: true\n"
        "when: {test: \"int(event['Caller-Destination-Number']) > 0\"}\nsteps: [stop]\n",
    ),
]


def test_dispatch_is_by_priority_then_file_with_continue() -> None:
    flows = load_flow_sources(DISPATCH)
    assert [f.flow for f in flows.triggered_by("CHANNEL_PARK")] == [
        "broken-test",
        "early",
        "late",
        "also-20",
    ]
    matches = flows.match_event(park("2000"), TUESDAY_11_BERLIN)
    assert [(m.flow.flow, m.captures) for m in matches] == [
        ("broken-test", ()),
        ("early", ("2", "000")),
        ("late", ("2000",)),
    ]


def test_a_flow_whose_conditions_fail_is_reported_and_skipped() -> None:
    flows = load_flow_sources(DISPATCH)
    failures: list[tuple[str, str]] = []
    matches = flows.match_event(
        park("abc"),
        TUESDAY_11_BERLIN,
        on_error=lambda flow, exc: failures.append((flow.flow, str(exc))),
    )
    assert failures == [
        (
            "broken-test",
            "expression `int(event['Caller-Destination-Number']) > 0`: "
            "int(): 'abc' is not a whole number",
        )
    ]
    assert [m.flow.flow for m in matches] == ["also-20"]


def test_custom_events_dispatch_on_their_subclass() -> None:
    flows = load_flow_sources(DISPATCH)
    register = {"Event-Name": "CUSTOM", "Event-Subclass": "sofia::register"}
    assert [m.flow.flow for m in flows.match_event(register, TUESDAY_11_BERLIN)] == ["reg"]
    other = {"Event-Name": "CUSTOM", "Event-Subclass": "sofia::expire"}
    assert flows.match_event(other, TUESDAY_11_BERLIN) == []


def test_outbound_connections_pick_the_first_outbound_flow() -> None:
    flows = load_flow_sources(DISPATCH)
    chosen = flows.match_outbound({"Caller-Destination-Number": "9001"}, TUESDAY_11_BERLIN)
    assert chosen is not None and chosen.flow.flow == "out"
    assert flows.match_outbound({"Caller-Destination-Number": "1"}, TUESDAY_11_BERLIN) is None


def test_subscriptions_are_the_triggers_and_the_waits() -> None:
    flows = load_flow_sources(DISPATCH)
    assert sorted(str(key) for key in flows.subscriptions()) == [
        "CHANNEL_PARK",
        "CUSTOM sofia::register",
        "CUSTOM sofia::unregister",
        "DTMF",
    ]


def test_flow_set_lookup() -> None:
    flows = load_flow_sources(DISPATCH)
    assert "late" in flows and "nope" not in flows
    assert flows.get("nope") is None
    assert isinstance(flows["late"], Flow)
    assert len(flows) == 6
    assert [flow.flow for flow in flows.outbound] == ["out"]


def test_step_kinds_without_events_are_stop_steps() -> None:
    step = load("flow: t\nsteps: [{stop: done}]\n")["t"].steps[0]
    assert isinstance(step, StopStep) and step.stop == "done"


def test_unicast_and_xferext_and_nomedia_load() -> None:
    text = (
        "flow: t\nsteps:\n"
        "  - unicast: {local_ip: 127.0.0.1, local_port: 8025, remote_ip: '::1',"
        " remote_port: 8026, transport: tcp, flags: native}\n"
        "  - xferext: [answer, {app: playback, arg: hi.wav}]\n"
        "  - nomedia: {uuid: '${{ vars.other }}'}\n"
        "vars: {other: x}\n"
    )
    unicast, xferext, nomedia = load(text)["t"].steps
    assert isinstance(unicast, UnicastStep)
    assert unicast.unicast.model_dump() == {
        "local_ip": "127.0.0.1",
        "local_port": 8025,
        "remote_ip": "::1",
        "remote_port": 8026,
        "transport": "tcp",
        "flags": "native",
    }
    assert isinstance(xferext, XferextStep) and [a.app for a in xferext.xferext] == [
        "answer",
        "playback",
    ]
    assert isinstance(nomedia, NomediaStep)


def test_loaded_models_are_immutable() -> None:
    flow = load("flow: t\nsteps: [stop]\n")["t"]
    assert isinstance(flow.steps, tuple)
    with pytest.raises(ValueError, match="frozen"):
        flow.priority = 1  # type: ignore[misc]


def test_set_values_keep_literal_types() -> None:
    step = load("flow: t\nsteps: [{set: {n: 1, f: 1.5, b: true, z: null, s: x}}]\n")["t"].steps[0]
    assert isinstance(step, SetStep)
    assert {k: v for k, v in step.set.items() if k != "s"} == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "z": None,
    }


def test_switch_cases_are_text_as_written() -> None:
    step = load("flow: t\nsteps:\n  - switch: x\n    cases: {1: [stop], 01: [stop]}\n")["t"].steps[
        0
    ]
    assert isinstance(step, SwitchStep)
    assert list(step.cases) == ["1", "01"]


def test_a_gap_in_the_translation_still_reports_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise KeyError("no translation")

    monkeypatch.setattr("runner.flow.loader.translate", broken)
    assert errors_of([("f.yaml", "flow: t\nsteps: [{sleep: 5}]\n")]) == [
        "f.yaml:1:1: steps.0.sleep: a duration needs a unit: write 5s or 5ms"
    ]
