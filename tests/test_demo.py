"""`eslflow demo`, README's first command: the example flows against the simulator."""

from __future__ import annotations

from typer.testing import CliRunner

from runner.cli import app


def test_demo_runs_every_example_call_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("eslflow demo: 8 example flows from flows, the simulator on 127.0.0.1:")
    for line in (
        'call 1  <- CHANNEL_PARK 5000 from 1002 "Alice"',
        "call 1     flow main-menu: flows/ivr.yaml:12:5 execute",
        "call 1  -> sendmsg execute answer",
        "call 1     operator requested by 1002",
        "call 1  -> sendmsg execute bridge user/1000",
        "call 2  -> sendmsg execute bridge user/1001@${domain_name}",
        "call 3  -> sendevent CUSTOM eslflow::recording",
        "call 4  -> myevents",
        "call 4  -> linger 5",
        "call 4  -> sendmsg execute bridge user/1123@${domain_name}",
        "call 5  -> bgapi originate {origination_caller_id_number=5000}user/1005 5000 XML default",
        "        -> api sofia profile internal flush_inbound_reg 1009@example.com",
        "Done: every call above ran through the engine over a real event socket.",
    ):
        assert line in out, line
    assert out.count("call ended: NORMAL_CLEARING") == 5
    assert "error" not in out
