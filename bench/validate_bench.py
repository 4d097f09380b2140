"""How long `eslflow validate` takes over 1,000 realistic flow files.

Generates the files in a temporary folder (variations of the shipped examples: IVRs,
business-hours pairs, recording lines, outbound gates, callbacks, registration
monitors), then times validating all of them, five runs each, and prints the medians:

- in process: `load_flows([folder])` (parse, validate, second pass), imports excluded;
- CLI: `eslflow validate folder` as a subprocess, Python start-up and imports included.

Target: under 2 s for 1,000 files. Run: `python bench/validate_bench.py [--files N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runner.flow import load_flows

TEMPLATES = [
    # An IVR with digits.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Menu {n}: one digit with play_and_get_digits, then route it.
flow: menu-{n}
trigger: {{event: CHANNEL_PARK}}
priority: {priority}
when:
  - field: Caller-Destination-Number
    expression: ^5{n:04d}$
  - field: variable_sip_from_host
    equals: tenant{n}.example.com
steps:
  - execute: answer
  - execute: {{app: sleep, arg: 500}}
  - execute:
      app: play_and_get_digits
      arg: "1 1 3 5000 # ivr/ivr-welcome.wav ivr/ivr-invalid.wav digit [0-3]"
      timeout: 30s
      save: menu
  - switch: "${{{{ vars.menu['variable_digit'] }}}}"
    cases:
      "1": [{{execute: {{app: transfer, arg: "1{n:03d} XML default"}}}}]
      "2": [{{call: support}}]
      "0":
        - log: "operator for ${{{{ event['Caller-Caller-ID-Number'] }}}}"
        - execute: {{app: bridge, arg: "user/1000@${{domain_name}}", timeout: 60s}}
    default: [{{execute: {{app: playback, arg: "voicemail/vm-goodbye.wav"}}}}]
  - hangup: NORMAL_CLEARING
blocks:
  support:
    - execute: {{app: bridge, arg: "group/support{n}@${{domain_name}}", timeout: 2m}}
on_error:
  - log: {{level: error, message: "menu {n} failed: ${{{{ vars.error }}}}"}}
  - hangup: NORMAL_TEMPORARY_FAILURE
""",
    # Business hours.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Line {n}: open on weekdays, Berlin time, except holidays.
flow: hours-{n}
trigger: {{event: CHANNEL_PARK}}
priority: {priority}
when:
  - field: Caller-Destination-Number
    expression: ^(2{n:04d})$
  - any:
      - time: {{wday: mon-fri, time-of-day: "08:30-18:00", tz: Europe/Berlin}}
      - time: {{wday: sat, hour: 9-12, tz: Europe/Berlin}}
  - not:
      time: {{date: ["2025-12-24~2025-12-26", "2026-01-01"], tz: Europe/Berlin}}
steps:
  - execute: answer
  - execute: {{app: bridge, arg: "group/sales{n}@${{domain_name}}", wait: complete, timeout: 45s}}
  - if: {{field: variable_bridge_hangup_cause, expression: ^NORMAL_CLEARING$}}
    then: [hangup]
    else: [{{execute: {{app: voicemail, arg: "default ${{domain_name}} $1"}}}}]
""",
    # Recording announcement.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Team line {n}: announce and record.
flow: recorded-{n}
trigger: {{event: CHANNEL_PARK}}
when:
  - field: Caller-Destination-Number
    expression: ^(3{n:04d})$
steps:
  - execute: answer
  - execute: {{app: playback, arg: "/sounds/custom/recorded.wav"}}
  - execute: {{app: set, arg: "RECORD_STEREO=true"}}
  - execute: {{app: record_session, arg: "$${{recordings_dir}}/${{uuid}}.wav"}}
  - sendevent:
      event: CUSTOM
      subclass: eslflow::recording
      headers: {{Team-Line: "$1", Call-UUID: "${{{{ uuid }}}}"}}
  - execute: {{app: bridge, arg: "user/$1@${{domain_name}}", timeout: 30s}}
on_hangup:
  - log: "recording of $1 ended: ${{{{ event['Hangup-Cause'] }}}}"
""",
    # Outbound socket gate.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Outbound gate {n}.
