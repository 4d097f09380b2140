"""Running a test case: simulator and engine in one process on a virtual clock.

Hours of simulated time take milliseconds; `at:` sets the clock time conditions see;
each command carries the file:line of the step that sent it.
"""

from __future__ import annotations

import time
from pathlib import Path

from runner.flow import FlowSet, load_flow_sources
from runner.flow.errors import SourcePos
from runner.flow.yamldoc import parse_yaml
from runner.flowtest.check import races
from runner.flowtest.harness import Outcome, run_case
from runner.flowtest.models.case import TestCase

FLOW_FILE = "flows/test.yaml"


def flows(text: str) -> FlowSet:
    return load_flow_sources([(FLOW_FILE, text)])


def case(text: str) -> TestCase:
    (document,) = parse_yaml(text, "t.test.yaml").documents
    return TestCase.model_validate(document.data, context={"base": Path(".")})


def run(flow_text: str, case_text: str) -> Outcome:
    return run_case(case(case_text), flows(flow_text)).outcome


def summaries(outcome: Outcome) -> list[tuple[float, str, str]]:
    return [(c.time, c.summary(), c.where) for c in outcome.commands]


PARK_FLOW = """\
flow: park
trigger: CHANNEL_PARK
when:
  - field: Caller-Destination-Number
    expression: ^(5\\d\\d\\d)$
steps:
  - execute: answer
  - sleep: 50m
  - execute: {app: playback, arg: "bye-$1.wav"}
  - hangup: USER_BUSY
"""


def test_an_hour_of_simulated_time_takes_no_wall_time() -> None:
    began = time.perf_counter()
    outcome = run(
        PARK_FLOW,
        'test: t\nat: "2026-03-02T10:00:00+01:00"\ncall: {destination: "5000"}\n',
    )
    assert time.perf_counter() - began < 5
    assert summaries(outcome) == [
        (0.0, "execute answer", f"{FLOW_FILE}:7:5"),
        (3000.0, "execute playback bye-5000.wav", f"{FLOW_FILE}:9:5"),
        (3001.0, "hangup USER_BUSY", f"{FLOW_FILE}:10:5"),
    ]
    (call,) = outcome.calls
    assert (call.uuid, call.answered, call.hangup_cause) == (
        "00000000-0000-4000-8000-000000000001",
        True,
        "USER_BUSY",
    )
    # The switch's clock followed: the call lasted an hour by its own CDR variables.
    assert call.variables["billsec"] == "3001"
    assert call.variables["start_stamp"].startswith("2026-03-02")
    assert not outcome.timed_out and outcome.errors == []


TIMED = """\
flow: {name}
trigger: CHANNEL_PARK
priority: {priority}
when:
  - field: Caller-Destination-Number
    expression: ^2000$
  - time: {{wday: mon-fri, time-of-day: "08:00-18:00", tz: Europe/Berlin}}
steps: [{{hangup: NORMAL_CLEARING}}]
---
flow: closed
trigger: CHANNEL_PARK
priority: 20
when: {{field: Caller-Destination-Number, expression: ^2000$}}
steps: [{{hangup: CALL_REJECTED}}]
"""


def test_at_sets_the_clock_that_time_conditions_see() -> None:
    flow_text = TIMED.format(name="open", priority=10)
    for at, expected in [
        ("2026-03-02T17:59:00+01:00", ("open", "NORMAL_CLEARING")),
        ("2026-03-02T18:00:00+01:00", ("open", "NORMAL_CLEARING")),  # the end is inside
        ("2026-03-02T18:00:01+01:00", ("closed", "CALL_REJECTED")),
        ("2026-03-02T16:30:00Z", ("open", "NORMAL_CLEARING")),  # 17:30 in Berlin
        ("2026-03-07T10:00:00+01:00", ("closed", "CALL_REJECTED")),  # a Saturday
    ]:
        outcome = run(flow_text, f'test: t\nat: "{at}"\ncall: {{destination: "2000"}}\n')
        assert ([f.flow for f in outcome.flows], outcome.calls[0].hangup_cause) == (
            [expected[0]],
            expected[1],
        ), at
        assert outcome.started_at is not None and outcome.started_at.isoformat() == at.replace(
            "Z", "+00:00"
        )


def test_the_clock_moves_on_during_the_test() -> None:
    """A second call two hours later sees 19:00, past closing time."""
    outcome = run(
        TIMED.format(name="open", priority=10),
        'test: t\nat: "2026-03-02T17:00:00+01:00"\ntimeout: 3h\ncalls:\n'
        '  - {destination: "2000"}\n  - {destination: "2000", after: 2h}\n',
    )
    assert [(f.flow, f.time) for f in outcome.flows] == [("open", 0.0), ("closed", 7200.0)]


