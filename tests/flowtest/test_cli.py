"""`eslflow test`: what it prints, its exit codes, JUnit XML, and --record."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.greeter import BROKEN_FLOW, FLOW, greeter_project
from typer.testing import CliRunner

from runner.cli import app


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    with greeter_project(tmp_path) as root:
        yield root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_passing_test_prints_one_line_and_exits_0(project: Path) -> None:
    code, output = invoke("test", "flows")
    lines = output.splitlines()
    assert code == 0, output
    assert (
        lines[0]
        == "PASS  flows/tests/greeter.test.yaml:2  7001 hears its greeting  (2 s simulated)"
    )
    assert lines[1].startswith("1 test: 1 passed in ")
    assert len(lines) == 2


def test_a_broken_flow_fails_with_a_readable_diff(project: Path) -> None:
    """The flow plays the wrong file and forgot to hang up: the diff shows what the test
    expected (with the test's line) against what was sent (with the flow's line)."""
    (project / "flows" / "greeter.yaml").write_text(BROKEN_FLOW)
    code, output = invoke("test", "flows")
    assert code == 1
    assert output.splitlines()[:-1] == [
        "FAIL  flows/tests/greeter.test.yaml:2  7001 hears its greeting  (2 s simulated)",
        "      commands: 2 expected commands missing, 1 unexpected",
        "        (- expected, not sent   + sent, not expected)",
        "          execute answer                       flows/greeter.yaml:5:5",
        "        - execute playback greetings/7001.wav  expected at "
        "flows/tests/greeter.test.yaml:9:7",
        "        - hangup NORMAL_CLEARING               expected at "
        "flows/tests/greeter.test.yaml:10:7",
        "        + execute playback greeting/7001.wav   flows/greeter.yaml:6:5",
        "      hangup_cause: expected NORMAL_CLEARING, got nothing: the call was still up at "
        "the end",
        "        expected at flows/tests/greeter.test.yaml:13:17",
    ]
    assert output.splitlines()[-1].startswith("1 test: 0 passed, 1 failed in ")


def test_a_test_of_an_unwanted_call_shows_the_flow_that_took_it(project: Path) -> None:
    (project / "flows" / "tests" / "greeter.test.yaml").write_text(
        'test: 7001 is not greeted\ncall: {destination: "7001"}\n'
        "expect: {flows: [], commands: []}\n"
    )
    code, output = invoke("test", "flows/tests/greeter.test.yaml")
    assert code == 1
    assert output.splitlines()[:9] == [
        "FAIL  flows/tests/greeter.test.yaml:1  7001 is not greeted  (2 s simulated)",
        "      flows: 1 unexpected",
        "        (- expected, not seen   + seen, not expected)",
        "        + greeter  at 0 s",
        "      commands: 3 unexpected",
        "        (- expected, not sent   + sent, not expected)",
        "        + execute answer                       flows/greeter.yaml:5:5",
        "        + execute playback greetings/7001.wav  flows/greeter.yaml:6:5",
        "        + hangup NORMAL_CLEARING               flows/greeter.yaml:8:5",
    ]


def test_partial_lets_other_commands_come_between(project: Path) -> None:
    (project / "flows" / "tests" / "greeter.test.yaml").write_text(
        'test: only the prompt matters\ncall: {destination: "7001"}\npartial: true\n'
        "expect:\n  commands:\n    - execute: {app: playback, arg: /^greetings\\//}\n"
    )
    code, output = invoke("test", "flows")
    assert code == 0, output


def test_an_invalid_test_file_is_an_error_with_its_place_and_the_others_still_run(
    project: Path,
) -> None:
    (project / "flows" / "tests" / "bad.test.yaml").write_text(
        'test: typo\ncall: {destination: "7001"}\nexpect:\n  comands: []\n'
    )
    code, output = invoke("test", "flows")
    assert code == 1
    assert output.splitlines()[:5] == [
        "ERROR flows/tests/bad.test.yaml  (invalid test file)",
        "      flows/tests/bad.test.yaml:4:3: unknown key 'comands' in 'expect' — did you "
        "mean 'commands'?",
        "            comands: []",
        "            ^",
        "PASS  flows/tests/greeter.test.yaml:2  7001 hears its greeting  (2 s simulated)",
    ]
    assert output.splitlines()[5].startswith("2 tests: 1 passed, 1 error in ")


def test_flows_that_do_not_load_make_their_tests_errors(project: Path) -> None:
    (project / "flows" / "greeter.yaml").write_text(FLOW.replace("execute: answer", "exectue: x"))
    code, output = invoke("test", "flows")
    assert code == 1
    assert output.splitlines()[:2] == [
        "ERROR flows/tests/greeter.test.yaml:2  7001 hears its greeting",
        "      flows/greeter.yaml:5:5: unknown step 'exectue' — did you mean 'execute'?",
    ]


def test_junit_xml_for_ci(project: Path) -> None:
    tests = project / "flows" / "tests"
    (tests / "more.test.yaml").write_text(
        'test: wrong cause\ncall: {destination: "7002"}\nexpect: {hangup_cause: USER_BUSY}\n'
        "---\n"
        'test: wrong flow\ncall: {destination: "7003"}\nexpect: {flow: gretter}\n'
    )
    code, _ = invoke("test", "flows", "--junit", "report.xml")
    assert code == 1
    root = ET.parse(project / "report.xml").getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "3",
        "1",
        "1",
    )
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"flows/tests/greeter.test.yaml", "flows/tests/more.test.yaml"}
    passed = suites["flows/tests/greeter.test.yaml"].find("testcase")
    assert passed is not None and list(passed) == []
    assert passed.get("name") == "7001 hears its greeting"
    assert passed.get("line") == "2"
    failed, error = suites["flows/tests/more.test.yaml"].findall("testcase")
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message") == "hangup_cause: expected USER_BUSY, got NORMAL_CLEARING"
    assert "expected at flows/tests/more.test.yaml:3:24" in (failure.text or "")
    problem = error.find("error")
    assert problem is not None
    assert problem.get("message") == (
        "flows/tests/more.test.yaml:7:16: no flow named 'gretter' in flows — did you mean "
        "'greeter'?"
    )


def test_record_rewrites_expect_keeps_comments_and_the_test_then_passes(project: Path) -> None:
    path = project / "flows" / "tests" / "greeter.test.yaml"
    path.write_text(
        "# The greeter answers 7xxx.\ntest: 7001 hears its greeting  # in words\n"
        'call: {destination: "7001"}  # any 7xxx\nexpect: {flow: nobody}\n'
    )
    code, output = invoke("test", "--record", "flows/tests/greeter.test.yaml")
    assert code == 0, output
    assert output == (
        "RECORDED flows/tests/greeter.test.yaml:2  7001 hears its greeting  "
        "(4 commands, 2 s simulated)\n"
    )
    text = path.read_text()
    at = text.split("at: ", 1)[1].split("\n", 1)[0]
    assert text == (
        "# The greeter answers 7xxx.\n"
        "test: 7001 hears its greeting  # in words\n"
        f"at: {at}\n"
        'call: {destination: "7001"}  # any 7xxx\n'
        "expect:\n"
        "  flow: greeter\n"
        "  commands:\n"
        "    - execute: answer\n"
        "    - execute: {app: playback, arg: greetings/7001.wav}\n"
        "    - hangup: NORMAL_CLEARING\n"
        "  events_sent:\n"
        "    - event: CUSTOM\n"
        "      subclass: greeter::done\n"
        "      headers: {Line: '7001'}\n"
        "  hangup_cause: NORMAL_CLEARING\n"
        "  answered: true\n"
    )
    assert invoke("test", str(path))[0] == 0


def test_record_a_new_test_from_a_simulated_call(project: Path) -> None:
    path = project / "flows" / "tests" / "new.test.yaml"
    code, output = invoke(
        "test",
        "--record",
        "flows/tests/new.test.yaml",
        "--call",
        "7002",
        "--caller",
        "1001",
        "--at",
        "2026-03-02T10:00:00+01:00",
        "--name",
        "7002 is greeted",
    )
    assert code == 0, output
    assert path.read_text() == (
        "test: 7002 is greeted\n"
        "at: '2026-03-02T10:00:00+01:00'\n"
        "call:\n"
        "  destination: '7002'\n"
        "  caller: {number: '1001'}\n"
        "expect:\n"
        "  flow: greeter\n"
        "  commands:\n"
        "    - execute: answer\n"
        "    - execute: {app: playback, arg: greetings/7002.wav}\n"
        "    - hangup: NORMAL_CLEARING\n"
        "  events_sent:\n"
        "    - event: CUSTOM\n"
        "      subclass: greeter::done\n"
        "      headers: {Line: '7002'}\n"
        "  hangup_cause: NORMAL_CLEARING\n"
        "  answered: true\n"
    )
    assert invoke("test", str(path))[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--call", "7001", "x.test.yaml"], "--call writes a new test file: give --record too"),
        (
            ["--dtmf", "1"],
            "--caller, --caller-name, --dtmf, --hangup-after, --at, --flows and "
            "--name describe a new test: give --record --call DESTINATION too",
        ),
        (
            ["--record", "--call", "7001", "flows/tests/greeter.test.yaml"],
            "flows/tests/greeter.test.yaml exists: drop --call to record it again",
        ),
        (["--record", "--call", "7001", "new.yaml"], "new.yaml: name test files *.test.yaml"),
        (["--record", "flows"], "flows is a folder: --record rewrites test files; name them"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    code, output = invoke("test", *args)
    assert (code, output) == (2, f"eslflow test: {message}\n")


def test_no_test_files_is_an_error(project: Path) -> None:
    code, output = invoke("test", "nowhere")
    assert code == 1
    assert output.splitlines()[:2] == [
        "ERROR nowhere  (test files)",
        "      nowhere: no such file or folder",
    ]


ECHO_FLOW = """\
flow: echo-name
trigger: CHANNEL_PARK
steps:
  - execute: {app: log, arg: "INFO ${{ event['Caller-Caller-ID-Name'] }}"}
  - log: "name ${{ event['Caller-Caller-ID-Name'] }}"
  - hangup
