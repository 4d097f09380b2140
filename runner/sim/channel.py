"""A simulated channel: states, caller profile, variables, and the headers they produce.

Header names and their order follow switch_channel.c (``switch_channel_event_set_basic_data``
and ``..._extended_data``) and switch_caller.c (``switch_caller_profile_event_set_data``),
so an event built here has the same header names, in the same order, as FreeSWITCH's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.sim.event import Event
from runner.sim.states import CallState, ChannelState

if TYPE_CHECKING:
    from runner.sim.session import Session

# switch_channel_event_set_extended_data: only these events carry variable_* headers.
EXTENDED_EVENTS = frozenset(
    {
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_ANSWER",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_DESTROY",
        "SESSION_HEARTBEAT",
        "API",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "TEXT",
        "CUSTOM",
    }
)

CODEC_NAME = "L16"
CODEC_RATE = "8000"
CODEC_BIT_RATE = "128000"


@dataclass
class Times:
    """switch_channel_timetable_t, in microseconds since the epoch (0 = never)."""

    profile_created: int = 0
    created: int = 0
    answered: int = 0
    progress: int = 0
    progress_media: int = 0
    hungup: int = 0
    transferred: int = 0
    resurrected: int = 0
    bridged: int = 0
    last_hold: int = 0
    hold_accum: int = 0


@dataclass
class CallerProfile:
    """switch_caller_profile_t: who called whom, and when things happened."""

    direction: str
    logical_direction: str
    dialplan: str = "xml"
    caller_id_name: str = ""
    caller_id_number: str = ""
    orig_caller_id_name: str = ""
    orig_caller_id_number: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    network_addr: str = ""
    ani: str = ""
    aniii: str = ""
    destination_number: str = ""
    uuid: str = ""
    source: str = ""
    transfer_source: str = ""
    context: str = "default"
    rdnis: str = ""
    chan_name: str = ""
    profile_index: str = "1"
    username: str = ""
    times: Times = field(default_factory=Times)

    def headers(self, prefix: str) -> list[tuple[str, str]]:
        """The ``<prefix>-*`` headers in switch_caller_profile_event_set_data's order."""
        out: list[tuple[str, str]] = [
            (f"{prefix}-Direction", self.direction),
            (f"{prefix}-Logical-Direction", self.logical_direction),
        ]

        def add(name: str, value: str, when: str | None = None) -> None:
            if (value if when is None else when) and value:
                out.append((f"{prefix}-{name}", value))

        add("Username", self.username)
        add("Dialplan", self.dialplan)
        add("Caller-ID-Name", self.caller_id_name)
        add("Caller-ID-Number", self.caller_id_number)
        # The Orig-* names are emitted when the *current* name/number is set.
        add("Orig-Caller-ID-Name", self.orig_caller_id_name, self.caller_id_name)
        add("Orig-Caller-ID-Number", self.orig_caller_id_number, self.caller_id_number)
        add("Callee-ID-Name", self.callee_id_name)
        add("Callee-ID-Number", self.callee_id_number)
        add("Network-Addr", self.network_addr)
        add("ANI", self.ani)
        add("ANI-II", self.aniii)
        add("Destination-Number", self.destination_number)
        add("Unique-ID", self.uuid)
        add("Source", self.source)
        add("Transfer-Source", self.transfer_source)
        add("Context", self.context)
        add("RDNIS", self.rdnis)
        add("Channel-Name", self.chan_name)
        add("Profile-Index", self.profile_index)
        t = self.times
        out += [
            (f"{prefix}-Profile-Created-Time", str(t.profile_created)),
            (f"{prefix}-Channel-Created-Time", str(t.created)),
            (f"{prefix}-Channel-Answered-Time", str(t.answered)),
            (f"{prefix}-Channel-Progress-Time", str(t.progress)),
            (f"{prefix}-Channel-Progress-Media-Time", str(t.progress_media)),
            (f"{prefix}-Channel-Hangup-Time", str(t.hungup)),
            (f"{prefix}-Channel-Transfer-Time", str(t.transferred)),
            (f"{prefix}-Channel-Resurrect-Time", str(t.resurrected)),
            (f"{prefix}-Channel-Bridged-Time", str(t.bridged)),
            (f"{prefix}-Channel-Last-Hold", str(t.last_hold)),
            (f"{prefix}-Channel-Hold-Accum", str(t.hold_accum)),
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false"),
        ]
        return out

    def field_value(self, name: str) -> str | None:
        """switch_caller_get_field_by_name: profile fields readable as variables."""
        value = {
            "dialplan": self.dialplan,
            "username": self.username,
            "caller_id_name": self.caller_id_name,
            "caller_id_number": self.caller_id_number,
            "orig_caller_id_name": self.orig_caller_id_name,
            "orig_caller_id_number": self.orig_caller_id_number,
            "callee_id_name": self.callee_id_name,
            "callee_id_number": self.callee_id_number,
            "ani": self.ani,
            "aniii": self.aniii,
            "network_addr": self.network_addr,
            "rdnis": self.rdnis,
            "destination_number": self.destination_number,
            "uuid": self.uuid,
            "source": self.source,
            "context": self.context,
            "chan_name": self.chan_name,
        }.get(name)
        return value or None


