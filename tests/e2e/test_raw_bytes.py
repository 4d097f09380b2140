"""Bytes that are not UTF-8, from every source a flow reads, into every sink that puts a
value on the wire: they reach the simulator as the very bytes they came in as.

Issue 10 finding 2: the codec hands such bytes on as surrogate escapes (`\\udcff`), and
27 of 30 sink x source cases killed the engine with `UnicodeEncodeError`. Each case
here runs a call whose caller data holds `\\xff\\xfe` next to UTF-8 (`é`), while an
ordinary call runs beside it: both must end as their flows say, and the command the
simulator received must be, byte for byte, the command the engine wrote.

Not sinks: a hangup cause and unicast's fields are checked names, numbers and
addresses at load time, so no caller value reaches them.
"""

from __future__ import annotations

import json
import logging

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.engine.logs import JsonFormatter, TextFormatter
from runner.sim import CallSpec, Simulator
from runner.sim.wire import Command

pytestmark = pytest.mark.anyio

SPEED = 50
RAW_BYTES = b"\xff\xfe\xc3\xa9"  # two bytes that are not UTF-8, then a UTF-8 'é'
RAW = RAW_BYTES.decode("utf-8", "surrogateescape")  # '\udcff\udcfeé', as the codec gives it

# Where the value comes from: what the call carries, how the flow reads it, and any
# steps the flow runs first to get it.
NAME = "${{ event['Caller-Caller-ID-Name'] }}"
SOURCES: dict[str, tuple[dict[str, object], str, str, str]] = {
    # name: (CallSpec fields, value template, extra condition, steps before)
    "caller name": ({"caller_name": RAW}, NAME, "", ""),
    "caller number": (
        {"caller_number": RAW},
        "${{ event['Caller-Caller-ID-Number'] }}",
        "",
        "",
    ),
    "destination": ({"destination": RAW}, "${{ event['Caller-Destination-Number'] }}", "", ""),
    "channel variable": ({"variables": {"raw": RAW}}, "${{ event['variable_raw'] }}", "", ""),
    "capture": (
        {"caller_name": RAW},
        "$1",
        "  - field: Caller-Caller-ID-Name\n    expression: ^(.+)$\n",
        "",
    ),
    "flow var": ({"caller_name": RAW}, "${{ vars.name }}", "", ""),
    "bgapi result": (
        {"variables": {"raw": RAW}},
        "${{ vars.got }}",
        "",
        '  - bgapi: {command: uuid_getvar, args: "${{ uuid }} raw", save: got}\n',
    ),
}

# What the flow does with it: a step, and the command the simulator must receive
# ({uuid} and {event_uuid} filled in from the wire; V stands for the raw bytes).
SINKS: dict[str, tuple[str, bytes]] = {
    "execute arg (body)": (
        '  - execute: {app: set, arg: "y=VALUE"}\n',
        b"sendmsg {uuid}\ncall-command: execute\nexecute-app-name: set\n"
        b"Event-UUID: {event_uuid}\ncontent-type: text/plain\ncontent-length: 6\n\ny=V",
    ),
    "api": (
        '  - api: "uuid_setvar ${{ uuid }} y VALUE"\n',
        b"api uuid_setvar {uuid} y V\n\n",
    ),
    "bgapi": (
        '  - bgapi: "uuid_setvar ${{ uuid }} y VALUE"\n',
        b"bgapi uuid_setvar {uuid} y V\nJob-UUID: {job_uuid}\n\n",
    ),
    "sendevent header": (
        "  - sendevent: {event: CUSTOM, subclass: 't::raw', headers: {X-Raw: \"VALUE\"}}\n",
        b"sendevent CUSTOM\nEvent-Subclass: t::raw\nX-Raw: V\n\n",
    ),
    "sendevent body": (
        "  - sendevent: {event: CUSTOM, subclass: 't::raw', body: \"VALUE\"}\n",
        b"sendevent CUSTOM\nEvent-Subclass: t::raw\ncontent-type: text/plain\n"
        b"content-length: 4\n\nV",
    ),
    "xferext (header)": (
        '  - xferext: [{app: set, arg: "y=VALUE"}]\n',
        b"sendmsg {uuid}\ncall-command: xferext\napplication: set y=V\n\n",
    ),
    "log": ('  - log: "raw VALUE"\n', b""),
}