def test_a_flow_that_never_ends_is_stopped_by_the_timeout_with_where_it_waits() -> None:
    outcome = run(
        "flow: waits\ntrigger: CHANNEL_PARK\nsteps:\n  - execute: answer\n"
        "  - wait: {event: DTMF}\n",
        'test: t\ntimeout: 10m\ncall: {destination: "1"}\n',
    )
    assert outcome.timed_out
    assert outcome.duration == 600.0
    assert outcome.still_running == [f"flow waits at {FLOW_FILE}:5:5 (wait)"]


def test_step_timeouts_are_virtual_too() -> None:
    outcome = run(
        "flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - wait: {event: DTMF, timeout: 45s}\n"
        "on_error:\n  - hangup: RECOVERY_ON_TIMER_EXPIRE\n",
        'test: t\ncall: {destination: "1"}\n',
    )
    assert summaries(outcome) == [(45.0, "hangup RECOVERY_ON_TIMER_EXPIRE", f"{FLOW_FILE}:6:5")]


def test_keys_pressed_at_a_time_and_for_a_prompt() -> None:
    outcome = run(
        """\
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: read, arg: "1 4 prompt.wav pin 5000 #", save: read}
  - log: "read ${{ vars.read['variable_pin'] }}"
  - wait: {event: DTMF, save: key}
  - log: "pressed ${{ vars.key['DTMF-Digit'] }}"
""",
        'test: t\ncall: {destination: "1", dtmf: ["42#", {digits: "7", after: 30s}]}\n',
    )
    assert [(line.time, line.message) for line in outcome.logs] == [
        (1.0, "read 42"),  # keyed in during the 1 s prompt, read when it ends
        (30.0, "pressed 7"),
    ]


def test_the_caller_hangs_up_after_a_while() -> None:
    outcome = run(
        "flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - execute: answer\n  - sleep: 1m\n"
        "on_hangup:\n  - log: gone\n",
        'test: t\ncall: {destination: "1", hangup_after: 20s}\n',
    )
    assert [(line.time, line.message) for line in outcome.logs] == [(20.0, "gone")]
    assert outcome.calls[0].hangup_cause == "NORMAL_CLEARING"


def test_events_the_switch_fires_start_channel_less_flows() -> None:
    outcome = run(
        "flow: reg\ntrigger: {event: CUSTOM, subclass: sofia::register}\nsteps:\n"
        "  - log: \"${{ event['from-user'] }} at ${{ event['network-ip'] }}\"\n"
        '  - api: "sofia status"\n',
        "test: t\nswitch: {api: {sofia: '+OK 3 profiles'}}\nevents:\n"
        "  - {event: CUSTOM, subclass: sofia::register, after: 5s,\n"
        "     headers: {from-user: '1001', network-ip: 192.0.2.1}}\n",
    )
    assert [(f.flow, f.uuid, f.time) for f in outcome.flows] == [("reg", "", 5.0)]
    assert [line.message for line in outcome.logs] == ["1001 at 192.0.2.1"]
    assert summaries(outcome) == [(5.0, "api sofia status", f"{FLOW_FILE}:5:5")]
    assert outcome.errors == []


def test_application_stubs_take_time_set_variables_and_may_hang_up() -> None:
    outcome = run(
        """\
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: voicemail, arg: default 1000, save: vm}
  - log: "${{ vars.vm['variable_voicemail_message_len'] }} ${{ vars.vm['Application-Response'] }}"
  - execute: {app: bridge, arg: user/1000}
on_hangup:
  - log: "hung up: ${{ event['Hangup-Cause'] }}"
""",
        "test: t\nswitch:\n  apps:\n"
        "    voicemail: {duration: 12s, set: {voicemail_message_len: '9'}, response: saved}\n"
        "    bridge: {duration: 3s, hangup: USER_BUSY}\ncall: {destination: '1'}\n",
    )
    assert [(line.time, line.message) for line in outcome.logs] == [
        (12.0, "9 saved"),
        (15.0, "hung up: USER_BUSY"),
    ]
    assert outcome.calls[0].hangup_cause == "USER_BUSY"


