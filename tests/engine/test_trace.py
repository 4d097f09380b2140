"""The demo's call trace: one line per thing, whatever bytes a caller sent."""

from __future__ import annotations

import io

from runner.engine.trace import Tracer
from runner.esl import commands


def test_caller_values_stay_on_one_line_and_show_raw_bytes() -> None:
    out = io.StringIO()
    tracer = Tracer(out)
    tracer.event(
        "pbx",
        {
            "Event-Name": "CHANNEL_PARK",
            "Unique-ID": "u-1",
            "Caller-Destination-Number": "5000",
            "Caller-Caller-ID-Number": "1000",
            "Caller-Caller-ID-Name": "Bob\udcff\r\ncall 9  -> sendmsg hangup",
        },
    )
    tracer.command("u-1", commands.execute("playback", "a\udcff\udcfe.wav", uuid="u-1"))
    assert out.getvalue().splitlines() == [
        'call 1  <- CHANNEL_PARK 5000 from 1000 "Bob\\xff\\r\\ncall 9  -> sendmsg hangup"',
        "call 1  -> sendmsg execute playback a\\xff\\xfe.wav",
    ]
    out.getvalue().encode("utf-8")  # a strict stdout can print it
