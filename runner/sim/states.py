"""FreeSWITCH channel and call states with their enum numbers (switch_types.h)."""

from __future__ import annotations

from enum import IntEnum

from runner.freeswitch import HANGUP_CAUSES


class ChannelState(IntEnum):
    """switch_channel_state_t; ``Channel-State-Number`` carries the number."""

    CS_NEW = 0
    CS_INIT = 1
    CS_ROUTING = 2
    CS_SOFT_EXECUTE = 3
    CS_EXECUTE = 4
    CS_EXCHANGE_MEDIA = 5
    CS_PARK = 6
    CS_CONSUME_MEDIA = 7
    CS_HIBERNATE = 8
    CS_RESET = 9
    CS_HANGUP = 10
    CS_REPORTING = 11
    CS_DESTROY = 12
    CS_NONE = 13


class CallState(IntEnum):
    """switch_channel_callstate_t; ``Channel-Call-State`` carries the name."""

    DOWN = 0
    DIALING = 1
    RINGING = 2
    EARLY = 3
    ACTIVE = 4
    HELD = 5
    RING_WAIT = 6
    HANGUP = 7
    UNHELD = 8


def cause_from_name(name: str | None, default: str = "NORMAL_CLEARING") -> str:
    """switch_channel_str2cause: a cause name (any case) or Q.850 number, else ``default``."""
    if not name:
        return default
    upper = name.strip().upper()
    if upper in HANGUP_CAUSES:
        return upper
    if upper.isdigit():
        for cause, code in HANGUP_CAUSES.items():
            if code == int(upper):
                return cause
    return default
