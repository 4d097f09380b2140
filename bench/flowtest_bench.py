"""How long `eslflow test` takes for the tests of 100 flows.

Generates a project in a temporary folder: flows/ with 100 flows (IVRs, business-hours
lines, recorded team lines, outbound PIN gates, support lines; one destination each)
and flows/tests/ with a test file per flow, 200 tests in all. Their expectations are
recorded first (`record_file`, not timed) and every test must then pass. Then it times
running all of them, and prints the medians:

- in process: `run_tests([flows/tests])`: each test loads nothing new (the 100 flows are
  loaded once), starts a simulator and the engine on the virtual clock, runs its calls;
- CLI: `eslflow test flows/tests` as a subprocess, Python start-up and imports included.

Every test runs with all 100 flows loaded, as in production, and its calls take minutes
of simulated time (prompts, ringing, 10 s digit timeouts) that the virtual clock skips.

Target: under 10 s. Run: `python bench/flowtest_bench.py [--flows N] [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runner.flowtest.record import record_file
from runner.flowtest.suite import FlowCache, run_tests

AT = '"2026-03-02T10:00:00+01:00"'  # a Monday, 10:00 in Berlin

FLOWS = [
    # An IVR: one digit, transfer or goodbye.
    (
        """\
flow: menu-{n}
trigger: CHANNEL_PARK
priority: {n}
when: {{field: Caller-Destination-Number, expression: ^4{n:03d}$}}
steps:
  - execute: answer
  - execute:
      app: play_and_get_digits
      arg: "1 1 3 5000 # ivr/menu-{n}.wav ivr/invalid.wav digit [0-3]"
      timeout: 30s
      save: menu
  - switch: "${{{{ vars.menu['variable_digit'] }}}}"
    cases:
      "1": [{{execute: {{app: transfer, arg: "1{n:03d} XML default"}}}}, stop]
      "2": [{{execute: {{app: playback, arg: "ivr/hours-{n}.wav"}}}}]
    default: [{{execute: {{app: playback, arg: "voicemail/vm-goodbye.wav"}}}}]
  - hangup: NORMAL_CLEARING
""",
        """\
test: menu {n}, digit 1
at: {at}
call: {{destination: "4{n:03d}", dtmf: ["1"], hangup_after: 30s}}
---
test: menu {n}, digit 2
at: {at}
call: {{destination: "4{n:03d}", dtmf: ["2"]}}
---
test: menu {n}, no digit
at: {at}
call: {{destination: "4{n:03d}"}}
""",
    ),
    # Business hours: open on weekdays, voicemail otherwise.
    (
        """\
flow: hours-{n}
trigger: CHANNEL_PARK
priority: {n}
when:
  - field: Caller-Destination-Number
    expression: ^(2{n:03d})$
  - time: {{wday: mon-fri, time-of-day: "08:30-18:00", tz: Europe/Berlin}}
steps:
  - execute: answer
  - execute: {{app: bridge, arg: "group/sales{n}@${{domain_name}}", timeout: 45s}}
  - if: {{field: variable_bridge_hangup_cause, expression: ^NORMAL_CLEARING$}}
    then: [hangup]
    else: [{{execute: {{app: voicemail, arg: "default ${{domain_name}} $1"}}}}, hangup]
""",
        """\
test: hours {n}, answered
at: {at}
switch: {{apps: {{bridge: {{duration: 30s, set: {{bridge_hangup_cause: NORMAL_CLEARING}}}}}}}}
call: {{destination: "2{n:03d}", caller: {{number: "+49301234{n:03d}"}}}}
---
test: hours {n}, not answered
at: {at}
switch:
  apps: {{bridge: {{duration: 20s, set: {{bridge_hangup_cause: NO_ANSWER}}}}, voicemail: 15s}}
call: {{destination: "2{n:03d}"}}
""",
    ),
    # A recorded team line.
    (
        """\
flow: recorded-{n}
trigger: CHANNEL_PARK
priority: {n}
when: {{field: Caller-Destination-Number, expression: ^(3{n:03d})$}}
steps:
  - execute: answer
  - execute: {{app: playback, arg: "/sounds/custom/recorded.wav"}}
  - execute: {{app: record_session, arg: "$${{recordings_dir}}/${{uuid}}.wav"}}
  - sendevent:
      event: CUSTOM
      subclass: eslflow::recording
      headers: {{Team-Line: "$1", Call-UUID: "${{{{ uuid }}}}"}}
  - execute: {{app: bridge, arg: "user/$1@${{domain_name}}", timeout: 30s}}
