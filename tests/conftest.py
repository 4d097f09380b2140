from collections.abc import Iterator

import pytest
from helpers.freeswitch import RealSwitch, Unavailable, from_env, private_switch, required


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realfs: needs a real FreeSWITCH (ESLFLOW_TEST_FREESWITCH or ../shared)"
    )


@pytest.fixture(scope="session")
def _real_switch_or_reason(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RealSwitch | str]:
    """One real FreeSWITCH for the whole run, started on first use; or why there is none."""
    try:
        switch = from_env()
        if switch is not None:
            yield switch
            return
        with private_switch(tmp_path_factory.mktemp("freeswitch")) as switch:
            yield switch
    except Unavailable as exc:
        yield f"{exc} (and ESLFLOW_TEST_FREESWITCH is unset)"


@pytest.fixture
def real_switch(_real_switch_or_reason: RealSwitch | str) -> RealSwitch:
    """The real FreeSWITCH; the test skips (or, under ESLFLOW_REQUIRE_FREESWITCH, fails)
    when none can be had."""
    if isinstance(_real_switch_or_reason, str):
        reason = f"no real FreeSWITCH: {_real_switch_or_reason}"
        if required():
            pytest.fail(reason + " (ESLFLOW_REQUIRE_FREESWITCH is set)")
        pytest.skip(reason)
    return _real_switch_or_reason
