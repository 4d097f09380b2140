"""A channel's way out: CS_HANGUP, CS_REPORTING (CDR variables), then CS_DESTROY.

switch_core_state_machine.c runs these states in the session thread after
switch_channel_perform_hangup fired CHANNEL_HANGUP; CHANNEL_DESTROY waits for whoever
holds the session (a session-bound socket, the other loopback leg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from runner.freeswitch import HANGUP_CAUSES
from runner.sim.cdr import cdr_variables
from runner.sim.states import CallState, ChannelState

if TYPE_CHECKING:
    from runner.sim.session import Session


async def hangup_path(session: Session) -> None:
    """CS_HANGUP, CS_REPORTING (CDR variables, HANGUP_COMPLETE), then CS_DESTROY."""
    ch = session.channel
    if ch.running_state == ChannelState.CS_DESTROY:
        return
    if not ch.down():
        session.hangup("NORMAL_CLEARING")
    core = session.core
    session.set_running_state(ChannelState.CS_HANGUP)
    session.set_callstate(CallState.HANGUP)
    session.endpoint.on_hangup(session)
    ch.state = ChannelState.CS_REPORTING
    ch.caller.times.hungup = core.clock.micros()
    session.set_running_state(ChannelState.CS_REPORTING)
    cause = ch.hangup_cause or "NORMAL_CLEARING"
    ch.set_var("hangup_cause", cause)
    ch.set_var("hangup_cause_q850", str(HANGUP_CAUSES.get(cause, 16)))
    for name, value in cdr_variables(ch):
        ch.set_var(name, value)
    for name, value in session.endpoint.reporting_vars(session):
        ch.set_var(name, value)
    session.fire(
        "CHANNEL_HANGUP_COMPLETE",
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
        before=[("Hangup-Cause", cause)],
    )
    ch.state = ChannelState.CS_DESTROY
    # A session-bound connection or the other loopback leg holds the session; when
    # the simulator is shutting down nobody may be left to let go, so do not wait long.
    if not session.unlocked.is_set():
        timeout = 1.0 if ch.hangup_cause == "SYSTEM_SHUTDOWN" else None
        with anyio.move_on_after(timeout):
            await session.unlocked.wait()
    session.fire(
        "CHANNEL_DESTROY", "switch_core_session.c", "switch_core_session_perform_destroy", 1584
    )
    session.set_running_state(ChannelState.CS_DESTROY)
    core.remove_channel(ch)
    if session.lock_partner is not None:
        session.lock_partner.release()
        session.lock_partner = None
    session.destroyed.set()
    # A destroyed channel has no session. Dropping the link also breaks the
    # channel <-> session cycle, so the call's objects are freed at once instead of
    # by the cycle collector (~45 objects a call, and its pauses).
    ch.session = None
