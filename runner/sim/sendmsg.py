"""sendmsg on a channel (switch_ivr.c switch_ivr_parse_event): what each call-command does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.sim.states import cause_from_name
from runner.sim.wire import Command, c_atoi

if TYPE_CHECKING:
    from runner.sim.session import Session


async def parse_private(session: Session, command: Command) -> None:
    """switch_ivr_parse_event: execute, hangup or xferext; unicast and nomedia need
    media the simulator does not have, so they are accepted with no effect."""
    ch = session.channel
    call_command = (command.header("call-command") or "").strip().lower()
    if not call_command:
        return
    locked = (command.header("event-lock") or "").lower() in ("true", "yes", "on", "1")
    if locked:
        session.event_lock = True
    try:
        if call_command == "execute":
            await _parse_execute(session, command)
        elif call_command == "hangup":
            session.hangup(cause_from_name(command.header("hangup-cause")))
        elif call_command == "xferext":
            extension: list[tuple[str, str | None]] = []
            for name, value in command.headers:
                if name.lower() == "application":
                    app, _, data = value.partition(" ")
                    extension.append((app, data or None))
            session.extension = extension
            session.ext_pos = 0
            ch.caller.times.transferred = session.core.clock.micros()
            session.parked = False
            session.signal.notify()
        # unicast and nomedia need media the simulator does not have: accepted, no effect.
    finally:
        if locked:
            session.event_lock = False


async def _parse_execute(session: Session, command: Command) -> None:
    """sendmsg execute: the application, ``loops`` times (runs of >= 0.5 s only)."""
    ch = session.channel
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
        started = session.core.clock.now()
        if event_uuid:
            ch.set_var("app_uuid", event_uuid)
        if uuid_name:
            ch.set_var("app_uuid_name", uuid_name)
        ch.set_var("current_loop", str(x + 1))
        ch.set_var("total_loops", str(loops))
        if not await session.execute_app(app_name, app_arg):
            session.hangup("DESTINATION_OUT_OF_ORDER")
            break
        x += 1
        # switch_ivr_parse_event repeats only runs that took at least 0.5 s.
        if not ch.ready() or session.core.clock.now() - started < 0.5:
            break
    ch.set_var("current_loop", None)
    ch.set_var("total_loops", None)
