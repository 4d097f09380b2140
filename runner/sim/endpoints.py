"""Where channels come from: loopback pairs, simulated phones, and the originate logic.

``loopback/<ext>[/<context>]`` builds FreeSWITCH's two-leg loopback call exactly as the
captures show it (mod_loopback.c): the A leg is the originated one, the B leg runs the
dialplan. ``sim/<number>``, ``user/<number>`` and ``sofia/<profile>/<number>`` reach a
simulated phone that answers after a configurable delay. Inbound calls placed through
the Python API arrive from such a phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import anyio

from runner.sim.channel import CallerProfile, Channel
from runner.sim.core import SwitchCore, new_uuid
from runner.sim.session import Session
from runner.sim.states import ChannelState

DEFAULT_CID_NUMBER = "0000000000"  # SWITCH_DEFAULT_CLID_NUMBER


class OriginateError(Exception):
    """An originate failed; ``cause`` is the hangup cause FreeSWITCH reports (-ERR <cause>)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass
class DialString:
    """``{var=value,...}endpoint/...`` split into originate variables and the target."""

    variables: dict[str, str]
    target: str


def parse_dial_string(text: str) -> DialString:
    variables: dict[str, str] = {}
    text = text.strip()
    while text[:1] in ("{", "[", "<"):
        close = {"{": "}", "[": "]", "<": ">"}[text[0]]
        end = text.find(close)
        if end < 0:
            break
        for item in _split_vars(text[1:end]):
            name, sep, value = item.partition("=")
            if sep and name.strip():
                variables[name.strip()] = _unquote(value.strip())
        text = text[end + 1 :]
    return DialString(variables, text)


def _split_vars(spec: str) -> list[str]:
    """Split on commas outside single quotes (``{a='x,y',b=2}``)."""
    out: list[str] = []
    current = ""
    quoted = False
    for ch in spec:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


# -- endpoints -----------------------------------------------------------------------------


class PhoneEndpoint:
    """A simulated far end: no partner leg, nothing extra to report."""

    def on_answer(self, session: Session) -> None:
        pass

    def on_pre_answer(self, session: Session) -> None:
        pass

    def on_hangup(self, session: Session) -> None:
        pass  # a bridged partner is handled by the bridge application

    def reporting_vars(self, session: Session) -> list[tuple[str, str]]:
        return []


class LoopbackEndpoint:
    """mod_loopback: answering or hanging up one leg does the same to the other."""

    def __init__(self, leg: str) -> None:
        self.leg = leg
        self.partner: Session | None = None

    def on_answer(self, session: Session) -> None:
        if self.leg == "B" and self.partner is not None:
            self.partner.mark_answered()

    def on_pre_answer(self, session: Session) -> None:
        if self.leg == "B" and self.partner is not None:
            self.partner.mark_pre_answered()

    def on_hangup(self, session: Session) -> None:
        partner = self.partner
        if partner is None:
            return
        cause = session.channel.hangup_cause or "NORMAL_CLEARING"
        orderings = session.core.orderings
        if cause != "NORMAL_CLEARING" and orderings.rare("other_cause"):
            cause = "NORMAL_CLEARING"
        if partner.parked and orderings.rare("unpark_first"):
            # mod_loopback unlinks the pair before it hangs the other leg up; a leg
            # reading frames in park may notice first and leave park before its hangup.
            partner.unlink_then_hangup(cause)
        else:
            partner.hangup(cause)

    def reporting_vars(self, session: Session) -> list[tuple[str, str]]:
        return [("is_loopback", "1")]


def sanitize_number(number: str) -> str:
    """switch_sanitize_number: drop ``@host`` and everything up to the last ``/`` or ``:``."""
    if not any(c in number for c in "/:@"):
        return number
    number = number.split("@", 1)[0]
    for sep in "/:":
        number = number.rsplit(sep, 1)[-1]
    return number