EventSink = Callable[[Event], None]


class Channel:
    """One call leg. Its `Session` runs it; the switch core owns it.

    ``state`` is where the channel is going (``Channel-State-Number``) and
    ``running_state`` the state handler that last ran (``Channel-State``); FreeSWITCH
    reports both and they differ during transitions.
    """

    def __init__(
        self,
        uuid: str,
        name: str,
        direction: str,
        caller: CallerProfile,
        *,
        session_id: int,
    ) -> None:
        self.uuid = uuid
        self.name = name
        self.direction = direction
        self.caller = caller
        self.session_id = session_id
        self.state = ChannelState.CS_NEW
        self.running_state = ChannelState.CS_NONE
        self.callstate = CallState.DOWN
        self.answered = False
        self.early_media = False
        self.dialplan_flag = False  # CF_DIALPLAN
        self.read_codec = False
        self.write_codec = False
        self.hangup_cause: str | None = None
        self.variables: dict[str, str] = {}
        self.profile_set = False  # FreeSWITCH adds Caller-* only once a profile exists
        self.other_type: str | None = None
        self.other_profile: CallerProfile | None = None
        self.app_log: list[tuple[str, str | None]] = []
        self.dtmf_log: list[str] = []
        self.session: Session | None = None

    def __repr__(self) -> str:
        return f"Channel({self.uuid}, {self.name!r}, {self.running_state.name})"

    # -- variables (switch_channel_set_variable: set = delete + append) -----------------

    def set_var(self, name: str, value: str | None) -> None:
        self.variables.pop(name, None)
        if value:
            self.variables[name] = value

    def get_var(self, name: str) -> str | None:
        if name in self.variables:
            return self.variables[name]
        return self.caller.field_value(name)

    # -- states ---------------------------------------------------------------------------

    # Methods, not properties: the answer changes while a coroutine awaits, and a type
    # checker must not assume a value it checked before an ``await`` still holds.
    def down(self) -> bool:
        """switch_channel_down: hangup requested or past it."""
        return self.state >= ChannelState.CS_HANGUP

    def ready(self) -> bool:
        return not self.down()

    @property
    def answer_state(self) -> str:
        if self.down():
            return "hangup"
        if self.answered:
            return "answered"
        if self.early_media:
            return "early"
        return "ringing"

    # -- headers --------------------------------------------------------------------------

    def basic_headers(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_basic_data."""
        out = [
            ("Channel-State", self.running_state.name),
            ("Channel-Call-State", self.callstate.name),
            ("Channel-State-Number", str(int(self.state))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            (
                "Channel-HIT-Dialplan",
                "true" if self.direction == "inbound" or self.dialplan_flag else "false",
            ),
        ]
        for var, header in (
            ("presence_id", "Channel-Presence-ID"),
            ("presence_data", "Channel-Presence-Data"),
        ):
            value = self.variables.get(var)
            if value:
                out.append((header, value))
        out.append(("Channel-Call-UUID", self.variables.get("call_uuid") or self.uuid))
        out.append(("Answer-State", self.answer_state))
        if self.hangup_cause:
            out.append(("Hangup-Cause", self.hangup_cause))
        if self.read_codec:
            out += [
                ("Channel-Read-Codec-Name", CODEC_NAME),
                ("Channel-Read-Codec-Rate", CODEC_RATE),
                ("Channel-Read-Codec-Bit-Rate", CODEC_BIT_RATE),
            ]
        if self.write_codec:
            out += [
                ("Channel-Write-Codec-Name", CODEC_NAME),
                ("Channel-Write-Codec-Rate", CODEC_RATE),
                ("Channel-Write-Codec-Bit-Rate", CODEC_BIT_RATE),
            ]
        if self.profile_set:
            out += self.caller.headers("Caller")
        if self.other_type and self.other_profile is not None:
            out.append(("Other-Type", self.other_type))
            out += self.other_profile.headers("Other-Leg")
        return out

    def variable_headers(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_extended_data: ``variable_<name>`` in set order."""
        return [(f"variable_{name}", value) for name, value in self.variables.items()]

    def data_headers(self, event_name: str) -> list[tuple[str, str]]:
        """switch_channel_event_set_data for an event of this name."""
        out = self.basic_headers()
        if event_name in EXTENDED_EVENTS:
            out += self.variable_headers()
        return out
