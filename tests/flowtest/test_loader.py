"""Test files: found, validated, and refused with path:line:col messages in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.flow import load_flow_sources
from runner.flowtest.loader import default_flows, find_test_files, load_test_file
from runner.flowtest.models.inputs import call_uuid
from runner.flowtest.suite import unknown_flows

ISSUE_EXAMPLE = """\
test: digit 1 reaches sales
flows: [../flows/ivr.yaml]          # or a folder; default: the flows/ folder
call:                               # the simulated call that triggers the flow
  destination: "1000"
  caller: {number: "+4930123456", name: "Alice"}
  variables: {sip_from_host: example.com}
  dtmf: ["1"]                       # fed when the flow collects digits
  hangup_after: 20s                 # or: the far end never hangs up
at: "2026-03-02T10:00:00+01:00"     # the clock, for time conditions
expect:
  flow: main-ivr
  commands:                         # the ESL traffic the engine must send, in order
    - execute: answer
    - execute: {app: playback, arg: ivr/ivr-welcome.wav}
    - execute: {app: transfer, arg: "1001 XML default"}
  events_sent: [{event: CUSTOM, subclass: "ivr::choice", headers: {Choice: "1"}}]
  hangup_cause: NORMAL_CLEARING
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "flows").mkdir(exist_ok=True)
    path = write(tmp_path, "flows/tests/t.test.yaml", text)
    return [str(error) for error in load_test_file(path).errors]


def test_the_example_of_the_issue_is_accepted_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "tests/ivr.test.yaml", ISSUE_EXAMPLE)
    loaded = load_test_file(path)
    assert loaded.errors == []
    (case,) = loaded.cases
    assert case.flow_paths == [tmp_path / "flows" / "ivr.yaml"]
    assert case.line == 1
    test = case.case
    assert test.call is not None and test.expect is not None
    assert (test.call.destination, test.call.caller.number, test.call.caller.name) == (
        "1000",
        "+4930123456",
        "Alice",
    )
    assert (test.call.dtmf, test.call.hangup_after) == (("1",), 20.0)
    assert test.at is not None and test.at.isoformat() == "2026-03-02T10:00:00+01:00"
    assert [command.kind for command in test.expect.commands or ()] == ["execute"] * 3
    assert test.expect.hangup_cause == "NORMAL_CLEARING"
    (event,) = test.expect.events_sent or ()
    assert (event.event, str(event.subclass), str(event.headers["Choice"])) == (
        "CUSTOM",
        "ivr::choice",
        "1",
    )


