"""`Simulator(orderings="real", seed=N)`: the real switch's rarer orderings, replayable."""

from __future__ import annotations

import uuid as uuidlib

import anyio
import pytest
from typer.testing import CliRunner

from runner.cli import app
from runner.esl import Event, InboundConnection
from runner.sim import Simulator
from runner.sim.orderings import Orderings
from runner.sim.serve import ServeOptions, serve
from runner.sim.simulator import ORDERINGS_ENV, SimulatorError

pytestmark = pytest.mark.anyio


def _legs(events: list[Event], a: str) -> dict[str, list[str]]:
    legs: dict[str, list[str]] = {}
    for event in events:
        uuid = event.get("Unique-ID")
        if not uuid or event.name in ("HEARTBEAT", "RE_SCHEDULE", "CODEC"):
            continue
        leg = "a" if uuid == a else "b"
        label = event.name
        if event.name == "CHANNEL_HANGUP":
            label += f"({event.get('Hangup-Cause')})"
        legs.setdefault(leg, []).append(label)
    return legs


async def _calls(
    orderings: str, seed: int, count: int
) -> list[tuple[list[str], dict[str, list[str]]]]:
    """`count` loopback calls to 9002; half killed on the a-leg, half on the b-leg with a
    cause. Returns, per call, the global order of (leg, event) and the events per leg."""
    out = []
    async with (
        Simulator(port=0, speed=50, heartbeat_interval=1e6, orderings=orderings, seed=seed) as sim,
        InboundConnection.connect("127.0.0.1", sim.port, "ClueCon") as conn,
    ):
        await conn.subscribe(["ALL"])
        for n in range(count):
            buffer = conn.event_buffer()
            a = str(uuidlib.uuid4())
            with anyio.fail_after(5):
                await conn.api(f"originate {{origination_uuid={a}}}loopback/9002/default &park()")
                b = await conn.api(f"uuid_getvar {a} other_loopback_leg_uuid")
                events: list[Event] = []
                while True:
                    events.append(await buffer.get())
                    if events[-1].name == "CHANNEL_PARK" and events[-1].get("Unique-ID") == b:
                        break
                await conn.api(f"uuid_kill {a if n % 2 else b} USER_BUSY")
                await sim.wait_for_hangup(a)
                await sim.wait_for_hangup(b)
                await anyio.sleep(0.05)
            conn.remove_buffer(buffer)
            while (event := buffer.get_nowait()) is not None:
                events.append(event)
            order = [
                f"{'a' if e.get('Unique-ID') == a else 'b'}:{e.name}"
                for e in events
                if e.get("Unique-ID") in (a, b)
            ]
            out.append((order, _legs(events, a)))
    return out


def _before(order: list[str], first: str, then: str) -> bool:
    return first in order and then in order and order.index(first) < order.index(then)


async def test_the_default_orderings_never_take_the_rare_ones() -> None:
    for order, legs in await _calls("sim", 1, 6):
        assert _before(order, "a:CHANNEL_CREATE", "a:CHANNEL_ANSWER")
        assert _before(order, "b:CHANNEL_DESTROY", "a:CHANNEL_DESTROY")
        for names in legs.values():
            hangup = next(i for i, n in enumerate(names) if n.startswith("CHANNEL_HANGUP("))
            assert names.index("CHANNEL_UNPARK") > hangup
        assert legs["a"][legs["a"].index("CHANNEL_UNPARK") - 1].endswith("(USER_BUSY)")


async def test_real_orderings_produce_each_race_the_switch_showed() -> None:
    calls = await _calls("real", 7, 12)
    answer_before_create = destroyed_a_first = unpark_first = other_cause = 0
    for order, legs in calls:
        answer_before_create += _before(order, "a:CHANNEL_ANSWER", "a:CHANNEL_CREATE")
        destroyed_a_first += _before(order, "a:CHANNEL_DESTROY", "b:CHANNEL_DESTROY")
        for names in legs.values():
            hangup = next(i for i, n in enumerate(names) if n.startswith("CHANNEL_HANGUP("))
            unpark_first += names.index("CHANNEL_UNPARK") < hangup
        causes = {n for names in legs.values() for n in names if n.startswith("CHANNEL_HANGUP(")}
        other_cause += causes == {"CHANNEL_HANGUP(USER_BUSY)", "CHANNEL_HANGUP(NORMAL_CLEARING)"}
    assert answer_before_create > 0
    assert destroyed_a_first > 0
    assert unpark_first > 0
    assert other_cause > 0


async def test_a_seed_replays_the_same_orderings() -> None:
    first = [order for order, _ in await _calls("real", 11, 4)]
    again = [order for order, _ in await _calls("real", 11, 4)]
    assert first == again


def test_bad_orderings_are_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SimulatorError, match="orderings must be one of sim, real, not 'fast'"):
        Simulator(orderings="fast")
    monkeypatch.setenv(ORDERINGS_ENV, "real:x")
    with pytest.raises(SimulatorError, match="ESLFLOW_SIM_ORDERINGS='real:x': the seed"):
        Simulator()
    monkeypatch.setenv(ORDERINGS_ENV, "real:42")
    sim = Simulator()
    assert (sim.orderings.mode, sim.orderings.seed) == ("real", 42)
    assert sim.orderings.describe() == "orderings='real', seed=42"
    assert Simulator(orderings="sim").orderings.rare("late_create") is False
    assert Orderings("real", 3, chance=1.0).rare("late_create") is True


async def test_eslflow_sim_reports_the_seed_it_runs_with() -> None:
    lines: list[str] = []
    options = ServeOptions(port=0, orderings="real", seed=5, duration=0.05)
    await serve(options, lines.append)
    assert "races settled as the real switch's (orderings='real', seed=5)" in lines


def test_eslflow_sim_refuses_an_unknown_orderings_mode() -> None:
    result = CliRunner().invoke(app, ["sim", "--listen", "127.0.0.1:0", "--orderings", "odd"])
    assert result.exit_code == 2, result.output
    assert "--orderings must be sim or real, not 'odd'" in result.output