def test_outbound_calls_reach_outbound_flows_and_the_engine_s_own_commands_are_marked() -> None:
    outcome = run(
        "flow: ob\ntrigger: {outbound: true}\nsteps:\n  - linger: 2s\n  - execute: answer\n"
        "  - hangup: NORMAL_CLEARING\n",
        'test: t\ncall: {destination: "9100", socket: async}\n',
    )
    assert [(c.summary(), c.where, c.by_step) for c in outcome.commands] == [
        ("myevents", "(engine)", False),
        ("linger 2", f"{FLOW_FILE}:4:5", True),
        ("execute answer", f"{FLOW_FILE}:5:5", True),
        ("hangup NORMAL_CLEARING", f"{FLOW_FILE}:6:5", True),
    ]
    assert outcome.commands[1].pos == SourcePos(FLOW_FILE, 4, 5)
    assert outcome.calls[0].hangup_cause == "NORMAL_CLEARING"


def test_flows_side_by_side_on_one_call_are_listed_in_the_order_they_started() -> None:
    """Two flows act on one call at the same moment; whichever the scheduler runs first,
    the commands are listed first flow first, each flow's in its own order."""
    flow_text = """\
flow: first
trigger: CHANNEL_PARK
priority: 1
continue: true
steps:
  - execute: {app: set, arg: a=1}
  - execute: {app: set, arg: a=2}
---
flow: second
trigger: CHANNEL_PARK
priority: 2
steps:
  - execute: {app: set, arg: b=1}
  - execute: {app: set, arg: b=2}
"""
    for _ in range(10):
        outcome = run(flow_text, 'test: t\ncall: {destination: "1"}\n')
        assert [f.flow for f in outcome.flows] == ["first", "second"]
        assert [(c.time, c.summary()) for c in outcome.commands] == [
            (0.0, "execute set a=1"),
            (0.0, "execute set a=2"),
            (0.0, "execute set b=1"),
            (0.0, "execute set b=2"),
        ]


def test_errors_and_log_lines_are_collected_per_call() -> None:
    outcome = run(
        "flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - log: {level: warning, message: hello}\n"
        "  - execute: {app: sleep, arg: 10000, timeout: 5s}\n",
        'test: t\ncall: {destination: "1"}\n',
    )
    assert [(line.level, line.message, line.uuid) for line in outcome.logs] == [
        ("warning", "hello", "00000000-0000-4000-8000-000000000001")
    ]
    (error,) = outcome.errors
    assert (error.time, error.level, error.uuid) == (5.0, "error", outcome.calls[0].uuid)
    assert error.message == (
        f"{FLOW_FILE}:5:5: flow 'f' step execute: sleep did not complete within 5 s"
    )


def test_a_hangup_in_the_middle_of_a_step_is_no_error() -> None:
    """An unknown application: FreeSWITCH hangs the call up; the flow just ends."""
    outcome = run(
        "flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - execute: nosuchapp\n",
        'test: t\ncall: {destination: "1"}\n',
    )
    assert outcome.errors == []
    assert outcome.calls[0].hangup_cause == "DESTINATION_OUT_OF_ORDER"


def test_flows_acting_on_one_call_at_one_moment_are_pointed_out() -> None:
    outcome = run(
        "flow: a\ntrigger: CHANNEL_PARK\ncontinue: true\npriority: 1\n"
        "steps: [{execute: {app: set, arg: x=1}}]\n---\n"
        "flow: b\ntrigger: CHANNEL_PARK\npriority: 2\nsteps: [{hangup: USER_BUSY}]\n",
        'test: t\ncall: {destination: "1"}\n',
    )
    assert races(outcome) == [
        "note: a and b sent commands to 00000000-0000-4000-8000-000000000001 at the same "
        "moment (0 s): which goes first is up to the scheduler"
    ]
    one = run(
        "flow: a\ntrigger: CHANNEL_PARK\nsteps: [{execute: answer}, hangup]\n",
        'test: t\ncall: {destination: "1"}\n',
    )
    assert races(one) == []


def test_prompt_lengths_and_ringing_time_are_the_test_s_to_set() -> None:
    outcome = run(
        """\
flow: f
trigger: CHANNEL_PARK
when: {field: Caller-Destination-Number, expression: ^1$}
steps:
  - execute: {app: playback, arg: a.wav}
  - log: played
  - execute: {app: playback, arg: b.wav}
  - api: "originate user/1001 &park()"
  - log: answered
""",
        "test: t\nswitch:\n  media: {default: 2s, files: {a.wav: 3s}}\n  answer_delay: 4s\n"
        'call: {destination: "1"}\n',
    )
    assert [(line.time, line.message) for line in outcome.logs] == [
        (3.0, "played"),
        (9.0, "answered"),  # b.wav's default 2 s, then 4 s of ringing
    ]
