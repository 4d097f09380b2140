"""The simulator against the real FreeSWITCH: one scripted scenario on both, compared.

Each scenario of `differential_scenarios` runs on a private simulator and on the real
switch (fixture `real_switch`) through the same client code. Every divergence must be
listed in the "Known differences" table of docs/simulator.md with its reason; an
unlisted one fails the test, printed as a table row ready to be fixed or listed.

The real switch races its own threads (see "Real orderings" in docs/simulator.md), so
an unlisted divergence counts only if a second run of the scenario shows it again.
"""

from __future__ import annotations

import pytest
from helpers.differential import (
    Backend,
    Divergence,
    Trace,
    compare,
    known_differences,
    run_scenario,
    sim_backend,
    unlisted,
)
from helpers.differential_scenarios import SCENARIOS
from helpers.freeswitch import RealSwitch, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]


def _describe(trace: Trace) -> str:
    legs = "\n".join(f"    {leg}: {' '.join(names)}" for leg, names in sorted(trace.legs.items()))
    return f"{legs}\n    replies: {trace.replies}\n    apis: {trace.apis}"


async def _diverges(name: str, real: Backend) -> tuple[list[Divergence], Trace, Trace]:
    scenario = SCENARIOS[name]
    real_trace = await run_scenario(real, scenario)
    async with sim_backend(free_port()) as sim:
        sim_trace = await run_scenario(sim, scenario)
    return compare(name, sim_trace, real_trace), sim_trace, real_trace


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_the_simulator_matches_the_real_switch(name: str, real_switch: RealSwitch) -> None:
    if real_switch.outbound_port is None:
        pytest.skip("ESLFLOW_TEST_FREESWITCH_OUTBOUND is not set for this switch")
    real = Backend(
        "real", real_switch.host, real_switch.port, real_switch.password, real_switch.outbound_port
    )
    known = known_differences()
    found, sim_trace, real_trace = await _diverges(name, real)
    new = unlisted(found, known)
    if new:
        again, _, _ = await _diverges(name, real)
        new = [d for d in new if d in set(unlisted(again, known))]
    assert not new, (
        f"{name}: divergences not in docs/simulator.md's Known differences "
        "(fix the simulator, or list them with the reason they are kept):\n"
        + "\n".join(str(d) for d in new)
        + f"\n  simulator:\n{_describe(sim_trace)}\n  real switch:\n{_describe(real_trace)}"
    )