# xferext replaces the call's extension: the call ends when its applications are done.
ENDS_CALL = {"xferext (header)"}

# Sinks after which the simulator holds the value as channel variable `y`.
SETS_Y = {"execute arg (body)", "api", "bgapi", "xferext (header)"}

BYSTANDER = r"""
flow: bystander
trigger: CHANNEL_PARK
when:
  - field: variable_case
    expression: ^plain$
steps:
  - execute: answer
  - sleep: 200ms
  - api: "uuid_setvar ${{ uuid }} still here"
  - hangup
"""


def _flow(source: str, sink: str) -> str:
    _, value, condition, before = SOURCES[source]
    step = SINKS[sink][0].replace("VALUE", value)
    return (
        "flow: raw\ntrigger: CHANNEL_PARK\n"
        "when:\n  - field: variable_case\n    expression: ^raw$\n" + condition + "vars:\n"
        f'  name: "{NAME}"\n'
        "steps:\n" + before + step + ("" if sink in ENDS_CALL else "  - hangup: CALL_REJECTED\n")
    )


def _received(sim: Simulator) -> list[bytes]:
    """Every command the simulator took from the engine, as bytes on its wire."""
    out = []
    for record in sim.traffic.inbound():
        for command in record.commands:
            out.append(_wire(command))
    return out


def _wire(command: Command) -> bytes:
    body = b"" if command.body is None else command.body.encode("utf-8", "surrogateescape")
    return command.raw + body


def _ids(commands: list[bytes], uuid: str) -> dict[str, str]:
    """The uuids the engine chose for this call's commands (Event-UUID, Job-UUID)."""
    ids = {"uuid": uuid}
    for data in commands:
        for line in data.split(b"\n\n", 1)[0].split(b"\n"):
            name, _, value = line.decode("utf-8", "surrogateescape").partition(": ")
            if name == "Event-UUID":
                ids["event_uuid"] = value
            elif name == "Job-UUID":
                ids["job_uuid"] = value
    return ids


@pytest.mark.parametrize("sink", list(SINKS))
@pytest.mark.parametrize("source", list(SOURCES))
async def test_raw_bytes_reach_the_wire_unchanged(
    source: str, sink: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="runner")
    spec_fields = {"destination": "7001", **SOURCES[source][0]}
    variables = {"case": "raw", **dict(spec_fields.pop("variables", {}))}  # type: ignore[call-overload]
    raw_spec = CallSpec(variables=variables, **spec_fields)  # type: ignore[arg-type]
    with anyio.fail_after(15):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(_flow(source, sink), BYSTANDER)) as (engine, wire),
        ):
            plain = await sim.place_call(CallSpec(destination="5000", variables={"case": "plain"}))
            uuid = await sim.place_call(raw_spec)
            raw_info = await sim.wait_for_hangup(uuid)
            plain_info = await sim.wait_for_hangup(plain)
            while engine.active:
                await anyio.sleep(0.005)
            received = _received(sim)

    # The flow ran to its end: the engine survived, and so did the other call.
    cause = "NORMAL_CLEARING" if sink in ENDS_CALL else "CALL_REJECTED"
    assert raw_info.hangup_cause == cause
    assert wire.lines(plain) == [
        "execute answer",
        f"api uuid_setvar {plain} still here",
        "hangup NORMAL_CLEARING",
    ]
    assert plain_info.hangup_cause == "NORMAL_CLEARING"
    assert plain_info.variables["still"] == "here"
    # The simulator received exactly what the engine wrote, command by command.
    # (The wire hook records a bgapi before the connection adds its Job-UUID.)
    sent = wire.by_uuid[uuid]
    for data in sent:
        assert data.startswith(b"bgapi ") or data in received
    expected = SINKS[sink][1]
    if expected:
        filled = expected.replace(b"V", RAW_BYTES)
        ours = [data for data in received if uuid.encode() in data]
        for key, value in _ids(ours, uuid).items():
            filled = filled.replace(b"{%s}" % key.encode(), value.encode())
        assert filled in received, (filled, sent)
    if sink in SETS_Y:
        assert raw_info.variables["y"].encode("utf-8", "surrogateescape") == RAW_BYTES
    if sink == "log":
        (record,) = [r for r in caplog.records if r.name == "runner.flow"]
        assert record.getMessage() == f"raw {RAW}"
        # Both log formats write it without raising, on one line.
        text = TextFormatter().format(record)
        assert text.endswith("raw \\xff\\xfeé") and "\n" not in text
        line = JsonFormatter().format(record)
        line.encode("utf-8")
        assert json.loads(line)["message"] == f"raw {RAW}"