def _fire_codec_events(session: Session) -> None:
    """The two CODEC events a new channel fires as its codecs are set (switch_core_codec.c).

    FreeSWITCH adds lower-case duplicates on read and a mixed-case set on write; the
    simulator keeps those names exactly.
    """
    core, ch = session.core, session.channel
    ch.read_codec = True
    ev = core.new_event("CODEC", "switch_core_codec.c", "switch_core_session_set_read_codec", 279)
    ch.add_basic_data(ev)
    ev.add_all(
        [
            ("channel-read-codec-name", "L16"),
            ("channel-read-codec-rate", "8000"),
            ("channel-read-codec-bit-rate", "128000"),
        ]
    )
    core.fire(ev)
    ch.write_codec = True
    ev = core.new_event("CODEC", "switch_core_codec.c", "switch_core_session_set_write_codec", 450)
    ch.add_basic_data(ev)
    ev.add_all(
        [
            ("Channel-Write-Codec-Name", "L16"),
            ("Channel-Write-Codec-Rate", "8000"),
            ("Channel-Write-codec-bit-rate", "128000"),
        ]
    )
    core.fire(ev)


def _codec_vars() -> list[tuple[str, str]]:
    return [
        ("read_codec", "L16"),
        ("read_rate", "8000"),
        ("write_codec", "L16"),
        ("write_rate", "8000"),
    ]


def _new_profile(direction: str, **fields: str) -> CallerProfile:
    # Only string fields come here (never times), set once by the constructor.
    return CallerProfile(direction=direction, logical_direction=direction, **fields)  # type: ignore[arg-type]


def _start(core: SwitchCore, session: Session, inbound: bool) -> None:
    core.add_channel(session.channel)
    runner = session.run_inbound if inbound else session.run_outbound

    async def guarded() -> None:
        # Each channel is its own exception barrier: the session turns a failure into a
        # CRASH hangup; this catches one in the teardown itself, so no call takes the
        # simulator down.
        try:
            await runner()
        except Exception as exc:
            core.log(2, "session.py", "run", 0, f"channel {session.channel.uuid} failed: {exc!r}")
            session.destroyed.set()
            core.remove_channel(session.channel)

    core.spawn(guarded, name=f"channel {session.channel.name}")


# -- originate -----------------------------------------------------------------------------


