"""The engine's end-to-end tests run on the simulator as it is and again under the real
switch's orderings (`runner.sim.orderings`), once per seed in ``ESLFLOW_SIM_SEEDS``.

``ESLFLOW_SIM_SEEDS=1,2,3 pytest tests/e2e`` (default ``1``; empty for none). A failing
run's test id carries its seed (``real-seed2``); ``ESLFLOW_SIM_ORDERINGS=real:2``
replays it.
"""

from __future__ import annotations

import os

import pytest

from runner.sim.simulator import ORDERINGS_ENV

SEEDS_ENV = "ESLFLOW_SIM_SEEDS"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sim_orderings" not in metafunc.fixturenames:
        return
    text = os.environ.get(SEEDS_ENV, "1")
    seeds = [int(s) for s in text.split(",") if s.strip()]
    params: list[object] = ["sim", *(f"real:{seed}" for seed in seeds)]
    ids = [str(p).replace(":", "-seed") for p in params]
    if "backend" in metafunc.fixturenames:
        # Tests written for both switches run once more on the real one, which has its
        # own orderings (test_engine_backends.py).
        params.append(pytest.param("freeswitch", marks=pytest.mark.realfs))
        ids.append("freeswitch")
    metafunc.parametrize("sim_orderings", params, ids=ids)


@pytest.fixture(autouse=True)
def sim_orderings(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every Simulator this test builds settles races this way ("sim" or "real:SEED")."""
    value = str(getattr(request, "param", "sim"))
    monkeypatch.setenv(ORDERINGS_ENV, "sim" if value == "freeswitch" else value)
    return value


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Orderings are the simulator's: a test on the real switch runs once, not per seed."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_real = params.get("backend") == "freeswitch"
        if on_real and str(params.get("sim_orderings", "sim")) != "sim":
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
