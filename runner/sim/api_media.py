"""API commands that act on a call's media: ``uuid_send_dtmf`` and ``uuid_break``.

Texts and arguments follow mod_commands.c (uuid_send_dtmf_function, break_function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.sim.endpoints import LoopbackEndpoint

if TYPE_CHECKING:
    from runner.sim.core import SwitchCore
    from runner.sim.session import Session


def _live(core: SwitchCore, uuid: str) -> Session | None:
    channel = core.channels.get(uuid)
    session = channel.session if channel is not None else None
    if session is None or session.destroyed.is_set():
        return None
    return session


async def api_uuid_send_dtmf(core: SwitchCore, arg: str) -> str:
    """``uuid_send_dtmf <uuid> <digits>``: the channel sends the digits to its far end.

    On a loopback leg the far end is the other leg, which receives them (DTMF events
    there, digits for its read apps): that is how a test presses keys on a call it
    placed. A phone leg's far end is the simulated phone, which ignores them.
    """
    uuid, _, digits = arg.strip().partition(" ")
    digits = digits.strip().split(" ")[0] if digits.strip() else ""
    if not uuid or not digits:
        return "-USAGE: <uuid> <dtmf_data>\n"
    session = _live(core, uuid)
    if session is None:
        return "-ERR Cannot locate session!\n"
    endpoint = session.endpoint
    if isinstance(endpoint, LoopbackEndpoint) and endpoint.partner is not None:
        keys = "".join(d for d in digits if d in "0123456789*#ABCDabcd")
        endpoint.partner.queue_dtmf(keys.upper(), source="INBAND_AUDIO")
    return f"+OK {uuid} sent DTMF {digits}.\n"


async def api_uuid_break(core: SwitchCore, arg: str) -> str:
    """``uuid_break <uuid> [all]``: stop the media the channel is playing (CF_BREAK);
    ``all`` also drops the sendmsg commands queued behind it."""
    if not arg.strip():
        return "-USAGE: <uuid> [all]\n"
    uuid, _, flag = arg.strip().partition(" ")
    session = _live(core, uuid)
    if session is None:
        return "-ERR No such channel!\n"
    session.request_break(flush="all" in flag)
    return "+OK\n"
