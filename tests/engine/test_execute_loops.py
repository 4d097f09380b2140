"""The execute step with `loops`: it completes at the last run's CHANNEL_EXECUTE_COMPLETE
(runner/esl/loops.py), holding a completion that may not be the last for LOOP_SETTLE.

A scripted link plays each run's CHANNEL_EXECUTE / _COMPLETE with the Event-Date-Timestamp
(µs) and loop variables FreeSWITCH gives them (switch_ivr.c, switch_ivr_parse_event).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio
import pytest

from runner.engine import steps
from runner.engine.instance import FlowInstance
from runner.engine.link import Link
from runner.flow import load_flow_sources

pytestmark = pytest.mark.anyio

UUID = "11111111-2222-3333-4444-555555555555"
PARK = {"Event-Name": "CHANNEL_PARK", "Unique-ID": UUID}
SETTLE = 0.2  # LOOP_SETTLE for these tests (seconds)

FLOW = """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: playback, arg: tone.wav, loops: 3, save: played, timeout: TIMEOUT}
  - execute: "set after=${{ vars.played['variable_current_loop'] }}"
"""


class LoopingLink(Link):
    """Answers `execute playback` with `runs` runs of `run_us` each, `gap` s apart."""

    def __init__(self, runs: int, run_us: int, gap: float = 0.0) -> None:
        super().__init__(UUID)
        self.runs = runs
        self.run_us = run_us
        self.gap = gap
        self.instance: FlowInstance | None = None
        self.sent: list[str] = []
        self.sent_at: list[float] = []

    async def execute(  # type: ignore[override]
        self, app: str, arg: str | None, *, event_uuid: str, loops: int | None, **_: object
    ) -> None:
        self.sent.append(f"{app} {arg}")
        self.sent_at.append(anyio.current_time())
        assert self.instance is not None
        if app != "playback":  # any other app completes at once
            done = {"Event-Name": "CHANNEL_EXECUTE_COMPLETE", "Application-UUID": event_uuid}
            self.instance.offer({**done, "Unique-ID": UUID, "Application": app})
            return
        clock = 1_000_000_000
        for run in range(1, self.runs + 1):
            for name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"):
                self.instance.offer(
                    {
                        "Event-Name": name,
                        "Unique-ID": UUID,
                        "Answer-State": "answered",
                        "Application": app,
                        "Application-UUID": event_uuid,
                        "Event-Date-Timestamp": str(clock),
                        "variable_current_loop": str(run),
                        "variable_total_loops": str(loops),
                    }
                )
                clock += self.run_us if name == "CHANNEL_EXECUTE" else 20
            await anyio.sleep(self.gap)


async def run(link: LoopingLink, timeout: str = "5s") -> FlowInstance:
    flows = load_flow_sources([("flows/f.yaml", FLOW.replace("TIMEOUT", timeout))])
    clock = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    instance = FlowInstance(flows.flows[0], flows, link, PARK, (), clock=lambda: clock)
    link.instance = instance
    with anyio.fail_after(5):
        await instance.run()
    return instance


@pytest.fixture(autouse=True)
def short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "LOOP_SETTLE", SETTLE)


async def test_all_three_runs_go_on_at_the_third_completion_without_settling() -> None:
    link = LoopingLink(runs=3, run_us=600_000)
    instance = await run(link)
    assert link.sent == ["playback tone.wav", "set after=3"]
    assert link.sent_at[1] - link.sent_at[0] < SETTLE / 2  # the 3rd is plainly the last
    assert not instance.failed


async def test_a_short_run_is_the_last_at_once() -> None:
    link = LoopingLink(runs=1, run_us=200_000)  # FreeSWITCH stops after a run < 0.5 s
    await run(link)
    assert link.sent == ["playback tone.wav", "set after=1"]
    assert link.sent_at[1] - link.sent_at[0] < SETTLE / 2


async def test_a_loop_that_stopped_early_settles_on_its_last_completion() -> None:
    # Two long runs of three, then nothing (a break): no event says the loop ended.
    link = LoopingLink(runs=2, run_us=600_000)
    await run(link)
    assert link.sent == ["playback tone.wav", "set after=2"]
    assert link.sent_at[1] - link.sent_at[0] >= SETTLE


async def test_a_next_run_started_within_the_settle_time_is_waited_for() -> None:
    # Runs 1.5 settle times apart: each CHANNEL_EXECUTE cancels the pending settle.
    link = LoopingLink(runs=3, run_us=600_000, gap=SETTLE * 0.6)
    await run(link)
    assert link.sent == ["playback tone.wav", "set after=3"]


async def test_the_timeout_bounds_the_whole_looped_step(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    # One completion of three, then nothing; the timeout ends the step before the settle.
    link = LoopingLink(runs=1, run_us=600_000)
    instance = await run(link, timeout="50ms")
    assert instance.failed
    assert link.sent == ["playback tone.wav"]
    assert "playback did not complete within 0.05 s" in caplog.text