def create_loopback(
    core: SwitchCore, target: str, variables: dict[str, str], *, cid_name: str, cid_number: str
) -> tuple[Session, Session]:
    """Build a loopback pair (mod_loopback.c) and start its B leg on the dialplan.

    ``target`` is what follows ``loopback/``: ``<ext>[/<context>[/<dialplan>]]``.
    Returns the A (originated) and B (dialplan) sessions.
    """
    parts = target.split("/")
    dest = parts[0]
    context = parts[1] if len(parts) > 1 and parts[1] else "default"
    dialplan = parts[2] if len(parts) > 2 and parts[2] else "xml"
    clock = core.clock
    now = clock.micros()

    given_uuid = variables.get("origination_uuid")
    a = Channel(
        new_uuid(),
        f"loopback/{target}-a",
        "outbound",
        _new_profile("outbound"),
        session_id=core.next_session_id(),
    )
    a_ep = LoopbackEndpoint("A")
    a_sess = Session(core, a, a_ep)
    a.set_var("direction", "outbound")
    a.set_var("is_outbound", "true")
    a.set_var("session_id", str(a.session_id))
    _fire_codec_events(a_sess)
    for name, value in _codec_vars():
        a.set_var(name, value)
    # switch_core_session_set_uuid: the originated leg takes origination_uuid (and
    # only then fires CHANNEL_UUID: a bridge's plain dial string does not).
    old_uuid = a.uuid
    a_uuid = a.uuid = given_uuid or old_uuid
    a.name = f"loopback/{dest}-a"
    a.state = ChannelState.CS_INIT
    a.caller = _new_profile(
        "outbound",
        dialplan=dialplan,
        caller_id_name=cid_name,
        caller_id_number=cid_number,
        orig_caller_id_name=cid_name,
        orig_caller_id_number=cid_number,
        callee_id_name="Outbound Call",
        callee_id_number=sanitize_number(target),
        ani=cid_number,
        destination_number=dest,
        uuid=a_uuid,
        source="mod_loopback",
        context=context,
        chan_name=a.name,
    )
    a.caller.times.profile_created = a.caller.times.created = now
    a.profile_set = True
    a.set_var("channel_name", a.name)
    a.set_var("uuid", a.uuid)
    a.set_var("call_uuid", a.uuid)
    if given_uuid:
        a_sess.fire(
            "CHANNEL_UUID",
            "switch_core_session.c",
            "switch_core_session_set_uuid",
            2051,
            before=[("Old-Unique-ID", old_uuid)],
        )
    a_sess.fire(
        "CHANNEL_OUTGOING", "switch_core_session.c", "switch_core_session_outgoing_channel", 768
    )
    for name, value in variables.items():
        a.set_var(name, value)
    a.set_var("origination_uuid", variables.get("origination_uuid") or a.uuid)
    a.set_var("originate_early_media", "true")
    a.set_var("originate_endpoint", "loopback")
    a_sess.set_running_state(ChannelState.CS_INIT)

    # loopback's on_init creates the B leg, which will run the dialplan.
    b = Channel(
        new_uuid(),
        f"loopback/{dest}-b",
        "inbound",
        _new_profile("inbound"),
        session_id=core.next_session_id(),
    )
    b_ep = LoopbackEndpoint("B")
    b_sess = Session(core, b, b_ep)
    _fire_codec_events(b_sess)
    a_ep.partner, b_ep.partner = b_sess, a_sess
    a.set_var("other_loopback_leg_uuid", b.uuid)
    a.set_var("loopback_leg", "A")
    b.set_var("direction", "inbound")
    b.set_var("uuid", b.uuid)
    b.set_var("call_uuid", b.uuid)
    b.set_var("session_id", str(b.session_id))
    b.set_var("channel_name", b.name)
    for name, value in _codec_vars():
        b.set_var(name, value)
    b.set_var("origination_uuid", a.uuid)
    b.set_var("other_loopback_leg_uuid", a.uuid)
    b.set_var("loopback_leg", "B")
    b.caller = _new_profile(
        "inbound",
        dialplan=dialplan,
        caller_id_number=cid_number,
        orig_caller_id_number=cid_number,
        caller_id_name=cid_name,
        orig_caller_id_name=cid_name,
        callee_id_name="Outbound Call",
        callee_id_number=sanitize_number(target),
        ani=cid_number,
        destination_number=dest,
        uuid=b.uuid,
        source="mod_loopback",
        context=context,
        chan_name=b.name,
    )
    b.caller.times.profile_created = b.caller.times.created = now
    b.profile_set = True

    def a_leg_runs() -> None:
        if a.down():
            return
        a.state = ChannelState.CS_ROUTING
        a_sess.fire("CHANNEL_CREATE", "switch_core_state_machine.c", "switch_core_session_run", 626)
        a_sess.fire(
            "CHANNEL_ORIGINATE", "switch_core_state_machine.c", "switch_core_session_run", 632
        )
        a_sess.set_running_state(ChannelState.CS_ROUTING)
        a.state = ChannelState.CS_CONSUME_MEDIA
        a_sess.set_running_state(ChannelState.CS_CONSUME_MEDIA)

    orderings = core.orderings
    if orderings.rare("late_create"):
        # The a-leg's thread may start after the b-leg answered or even parked: its
        # CHANNEL_ANSWER then fires in CS_INIT, before its CHANNEL_CREATE (1.10.12).
        until_parked = orderings.rare("late_create")

        async def late() -> None:
            with anyio.move_on_after(clock.real(1.0)):
                while b.ready() and not (b_sess.parked if until_parked else b.answered):
                    await clock.sleep(0.005)
            a_leg_runs()

        core.spawn(late, name=f"late create {a.uuid}")
    else:
        a_leg_runs()

    if orderings.rare("a_destroyed_first"):
        b_sess.hold()
        a_sess.lock_partner = b_sess
    else:
        # The A leg is mostly destroyed after the B leg (capture c_events_all: B's
        # DESTROY comes first even when A hung up first).
        a_sess.hold()
        b_sess.lock_partner = a_sess
    b.state = ChannelState.CS_INIT
    _start(core, a_sess, inbound=False)
    _start(core, b_sess, inbound=True)
    return a_sess, b_sess