flow: gate-{n}
trigger: {{outbound: true}}
priority: {priority}
when:
  - field: Caller-Destination-Number
    expression: ^9{n:04d}(\\d*)$
steps:
  - resume
  - linger: 5s
  - execute: answer
  - execute:
      app: read
      arg: "4 4 ivr/ivr-please_enter_pin.wav pin 10000 #"
      save: entry
  - if:
      value: "${{{{ vars.entry['variable_pin'] }}}}"
      equals: "{pin}"
    then:
      - execute: {{app: bridge, arg: "user/1{n:03d}@${{domain_name}}", timeout: 30s}}
    else:
      - hangup: CALL_REJECTED
""",
    # Callback with bgapi.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Callback {n}.
flow: callback-{n}
trigger: {{event: CHANNEL_PARK}}
on_busy: skip
when:
  - field: Caller-Destination-Number
    expression: ^\\*9{n:04d}$
  - field: Caller-Caller-ID-Number
    expression: ^(\\d{{3,6}})$
vars:
  callee: "$1"
steps:
  - execute: answer
  - execute: {{app: playback, arg: "ivr/ivr-we_will_call_you_back.wav"}}
  - hangup
on_hangup:
  - bgapi:
      command: originate
      args: "{{origination_caller_id_number=5000}}user/${{{{ vars.callee }}}} 5000 XML default"
      save: job
      timeout: 60s
  - if: {{value: "${{{{ vars.job }}}}", expression: "^\\\\+OK (\\\\S+)"}}
    then: [{{log: "called back: $1"}}]
    else: [{{log: {{level: warning, message: "callback failed: ${{{{ vars.job }}}}"}}}}]
""",
    # Registration monitor.
    """\
# yaml-language-server: $schema=../schemas/flow.schema.json
# Registrations on profile {n}.
flow: registrations-{n}
trigger:
  event: CUSTOM
  subclass: sofia::register
when:
  - field: profile-name
    expression: ^(profile{n})$
steps:
  - log: "${{{{ event['from-user'] }}}}@${{{{ event['from-host'] }}}} registered"
  - if: {{field: user-agent, expression: "(?i)(friendly-scanner|sipvicious)"}}
    then:
      - api: "sofia profile $1 flush_inbound_reg ${{{{ event['from-user'] }}}}"
      - sendevent: {{event: CUSTOM, subclass: eslflow::scanner, headers: {{Profile: "$1"}}}}
""",
]


def generate(folder: Path, count: int) -> None:
    """`count` valid flow files, spread over the templates, in `folder`."""
    for n in range(count):
        template = TEMPLATES[n % len(TEMPLATES)]
        text = template.format(n=n, priority=10 + n % 50, pin=f"{n % 10000:04d}")
        (folder / f"flow-{n:04d}.yaml").write_text(text)


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """Wall-clock seconds of `runs` calls of `action`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="flow files to generate")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        generate(folder, options.files)
        flows = load_flows([folder])  # also proves every generated file is valid
        assert len(flows) == options.files

        in_process = timed(lambda: load_flows([folder]), options.runs)
        # What the `eslflow` console script runs, without depending on PATH.
        eslflow = [sys.executable, "-c", "from runner.cli import main; main()"]
        command = [*eslflow, "validate", str(folder)]
        cli = timed(lambda: subprocess.run(command, check=True, capture_output=True), options.runs)
        startup_command = [*eslflow, "--version"]
        startup = timed(
            lambda: subprocess.run(startup_command, check=True, capture_output=True), options.runs
        )

    rows = [
        ("load_flows (in process)", in_process),
        ("eslflow validate (subprocess)", cli),
        ("  of which start-up: eslflow --version", startup),
    ]
    print(f"validating {options.files} flow files, median of {options.runs} runs")
    print(f"{'measurement':<40} {'median s':>9} {'min s':>7} {'max s':>7} {'ms/file':>8}")
    for name, times in rows:
        median = statistics.median(times)
        per_file = median / options.files * 1000
        print(f"{name:<40} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {per_file:>8.3f}")


if __name__ == "__main__":
    main()
