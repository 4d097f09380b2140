"""The switch core: channels, the event bus, background jobs, logging and heartbeats.

Everything that happens in the simulated switch becomes an `Event` fired here and fanned
out, synchronously and in order, to every `EventSink` (one per ESL connection). Sinks
queue what they accept; nothing in the core waits on a slow client.
"""

from __future__ import annotations

import math
import socket
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.abc import TaskGroup

from runner.sim.clock import SimClock
from runner.sim.event import Event, EventRecord
from runner.sim.orderings import Orderings
from runner.sim.wire import LogLine

if TYPE_CHECKING:
    from runner.sim.channel import Channel
    from runner.sim.dialplan import Dialplan


VERSION = "1.10.12-release~64bit"
VERSION_HUMAN = "1.10.12-release  64bit"

# switch_log.h levels, by name (switch_log_str2level) and number.
LOG_LEVELS: dict[str, int] = {
    "CONSOLE": 0,
    "ALERT": 1,
    "CRIT": 2,
    "ERR": 3,
    "ERROR": 3,
    "WARNING": 4,
    "NOTICE": 5,
    "INFO": 6,
    "DEBUG": 7,
}
LOG_LEVEL_NAMES = {
    0: "CONSOLE",
    1: "ALERT",
    2: "CRIT",
    3: "ERR",
    4: "WARNING",
    5: "NOTICE",
    6: "INFO",
    7: "DEBUG",
}


def log_level(word: str) -> int | None:
    """switch_log_str2level: a level name (any case) or a number 0-7; None if invalid."""
    word = word.strip()
    if word.isdigit():
        value = int(word)
        return value if value <= 7 else None
    return LOG_LEVELS.get(word.upper())


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class EventSink(Protocol):
    """Anything that wants every fired event (an ESL connection, a test observer)."""

    def offer(self, event: Event) -> None: ...

    def offer_log(self, line: LogLine) -> None: ...

    def hears(self, name: str) -> bool:
        """Whether an event of this name could reach it now (the heartbeat skips its
        beats while no sink hears them)."""
        ...


@dataclass
class MediaConfig:
    """How long simulated media takes: files not listed last ``default_seconds``."""

    default_seconds: float = 1.0
    durations: dict[str, float] = field(default_factory=dict)


@dataclass
class SwitchIdentity:
    """The values every event carries in its first headers."""

    hostname: str = field(default_factory=socket.gethostname)
    switchname: str = ""
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    core_uuid: str = field(default_factory=new_uuid)

    def __post_init__(self) -> None:
        if not self.switchname:
            self.switchname = self.hostname


