"""The doctor's report: the table people read, the JSON tools read, the clock verdict."""

from __future__ import annotations

import json

from runner.doctor.checks import _clock
from runner.doctor.findings import Finding, Status, failed, render_json, render_table
from runner.esl.event import Event

FINDINGS = [
    Finding(check="event socket", status=Status.ok, detail="127.0.0.1:8021 answered"),
    Finding(check="auth", status=Status.fail, detail="wrong password\ncheck the password"),
    Finding(check="call 9000", status=Status.warn, detail="runs `socket x`"),
]


def test_the_table_aligns_columns_and_indents_continuation_lines() -> None:
    assert render_table(FINDINGS).splitlines() == [
        "CHECK         RESULT  DETAIL",
        "event socket  ok      127.0.0.1:8021 answered",
        "auth          fail    wrong password",
        "                      check the password",
        "call 9000     warn    runs `socket x`",
        "",
        "1 ok, 1 warn, 1 fail: NOT READY",
    ]


def test_a_report_without_failures_is_ready_even_with_warnings() -> None:
    findings = [FINDINGS[0], FINDINGS[2]]
    assert not failed(findings)
    assert render_table(findings).splitlines()[-1] == "1 ok, 1 warn: ready"


def test_json_report() -> None:
    assert json.loads(render_json(FINDINGS)) == {
        "ok": False,
        "checks": [
            {"check": "event socket", "status": "ok", "detail": "127.0.0.1:8021 answered"},
            {"check": "auth", "status": "fail", "detail": "wrong password\ncheck the password"},
            {"check": "call 9000", "status": "warn", "detail": "runs `socket x`"},
        ],
    }


def _stamped(seconds: float) -> Event:
    return Event.from_decoded(
        [("Event-Name", "CUSTOM"), ("Event-Date-Timestamp", str(int(seconds * 1e6)))], None, "json"
    )


def test_clock_skew_is_measured_against_the_middle_of_the_round_trip() -> None:
    ok = _clock(_stamped(1000.25), sent_at=1000.0, received_at=1000.5)
    assert ok == Finding(
        check="clock", status=Status.ok, detail="the switch's clock is 0.000 s ahead of this host's"
    )
    warn = _clock(_stamped(995.0), sent_at=1000.0, received_at=1000.0)
    assert warn.status is Status.warn
    assert warn.detail == "the switch's clock is 5.000 s behind this host's; run NTP on both"
    fail = _clock(_stamped(1100.0), sent_at=1000.0, received_at=1000.0)
    assert fail.status is Status.fail
    assert fail.detail == "the switch's clock is 100.000 s ahead of this host's; run NTP on both"


def test_an_event_without_a_usable_timestamp_is_a_warning_not_a_crash() -> None:
    event = Event.from_decoded([("Event-Date-Timestamp", "²")], None, "json")
    assert _clock(event, 0.0, 0.0) == Finding(
        check="clock", status=Status.warn, detail="the event carried no timestamp"
    )
