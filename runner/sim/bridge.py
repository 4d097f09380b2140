"""The ``bridge`` application: originate a leg, connect it to the caller, and what a
failed bridge does to the caller (mod_dptools.c audio_bridge_function,
switch_ivr_originate.c, switch_channel.c switch_channel_handle_cause)."""

from __future__ import annotations

from runner.freeswitch import HANGUP_CAUSES
from runner.sim.endpoints import OriginateError, originate_leg
from runner.sim.session import Session
from runner.sim.states import ChannelState


def handle_cause(session: Session, cause: str) -> None:
    """switch_channel_handle_cause: a failed bridge hangs the caller up with the cause,
    unless ``continue_on_fail`` (true, or a list of causes) or ``failure_causes`` (the
    causes that do fail) says to go on; without either, only NO_ANSWER,
    NO_USER_RESPONSE and ORIGINATOR_CANCEL go on."""
    ch = session.channel
    if not ch.ready() or cause == "ATTENDED_TRANSFER":
        return
    number = str(HANGUP_CAUSES.get(cause, ""))

    def listed(spec: str) -> bool:
        return any(item.strip().upper() in (cause, number) for item in spec.split(","))

    failure_causes = ch.get_var("failure_causes")
    go_on = ch.get_var("continue_on_fail")
    # "no answer is *always* a reason to continue" (switch_channel.c), unless told otherwise
    quiet = failure_causes is None and go_on is None
    if quiet and cause in ("NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL"):
        return
    if failure_causes is not None and not listed(failure_causes):
        return
    if go_on is not None and (go_on.lower() in ("true", "yes", "on", "1") or listed(go_on)):
        return
    session.hangup(cause)


async def bridge(session: Session, dial: str) -> None:
    """The ``bridge`` application: originate ``dial``, connect it to ``session``, wait.

    The caller is answered once the other leg answers; CHANNEL_BRIDGE and
    CHANNEL_UNBRIDGE carry both legs' UUIDs (Bridge-A/B-Unique-ID) and each leg then
    shows the other as ``Other-Leg-*``. When the callee hangs up first the caller's
    dialplan goes on (unless ``hangup_after_bridge=true``); ``originate_disposition``
    tells the outcome.
    """
    from runner.sim.signals import Signal
    from runner.sim.wire import c_atoi

    core = session.core
    ch = session.channel
    if not dial.strip():
        ch.set_var("originate_disposition", "INVALID_NUMBER_FORMAT")
        return
    try:
        leg = originate_leg(
            core, dial, cid_name=ch.caller.caller_id_name, cid_number=ch.caller.caller_id_number
        )
    except OriginateError as exc:
        ch.set_var("originate_disposition", exc.cause)
        return
    for name, value in session.exported.items():
        leg.channel.set_var(name, value)
    wake = Signal()
    leg.watch_progress(wake.notify)
    session.watch_progress(wake.notify)
    timeout = float(c_atoi(ch.get_var("call_timeout") or "") or 60)
    # switch_ivr_originate.c: a leg's own leg_timeout ({leg_timeout=N} in the dial
    # string) limits how long that leg may ring, and ends it ALLOTTED_TIMEOUT.
    leg_timeout = c_atoi(leg.channel.get_var("leg_timeout") or "")
    # When the bridge's own call_timeout runs out the ringing leg is cancelled
    # (ORIGINATOR_CANCEL) and the bridge reports NO_ANSWER (seen on 1.10.12).
    expiry, result = "ORIGINATOR_CANCEL", "NO_ANSWER"
    if 0 < leg_timeout <= timeout:
        timeout, expiry = float(leg_timeout), "ALLOTTED_TIMEOUT"
        result = expiry
    deadline = core.clock.now() + timeout
    while ch.ready() and leg.channel.ready() and not leg.channel.answered:
        remaining = deadline - core.clock.now()
        if remaining <= 0:
            leg.hangup(expiry)
            break
        await wake.wait(core.clock.real(remaining))
    if not ch.ready() or not leg.channel.answered or not leg.channel.ready():
        if leg.channel.ready():
            leg.hangup(ch.hangup_cause or "ORIGINATOR_CANCEL")
        cause = leg.channel.hangup_cause or "NO_ANSWER"
        if cause == expiry:
            cause = result
        ch.set_var("originate_disposition", cause)
        ch.set_var("originate_failed_cause", cause)
        handle_cause(session, cause)
        return
    if not ch.answered:
        session.mark_answered()
    ch.set_var("originate_disposition", "SUCCESS")
    now = core.clock.micros()
    a, b = ch, leg.channel
    a.caller.times.bridged = b.caller.times.bridged = now
    a.other_type, a.other_profile = "originatee", b.caller
    b.other_type, b.other_profile = "originator", a.caller
    for mine, theirs in ((a, b), (b, a)):
        mine.set_var("bridge_channel", theirs.name)
        mine.set_var("bridge_uuid", theirs.uuid)
        mine.set_var("signal_bond", theirs.uuid)
        mine.set_var("last_bridge_to", theirs.uuid)
    session.bridged_to, leg.bridged_to = leg, session
    b.state = ChannelState.CS_EXCHANGE_MEDIA
    leg.set_running_state(ChannelState.CS_EXCHANGE_MEDIA)
    ids = [("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)]
    session.fire(
        "CHANNEL_BRIDGE",
        "switch_ivr_bridge.c",
        "switch_ivr_multi_threaded_bridge",
        1719,
        before=ids,
    )
    while ch.ready() and b.ready():
        await wake.wait(None)
    session.fire(
        "CHANNEL_UNBRIDGE",
        "switch_ivr_bridge.c",
        "switch_ivr_multi_threaded_bridge",
        1910,
        before=ids,
    )
    session.bridged_to = leg.bridged_to = None
    if b.ready():
        leg.hangup(ch.hangup_cause or "NORMAL_CLEARING")
    elif ch.ready():
        ch.set_var("bridge_hangup_cause", b.hangup_cause)
        if (ch.get_var("hangup_after_bridge") or "").lower() in ("true", "yes", "on", "1"):
            session.hangup("NORMAL_CLEARING")
