"""A channel's "session thread": its state machine, applications and hangup path.

Each channel runs in its own task. Other parties (API commands, ESL connections, the far
end) act on it through synchronous methods (``hangup``, ``queue_private``, ``queue_dtmf``)
that fire events at once and wake the task. The order of events follows the
FreeSWITCH state machine (switch_core_state_machine.c, switch_channel.c,
switch_core_session.c) as the captures show it.
"""

from __future__ import annotations

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
from runner.sim.hangup import hangup_path
from runner.sim.sendmsg import parse_private
from runner.sim.signals import Flag, Signal
from runner.sim.states import CallState, ChannelState
from runner.sim.wire import Command

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
        self.unlocked = Flag(True)
        self.lock_partner: Session | None = None
        self.down_watchers: list[Callable[[], None]] = []
        self.progress_watchers: list[Callable[[], None]] = []
        self.bridged_to: Session | None = None
        self.socket_resume = False
        self.break_requested = False  # CF_BREAK: uuid_break stops the current media
        self.last_wait_broke = False
        self.pending_hangup: str | None = None  # unlink_then_hangup: after the app ends
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
            self.unlocked = Flag()

    def release(self) -> None:
        self._locks -= 1
        if self._locks <= 0:
            self._locks = 0
            self.unlocked.set()

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
        # switch_ivr_session_transfer: the new profile remembers where the call was
        # (RDNIS) and says where it went (Transfer-Source, also transfer_source and
        # transfer_history); FreeSWITCH 1.10.12 shows both headers from then on.
        profile = ch.caller
        profile.rdnis = profile.destination_number
        profile.destination_number = dest
        profile.dialplan = dialplan
        profile.context = context
        profile.times.transferred = self.core.clock.micros()
        epoch = int(self.core.clock.now())
        source = f"{epoch}:{new_uuid()}:bl_xfer:{dest}/{context}/{dialplan}"
        profile.transfer_source = source
        history = ch.get_var("transfer_history")
        ch.set_var("transfer_history", f"{history}|:{source}" if history else source)
        ch.set_var("transfer_source", source)
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
        self._hangup_pending()
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
            self._private_command_done(command)

    def _private_command_done(self, command: Command) -> None:
        """switch_ivr_parse_next_event: a queued sendmsg, once run, is fired as a
        PRIVATE_COMMAND event (its own headers, then the usual ones, then the channel's)."""
        ev = Event(
            "PRIVATE_COMMAND", [("Command", command.line), *command.headers], body=command.body
        )
        ev.headers += self.core.new_event(
            "PRIVATE_COMMAND", "switch_ivr.c", "switch_ivr_parse_next_event", 804
        ).headers
        self.channel.add_data(ev)
        self.core.fire(ev)

    async def parse_private(self, command: Command) -> None:
        """Run one sendmsg command on this channel (see `runner.sim.sendmsg`)."""
        await parse_private(self, command)

    # -- waiting ----------------------------------------------------------------------------------

    async def wait(self, seconds: float | None, *, dtmf: bool = False) -> bool:
        """Wait ``seconds`` of simulated time (None = until interrupted).

        Queued sendmsg commands run meanwhile, nested, as in FreeSWITCH's media loops
        (``event-lock: true`` prevents that). Returns True when interrupted: the channel
        hung up or, with ``dtmf``, a digit arrived.
        """
        clock = self.core.clock
        remaining = seconds
        self.last_wait_broke = False
        while True:
            if not self.channel.ready():
                return True
            if self.break_requested:
                self.break_requested = False
                self.last_wait_broke = True
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

    def request_break(self, *, flush: bool = False) -> None:
        """uuid_break: the media wait in progress ends (``flush``: queued sendmsg too)."""
        if flush:
            self.private.clear()
        self.break_requested = True
        self.signal.notify()

    def unlink_then_hangup(self, cause: str) -> None:
        """The loopback partner is gone: leave park now (CHANNEL_UNPARK and the park
        application's EXECUTE_COMPLETE fire), then hang up with ``cause``."""
        self.pending_hangup = cause
        self.parked = False
        self.signal.notify()

        async def fallback() -> None:
            # Whatever the channel does instead of returning from park, it goes down.
            await self.core.clock.sleep(0.05)
            self._hangup_pending()

        self.core.spawn(fallback, name=f"unlinked {self.channel.uuid}")

    def far_end_hangup(self, cause: str) -> None:
        """The far end hung up. With the real switch's orderings a parked channel may
        leave park before its CHANNEL_HANGUP, as a loopback leg does when its partner
        goes (the session thread sees the media end first)."""
        if self.parked and self.core.orderings.rare("unpark_first"):
            self.unlink_then_hangup(cause)
        else:
            self.hangup(cause)

    def _hangup_pending(self) -> None:
        cause, self.pending_hangup = self.pending_hangup, None
        if cause is not None:
            self.hangup(cause)

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
        """CS_HANGUP, CS_REPORTING, CS_DESTROY (see `runner.sim.hangup`)."""
        await hangup_path(self)
