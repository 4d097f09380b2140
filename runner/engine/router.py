"""`Router`: where each inbound event goes, decided at once and without waiting.

For every event it:
1. offers it to the running instances of its channel (`Unique-ID`), and to those
   waiting for an event of any channel;
2. on CHANNEL_HANGUP (or HANGUP_COMPLETE, DESTROY), tells them the channel is gone;
3. starts the flows it triggers, dialplan-style: tried in priority order, the first
   whose conditions hold (more with `continue: true`), `$1..$9` from its captures.

A channel runs at most one instance of a given flow; when the flow's trigger comes
again, its `on_busy` decides: `skip` the new one, `queue` it until the running one
ends, or `replace` the running one.

"Already running" is judged in event order, not task order: when the event that ends
the running instance (its last EXECUTE_COMPLETE) and the next trigger (the CHANNEL_PARK
of a `transfer`) arrive in one read, the instance has been woken but not yet resumed.
A `skip` trigger is then held until it resumes: if it finishes without waiting for
another event, the trigger was after its end and starts; if it waits again, the
trigger came while it ran and is skipped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime

from runner.engine.instance import HANGUP_EVENTS, FlowInstance
from runner.engine.link import Link
from runner.engine.metrics import Metrics
from runner.engine.slim import interest
from runner.esl.event import Event
from runner.flow.errors import ConditionTimeoutError, ExpressionError
from runner.flow.flowset import FlowSet, Match
from runner.flow.models import Flow

log = logging.getLogger("runner.engine")

# Starts queued behind a running instance of the same flow on the same channel.
MAX_QUEUED = 10

Start = Callable[[], None]


class Router:
    """Routes events to flow instances and starts new ones."""

    def __init__(
        self,
        flows: FlowSet,
        spawn: Callable[[FlowInstance], None],
        *,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
    ) -> None:
        self.flows = flows
        self.spawn = spawn
        self.clock = clock
        self.metrics = metrics
        self.accepting = True
        self.by_uuid: dict[str, list[FlowInstance]] = {}
        self.any_waiters: set[FlowInstance] = set()
        self.channel_less: set[FlowInstance] = set()
        # (uuid, flow) -> starts held behind the running instance, each with the
        # instance's `arms` count for a held `skip` (start only if it did not wait again).
        self._queued: dict[tuple[str, str], deque[tuple[Start, int | None]]] = {}
        self.configure: Callable[[FlowInstance], None] | None = None
        self.interest = interest(flows)

    def set_flows(self, flows: FlowSet) -> None:
        """A reload: new triggers use `flows`; running instances keep theirs."""
        self.flows = flows
        self.interest = interest(flows)

    @property
    def active(self) -> int:
        """Instances running now."""
        return sum(len(v) for v in self.by_uuid.values()) + len(self.channel_less)

    def instances(self) -> list[FlowInstance]:
        out = [i for v in self.by_uuid.values() for i in v]
        out.extend(self.channel_less)
        return out

    # -- routing -------------------------------------------------------------------------------
    def route(self, event: Mapping[str, str], link: Callable[[str], Link]) -> None:
        """Deliver one event; `link(uuid)` makes the Link for an instance it starts."""
        uuid = event.get("Unique-ID") or ""
        name = event.get("Event-Name") or ""
        if not name and event.get("Event-Subclass"):
            event, name = named_custom(event), "CUSTOM"
        if uuid:
            running = self.by_uuid.get(uuid)
            if running:
                for instance in tuple(running):
                    instance.offer(event)
                if name in HANGUP_EVENTS:
                    for instance in tuple(running):
                        instance.channel_gone(event)
        if self.any_waiters:
            for instance in tuple(self.any_waiters):
                instance.offer(event)
        if not self.accepting:
            return
        if not self.flows.triggered_by(name, event.get("Event-Subclass")):
            return
        for found in self.flows.match_event(event, self.clock(), self.condition_error):
            self.start(found, uuid, event, link(uuid))

    def condition_error(self, flow: Flow, error: ExpressionError) -> None:
        """A flow's trigger (or outbound) conditions failed: log it; count a regex timeout."""
        if isinstance(error, ConditionTimeoutError) and self.metrics is not None:
            self.metrics.condition_timeouts.labels(flow=flow.flow).inc()
        log.error("%s: flow '%s': a condition failed: %s", flow.pos, flow.flow, error)

    # -- starting ---------------------------------------------------------------------------------
    def start(self, found: Match, uuid: str, trigger: Mapping[str, str], link: Link) -> None:
        """Start `found.flow` for this channel, honouring the flow's on_busy."""
        flow = found.flow
        flows, keep = self.flows, self.interest

        def start() -> None:
            instance = FlowInstance(
                flow,
                flows,
                link,
                trigger,
                found.captures,
                clock=self.clock,
                metrics=self.metrics,
                on_finish=self._finished,
                any_waiters=self.any_waiters,
                interest=keep,
            )
            if self.configure is not None:
                self.configure(instance)
            if uuid:
                self.by_uuid.setdefault(uuid, []).append(instance)
            else:
                self.channel_less.add(instance)
            self.spawn(instance)

        if not uuid:
            start()
            return
        busy = [
            i for i in self.by_uuid.get(uuid, ()) if i.started_flow == flow.flow and not i.finished
        ]
        if not busy:
            start()
            return
        policy = flow.on_busy
        held: int | None = None
        if policy == "skip":
            # Held only while every running instance is behind the event stream (see
            # the module docstring), and only the first such trigger.
            if not all(i.woken for i in busy) or self._queued.get((uuid, flow.flow)):
                log.info(
                    "flow %s already runs on %s: trigger skipped (on_busy: skip)", flow.flow, uuid
                )
                return
            held = busy[0].arms
        queue = self._queued.setdefault((uuid, flow.flow), deque())
        if len(queue) >= MAX_QUEUED:
            log.warning(
                "flow %s on %s: %d triggers queued already; this one is dropped",
                flow.flow,
                uuid,
                MAX_QUEUED,
            )
            return
        queue.append((start, held))
        if policy == "replace":
            for instance in busy:
                instance.stop()

    def _finished(self, instance: FlowInstance) -> None:
        uuid = instance.uuid
        if not uuid:
            self.channel_less.discard(instance)
            return
        running = self.by_uuid.get(uuid)
        if running is not None:
            if instance in running:
                running.remove(instance)
            if not running:
                del self.by_uuid[uuid]
        key = (uuid, instance.started_flow)
        queue = self._queued.get(key)
        while queue:
            next_start, held = queue.popleft()
            if not queue:
                del self._queued[key]
            if instance.hung_up:
                # The channel is gone: the queued triggers have nothing left to act on.
                self._queued.pop(key, None)
                return
            if held is not None and instance.arms != held:
                log.info(
                    "flow %s already ran on %s when the trigger came: skipped (on_busy: skip)",
                    instance.started_flow,
                    uuid,
                )
                continue
            next_start()
            return


def named_custom(event: Mapping[str, str]) -> Mapping[str, str]:
    """A CUSTOM event that reached us without `Event-Name`, named.

    A `sendevent` whose `Unique-ID` names a live channel is queued to that session and
    fired unprepared: it carries the channel's headers and `Event-Subclass` but no
    `Event-Name` (mod_event_socket.c parse_command, switch_ivr.c; seen on 1.10.12).
    Only CUSTOM events have a subclass, so that is its name; triggers and waits for
    `CUSTOM <subclass>` then see it as they see any other.
    """
    if isinstance(event, Event):
        pairs = [("Event-Name", "CUSTOM"), *event.items_all()]
        return Event.from_decoded(pairs, event.body, event.format)
    return {"Event-Name": "CUSTOM", **event}
