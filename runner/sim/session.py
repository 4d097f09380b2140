"""A channel's "session thread": its state machine, applications and hangup path.

Each channel runs in its own task. Other parties (API commands, ESL connections, the far
end) act on it through synchronous methods (``hangup``, ``queue_private``, ``queue_dtmf``)
that fire events at once and wake the task. The order of events follows the
FreeSWITCH state machine (switch_core_state_machine.c, switch_channel.c,
switch_core_session.c) as the captures show it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import anyio

from runner.freeswitch import HANGUP_CAUSES
from runner.sim import expansion
from runner.sim.channel import Channel
from runner.sim.core import new_uuid
from runner.sim.event import Event
from runner.sim.states import CallState, ChannelState, cause_from_name
from runner.sim.wire import Command, c_atoi

if TYPE_CHECKING:
    from runner.sim.core import SwitchCore

MAX_PRIVATE_EVENTS = 1000
MAX_DTMF = 128


class Endpoint(Protocol):
    """What an endpoint module (loopback, the simulated phone) adds to a session."""

    def on_answer(self, session: Session) -> None: ...

    def on_pre_answer(self, session: Session) -> None: ...

    def on_hangup(self, session: Session) -> None: ...

    def reporting_vars(self, session: Session) -> list[tuple[str, str]]: ...


class DivertSink(Protocol):
    """The socket a session diverts its events to (``divert_events on``)."""

    def divert(self, event: Event) -> None: ...


class Signal:
    """A level-triggered wake-up: ``notify`` sets it, ``wait`` consumes it.

    The event-loop Event exists only while someone waits: most notifications of a
    call find nobody waiting, and creating one per wake-up was a cost per event.

    A wait with a timeout sleeps, and a notify cancels the sleep: a media wait nearly
    always runs out, and on uvloop a cancel scope's deadline is re-armed until the
    loop's millisecond clock reaches it, ~130 us of CPU for a 1 ms wait against ~40
    us for a sleep.
    """

    __slots__ = ("_event", "_set", "_sleepers")

    def __init__(self) -> None:
        self._set = False
        self._event: anyio.Event | None = None
        self._sleepers: list[anyio.CancelScope] = []

    def notify(self) -> None:
        self._set = True
        event = self._event
        if event is not None:
            self._event = None
            event.set()
        if self._sleepers:
            for scope in self._sleepers:
                scope.cancel()
            self._sleepers.clear()

    def is_set(self) -> bool:
        return self._set

    async def wait(self, timeout: float | None) -> None:
        """Return at once if notified since the last wait, else wait for a notify or
        ``timeout`` real seconds (None: no limit)."""
        if not self._set:
            if timeout is None:
                event = self._event
                if event is None:
                    event = self._event = anyio.Event()
                await event.wait()
            else:
                with anyio.CancelScope() as scope:
                    self._sleepers.append(scope)
                    try:
                        await anyio.sleep(timeout)
                    finally:
                        if scope in self._sleepers:
                            self._sleepers.remove(scope)
        self._set = False


class Flag:
    """A one-way flag with anyio.Event's interface (set, is_set, wait); the event-loop
    Event is made only for a waiter: most flags of a call are set, never awaited."""

    __slots__ = ("_event", "_set")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._event: anyio.Event | None = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            if self._event is not None:
                self._event.set()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            await anyio.lowlevel.checkpoint()  # as anyio.Event.wait does
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()


class Session:
    """Runs one `Channel`: routing, the extension's applications, sendmsg, hangup."""

    def __init__(
        self,
        core: SwitchCore,
        channel: Channel,
        endpoint: Endpoint,
        *,
        scripted_dtmf: Iterable[str] = (),
        dtmf_delay: float = 0.2,
    ) -> None:
        self.core = core
        self.channel = channel
        self.endpoint = endpoint
        channel.session = self
        self.extension: list[tuple[str, str | None]] = []
        self.ext_pos = 0
        self.private: deque[Command] = deque()
        self.queued_events: deque[Event] = deque()
        self.dtmf: deque[str] = deque()
        self.scripted_dtmf: deque[str] = deque(scripted_dtmf)
        self.dtmf_delay = dtmf_delay
        self.signal = Signal()
        self.progress = Signal()  # answered, pre-answered or hung up
        self.parked = False
        self.event_lock = False
        self.divert_events = False
        self.divert_sink: DivertSink | None = None
        self.transfer_to: tuple[str, str, str] | None = None
        self.exported: dict[str, str] = {}
        self.route_override: list[tuple[str, str | None]] | None = None
        self.answered = Flag()
        self.destroyed = Flag()
        self.hungup = Flag()
        self._go = Flag()
        self._locks = 0
        self._unlocked = Flag(True)
        self.lock_partner: Session | None = None
        self.down_watchers: list[Callable[[], None]] = []
        self.progress_watchers: list[Callable[[], None]] = []
        self.bridged_to: Session | None = None
        self.socket_resume = False
        self.controlled = False

    # -- events -----------------------------------------------------------------------------

    def event(
        self,
        name: str,
        file: str,
        func: str,
        line: int,
        *,
        before: Iterable[tuple[str, str | None]] = (),
        after: Iterable[tuple[str, str | None]] = (),
        subclass: str | None = None,
    ) -> Event:
        ev = self.core.new_event(name, file, func, line, subclass=subclass)
        if before:
            ev.add_all(before)
        self.channel.add_data(ev)
        if after:
            ev.add_all(after)
        return ev

    def fire(
        self,
        name: str,
        file: str,
        func: str,
        line: int,
        *,
        before: Iterable[tuple[str, str | None]] = (),
        after: Iterable[tuple[str, str | None]] = (),
    ) -> None:
        self.core.fire(self.event(name, file, func, line, before=before, after=after))

    def set_running_state(self, state: ChannelState) -> None:
        """switch_channel_perform_set_running_state: CHANNEL_STATE with the new state."""
        self.channel.running_state = state
        self.fire(
            "CHANNEL_STATE", "switch_channel.c", "switch_channel_perform_set_running_state", 2408
        )

    def set_callstate(self, callstate: CallState) -> None:
        ch = self.channel
        old = ch.callstate
        if old == callstate:
            return
        ch.callstate = callstate
        self.fire(
            "CHANNEL_CALLSTATE",
            "switch_channel.c",
            "switch_channel_perform_set_callstate",
            301,
            before=[
                ("Original-Channel-Call-State", old.name),
                ("Channel-Call-State-Number", str(int(callstate))),
            ],
        )

    # -- variables --------------------------------------------------------------------------

    def expand(self, text: str | None) -> str | None:
        """One expansion pass over `text`, as FreeSWITCH runs it on an application's
        argument (runner/sim/expansion.py): channel variables, then global ones."""
        if text is None:
            return None
        ch = self.channel
        glob = self.core.global_vars

        def lookup(name: str) -> str | None:
            value = ch.get_var(name)
            return value if value is not None else glob.get(name)

        return expansion.expand(text, lookup)

    # -- locks: a session-bound listener or the other loopback leg delays CHANNEL_DESTROY --

    def hold(self) -> None:
        self._locks += 1
        if self._locks == 1:
            self._unlocked = Flag()

    def release(self) -> None:
        self._locks -= 1
        if self._locks <= 0:
            self._locks = 0
            self._unlocked.set()

    def watch_progress(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the channel answers, pre-answers or hangs up."""
        self.progress_watchers.append(callback)

    def _progressed(self) -> None:
        self.progress.notify()
        for watcher in list(self.progress_watchers):
            watcher()

    def watch_down(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the channel hangs up (at once if it already has)."""
        self.down_watchers.append(callback)
        if self.channel.down():
            callback()

    # -- actions other parties take -----------------------------------------------------------

    def queue_private(self, command: Command) -> bool:
        """Queue a sendmsg for the session to run (switch_core_session_queue_private_event)."""
        if len(self.private) >= MAX_PRIVATE_EVENTS:
            return False
        self.private.append(command)
        self.signal.notify()
        return True

    def queue_event(self, event: Event) -> None:
        """An event addressed to this session (sendevent with its Unique-ID)."""
        if len(self.queued_events) < MAX_PRIVATE_EVENTS:
            self.queued_events.append(event)
            self.signal.notify()

    def queue_dtmf(self, digits: str, source: str = "RTP") -> None:
        """The far end pressed keys: a DTMF event per digit, digits buffered for apps."""
        for digit in digits:
            if len(self.dtmf) < MAX_DTMF:
                self.dtmf.append(digit)
            self.channel.dtmf_log.append(digit)
            ev = self.event(
                "DTMF",
                "switch_channel.c",
                "switch_channel_queue_dtmf",
                699,
                after=[("DTMF-Digit", digit), ("DTMF-Duration", "2000"), ("DTMF-Source", source)],
            )
            if self.divert_events and self.divert_sink is not None:
                # CF_DIVERT_EVENTS: queued to the session, which its socket drains.
                self.divert_sink.divert(ev)
            else:
                self.core.fire(ev)
        self.signal.notify()

    def hangup(self, cause: str = "NORMAL_CLEARING") -> bool:
        """switch_channel_perform_hangup: CHANNEL_HANGUP now, the rest in the session task."""
        ch = self.channel
        if ch.down():
            return False
        ch.hangup_cause = cause if cause in HANGUP_CAUSES else "NORMAL_CLEARING"
        ch.state = ChannelState.CS_HANGUP
        self.fire("CHANNEL_HANGUP", "switch_channel.c", "switch_channel_perform_hangup", 3445)
        self.hungup.set()
        self.signal.notify()
        self._progressed()
        for watcher in list(self.down_watchers):
            watcher()
        return True

    def mark_ring_ready(self) -> None:
        """switch_channel_perform_mark_ring_ready: CHANNEL_PROGRESS, then CALLSTATE RINGING."""
        ch = self.channel
        if ch.down() or ch.answered or ch.caller.times.progress:
            return
        ch.caller.times.progress = self.core.clock.micros()
        self.fire(
            "CHANNEL_PROGRESS",
            "switch_channel.c",
            "switch_channel_perform_mark_ring_ready_value",
            3505,
        )
        self.set_callstate(CallState.RINGING)
        self._progressed()

    def mark_pre_answered(self) -> None:
        ch = self.channel
        if ch.early_media or ch.answered or ch.down():
            return
        self.endpoint.on_pre_answer(self)
        ch.early_media = True
        ch.caller.times.progress_media = self.core.clock.micros()
        self.fire(
            "CHANNEL_PROGRESS_MEDIA",
            "switch_channel.c",
            "switch_channel_perform_mark_pre_answered",
            3585,
        )
        self.set_callstate(CallState.EARLY)
        self._progressed()

    def mark_answered(self) -> None:
        """switch_channel_perform_mark_answered: CHANNEL_ANSWER, then CALLSTATE ACTIVE."""
        ch = self.channel
        if ch.answered or ch.down():
            return
        self.endpoint.on_answer(self)
        ch.answered = True
        ch.caller.times.answered = self.core.clock.micros()
        self.fire(
            "CHANNEL_ANSWER", "switch_channel.c", "switch_channel_perform_mark_answered", 3846
        )
        self.set_callstate(CallState.ACTIVE)
        ch.set_var("endpoint_disposition", "ANSWER")
        self.answered.set()
        self._progressed()

    # -- running --------------------------------------------------------------------------------

    def go(self, extension: list[tuple[str, str | None]]) -> None:
        """Let an outbound leg waiting in CS_CONSUME_MEDIA start executing ``extension``."""
        self.extension = list(extension)
        self.ext_pos = 0
        self._go.set()
        self.signal.notify()

    async def run_inbound(self) -> None:
        """An inbound leg: INIT, CREATE, ROUTING (ringing), dialplan, EXECUTE, hangup."""
        ch = self.channel
        async with self._session_thread():
            ch.state = ChannelState.CS_INIT
            self.set_running_state(ChannelState.CS_INIT)
            ch.state = ChannelState.CS_ROUTING
            self.fire(
                "CHANNEL_CREATE", "switch_core_state_machine.c", "switch_core_session_run", 626
            )
            await self.route()
            await self.execute_loop()

    async def run_outbound(self) -> None:
        """An originated leg: waits in CS_CONSUME_MEDIA until the originate decides."""
        async with self._session_thread():
            while not self._go.is_set() and self.channel.ready():
                await self.signal.wait(None)
            if self.channel.ready():
                await self.enter_execute()
                await self.execute_loop()

    @asynccontextmanager
    async def _session_thread(self) -> AsyncIterator[None]:
        """What ends every leg's run: a stopping simulator hangs it up (SYSTEM_SHUTDOWN),
        a crash ends this call only, and the hangup path always runs."""
        try:
            yield
        except anyio.get_cancelled_exc_class():
            self.hangup("SYSTEM_SHUTDOWN")  # the simulator is stopping
            raise
        except Exception as exc:
            self._crashed(exc)
        finally:
            with anyio.CancelScope(shield=True):
                await self.hangup_path()

    def _crashed(self, exc: Exception) -> None:
        """A bug in the simulator or an application ends this call only (cause CRASH)."""
        self.core.log(
            2,
            "session.py",
            "run",
            0,
            f"channel {self.channel.uuid} crashed: {exc!r}",
            uuid=self.channel.uuid,
        )
        self.hangup("CRASH")

    async def route(self) -> None:
        """CS_ROUTING: ring, find the extension, move to CS_EXECUTE (or fail to route)."""
        ch = self.channel
        ch.running_state = ChannelState.CS_ROUTING
        self.set_callstate(CallState.RINGING)
        self.fire(
            "CHANNEL_STATE", "switch_channel.c", "switch_channel_perform_set_running_state", 2408
        )
        await self._route_extension()

    async def _route_extension(self) -> None:
        ch = self.channel
        ch.set_var("call_uuid", ch.variables.get("call_uuid") or ch.uuid)
        if self.route_override is not None:
            extension: list[tuple[str, str | None]] | None = self.route_override
            self.route_override = None
        else:
            extension = self.core.dialplan.lookup(ch.caller.destination_number, ch.caller.context)
        if extension is None:
            self.hangup("NO_ROUTE_DESTINATION")
            return
        self.extension = extension
        self.ext_pos = 0
        await self.enter_execute()

    async def enter_execute(self) -> None:
        ch = self.channel
        if ch.down():
            return
        ch.set_var("call_uuid", ch.variables.get("call_uuid") or ch.uuid)
        ch.state = ChannelState.CS_EXECUTE
        self.set_running_state(ChannelState.CS_EXECUTE)
        await anyio.lowlevel.checkpoint()

    async def execute_loop(self) -> None:
        """Run the extension's applications in order; hang up when they run out."""
        ch = self.channel
        while ch.ready():
            await self.process_private_events()
            if not ch.ready():
                break
            if self.transfer_to is not None:
                await self._do_transfer()
                continue
            if self.ext_pos >= len(self.extension):
                break
            app, arg = self.extension[self.ext_pos]
            self.ext_pos += 1
            if not await self.execute_app(app, arg):
                self.hangup("DESTINATION_OUT_OF_ORDER")
        if ch.ready() and self.transfer_to is None:
            # switch_core_standard_on_execute: no more applications to execute.
            self.hangup("NORMAL_CLEARING")

    async def _do_transfer(self) -> None:
        assert self.transfer_to is not None
        dest, dialplan, context = self.transfer_to
        self.transfer_to = None
        ch = self.channel
        ch.caller.destination_number = dest
        ch.caller.dialplan = dialplan
        ch.caller.context = context
        ch.caller.times.transferred = self.core.clock.micros()
        ch.state = ChannelState.CS_ROUTING
        self.set_running_state(ChannelState.CS_ROUTING)
        await self._route_extension()

    async def execute_app(self, name: str, arg: str | None) -> bool:
        """switch_core_session_exec: EXECUTE, run the application, EXECUTE_COMPLETE.

        Returns False for an unknown application (no events are fired for it).
        """
        app = self.core.applications.get(name)
        if app is None:
            self.core.log(
                3,
                "switch_core_session.c",
                "switch_core_session_execute_application_get_flags",
                2792,
                f"Invalid Application {name}",
            )
            return False
        ch = self.channel
        app_uuid = ch.variables.get("app_uuid")
        if app_uuid:
            ch.set_var("app_uuid", None)
        else:
            app_uuid = new_uuid()
        uuid_name = ch.variables.get("app_uuid_name")
        if uuid_name:
            ch.set_var("app_uuid_name", None)
        expanded = self.expand(arg)
        ch.set_var("current_application", name)
        ch.set_var("current_application_data", expanded)
        ch.set_var("current_application_response", None)
        self.fire(
            "CHANNEL_EXECUTE",
            "switch_core_session.c",
            "switch_core_session_exec",
            2944,
            after=[
                ("Application", name),
                ("Application-Data", expanded),
                ("Application-UUID", app_uuid),
                ("Application-UUID-Name", uuid_name),
            ],
        )
        ch.set_var("current_application", name)
        ch.app_log.append((name, expanded))
        await app(self, expanded)
        response = ch.variables.get("current_application_response")
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            "switch_core_session.c",
            "switch_core_session_exec",
            2967,
            after=[
                ("Application", name),
                ("Application-Data", expanded),
                ("Application-Response", response or "_none_"),
                ("Application-UUID", app_uuid),
                ("Application-UUID-Name", uuid_name),
            ],
        )
        return True

    # -- sendmsg (switch_ivr.c switch_ivr_parse_event) ---------------------------------------

    async def process_private_events(self) -> None:
        """Run queued sendmsg commands and release events queued to this session."""
        while self.queued_events:
            ev = self.queued_events.popleft()
            self.channel.add_data(ev)
            self.core.fire(ev)
        while self.private and not self.event_lock:
            command = self.private.popleft()
            await self.parse_private(command)

    async def parse_private(self, command: Command) -> None:
        ch = self.channel
        call_command = (command.header("call-command") or "").strip().lower()
        if not call_command:
            return
        locked = (command.header("event-lock") or "").lower() in ("true", "yes", "on", "1")
        if locked:
            self.event_lock = True
        try:
            if call_command == "execute":
                await self._parse_execute(command)
            elif call_command == "hangup":
                self.hangup(cause_from_name(command.header("hangup-cause")))
            elif call_command == "xferext":
                extension: list[tuple[str, str | None]] = []
                for name, value in command.headers:
                    if name.lower() == "application":
                        app, _, data = value.partition(" ")
                        extension.append((app, data or None))
                self.extension = extension
                self.ext_pos = 0
                ch.caller.times.transferred = self.core.clock.micros()
                self.parked = False
                self.signal.notify()
            # unicast and nomedia need media the simulator does not have: accepted, no effect.
        finally:
            if locked:
                self.event_lock = False

    async def _parse_execute(self, command: Command) -> None:
        ch = self.channel
        app_name = command.header("execute-app-name")
        if not app_name:
            return
        event_uuid = command.header("event-uuid")
        uuid_name = command.header("event-uuid-name")
        app_arg = command.header("execute-app-arg")
        content_type = command.header("content-type")
        if not app_arg and content_type and content_type.lower() == "text/plain":
            app_arg = command.body
        loops_header = command.header("loops")
        loops = c_atoi(loops_header) if loops_header is not None else 1
        x = 0
        while x < loops or loops < 0:
            started = self.core.clock.now()
            if event_uuid:
                ch.set_var("app_uuid", event_uuid)
            if uuid_name:
                ch.set_var("app_uuid_name", uuid_name)
            ch.set_var("current_loop", str(x + 1))
            ch.set_var("total_loops", str(loops))
            if not await self.execute_app(app_name, app_arg):
                self.hangup("DESTINATION_OUT_OF_ORDER")
                break
            x += 1
            # switch_ivr_parse_event repeats only runs that took at least 0.5 s.
            if not ch.ready() or self.core.clock.now() - started < 0.5:
                break
        ch.set_var("current_loop", None)
        ch.set_var("total_loops", None)

    # -- waiting ----------------------------------------------------------------------------------

    async def wait(self, seconds: float | None, *, dtmf: bool = False) -> bool:
        """Wait ``seconds`` of simulated time (None = until interrupted).

        Queued sendmsg commands run meanwhile, nested, as in FreeSWITCH's media loops
        (``event-lock: true`` prevents that). Returns True when interrupted: the channel
        hung up or, with ``dtmf``, a digit arrived.
        """
        clock = self.core.clock
        remaining = seconds
        while True:
            if not self.channel.ready():
                return True
            if dtmf and self.dtmf:
                return True
            if (self.private and not self.event_lock) or self.queued_events:
                await self.process_private_events()
                continue
            if remaining is not None and remaining <= 0:
                return False
            before = clock.now()
            await self.signal.wait(None if remaining is None else clock.real(remaining))
            if remaining is not None:
                remaining -= clock.now() - before

    async def park(self) -> None:
        """switch_ivr_park: CHANNEL_PARK, wait running sendmsg commands, CHANNEL_UNPARK."""
        self.parked = True
        self.fire("CHANNEL_PARK", "switch_ivr.c", "switch_ivr_park", 1002)
        while self.channel.ready() and self.parked:
            await self.process_private_events()
            if not self.channel.ready() or not self.parked:
                break
            await self.signal.wait(None)
        self.parked = False
        self.fire("CHANNEL_UNPARK", "switch_ivr.c", "switch_ivr_park", 1213)

    def transfer(self, destination: str, dialplan: str, context: str) -> None:
        """Route again with a new destination once the current application returns."""
        self.transfer_to = (destination, dialplan, context)
        self.unpark()

    def release_control(self) -> None:
        """The controlling socket went away (mod_event_socket clears CF_CONTROLLED)."""
        if self.controlled:
            self.controlled = False
            self.unpark()

    def unpark(self) -> None:
        self.parked = False
        self.signal.notify()

    async def next_dtmf_entry(self) -> None:
        """Deliver the next scripted DTMF entry (CallSpec.dtmf) after a short delay."""
        if not self.scripted_dtmf:
            return
        digits = self.scripted_dtmf.popleft()

        async def later() -> None:
            await self.core.clock.sleep(self.dtmf_delay)
            if self.channel.ready():
                self.queue_dtmf(digits)

        self.core.spawn(later, name=f"dtmf {self.channel.uuid}")

    # -- hangup, reporting, destroy ----------------------------------------------------------

    async def hangup_path(self) -> None:
        """CS_HANGUP, CS_REPORTING (CDR variables, HANGUP_COMPLETE), then CS_DESTROY."""
        ch = self.channel
        if ch.running_state == ChannelState.CS_DESTROY:
            return
        if not ch.down():
            self.hangup("NORMAL_CLEARING")
        core = self.core
        self.set_running_state(ChannelState.CS_HANGUP)
        self.set_callstate(CallState.HANGUP)
        self.endpoint.on_hangup(self)
        ch.state = ChannelState.CS_REPORTING
        ch.caller.times.hungup = core.clock.micros()
        self.set_running_state(ChannelState.CS_REPORTING)
        cause = ch.hangup_cause or "NORMAL_CLEARING"
        ch.set_var("hangup_cause", cause)
        ch.set_var("hangup_cause_q850", str(HANGUP_CAUSES.get(cause, 16)))
        for name, value in cdr_variables(ch):
            ch.set_var(name, value)
        for name, value in self.endpoint.reporting_vars(self):
            ch.set_var(name, value)
        self.fire(
            "CHANNEL_HANGUP_COMPLETE",
            "switch_core_state_machine.c",
            "switch_core_session_reporting_state",
            943,
            before=[("Hangup-Cause", cause)],
        )
        ch.state = ChannelState.CS_DESTROY
        # A session-bound connection or the other loopback leg holds the session; when
        # the simulator is shutting down nobody may be left to let go, so do not wait long.
        if not self._unlocked.is_set():
            timeout = 1.0 if ch.hangup_cause == "SYSTEM_SHUTDOWN" else None
            with anyio.move_on_after(timeout):
                await self._unlocked.wait()
        self.fire(
            "CHANNEL_DESTROY", "switch_core_session.c", "switch_core_session_perform_destroy", 1584
        )
        self.set_running_state(ChannelState.CS_DESTROY)
        core.remove_channel(ch)
        if self.lock_partner is not None:
            self.lock_partner.release()
            self.lock_partner = None
        self.destroyed.set()
        # A destroyed channel has no session. Dropping the link also breaks the
        # channel <-> session cycle, so the call's objects are freed at once instead of
        # by the cycle collector (~45 objects a call, and its pauses).
        ch.session = None