NUL_FLOW = r"""
flow: raw
trigger: CHANNEL_PARK
when:
  - field: variable_case
    expression: ^raw$
steps:
  - api: "uuid_setvar ${{ uuid }} y ${{ event['Caller-Caller-ID-Name'] }}"
  - hangup: NORMAL_CLEARING
on_error:
  - hangup: CALL_REJECTED
"""


async def test_a_value_freeswitch_would_cut_short_is_a_step_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A NUL would end the value on the switch (C strings): the step fails with an error
    naming the flow's file, line and step and where the value came from; on_error runs;
    the other call goes on."""
    caplog.set_level(logging.WARNING, logger="runner")
    with anyio.fail_after(15):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(NUL_FLOW, BYSTANDER)) as (engine, wire),
        ):
            plain = await sim.place_call(CallSpec(destination="5000", variables={"case": "plain"}))
            uuid = await sim.place_call(
                CallSpec(destination="7001", caller_name="a\x00b", variables={"case": "raw"})
            )
            raw_info = await sim.wait_for_hangup(uuid)
            plain_info = await sim.wait_for_hangup(plain)
    assert wire.lines(uuid) == ["hangup CALL_REJECTED"]
    assert raw_info.hangup_cause == "CALL_REJECTED"
    assert plain_info.variables["still"] == "here"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == (
        "flows/t0.yaml:8:5: flow 'raw' step api: value from event header "
        "Caller-Caller-ID-Name holds a NUL byte (FreeSWITCH would cut it there); refused: "
        "it cannot reach FreeSWITCH as it is; running on_error"
    )


OUTBOUND_FLOW = r"""
flow: raw-socket
trigger: {outbound: true}
steps:
  - execute: {app: set, arg: "y=${{ event['Caller-Caller-ID-Name'] }}"}
  - api: "uuid_setvar ${{ uuid }} z ${{ event['Caller-Caller-ID-Name'] }}"
  - hangup: CALL_REJECTED
"""


async def test_raw_bytes_on_an_outbound_socket() -> None:
    """The same contract on the socket the dialplan's `socket` app opens: the name comes
    in the `connect` reply's channel data, and goes back out exactly."""
    with anyio.fail_after(15):
        async with (
            Simulator(speed=SPEED) as sim,
            engine_on(sim, flows(OUTBOUND_FLOW), outbound=True) as (engine, _),
        ):
            assert engine.outbound_port is not None
            spec = CallSpec(
                destination="9000",
                caller_name=RAW,
                socket=f"127.0.0.1:{engine.outbound_port} async full",
            )
            uuid = await sim.place_call(spec)
            info = await sim.wait_for_hangup(uuid)
            while engine.active:
                await anyio.sleep(0.005)
    (socket,) = sim.traffic.outbound()
    sent = [_wire(command) for command in socket.commands]
    execute = next(data for data in sent if b"execute-app-name: set" in data)
    assert execute.endswith(b"\ncontent-length: 6\n\ny=" + RAW_BYTES)
    assert execute.startswith(b"sendmsg\ncall-command: execute\n")  # no uuid on a socket
    assert f"api uuid_setvar {uuid} z ".encode() + RAW_BYTES + b"\n\n" in sent
    assert info.hangup_cause == "CALL_REJECTED"
    assert info.variables["y"].encode("utf-8", "surrogateescape") == RAW_BYTES
    assert info.variables["z"].encode("utf-8", "surrogateescape") == RAW_BYTES