class SwitchCore:
    """Owns channels and the event bus of one simulated FreeSWITCH."""

    def __init__(
        self,
        *,
        clock: SimClock,
        identity: SwitchIdentity,
        dialplan: Dialplan,
        heartbeat_interval: float = 20.0,
        max_sessions: int = 1000,
        history: int = 10_000,
        answer_delay: float = 0.5,
        media: MediaConfig | None = None,
        orderings: Orderings | None = None,
    ) -> None:
        self.clock = clock
        # How the races of FreeSWITCH's threads come out (see runner.sim.orderings).
        self.orderings = orderings or Orderings()
        self.answer_delay = answer_delay
        self.media = media or MediaConfig()
        # Applications by name (the simulator's "loaded modules"), filled by whoever builds
        # the core: mod_dptools' set, plus mod_event_socket's `socket` for a Simulator.
        self.applications: dict[str, Callable[[Any, str | None], Awaitable[None]]] = {}
        # API commands added or replaced for this switch (a test's stubs, e.g. `sofia`);
        # the built-in ones are runner.sim.api.API_COMMANDS.
        self.api_commands: dict[str, Callable[[SwitchCore, str], Awaitable[str]]] = {}
        self.identity = identity
        self.dialplan = dialplan
        self.heartbeat_interval = heartbeat_interval
        self.max_sessions = max_sessions
        self.started = clock.now()
        self.channels: dict[str, Channel] = {}
        self.sinks: list[EventSink] = []
        # The last events fired, as records (Event.record), which the cycle collector
        # does not scan: 10,000 Event objects made each full collection take ~40 ms.
        self.history: deque[EventRecord] = deque(maxlen=history)
        self.global_vars: dict[str, str] = {
            "hostname": identity.hostname,
            "switchname": identity.switchname,
            "local_ip_v4": identity.ipv4,
            "local_ip_v6": identity.ipv6,
            "core_uuid": identity.core_uuid,
            "base_dir": "/usr/local/freeswitch",
            "sound_prefix": "/usr/local/freeswitch/sounds/en/us/callie",
            "domain": identity.ipv4,
        }
        self.reserved_subclasses: set[str] = set()
        self._sequence = 0
        self._session_ids = 0
        self.peak_sessions = 0
        self._task_group: TaskGroup | None = None
        self._date_cache: tuple[int, tuple[str, str], tuple[str, str]] = (-1, ("", ""), ("", ""))
        # Header pairs most events share, built once: every event holds the same tuple
        # objects (fewer new objects per event, fewer cycle collections).
        self._name_pairs: dict[str, tuple[str, str]] = {}
        self._calling_pairs: dict[tuple[str, str, int], tuple[tuple[str, str], ...]] = {}
        self._identity_pairs: tuple[SwitchIdentity, tuple[tuple[str, str], ...]] | None = None
        self._gone_listeners: list[Callable[[Channel], None]] = []
        self._new_listeners: list[Callable[[Channel], None]] = []
        # Set when a sink starts listening to more: a heartbeat loop nobody hears waits
        # for it (None while the loop is not waiting).
        self._listening: anyio.Event | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def attach(self, task_group: TaskGroup) -> None:
        """Give the core the task group its channels, jobs and timers run in."""
        self._task_group = task_group

    def spawn(self, func: Callable[[], Coroutine[Any, Any, object]], name: str) -> None:
        """Run ``func`` in the core's task group, as its own exception barrier: a failure
        is logged (CRIT) and ends that task only, never the simulator."""
        if self._task_group is None:
            raise RuntimeError("the switch core is not running (no task group attached)")

        async def guarded() -> None:
            try:
                await func()
            except Exception as exc:
                self.log(2, "core.py", "spawn", 0, f"task {name!r} failed: {exc!r}")

        self._task_group.start_soon(guarded, name=name)

    async def heartbeat_loop(self) -> None:
        """HEARTBEAT every ``heartbeat_interval`` simulated seconds, then RE_SCHEDULE.

        Beats nobody hears are skipped, and while no sink listens for them the loop
        sleeps until one does: under a virtual clock (`eslflow test`) idle days then
        pass in one jump instead of one wake-up every 20 simulated seconds. The beats
        that do fire keep their schedule: multiples of the interval from start-up.
        """
        task_id = 1
        interval = self.heartbeat_interval
        while True:
            while not self._heartbeat_heard():
                self._listening = anyio.Event()
                await self._listening.wait()
            self._listening = None
            since = self.clock.now() - self.started
            await self.clock.sleep((math.floor(since / interval) + 1) * interval - since)
            if not self._heartbeat_heard():
                continue
            self.fire(self.heartbeat_event())
            ev = self.new_event("RE_SCHEDULE", "switch_scheduler.c", "switch_scheduler_execute", 73)
            ev.add("Task-ID", str(task_id))
            ev.add("Task-Desc", "heartbeat")
            ev.add("Task-Group", "core")
            ev.add("Task-Runtime", str(int(self.clock.now() + self.heartbeat_interval)))
            self.fire(ev)

    def _heartbeat_heard(self) -> bool:
        for sink in self.sinks:
            # A sink that cannot say (written before `hears`) is taken to hear everything.
            hears = getattr(sink, "hears", None)
            if hears is None or hears("HEARTBEAT") or hears("RE_SCHEDULE"):
                return True
        return False

    def listening_changed(self) -> None:
        """A sink came or listens to more events: a heartbeat loop nobody heard looks again."""
        if self._listening is not None:
            self._listening.set()

    # -- sessions -------------------------------------------------------------------------

    def next_session_id(self) -> int:
        self._session_ids += 1
        return self._session_ids

    @property
    def sessions_since_startup(self) -> int:
        return self._session_ids

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.uuid] = channel
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        for callback in self._new_listeners:
            callback(channel)

    def on_new_channel(self, callback: Callable[[Channel], None]) -> None:
        """Call ``callback`` with each channel as it is created (eslflow test keeps them)."""
        self._new_listeners.append(callback)

    def remove_channel(self, channel: Channel) -> None:
        if self.channels.pop(channel.uuid, None) is not None:
            for callback in self._gone_listeners:
                callback(channel)

    def on_channel_gone(self, callback: Callable[[Channel], None]) -> None:
        """Call ``callback`` with each channel once it is destroyed."""
        self._gone_listeners.append(callback)

    def uptime_micros(self) -> int:
        return int((self.clock.now() - self.started) * 1_000_000)

    # -- events ---------------------------------------------------------------------------

    def _date_pairs(self, now: float) -> tuple[tuple[str, str], tuple[str, str]]:
        second = int(now)
        cache = self._date_cache
        if cache[0] != second:
            local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            gmt = formatdate(second, usegmt=True)
            cache = self._date_cache = (
                second,
                ("Event-Date-Local", local),
                ("Event-Date-GMT", gmt),
            )
        return cache[1], cache[2]

    def _identity(self) -> tuple[tuple[str, str], ...]:
        """The switch's own headers (the identity is fixed for the core's life)."""
        ident = self.identity
        cached = self._identity_pairs
        if cached is None or cached[0] is not ident:
            pairs = (
                ("Core-UUID", ident.core_uuid),
                ("FreeSWITCH-Hostname", ident.hostname),
                ("FreeSWITCH-Switchname", ident.switchname),
                ("FreeSWITCH-IPv4", ident.ipv4),
                ("FreeSWITCH-IPv6", ident.ipv6),
            )
            cached = self._identity_pairs = (ident, pairs)
        return cached[1]

    def new_event(
        self, name: str, file: str, func: str, line: int, *, subclass: str | None = None
    ) -> Event:
        """An event with FreeSWITCH's leading headers (switch_event_prep_for_delivery)."""
        self._sequence += 1
        now = self.clock.now()
        local, gmt = self._date_pairs(now)
        name_pair = self._name_pairs.get(name)
        if name_pair is None:
            name_pair = self._name_pairs[name] = ("Event-Name", name)
        where = (file, func, line)
        calling = self._calling_pairs.get(where)
        if calling is None:
            calling = self._calling_pairs[where] = (
                ("Event-Calling-File", file),
                ("Event-Calling-Function", func),
                ("Event-Calling-Line-Number", str(line)),
            )
        event = Event(
            name,
            [
                name_pair,
                *self._identity(),
                local,
                gmt,
                ("Event-Date-Timestamp", str(int(now * 1_000_000))),
                *calling,
                ("Event-Sequence", str(self._sequence)),
            ],
            subclass=subclass,
        )
        if subclass:
            event.add("Event-Subclass", subclass)
        return event

    def fire(self, event: Event) -> None:
        """Deliver to every sink now, in order (switch_event_fire).

        mod_event_socket delivers a copy made by switch_event_dup, which puts
        ``Event-Subclass`` first; the simulator applies that order once, here.
        """
        if event.subclass:
            subclass_headers = [h for h in event.headers if h[0] == "Event-Subclass"]
            if subclass_headers and event.headers[0][0] != "Event-Subclass":
                event.headers = [("Event-Subclass", event.subclass)] + [
                    h for h in event.headers if h[0] != "Event-Subclass"
                ]
        if self.history.maxlen:
            self.history.append(event.record())
        for sink in list(self.sinks):
            sink.offer(event)

    def recent_events(self) -> list[Event]:
        """The events in ``history``, oldest first (new objects, equal in content)."""
        return [Event.from_record(record) for record in self.history]

    def heartbeat_event(self) -> Event:
        ev = self.new_event("HEARTBEAT", "switch_core.c", "send_heartbeat", 95)
        up = self.uptime_micros()
        ev.add("Event-Info", "System Ready")
        ev.add("Up-Time", uptime_text(up))
        ev.add("FreeSWITCH-Version", VERSION)
        ev.add("Uptime-msec", str(up // 1000))
        ev.add("Session-Count", str(len(self.channels)))
        ev.add("Max-Sessions", str(self.max_sessions))
        ev.add("Session-Per-Sec", "30")
        ev.add("Session-Per-Sec-Last", "0")
        ev.add("Session-Per-Sec-Max", "0")
        ev.add("Session-Per-Sec-FiveMin", "0")
        ev.add("Session-Since-Startup", str(self._session_ids))
        ev.add("Session-Peak-Max", str(self.peak_sessions))
        ev.add("Session-Peak-FiveMin", str(self.peak_sessions))
        ev.add("Idle-CPU", "100.000000")
        return ev

    # -- logging --------------------------------------------------------------------------

    def log(
        self, level: int, file: str, func: str, line: int, text: str, *, uuid: str = ""
    ) -> None:
        """A console log line; connections that asked for ``log`` get it as log/data."""
        now = self.clock.now()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        micros = int((now - int(now)) * 1_000_000)
        name = LOG_LEVEL_NAMES.get(level, "DEBUG")
        data = f"{stamp}.{micros:06d} 100.00% [{name}] {file}:{line} {text}"
        if not data.endswith("\n"):
            data += "\n"
        # Text-Channel 3 is SWITCH_CHANNEL_ID_SESSION, what SWITCH_CHANNEL_SESSION_LOG uses.
        record = LogLine(
            level=level, channel=3, file=file, func=func, line=line, data=data, user_data=uuid
        )
        for sink in list(self.sinks):
            sink.offer_log(record)


def uptime_text(micros: int) -> str:
    """The ``UP ...`` phrase of ``status`` and HEARTBEAT's Up-Time (switch_core_measure_time)."""
    total_ms, mms = divmod(micros, 1000)
    total_s, ms = divmod(total_ms, 1000)
    total_m, sec = divmod(total_s, 60)
    total_h, minute = divmod(total_m, 60)
    total_d, hour = divmod(total_h, 24)
    year, day = divmod(total_d, 365)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return ", ".join(
        [
            unit(year, "year"),
            unit(day, "day"),
            unit(hour, "hour"),
            unit(minute, "minute"),
            unit(sec, "second"),
            unit(ms, "millisecond"),
            unit(mms, "microsecond"),
        ]
    )