on_hangup:
  - log: "recording of $1 ended: ${{{{ event['Hangup-Cause'] }}}}"
""",
        """\
test: team line {n}
at: {at}
switch: {{apps: {{record_session: {{}}, bridge: 25s}}}}
call: {{destination: "3{n:03d}", hangup_after: 20s}}
""",
    ),
    # An outbound PIN gate.
    (
        """\
flow: gate-{n}
trigger: {{outbound: true}}
priority: {n}
when: {{field: Caller-Destination-Number, expression: ^9{n:03d}$}}
steps:
  - resume
  - linger: 5s
  - execute: answer
  - execute: {{app: read, arg: "4 4 ivr/pin.wav pin 10000 #", save: entry}}
  - if: {{value: "${{{{ vars.entry['variable_pin'] }}}}", equals: "{pin}"}}
    then: [{{execute: {{app: playback, arg: ivr/thank_you.wav}}}}]
    else: [{{hangup: CALL_REJECTED}}]
""",
        """\
test: gate {n}, right PIN
at: {at}
call: {{destination: "9{n:03d}", socket: async, dtmf: ["{pin}#"]}}
---
test: gate {n}, wrong PIN
at: {at}
call: {{destination: "9{n:03d}", socket: async, dtmf: ["0000#"]}}
""",
    ),
    # A support line waiting for a key.
    (
        """\
flow: support-{n}
trigger: CHANNEL_PARK
priority: {n}
when:
  - field: Caller-Destination-Number
    expression: ^(1{n:03d})$
  - field: variable_sip_from_host
    equals: tenant{n}.example.com
steps:
  - execute: answer
  - api: "uuid_setvar ${{{{ uuid }}}} tenant {n}"
  - wait: {{event: DTMF, timeout: 10s, save: key}}
    on_timeout: [{{hangup: RECOVERY_ON_TIMER_EXPIRE}}]
  - log: "key ${{{{ vars.key['DTMF-Digit'] }}}}"
  - hangup: NORMAL_CLEARING
""",
        """\
test: support {n}, a key
at: {at}
call:
  destination: "1{n:03d}"
  variables: {{sip_from_host: tenant{n}.example.com}}
  dtmf: [{{digits: "5", after: 4s}}]
---
test: support {n}, no key
at: {at}
call: {{destination: "1{n:03d}", variables: {{sip_from_host: tenant{n}.example.com}}}}
""",
    ),
]


def generate(root: Path, count: int) -> None:
    flows, tests = root / "flows", root / "flows" / "tests"
    tests.mkdir(parents=True)
    for n in range(count):
        flow, test = FLOWS[n % len(FLOWS)]
        fields = {"n": n, "at": AT, "pin": f"{1000 + n:04d}"}
        (flows / f"flow-{n:03d}.yaml").write_text(flow.format(**fields))
        (tests / f"flow-{n:03d}.test.yaml").write_text(test.format(**fields))


def median_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate(root, args.flows)
        os.chdir(root)
        cache = FlowCache()
        for path in sorted((root / "flows" / "tests").glob("*.test.yaml")):
            record_file(path.relative_to(root), cache)
        suite = run_tests([Path("flows/tests")])
        failed = [r.where for r in suite.results if r.status != "passed"]
        if failed:
            sys.exit(f"not every test passed after recording: {failed[:5]}")
        tests = len(suite.results)
        simulated = sum(result.simulated for result in suite.results)

        def in_process() -> None:
            result = run_tests([Path("flows/tests")])
            assert result.ok

        def cli() -> None:
            subprocess.run(
                [sys.executable, "-m", "runner", "test", "flows/tests"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        inside = median_of(args.runs, in_process)
        outside = median_of(max(1, args.runs // 2 + 1), cli)
    print(f"eslflow test: {args.flows} flows, {tests} tests, {simulated / 60:.0f} min simulated")
    print(f"{'':<34}{'median':>10}{'per test':>12}")
    for label, seconds in (("in process (run_tests)", inside), ("CLI (eslflow test)", outside)):
        print(f"{label:<34}{seconds:>9.2f}s{seconds / tests * 1000:>10.1f}ms")
    print(f"target: under 10 s for the tests of {args.flows} flows")


if __name__ == "__main__":
    main()
