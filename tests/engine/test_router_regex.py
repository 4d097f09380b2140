"""A trigger condition whose regex runs past its bound: no start, an error line, a metric;
the bound is engine config."""

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from helpers.engine_sim import engine_on, flows

from runner.engine.config import ConfigError, EngineConfig, load_config
from runner.engine.instance import FlowInstance
from runner.engine.link import Link
from runner.engine.metrics import Metrics
from runner.engine.router import Router
from runner.flow import load_flow_sources
from runner.sim import CallSpec, Simulator

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

FLOWS = """\
flow: hostile
trigger: CHANNEL_PARK
when:
  - field: Caller-Caller-ID-Name
    expression: ^(a|a)+$
steps: [stop]
"""


def park(uuid: str, name: str) -> dict[str, str]:
    return {"Event-Name": "CHANNEL_PARK", "Unique-ID": uuid, "Caller-Caller-ID-Name": name}


def test_a_timed_out_condition_logs_counts_and_starts_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="runner.engine")
    metrics = Metrics()
    started: list[FlowInstance] = []
    router = Router(
        load_flow_sources([("flows/t.yaml", FLOWS)]),
        started.append,
        clock=lambda: NOW,
        metrics=metrics,
    )
    begin = time.perf_counter()
    router.route(park("u1", "a" * 40 + "!"), Link)
    assert time.perf_counter() - begin < 0.5
    assert started == []
    assert [r.getMessage() for r in caplog.records] == [
        "flows/t.yaml:1:1: flow 'hostile': a condition failed: condition at flows/t.yaml:4:5: "
        "regex /^(a|a)+$/ on header 'Caller-Caller-ID-Name' took longer than 20 ms; "
        "the condition does not hold"
    ]
    sample = metrics.registry.get_sample_value
    assert sample("eslflow_condition_timeouts_total", {"flow": "hostile"}) == 1.0
    router.route(park("u2", "aaa"), Link)
    assert [instance.uuid for instance in started] == ["u2"]


def test_the_bound_is_engine_config(tmp_path: Path) -> None:
    assert EngineConfig().regex_timeout == 0.020
    assert json.loads(EngineConfig().model_dump_json())["regex_timeout"] == "20ms"
    path = tmp_path / "eslflow.yaml"
    path.write_text("regex_timeout: 50ms\n")
    assert load_config(path).regex_timeout == 0.050
    for text, message in [
        ("regex_timeout: 0ms\n", "1:16: a duration must be longer than zero, got '0ms'"),
        ("regex_timeout: 1m\n", "1:16: regex_timeout must be between 1ms and 10s, got 1m"),
        ("regex_timeout: 20\n", "1:16: a duration needs a unit: write 20s or 20ms"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert [str(error) for error in caught.value.errors] == [f"{path}:{message}"]


@pytest.mark.anyio
async def test_a_timed_out_if_condition_fails_its_step_to_on_error() -> None:
    flows = load_flow_sources(
        [
            (
                "flows/s.yaml",
                "flow: s\ntrigger: CHANNEL_PARK\nvars: {why: ''}\nsteps:\n"
                "  - if: {field: Caller-Caller-ID-Name, expression: '^(a|a)+$'}\n"
                "    then: [{set: {why: matched}}]\n"
                "on_error:\n  - set: {why: '${{ vars.error }}'}\n",
            )
        ]
    )
    instance = FlowInstance(
        flows["s"], flows, Link("u1"), park("u1", "a" * 40 + "!"), (), clock=lambda: NOW
    )
    with anyio.fail_after(5):
        await instance.run()
    assert instance.vars["why"] == (
        "condition at flows/s.yaml:5:9: regex /^(a|a)+$/ on header 'Caller-Caller-ID-Name' "
        "took longer than 20 ms; the condition does not hold"
    )


@pytest.mark.anyio
async def test_an_outbound_condition_that_times_out_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbound = (
        "flow: gate\ntrigger: {outbound: true}\nwhen:\n"
        "  - {field: Caller-Destination-Number, expression: '^(9|9)+$'}\nsteps: [stop]\n"
    )
    caplog.set_level(logging.WARNING, logger="runner")
    with anyio.fail_after(10):
        async with (
            Simulator(speed=50) as sim,
            engine_on(sim, flows(outbound), inbound=False, outbound=True) as (engine, wire),
        ):
            assert engine.outbound_port is not None
            spec = CallSpec(
                destination="9" * 40 + "!", socket=f"127.0.0.1:{engine.outbound_port} async full"
            )
            uuid = await sim.place_call(spec)
            info = await sim.wait_for_hangup(uuid)
    assert info.hangup_cause == "NO_ROUTE_DESTINATION"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "flows/t0.yaml:1:1: flow 'gate': a condition failed: condition at "
        "flows/t0.yaml:4:5: regex /^(9|9)+$/ on header 'Caller-Destination-Number' took "
        "longer than 20 ms; the condition does not hold"
    ]
    sample = engine.metrics.registry.get_sample_value
    assert sample("eslflow_condition_timeouts_total", {"flow": "gate"}) == 1.0
