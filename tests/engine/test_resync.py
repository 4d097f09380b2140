"""Resync.seen: what Core-UUID and Event-Sequence can tell across a reconnect."""

from __future__ import annotations

from runner.engine.metrics import Metrics
from runner.engine.resync import Resync
from runner.esl import InboundConnection
from runner.esl.event import Event


def event(core: str, sequence: str) -> Event:
    return Event({"Event-Name": "CHANNEL_PARK", "Core-UUID": core, "Event-Sequence": sequence})


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(f"{name}_total", {"node": "fs"}) or 0.0


def test_only_the_gap_across_a_reconnect_counts_and_a_new_core_is_a_restart() -> None:
    metrics = Metrics()
    resync = Resync(InboundConnection("127.0.0.1", 8021, "x"), "fs", metrics)
    # Within a connection: gaps and disorder are normal (measured on 1.10.12).
    for number in ("395", "397", "406", "405", "422", "396"):
        resync.seen(event("core-a", number))
    assert (resync.sequence, sample(metrics, "eslflow_events_missed")) == (422, 0)
    resync.reconnected = True
    resync.seen(event("core-a", "430"))  # 423..429 fired while we were away
    assert sample(metrics, "eslflow_events_missed") == 7
    resync.seen(event("core-a", "440"))  # no reconnect: not counted
    assert sample(metrics, "eslflow_events_missed") == 7
    resync.seen(event("core-b", "12"))
    assert sample(metrics, "eslflow_switch_restarts") == 1
    assert (resync.core_uuid, resync.sequence) == ("core-b", 12)


def test_hostile_numbers_are_ignored() -> None:
    metrics = Metrics()
    resync = Resync(InboundConnection("127.0.0.1", 8021, "x"), "fs", metrics)
    for number in ("9" * 4301, "²", "-1", "", "1e3"):
        resync.seen(event("core-a", number))
    assert (resync.core_uuid, resync.sequence) == (None, None)