def create_phone_leg(
    core: SwitchCore, target: str, variables: dict[str, str], *, cid_name: str, cid_number: str
) -> Session:
    """An outbound leg to a simulated phone (``sim/1000``, ``user/1000``, ``sofia/x/1000``)."""
    number = target.rsplit("/", 1)[-1]
    uuid = variables.get("origination_uuid") or new_uuid()
    name = target if target.startswith("sofia/") else f"sofia/sim/{number}"
    ch = Channel(
        uuid, name, "outbound", _new_profile("outbound"), session_id=core.next_session_id()
    )
    sess = Session(core, ch, PhoneEndpoint())
    now = core.clock.micros()
    ch.caller = _new_profile(
        "outbound",
        dialplan="xml",
        caller_id_name=cid_name,
        caller_id_number=cid_number,
        orig_caller_id_name=cid_name,
        orig_caller_id_number=cid_number,
        callee_id_name="Outbound Call",
        callee_id_number=number.split("@", 1)[0],
        ani=cid_number,
        destination_number=number.split("@", 1)[0],
        uuid=uuid,
        source="mod_sofia",
        context="default",
        chan_name=name,
    )
    ch.caller.times.profile_created = ch.caller.times.created = now
    ch.profile_set = True
    ch.read_codec = ch.write_codec = True
    for var, value in [
        ("direction", "outbound"),
        ("is_outbound", "true"),
        ("uuid", uuid),
        ("session_id", str(ch.session_id)),
        ("channel_name", name),
        *_codec_vars(),
        *variables.items(),
        ("originate_endpoint", target.split("/", 1)[0]),
    ]:
        ch.set_var(var, value)
    ch.state = ChannelState.CS_INIT
    sess.fire(
        "CHANNEL_OUTGOING", "switch_core_session.c", "switch_core_session_outgoing_channel", 768
    )
    sess.set_running_state(ChannelState.CS_INIT)
    ch.state = ChannelState.CS_ROUTING
    sess.fire("CHANNEL_CREATE", "switch_core_state_machine.c", "switch_core_session_run", 626)
    sess.fire("CHANNEL_ORIGINATE", "switch_core_state_machine.c", "switch_core_session_run", 632)
    sess.set_running_state(ChannelState.CS_ROUTING)
    ch.state = ChannelState.CS_CONSUME_MEDIA
    sess.set_running_state(ChannelState.CS_CONSUME_MEDIA)
    _start(core, sess, inbound=False)

    async def far_end_answers() -> None:
        if ch.ready():
            sess.mark_ring_ready()  # the phone rings...
        await core.clock.sleep(core.answer_delay)
        if ch.ready():
            sess.mark_answered()  # ... and is picked up

    core.spawn(far_end_answers, name=f"answer {uuid}")
    return sess


def originate_leg(
    core: SwitchCore, dial: str, *, cid_name: str = "", cid_number: str = ""
) -> Session:
    """Create the outbound leg a dial string names; raise `OriginateError` if unknown."""
    parsed = parse_dial_string(dial)
    variables = parsed.variables
    cid_name = variables.get("origination_caller_id_name", cid_name)
    cid_number = variables.get("origination_caller_id_number", cid_number) or DEFAULT_CID_NUMBER
    if parsed.variables.get("origination_uuid") in core.channels:
        raise OriginateError("DESTINATION_OUT_OF_ORDER")
    endpoint, _, rest = parsed.target.partition("/")
    if endpoint == "loopback" and rest:
        a_sess, _ = create_loopback(core, rest, variables, cid_name=cid_name, cid_number=cid_number)
        return a_sess
    if endpoint in ("sim", "user", "sofia") and rest:
        return create_phone_leg(
            core, parsed.target, variables, cid_name=cid_name, cid_number=cid_number
        )
    raise OriginateError("CHAN_NOT_IMPLEMENTED")


