"""Every invalid flow gets its exact message at its exact place (path:line:col)."""

import pytest

from runner.flow import FlowValidationError, load_flow_sources

HEAD = "flow: t\ntrigger: {event: CHANNEL_PARK}\n"

# name: (the file, the errors `eslflow validate` must print for it, in order)
CASES: dict[str, tuple[str, list[str]]] = {
    "unknown_top_key": (
        HEAD + "stpes: [stop]\nsteps: [stop]\n",
        ["flows/t.yaml:3:1: unknown key 'stpes' in the flow — did you mean 'steps'?"],
    ),
    "missing_steps": (HEAD, ["flows/t.yaml:1:1: missing key 'steps' in the flow"]),
    "missing_flow": (
        "trigger: {event: CHANNEL_PARK}\nsteps: [stop]\n",
        ["flows/t.yaml:1:1: missing key 'flow' in the flow"],
    ),
    "empty_steps": (HEAD + "steps: []\n", ["flows/t.yaml:3:8: 'steps' must not be empty"]),
    "steps_not_list": (
        HEAD + "steps: {execute: answer}\n",
        ["flows/t.yaml:3:8: 'steps' must be a list, got a mapping"],
    ),
    "bad_flow_name": (
        "flow: 'my flow'\nsteps: [stop]\n",
        [
            "flows/t.yaml:1:7: 'my flow' is not a valid flow name: use letters, digits, '-', '_' and '.', starting with a letter or digit"
        ],
    ),
    "flow_name_int": (
        "flow: 5\nsteps: [stop]\n",
        ["flows/t.yaml:1:7: expected a flow name, got 5"],
    ),
    "priority_text": (
        HEAD + "priority: high\nsteps: [stop]\n",
        ["flows/t.yaml:3:11: 'priority' must be a whole number, got 'high'"],
    ),
    "continue_text": (
        HEAD + "continue: 'yes'\nsteps: [stop]\n",
        ["flows/t.yaml:3:11: 'continue' must be true or false, got 'yes'"],
    ),
    "on_busy_typo": (
        HEAD + "on_busy: queu\nsteps: [stop]\n",
        [
            "flows/t.yaml:3:10: 'on_busy' must be 'queue', 'skip' or 'replace', got 'queu' — did you mean 'queue'?"
        ],
    ),
    "unknown_event": (
        "flow: t\ntrigger: {event: CHANEL_PARK}\nsteps: [stop]\n",
        ["flows/t.yaml:2:18: unknown event 'CHANEL_PARK' — did you mean 'CHANNEL_PARK'?"],
    ),
    "custom_no_subclass": (
        "flow: t\ntrigger: {event: CUSTOM}\nsteps: [stop]\n",
        ["flows/t.yaml:2:11: CUSTOM events need a subclass, e.g. subclass: sofia::register"],
    ),
    "subclass_not_custom": (
        "flow: t\ntrigger: {event: CHANNEL_PARK, subclass: a::b}\nsteps: [stop]\n",
        ["flows/t.yaml:2:32: only CUSTOM events have a subclass, not CHANNEL_PARK"],
    ),
    "event_and_outbound": (
        "flow: t\ntrigger: {event: CHANNEL_PARK, outbound: true}\nsteps: [stop]\n",
        ["flows/t.yaml:2:32: a trigger is either an event or outbound: true, not both"],
    ),
    "empty_trigger": (
        "flow: t\ntrigger: {}\nsteps: [stop]\n",
        ["flows/t.yaml:2:10: a trigger needs event: NAME or outbound: true"],
    ),
    "trigger_typo_key": (
        "flow: t\ntrigger: {evnt: CHANNEL_PARK}\nsteps: [stop]\n",
        ["flows/t.yaml:2:11: unknown key 'evnt' in 'trigger' — did you mean 'event'?"],
    ),
    "unknown_step": (
        HEAD + "steps:\n  - exectue: answer\n",
        ["flows/t.yaml:4:5: unknown step 'exectue' — did you mean 'execute'?"],
    ),
    "bare_unknown_word": (
        HEAD + "steps:\n  - answer\n",
        [
            "flows/t.yaml:4:5: unknown step 'answer' — to run the application, write 'execute: answer'"
        ],
    ),
    "bare_kind_needing_value": (
        HEAD + "steps:\n  - execute\n",
        ["flows/t.yaml:4:5: step 'execute' needs a value: write 'execute: ...'"],
    ),
    "two_kinds": (
        HEAD + "steps:\n  - execute: answer\n    hangup: NORMAL_CLEARING\n",
        ["flows/t.yaml:5:5: a step does one thing; found 'execute' and 'hangup' — write two steps"],
    ),
    "no_kind": (
        HEAD + "steps:\n  - name: x\n",
        ["flows/t.yaml:4:5: step has no kind (execute, hangup, if, ...); found only 'name'"],
    ),
    "empty_step": (
        HEAD + "steps:\n  - {}\n",
        ["flows/t.yaml:4:5: empty step: expected a mapping such as execute: answer"],
    ),
    "step_is_number": (
        HEAD + "steps:\n  - 5\n",
        ["flows/t.yaml:4:5: expected a step (a mapping such as execute: answer), got 5"],
    ),
    "execute_unknown_key": (
        HEAD + "steps:\n  - execute: {app: bridge, tmeout: 30s}\n",
        ["flows/t.yaml:4:28: unknown key 'tmeout' in 'execute' — did you mean 'timeout'?"],
    ),
    "execute_missing_app": (
        HEAD + "steps:\n  - execute: {arg: x}\n",
        ["flows/t.yaml:4:14: missing key 'app' in 'execute'"],
    ),
    "execute_wait_typo": (
        HEAD + "steps:\n  - execute: {app: x, wait: compelte}\n",
        [
            "flows/t.yaml:4:29: 'wait' must be 'none', 'start' or 'complete', got 'compelte' — did you mean 'complete'?"
        ],
    ),
    "execute_timeout_no_unit": (
        HEAD + "steps:\n  - execute: {app: x, timeout: 30}\n",
        ["flows/t.yaml:4:32: a duration needs a unit: write 30s or 30ms"],
    ),
    "execute_timeout_bad": (
        HEAD + "steps:\n  - execute: {app: x, timeout: 30 seconds}\n",
        ["flows/t.yaml:4:32: expected a duration like 500ms, 10s, 2m or 1h, got '30 seconds'"],
    ),
    "execute_timeout_without_wait": (
        HEAD + "steps:\n  - execute: {app: x, wait: none, timeout: 3s}\n",
        ["flows/t.yaml:4:35: timeout needs wait: start or wait: complete"],
    ),
    "execute_save_without_complete": (
        HEAD + "steps:\n  - execute: {app: x, wait: start, save: r}\n",
        ["flows/t.yaml:4:36: save needs wait: complete (the result is in the completion event)"],
    ),
    "execute_loops_zero": (
        HEAD + "steps:\n  - execute: {app: x, loops: 0}\n",
        ["flows/t.yaml:4:23: loops must be at least 1 (or -1 for ever)"],
    ),
    "execute_loops_negative": (
        HEAD + "steps:\n  - execute: {app: x, loops: -2}\n",
        ["flows/t.yaml:4:30: 'loops' must be at least -1, got -2"],
    ),
    "execute_app_substituted": (
        HEAD + 'steps:\n  - execute: "$1 foo"\n',
        ["flows/t.yaml:4:14: the application name must be written out, not substituted"],
    ),
    "execute_app_bad": (
        HEAD + "steps:\n  - execute: {app: 'play back'}\n",
        ["flows/t.yaml:4:20: 'play back' is not an application name"],
    ),
    "step_sibling_typo": (
        HEAD + "steps:\n  - execute: answer\n    rae: true\n",
        ["flows/t.yaml:5:5: unknown key 'rae' in the execute step — did you mean 'raw'?"],
    ),
    "hangup_cause_typo": (
        HEAD + "steps:\n  - hangup: NORMAL_CLEARNG\n",
        [
            "flows/t.yaml:4:13: unknown hangup cause 'NORMAL_CLEARNG' — did you mean 'NORMAL_CLEARING'?"
        ],
    ),
    "hangup_cause_lower": (
        HEAD + "steps:\n  - hangup: normal_clearing\n",
        [
            "flows/t.yaml:4:13: unknown hangup cause 'normal_clearing' — did you mean 'NORMAL_CLEARING'?"
        ],
    ),
    "hangup_code_unknown": (
        HEAD + "steps:\n  - hangup: 999\n",
        ["flows/t.yaml:4:13: unknown hangup cause code 999"],
    ),
    "sendevent_custom_no_subclass": (
        HEAD + "steps:\n  - sendevent: {event: CUSTOM}\n",
        ["flows/t.yaml:4:17: CUSTOM events need a subclass, e.g. subclass: eslflow::routed"],
    ),
    "sendevent_reserved_header": (
        HEAD + "steps:\n  - sendevent: {event: CUSTOM, subclass: a::b, headers: {Event-Name: x}}\n",
        ["flows/t.yaml:4:58: header 'Event-Name' is set by eslflow; use event/subclass/body"],
    ),
    "sendevent_bad_header_name": (
        HEAD + "steps:\n  - sendevent: {event: CUSTOM, subclass: a::b, headers: {'Bad Name': x}}\n",
        [
            "flows/t.yaml:4:58: 'Bad Name' is not a valid header name (printable ASCII, no spaces or ':')"
        ],
    ),
    "sendevent_header_newline": (
        HEAD
        + 'steps:\n  - sendevent:\n      event: CUSTOM\n      subclass: a::b\n      headers: {X: "a\\nb"}\n',
        ["flows/t.yaml:7:22: line break in a one-line value (it would break the command)"],
    ),
    "api_substituted_command": (
        HEAD + 'steps:\n  - api: "${{ vars.x }} status"\n',
        ["flows/t.yaml:4:10: the command name must be written out, not substituted"],
    ),
    "api_bad_command": (
        HEAD + "steps:\n  - api: {command: 'show calls'}\n",
        ["flows/t.yaml:4:20: 'show calls' is not a command name (one word; arguments go in args)"],
    ),
    "api_newline": (
        HEAD + "steps:\n  - api: |\n      show\n      calls\n",
        ["flows/t.yaml:4:10: line break in a command (it must be one line)"],
    ),
    "bgapi_timeout_bad": (
        HEAD + "steps:\n  - bgapi: {command: status, timeout: soon}\n",
        ["flows/t.yaml:4:39: expected a duration like 500ms, 10s, 2m or 1h, got 'soon'"],
    ),
    "set_bad_name": (
        HEAD + "steps:\n  - set: {1x: 1}\n",
        [
            "flows/t.yaml:4:11: '1x' is not a valid name: use letters, digits and _, not starting with a digit"
        ],
    ),
    "set_empty": (HEAD + "steps:\n  - set: {}\n", ["flows/t.yaml:4:10: 'set' must not be empty"]),
    "set_list_value": (
        HEAD + "steps:\n  - set: {a: [1]}\n",
        ["flows/t.yaml:4:14: expected text, a number or true/false, got a list"],
    ),
    "wait_unknown_event": (
        HEAD + "steps:\n  - wait: DTFM\n",
        ["flows/t.yaml:4:11: unknown event 'DTFM' — did you mean 'DTMF'?"],
    ),
    "wait_on_timeout_without_timeout": (
        HEAD + "steps:\n  - wait: {event: DTMF}\n    on_timeout: [stop]\n",
        ["flows/t.yaml:5:5: on_timeout needs a timeout in the wait"],
    ),
    "wait_channel_typo": (
        HEAD + "steps:\n  - wait: {event: DTMF, channel: al}\n",
        ["flows/t.yaml:4:34: 'channel' must be 'this' or 'any', got 'al'"],
    ),
    "sleep_zero": (
        HEAD + "steps:\n  - sleep: 0s\n",
        ["flows/t.yaml:4:12: a duration must be longer than zero, got '0s'"],
    ),
    "if_no_branches": (
        HEAD + "steps:\n  - if: {field: a, equals: b}\n",
        ["flows/t.yaml:4:5: an if needs then: or else: steps"],
    ),
    "if_then_not_list": (
        HEAD + "steps:\n  - if: {field: a, equals: b}\n    then: stop\n",
        ["flows/t.yaml:5:11: 'then' must be a list, got 'stop'"],
    ),
    "switch_no_cases": (
        HEAD + "steps:\n  - switch: x\n    cases: {}\n",
        ["flows/t.yaml:5:12: 'cases' must not be empty"],
    ),
    "repeat_zero": (
        HEAD + "steps:\n  - repeat: 0\n    steps: [stop]\n",
        ["flows/t.yaml:4:13: 'repeat' must be at least 1, got 0"],
    ),
    "repeat_too_many": (
        HEAD + "steps:\n  - repeat: 5000\n    steps: [stop]\n",
        ["flows/t.yaml:4:13: 'repeat' must be at most 1000, got 5000"],
    ),
    "repeat_missing_steps": (
        HEAD + "steps:\n  - repeat: 3\n",
        ["flows/t.yaml:4:5: missing key 'steps' in the repeat step"],
    ),
    "goto_both": (
        HEAD + "steps:\n  - goto: {block: a, flow: b}\n",
        ["flows/t.yaml:4:11: give either block: or flow:"],
    ),
    "log_level_typo": (
        HEAD + "steps:\n  - log: {message: x, level: warn}\n",
        [
            "flows/t.yaml:4:30: 'level' must be 'debug', 'info', 'warning' or 'error', got 'warn' — did you mean 'warning'?"
        ],
    ),
    "linger_fraction": (
        "flow: t\ntrigger: {outbound: true}\nsteps:\n  - linger: 1500ms\n",
        ["flows/t.yaml:4:13: linger takes whole seconds (FreeSWITCH reads an integer)"],
    ),
    "divert_text": (
        "flow: t\ntrigger: {outbound: true}\nsteps:\n  - divert_events: on\n",
        ["flows/t.yaml:4:20: 'divert_events' must be true or false, got 'on'"],
    ),
    "unicast_bad_ip": (
        HEAD + "steps:\n  - unicast: {remote_ip: 10.0.0.300, remote_port: 99999}\n",
        [
            "flows/t.yaml:4:26: '10.0.0.300' is not an IP address",
            "flows/t.yaml:4:51: 'remote_port' must be at most 65535, got 99999",
        ],
    ),
    "xferext_empty": (
        HEAD + "steps:\n  - xferext: []\n",
        ["flows/t.yaml:4:14: 'xferext' must not be empty"],
    ),
    "cond_unknown": (
        HEAD + "when:\n  - tiem: {hour: 9}\nsteps: [stop]\n",
        ["flows/t.yaml:4:5: unknown condition 'tiem' — did you mean 'time'?"],
    ),
    "cond_key_typo": (
        HEAD + "when:\n  - field: a\n    expresion: b\nsteps: [stop]\n",
        ["flows/t.yaml:5:5: unknown condition 'expresion' — did you mean 'expression'?"],
    ),
    "cond_no_test": (
        HEAD + "when:\n  - field: a\nsteps: [stop]\n",
        ["flows/t.yaml:4:5: condition on 'a' needs 'expression', 'equals' or 'exists'"],
    ),
    "cond_two_tests": (
        HEAD + "when:\n  - field: a\n    expression: b\n    equals: c\nsteps: [stop]\n",
        [
            "flows/t.yaml:6:5: a condition tests one thing; found 'expression' and 'equals' — write two conditions"
        ],
    ),
    "cond_field_and_value": (
        HEAD + "when:\n  - field: a\n    value: b\n    equals: c\nsteps: [stop]\n",
        ["flows/t.yaml:5:5: give either 'field' or 'value', not both"],
    ),
    "cond_no_subject": (
        HEAD + "when:\n  - expression: b\nsteps: [stop]\n",
        ["flows/t.yaml:4:5: a condition needs 'field' (a header name) or 'value' (a template)"],
    ),
    "cond_bad_regex": (
        HEAD + "when:\n  - field: a\n    expression: ^(1\\d{3}$\nsteps: [stop]\n",
        ["flows/t.yaml:5:18: invalid regular expression: missing ), unterminated subpattern"],
    ),
    "cond_bad_regex_quoted": (
        HEAD + 'when:\n  - {field: a, expression: "x["}\nsteps: [stop]\n',
        ["flows/t.yaml:4:30: invalid regular expression: unterminated character set"],
    ),
    "cond_exists_text": (
        HEAD + "when:\n  - {field: a, exists: maybe}\nsteps: [stop]\n",
        ["flows/t.yaml:4:24: 'exists' must be true or false, got 'maybe'"],
    ),
    "cond_xor_one": (
        HEAD + "when:\n  - xor: [{field: a, equals: b}]\nsteps: [stop]\n",
        ["flows/t.yaml:4:10: 'xor' needs at least 2 items"],
    ),
    "cond_any_empty": (
        HEAD + "when:\n  - any: []\nsteps: [stop]\n",
        ["flows/t.yaml:4:10: 'any' must not be empty"],
    ),
    "cond_test_bad": (
        HEAD + 'when:\n  - test: "vars.x +"\nsteps: [stop]\n',
        ["flows/t.yaml:4:20: invalid expression: invalid syntax"],
    ),
    "cond_string": (
        HEAD + "when:\n  - Caller-Destination-Number\nsteps: [stop]\n",
        [
            "flows/t.yaml:4:5: expected a condition (a mapping such as {field: ..., expression: ...}), got 'Caller-Destination-Number'"
        ],
    ),
    "time_wday_typo": (
        HEAD + "when:\n  - time: {wday: mon-fir}\nsteps: [stop]\n",
        ["flows/t.yaml:4:22: unknown wday 'fir' — did you mean 'fri'? (use 1-7 or sun..sat)"],
    ),
    "time_hour_range": (
        HEAD + "when:\n  - time: {hour: 9-25}\nsteps: [stop]\n",
        ["flows/t.yaml:4:20: hour 25 is out of range 0-23"],
    ),
    "time_tz_typo": (
        HEAD + "when:\n  - time: {hour: 9, tz: Europe/Berln}\nsteps: [stop]\n",
        ["flows/t.yaml:4:25: unknown time zone 'Europe/Berln' — did you mean 'Europe/Berlin'?"],
    ),
    "time_empty": (
        HEAD + "when:\n  - time: {tz: UTC}\nsteps: [stop]\n",
        [
            "flows/t.yaml:4:11: a time condition needs at least one of wday, mon, mday, yday, year, hour, minute, minute-of-day, time-of-day, date, date-time"
        ],
    ),
    "time_key_typo": (
        HEAD + "when:\n  - time: {minute_of_day: 1-60}\nsteps: [stop]\n",
        [
            "flows/t.yaml:4:12: unknown key 'minute_of_day' in 'time' — did you mean 'minute-of-day'?"
        ],
    ),
    "time_tod_bad": (
        HEAD + "when:\n  - time: {time-of-day: '8-17'}\nsteps: [stop]\n",
        ["flows/t.yaml:4:26: expected a time like 08:00 or 17:30:00, got '8'"],
    ),
    "time_date_bad": (
        HEAD + "when:\n  - time: {date: 2025-02-30}\nsteps: [stop]\n",
        ["flows/t.yaml:4:18: expected a date like 2024-12-24, got '2025-02-30'"],
    ),
    "template_unclosed": (
        HEAD + 'steps:\n  - log: "a ${{ uuid"\n',
        ["flows/t.yaml:4:13: '${{' is not closed: expected '}}'"],
    ),
    "template_unknown_name": (
        HEAD + "steps:\n  - log: \"a ${{ evnt['x'] }}\"\n",
        [
            "flows/t.yaml:4:17: unknown name 'evnt' — did you mean 'event'? (names: event, trigger, vars, uuid, captures)"
        ],
    ),
    "template_attr_dunder": (
        HEAD + 'steps:\n  - log: "${{ event.__class__ }}"\n',
        ["flows/t.yaml:4:21: '.__class__': names starting with '_' are not allowed"],
    ),
    "template_call": (
        HEAD + "steps:\n  - log: \"${{ open('x') }}\"\n",
        [
            "flows/t.yaml:4:15: unknown function 'open' (functions: default, endswith, int, len, lower, raw, replace, startswith, str, strip, upper)"
        ],
    ),
    "template_bool": (
        HEAD + "steps:\n  - log: true\n",
        ["flows/t.yaml:4:10: expected a message or {message, level}, got true"],
    ),
    "capture_too_high": (
        HEAD + 'when:\n  - {field: a, expression: ^(1)$}\nsteps:\n  - log: "$1 $2"\n',
        [
            "flows/t.yaml:6:14: '$2' refers to capture group 2, but the conditions have only 1 group ($1)"
        ],
    ),
    "capture_no_groups": (
        HEAD + 'steps:\n  - execute: "playback $1"\n',
        ["flows/t.yaml:4:24: '$1' refers to a capture, but the conditions have no groups"],
    ),
    "capture_in_when": (
        HEAD
        + "when:\n  - {field: a, expression: ^(1)$}\n  - {field: b, equals: $1}\nsteps: [stop]\n",
        ["flows/t.yaml:5:24: '$1': captures are not known yet in the flow's own conditions"],
    ),
    "capture_expr": (
        HEAD + 'steps:\n  - log: "${{ captures[2] }}"\n',
        ["flows/t.yaml:4:11: '$2' refers to a capture, but the conditions have no groups"],
    ),
    "capture_if_scope": (
        HEAD
        + "steps:\n  - if: {field: a, expression: ^(1)(2)$}\n    then: [{log: $2}]\n    else: [{log: $2}]\n",
        ["flows/t.yaml:6:18: '$2' refers to a capture, but the conditions have no groups"],
    ),
    "unknown_var": (
        HEAD + 'steps:\n  - bgapi: {command: status, save: job}\n  - log: "${{ vars.jbo }}"\n',
        ["flows/t.yaml:5:11: unknown variable 'jbo' — did you mean 'job'?"],
    ),
    "unknown_var_in_test": (
        HEAD + 'steps:\n  - if: {test: "vars.count > 1"}\n    then: [stop]\n',
        ["flows/t.yaml:4:16: unknown variable 'count'"],
    ),
    "goto_unknown": (
        HEAD + "steps:\n  - goto: voicemal\nblocks:\n  voicemail: [stop]\n",
        ["flows/t.yaml:4:11: unknown block or flow 'voicemal' — did you mean 'voicemail'?"],
    ),
    "goto_unknown_block": (
        HEAD + "steps:\n  - goto: {block: vm}\n",
        ["flows/t.yaml:4:19: unknown block 'vm' in flow 't'"],
    ),
    "call_unknown_flow": (
        HEAD + "steps:\n  - call: {flow: other}\n",
        ["flows/t.yaml:4:18: unknown flow 'other'"],
    ),
    "conn_step_inbound": (
        HEAD + "steps:\n  - linger: 10s\n  - resume\n",
        [
            "flows/t.yaml:4:5: 'linger' acts on an outbound socket connection: it works only in outbound flows (trigger: {outbound: true}), and this flow is triggered by CHANNEL_PARK",
            "flows/t.yaml:5:5: 'resume' acts on an outbound socket connection: it works only in outbound flows (trigger: {outbound: true}), and this flow is triggered by CHANNEL_PARK",
        ],
    ),
    "linger_text": (
        "flow: t\ntrigger: {outbound: true}\nsteps:\n  - linger: soon\n",
        ["flows/t.yaml:4:13: expected a duration like 500ms, 10s, 2m or 1h, got 'soon'"],
    ),
    "myevents_false": (
        "flow: t\ntrigger: {outbound: true}\nsteps:\n  - myevents: false\n",
        ["flows/t.yaml:4:15: 'myevents' must be true, got false"],
    ),
    "execute_number": (
        HEAD + "steps:\n  - execute: 5\n",
        [
            "flows/t.yaml:4:14: expected an application ('answer', 'playback file.wav') or a mapping {app, arg}, got 5"
        ],
    ),
    "execute_arg_list": (
        HEAD + "steps:\n  - execute: {app: x, arg: [1]}\n",
        ["flows/t.yaml:4:28: expected text, got a list"],
    ),
    "goto_number": (
        HEAD + "steps:\n  - goto: 5\n",
        ["flows/t.yaml:4:11: expected a block or flow name, or {block: ...} / {flow: ...}, got 5"],
    ),
    "wait_number": (
        HEAD + "steps:\n  - wait: 5\n",
        ["flows/t.yaml:4:11: expected an event name or a mapping {event, ...}, got 5"],
    ),
    "xferext_item_number": (
        HEAD + "steps:\n  - xferext: [5]\n",
        [
            "flows/t.yaml:4:15: expected an application ('answer', 'playback file.wav') or a mapping {app, arg}, got 5"
        ],
    ),
    "log_list": (
        HEAD + "steps:\n  - log: [1]\n",
        ["flows/t.yaml:4:10: expected a message or {message, level}, got a list"],
    ),
    "api_number": (
        HEAD + "steps:\n  - api: 5\n",
        ["flows/t.yaml:4:10: expected a command line or a mapping {command, args}, got 5"],
    ),
    "if_empty": (
        HEAD + "steps:\n  - if: []\n    then: [stop]\n",
        ["flows/t.yaml:4:9: 'if' must not be empty"],
    ),
    "if_number": (
        HEAD + "steps:\n  - if: 5\n    then: [stop]\n",
        ["flows/t.yaml:4:9: expected a condition (a mapping) or a list of conditions, got 5"],
    ),
    "when_number": (
        HEAD + "when: 5\nsteps: [stop]\n",
        ["flows/t.yaml:3:7: expected a condition (a mapping) or a list of conditions, got 5"],
    ),
    "not_empty": (
        HEAD + "when: {not: []}\nsteps: [stop]\n",
        ["flows/t.yaml:3:13: 'not' must not be empty"],
    ),
    "hangup_unknown_key": (
        HEAD + "steps:\n  - hangup: {cause: USER_BUSY, reason: x}\n",
        ["flows/t.yaml:4:32: unknown key 'reason' in 'hangup'"],
    ),
    "set_list": (
        HEAD + "steps:\n  - set: [a]\n",
        ["flows/t.yaml:4:10: 'set' must be a mapping, got a list"],
    ),
    "description_number": (
        HEAD + "description: 5\nsteps: [stop]\n",
        ["flows/t.yaml:3:14: 'description' must be text, got 5"],
    ),
    "block_not_list": (
        HEAD + "blocks: {b: stop}\nsteps: [stop]\n",
        ["flows/t.yaml:3:13: 'b' must be a list, got 'stop'"],
    ),
    "vars_bad_name": (
        HEAD + "vars: {1a: x}\nsteps: [stop]\n",
        [
            "flows/t.yaml:3:8: '1a' is not a valid name: use letters, digits and _, not starting with a digit"
        ],
    ),
    "unicast_port_text": (
        HEAD + "steps:\n  - unicast: {local_port: '80'}\n",
        ["flows/t.yaml:4:27: 'local_port' must be a whole number, got '80'"],
    ),
    "subclass_space": (
        HEAD + "steps:\n  - sendevent: {event: CUSTOM, subclass: 'a b'}\n",
        ["flows/t.yaml:4:42: 'a b' is not a valid event subclass (no spaces)"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_flow(name: str) -> None:
    text, expected = CASES[name]
    with pytest.raises(FlowValidationError) as caught:
        load_flow_sources([("flows/t.yaml", text)])
    assert [str(error) for error in caught.value.errors] == expected
