"""What a node's instances missed while its connection was down (issue 10, finding 8).

Events that fire while the inbound connection is lost are gone: FreeSWITCH keeps no
backlog for a listener that left. So after a reconnect the engine asks the switch what
it can still tell — is it the same switch (its `core_uuid`), does each instance's
channel still exist — and fails what it cannot know instead of waiting forever: a step
waiting for its application's completion. Other waits (a DTMF, a CUSTOM event) go on,
bounded by their `timeout`, on a live channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from runner.engine.instance import FlowInstance
from runner.engine.link import InboundLink
from runner.engine.metrics import Metrics
from runner.engine.running import Wait
from runner.esl.errors import EslError
from runner.esl.event import Event
from runner.esl.inbound import InboundConnection

log = logging.getLogger("runner.engine")

# Waits for these are about an application: after a reconnect they cannot be trusted.
APPLICATION_EVENTS = frozenset({"CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"})


class Resync:
    """One node's view of its switch: identity, event numbering, and the re-check."""

    def __init__(self, conn: InboundConnection, label: str, metrics: Metrics) -> None:
        self.conn = conn
        self.label = label
        self.metrics = metrics
        self.core_uuid: str | None = None
        self.sequence: int | None = None
        # Set by a reconnect; the next event's Event-Sequence tells how many were missed.
        self.reconnected = False
        # The application waits armed when the connection was lost: only their events
        # can have fired unseen (a wait armed during the outage sends its command on the
        # new connection, and hears its completion there).
        self._lost_waits: set[Wait] = set()

    def lost(self, instances: Callable[[], list[FlowInstance]]) -> None:
        """The connection is down: note which application waits it leaves in the dark."""
        # The waits themselves, not their ids: a freed wait's id could be reused by a
        # wait armed after the reconnect.
        self._lost_waits = {
            instance.waiting
            for instance in instances()
            if instance.waiting is not None
            and instance.waiting.name in APPLICATION_EVENTS
            and not instance.waiting.offline
        }

    def seen(self, event: Event) -> None:
        """Follow `Core-UUID` and `Event-Sequence` to learn what a reconnect missed.

        Event-Sequence numbers every event the switch's core fires, whoever receives it
        (switch_event.c): with a filtered subscription gaps are normal. Measured on
        FreeSWITCH 1.10.12, even an `event plain ALL` connection sees the numbers out
        of order (406 before 405, 422 before 396: several dispatch threads), so a gap
        inside a connection means nothing. Only the gap between the highest number seen
        before a reconnect and the first one after is counted, as an upper bound of the
        events missed. A new Core-UUID is a restarted switch.
        """
        core = event.get("Core-UUID")
        text = event.get("Event-Sequence", "")
        # At most 20 digits: a 64-bit counter (and int() refuses > 4,300 digits).
        if not core or not (text.isascii() and text.isdigit() and len(text) <= 20):
            return
        number = int(text)
        if core != self.core_uuid:
            if self.core_uuid is not None:
                self._restarted()
            self.core_uuid = core
            self.sequence = None
        elif self.reconnected and self.sequence is not None and number > self.sequence + 1:
            missed = number - self.sequence - 1
            self.metrics.events_missed.labels(node=self.label).inc(missed)
            log.warning(
                "%s: the switch fired up to %d events while we were disconnected "
                "(Event-Sequence %d to %d)",
                self.label,
                missed,
                self.sequence,
                number,
            )
        self.reconnected = False
        self.sequence = number if self.sequence is None else max(self.sequence, number)

    def _restarted(self) -> None:
        self.metrics.switch_restarts.labels(node=self.label).inc()
        log.warning("%s: FreeSWITCH restarted (its Core-UUID changed)", self.label)

    async def recheck(self, instances: Callable[[], list[FlowInstance]]) -> None:
        """After a reconnect, every instance of this node finds out what it missed.

        A restarted switch or a vanished channel ends the instance. An instance waiting
        for an application (CHANNEL_EXECUTE / _COMPLETE) fails its step at once: the
        event may have fired while we were away, and nothing on the switch tells. No
        variable names the running application's Event-UUID (switch_core_session.c
        clears `app_uuid` when the application starts), and a probe queued behind it
        proves nothing, since playback and most media applications run queued
        applications nested (switch_ivr_play_say.c calls switch_ivr_parse_all_events).
        """
        conn = self.conn
        lost, self._lost_waits = self._lost_waits, set()
        try:
            # `core_uuid` is a global variable of the core (switch_core.c sets it at start).
            core = (await conn.api("global_getvar core_uuid")).strip()
        except EslError as exc:
            log.warning("%s: re-checking flows after a reconnect: %s", self.label, exc)
            return
        restarted = self.core_uuid is not None and bool(core) and core != self.core_uuid
        if restarted:
            self._restarted()
            self.core_uuid, self.sequence = core, None
        for instance in instances():
            link = instance.link
            if instance.finished or not isinstance(link, InboundLink) or link.node is not conn:
                continue
            if instance.uuid and not instance.after_hangup:
                try:
                    gone = restarted or (
                        (await conn.api(f"uuid_exists {instance.uuid}")).strip() == "false"
                    )
                except EslError as exc:
                    log.warning("%s: re-checking flows after a reconnect: %s", self.label, exc)
                    return
                if gone:
                    log.info("channel %s is gone since the reconnect", instance.uuid)
                    instance.channel_gone(
                        {"Event-Name": "CHANNEL_HANGUP", "Unique-ID": instance.uuid}
                    )
                    continue
            wait = instance.waiting
            if wait is not None and wait in lost:
                instance.miss(
                    wait,
                    f"the connection to {self.label} was lost while this step waited for "
                    f"{wait.name}; whether it fired is unknown",
                )