def test_each_document_is_a_test_and_reports_point_at_its_test_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flows/tests/two.test.yaml",
        "# two tests\ntest: one\ncall: {destination: '1'}\n---\ntest: two\nevents: "
        "[{event: HEARTBEAT}]\n",
    )
    loaded = load_test_file(path)
    assert [(case.name, case.line, case.where) for case in loaded.cases] == [
        ("one", 2, f"{path}:2"),
        ("two", 5, f"{path}:5"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "test: x\ncall: {destinaton: '5000'}\n",
            "2:8: unknown key 'destinaton' in 'call' — did you mean 'destination'?",
        ),
        ("test: x\ncall: {}\n", "2:7: missing key 'destination' in 'call'"),
        (
            "test: x\ncall: {destination: '5', callr: {number: '1'}}\n",
            "2:26: unknown key 'callr' in 'call' — did you mean 'caller'?",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect:\n  commands:\n    - execute: "
            "{app: play, arg: '/wel(come/'}\n",
            "5:38: invalid regular expression: missing ), unterminated subpattern",
        ),
        (
            "test: x\ncall: {destination: '1'}\nat: 2026-03-02T10:00:00\n",
            "3:5: '2026-03-02T10:00:00' has no UTC offset: add one (+01:00, or Z for UTC), "
            "so the time does not depend on where the test runs",
        ),
        (
            "test: x\ncall: {destination: '1', dtmf: ['12x4']}\n",
            "2:36: '12x4' is not DTMF: use the keys 0-9, *, # and A-D",
        ),
        (
            "test: x\ncall: {destination: '1', dtmf: [{digits: '1', aftr: 2s}]}\n",
            "2:47: unknown key 'aftr' in a key press — did you mean 'after'?",
        ),
        (
            "test: x\ncall: {destination: '1', hangup_after: 20}\n",
            "2:40: a duration needs a unit: write 20s or 20ms",
        ),
        ("test: x\n", "1:1: nothing to test: give call:, calls: or events:"),
        (
            "test: x\ncall: {destination: '1'}\ncalls: [{destination: '2'}]\n",
            "3:1: give call: or calls:, not both",
        ),
        (
            "test: x\ncalls: [{destination: '2'}]\nexpect: {hangup_cause: NORMAL_CLEARING}\n",
            "3:10: 'hangup_cause' is about one call: put it under each call's expect",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect:\n  commands: [exectue]\n",
            "4:14: 'exectue' is not a command: write one of execute, hangup, sendmsg, api, "
            "bgapi, linger, nolinger, myevents, resume, divert_events, command, e.g. "
            "execute: exectue",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect:\n  commands:\n    - sendevent: "
            "{event: CUSTOM}\n",
            "5:7: list the events a flow sends under expect.events_sent",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect:\n  commands:\n    - {execute: answer, "
            "hangup: NORMAL_CLEARING}\n",
            "5:25: one command per item: execute and hangup are two (make them two items)",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect:\n  commands: [{hangup: NORMAL_CLEARNG}]\n",
            "4:23: unknown hangup cause 'NORMAL_CLEARNG' — did you mean 'NORMAL_CLEARING'?",
        ),
        (
            "test: x\ncall: {destination: '1'}\nexpect: {logs: [/a: b/]}\n",
            "3:17: expected a value (text, or a /regex/), got a mapping: put the value in "
            "quotes (YAML reads 'a: b' as a mapping)",
        ),
        (
            "test: x\nevents: [{event: CUSTOM}]\n",
            "2:11: CUSTOM events need a subclass, e.g. subclass: sofia::register",
        ),
        (
            "test: x\ncall: {destination: '1'}\nswitch: {apps: {bridge: 2}}\n",
            "3:25: a duration needs a unit: write 2s or 2ms",
        ),
        (
            "test: x\ncalls:\n  - {destination: '1'}\n  - {destination: '1', after: 2h}\n",
            "4:24: the call arrives 2h into the test, after its timeout (1h): give the test "
            "a longer timeout",
        ),
        (
            "test: x\ntimeout: 1m\ncall: {destination: '1', after: 30s, hangup_after: 40s}\n",
            "3:38: the caller hangs up 70s into the test, after its timeout (1m): give the "
            "test a longer timeout",
        ),
        (
            "test: [\n",
            "2:1: YAML syntax error: expected the node content, but found '<stream end>' "
            "(while parsing a flow node)",
        ),
    ],
)
def test_mistakes_are_reported_where_they_are(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "flows" / "tests" / "t.test.yaml"
    assert errors_of(tmp_path, text) == [f"{path}:{message}"]


def test_an_error_shows_the_line_and_a_caret(tmp_path: Path) -> None:
    path = write(tmp_path, "flows/t.test.yaml", "test: x\ncall:\n  destinaton: '5000'\n")
    (error,) = load_test_file(path).errors
    assert error.display() == (
        f"{path}:3:3: unknown key 'destinaton' in 'call' — did you mean 'destination'?\n"
        "      destinaton: '5000'\n"
        "      ^"
    )


def test_a_test_without_flows_needs_a_flows_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "elsewhere/t.test.yaml", "test: x\ncall: {destination: '1'}\n")
    assert [str(e) for e in load_test_file(path).errors] == [
        f"{path}:1:1: no flows: given, and no flows/ folder at or above this file's folder; "
        "name the flows to load (flows: [../flows])"
    ]


def test_the_default_flows_are_the_nearest_flows_folder(tmp_path: Path) -> None:
    (tmp_path / "flows" / "tests" / "deep").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    assert default_flows(tmp_path / "flows" / "tests" / "deep" / "a.test.yaml") == (
        tmp_path / "flows"
    )
    assert default_flows(tmp_path / "tests" / "a.test.yaml") == tmp_path / "flows"
    assert default_flows(tmp_path / "a.test.yaml") == tmp_path / "flows"


def test_folders_are_searched_for_test_files_only(tmp_path: Path) -> None:
    write(tmp_path, "flows/ivr.yaml", "flow: x\n")
    write(tmp_path, "flows/tests/b.test.yaml", "")
    write(tmp_path, "flows/tests/a.test.yml", "")
    write(tmp_path, "flows/.hidden/c.test.yaml", "")
    files, errors = find_test_files([tmp_path / "flows", tmp_path / "missing"])
    assert files == [tmp_path / "flows/tests/a.test.yml", tmp_path / "flows/tests/b.test.yaml"]
    assert [str(error) for error in errors] == [f"{tmp_path / 'missing'}: no such file or folder"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [str(e) for e in find_test_files([empty])[1]] == [
        f"{empty}: no test files (*.test.yaml, *.test.yml)"
    ]


def test_expected_flows_must_exist(tmp_path: Path) -> None:
    flows = load_flow_sources(
        [("flows/ivr.yaml", "flow: main-menu\ntrigger: CHANNEL_PARK\nsteps: [{execute: answer}]\n")]
    )
    path = write(
        tmp_path,
        "flows/tests/t.test.yaml",
        "test: x\nflows: [../ivr.yaml]\ncall: {destination: '1'}\nexpect:\n  flow: main-mnu\n"
        "  flows: [main-menu, other]\n",
    )
    (loaded,) = load_test_file(path).cases
    assert [str(error) for error in unknown_flows(loaded, flows)] == [
        f"{path}:5:9: no flow named 'main-mnu' in {tmp_path / 'flows' / 'ivr.yaml'} — did you "
        "mean 'main-menu'?",
        f"{path}:6:22: no flow named 'other' in {tmp_path / 'flows' / 'ivr.yaml'}",
    ]


def test_calls_get_recognisable_uuids() -> None:
    assert call_uuid(0) == "00000000-0000-4000-8000-000000000001"
    assert call_uuid(11) == "00000000-0000-4000-8000-000000000012"