"""

# A caller name with a terminal escape and a byte that is not UTF-8 (YAML's \\udcff is
# the surrogate escape the codec makes of the byte 0xff).
ECHO_TEST = """\
test: a hostile name
flows: [../echo.yaml]
call:
  destination: "5000"
  caller: {{number: "1000", name: "A\\x1b[2JB \\udcff"}}
expect:
  commands:
    - execute: {{app: log, arg: "{arg}"}}
    - hangup: NORMAL_CLEARING
"""


def test_raw_bytes_in_a_call_compare_exactly_and_print_escaped(tmp_path: Path) -> None:
    """Issue 10 findings 2 and 10: a test can expect a caller's exact bytes, and a report
    (text and JUnit) shows control characters and such bytes escaped, one line each."""
    (tmp_path / "echo.yaml").write_text(ECHO_FLOW)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "good.test.yaml").write_text(ECHO_TEST.format(arg="INFO A\\x1b[2JB \\udcff"))
    (tests / "bad.test.yaml").write_text(ECHO_TEST.format(arg="INFO nope"))
    junit = tmp_path / "junit.xml"
    code, output = invoke(
        "test",
        str(tests / "good.test.yaml"),
        str(tests / "bad.test.yaml"),
        "-v",
        "--junit",
        str(junit),
    )
    assert code == 1
    lines = output.splitlines()
    good, bad = tests / "good.test.yaml", tests / "bad.test.yaml"
    flow = tmp_path / "echo.yaml"
    assert [line.rstrip() for line in lines[:-1]] == [
        f"PASS  {good}:1  a hostile name  (1 s simulated)",
        "           0 s  flow echo-name started on 00000000-0000-4000-8000-000000000001",
        f"           0 s  execute log INFO A\\x1b[2JB \\xff  {flow}:4:5",
        f"           0 s  hangup NORMAL_CLEARING           {flow}:6:5",
        "           0 s  log info: name A\\x1b[2JB \\xff",
        f"FAIL  {bad}:1  a hostile name  (1 s simulated)",
        "      commands: 1 expected command missing, 1 unexpected",
        "        (- expected, not sent   + sent, not expected)",
        f"        - execute log INFO nope            expected at {bad}:8:7",
        f"        + execute log INFO A\\x1b[2JB \\xff  {flow}:4:5",
        f"          hangup NORMAL_CLEARING           {flow}:6:5",
        "           0 s  flow echo-name started on 00000000-0000-4000-8000-000000000001",
        f"           0 s  execute log INFO A\\x1b[2JB \\xff  {flow}:4:5",
        f"           0 s  hangup NORMAL_CLEARING           {flow}:6:5",
        "           0 s  log info: name A\\x1b[2JB \\xff",
    ]
    # JUnit XML stays well-formed (XML 1.0 allows no ESC) and shows the same text.
    failure = ET.parse(junit).getroot().find(".//failure")
    assert failure is not None and failure.text is not None
    assert f"        + execute log INFO A\\x1b[2JB \\xff  {flow}:4:5" in failure.text