async def wait_answer(session: Session, timeout: float) -> None:
    """Wait (simulated seconds) until the leg answers; raise `OriginateError` otherwise."""
    clock = session.core.clock
    with anyio.move_on_after(clock.real(timeout)):
        while session.channel.ready() and not session.channel.answered:
            await session.progress.wait(None)
    ch = session.channel
    if ch.answered and ch.ready():
        return
    if ch.ready():
        session.hangup("NO_ANSWER")
    raise OriginateError(ch.hangup_cause or "NO_ANSWER")


def flip_cid(session: Session) -> None:
    """switch_channel_flip_cid: once answered, the A leg shows the callee as its caller."""
    ch = session.channel
    profile = ch.caller
    ch.set_var("pre_transfer_caller_id_number", profile.caller_id_number)
    old_name, old_number = profile.caller_id_name, profile.caller_id_number
    profile.caller_id_name = profile.callee_id_name
    profile.caller_id_number = profile.callee_id_number
    profile.callee_id_name = old_name
    profile.callee_id_number = old_number
    ch.set_var("channel_cid_flipped", "yes")
    ch.dialplan_flag = True
    session.fire(
        "CALL_UPDATE",
        "switch_channel.c",
        "switch_channel_flip_cid",
        3277,
        before=[("Direction", "RECV")],
    )


_APP_CALL = re.compile(r"^&([^()\s]+)(?:\((.*)\))?$", re.DOTALL)


def parse_app_target(exten: str) -> tuple[str, str | None] | None:
    """``&app(args)`` as originate takes it, or None for a dialplan extension."""
    match = _APP_CALL.match(exten)
    if match is None:
        return None
    return match.group(1), (match.group(2) or None)


# -- inbound calls from the simulated phone ------------------------------------------------


def create_inbound_call(
    core: SwitchCore,
    *,
    destination: str,
    caller_number: str,
    caller_name: str,
    context: str,
    variables: dict[str, str],
    uuid: str | None,
    dtmf: list[str],
    host: str,
) -> Session:
    """A call arriving from a simulated SIP phone; it runs the dialplan like any call."""
    uuid = uuid or new_uuid()
    name = f"sofia/internal/{caller_number}@{host}"
    caller = _new_profile(
        "inbound",
        dialplan="XML",
        username=caller_number,
        caller_id_name=caller_name,
        caller_id_number=caller_number,
        orig_caller_id_name=caller_name,
        orig_caller_id_number=caller_number,
        network_addr="127.0.0.1",
        ani=caller_number,
        destination_number=destination,
        uuid=uuid,
        source="mod_sofia",
        context=context,
        chan_name=name,
    )
    ch = Channel(uuid, name, "inbound", caller, session_id=core.next_session_id())
    sess = Session(core, ch, PhoneEndpoint(), scripted_dtmf=dtmf)
    now = core.clock.micros()
    ch.caller.times.profile_created = ch.caller.times.created = now
    ch.profile_set = True
    ch.read_codec = ch.write_codec = True
    for var, value in [
        ("direction", "inbound"),
        ("uuid", uuid),
        ("session_id", str(ch.session_id)),
        ("sip_from_user", caller_number),
        ("sip_from_host", host),
        ("sip_to_user", destination),
        ("sip_req_user", destination),
        ("channel_name", name),
        *_codec_vars(),
        *variables.items(),
    ]:
        ch.set_var(var, value)
    ch.state = ChannelState.CS_INIT
    _start(core, sess, inbound=True)
    return sess


# -- bridge --------------------------------------------------------------------------------