_STAMPS: dict[int, str] = {}


def _stamp(micros: int) -> str:
    """Local time of a timestamp, to the second (a call's stamps share a few seconds)."""
    second = micros // 1_000_000
    text = _STAMPS.get(second)
    if text is None:
        if len(_STAMPS) > 1000:
            _STAMPS.clear()
        text = _STAMPS[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
    return text


def cdr_variables(ch: Channel) -> list[tuple[str, str]]:
    """switch_channel_set_timestamps: the variables CHANNEL_HANGUP_COMPLETE reports."""
    t = ch.caller.times
    out: list[tuple[str, str]] = [("digits_dialed", "".join(ch.dtmf_log) or "none")]
    out.append(("start_stamp", _stamp(t.created)))
    out.append(("profile_start_stamp", _stamp(t.profile_created)))
    for name, value in (
        ("answer_stamp", t.answered),
        ("bridge_stamp", t.bridged),
        ("hold_stamp", t.last_hold),
        ("resurrect_stamp", t.resurrected),
        ("progress_stamp", t.progress),
        ("progress_media_stamp", t.progress_media),
    ):
        if value:
            out.append((name, _stamp(value)))
    out.append(("end_stamp", _stamp(t.hungup)))

    def pair(prefix: str, micros: int) -> list[tuple[str, str]]:
        return [(f"{prefix}_epoch", str(micros // 1_000_000)), (f"{prefix}_uepoch", str(micros))]

    out += pair("start", t.created)
    out += pair("profile_start", t.profile_created)
    out += pair("answer", t.answered)
    out += pair("bridge", t.bridged)
    out += pair("last_hold", t.last_hold)
    out += [
        ("hold_accum_seconds", str(t.hold_accum // 1_000_000)),
        ("hold_accum_usec", str(t.hold_accum)),
        ("hold_accum_ms", str(t.hold_accum // 1000)),
    ]
    out += pair("resurrect", t.resurrected)
    out += pair("progress", t.progress)
    out += pair("progress_media", t.progress_media)
    out += pair("end", t.hungup)
    created_s, hungup_s = t.created // 1_000_000, t.hungup // 1_000_000
    created_ms, hungup_ms = t.created // 1000, t.hungup // 1000
    duration = hungup_s - created_s
    billsec = billmsec = billusec = legbill = legbillms = 0
    answersec = answermsec = 0
    if t.answered:
        billsec = hungup_s - t.answered // 1_000_000
        billmsec = hungup_ms - t.answered // 1000
        billusec = t.hungup - t.answered
        legbill = duration
        legbillms = hungup_ms - created_ms
        answersec = t.answered // 1_000_000 - created_s
        answermsec = t.answered // 1000 - created_ms
    answerusec = t.answered - t.created if t.answered else 0
    progresssec = progressms = progressus = 0
    if t.progress:
        progresssec = t.progress // 1_000_000 - created_s
        progressms = t.progress // 1000 - created_ms
        progressus = t.progress - t.created
    pmsec = pmms = pmus = 0
    if t.progress_media:
        pmsec = t.progress_media // 1_000_000 - created_s
        pmms = t.progress_media // 1000 - created_ms
        pmus = t.progress_media - t.created
    waitsec = waitms = waitus = 0
    if t.bridged > t.created:
        waitsec = t.bridged // 1_000_000 - created_s
        waitms = t.bridged // 1000 - created_ms
        waitus = t.bridged - t.created
    if ch.app_log:
        last_app, last_arg = ch.app_log[-1]
        out.append(("last_app", last_app))
        if last_arg:
            out.append(("last_arg", last_arg))
    cid = ch.caller
    caller_id = (
        f'"{cid.caller_id_name}" <{cid.caller_id_number}>'
        if cid.caller_id_name
        else cid.caller_id_number
    )
    if caller_id:
        out.append(("caller_id", caller_id))
    out += [
        ("duration", str(duration)),
        ("billsec", str(billsec)),
        ("progresssec", str(progresssec)),
        ("answersec", str(answersec)),
        ("waitsec", str(waitsec)),
        ("progress_mediasec", str(pmsec)),
        ("flow_billsec", str(legbill)),
        ("mduration", str(hungup_ms - created_ms)),
        ("billmsec", str(billmsec)),
        ("progressmsec", str(progressms)),
        ("answermsec", str(answermsec)),
        ("waitmsec", str(waitms)),
        ("progress_mediamsec", str(pmms)),
        ("flow_billmsec", str(legbillms)),
        ("uduration", str(t.hungup - t.created)),
        ("billusec", str(billusec)),
        ("progressusec", str(progressus)),
        ("answerusec", str(answerusec)),
        ("waitusec", str(waitus)),
        ("progress_mediausec", str(pmus)),
        ("flow_billusec", str(t.hungup - t.created if t.answered else 0)),
    ]
    return out
