"""A FreeSWITCH simulator: mod_event_socket in front of a small switch core.

It is a test double matched to real FreeSWITCH 1.10.12 transcripts, used by the test
suite, the benchmarks and ``eslflow demo`` — never a replacement for FreeSWITCH.
See `Simulator` and `CallSpec` (docs/simulator.md); ``eslflow sim`` runs it standalone.
"""

from runner.sim.clock import SimClock
from runner.sim.core import MediaConfig
from runner.sim.dialplan import Dialplan, Extension, default_dialplan
from runner.sim.listener import UserAuth
from runner.sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario, play
from runner.sim.simulator import CallSpec, ChannelInfo, Simulator, SimulatorError

__all__ = [
    "CallSpec",
    "ChannelInfo",
    "Dialplan",
    "Extension",
    "MediaConfig",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "Simulator",
    "SimulatorError",
    "UserAuth",
    "default_dialplan",
    "load_scenario",
    "parse_scenario",
    "play",
]
