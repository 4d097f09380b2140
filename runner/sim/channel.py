"""A simulated channel: states, caller profile, variables, and the headers they produce.

Header names and their order follow switch_channel.c (``switch_channel_event_set_basic_data``
and ``..._extended_data``) and switch_caller.c (``switch_caller_profile_event_set_data``),
so an event built here has the same header names, in the same order, as FreeSWITCH's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from runner.sim.event import Event, HeaderBlock
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

# Header pairs shared by every channel's events: built once, so an event holds the same
# tuple objects instead of new ones (fewer new objects per event, fewer collections).
_READ_CODEC = HeaderBlock(
    [
        ("Channel-Read-Codec-Name", CODEC_NAME),
        ("Channel-Read-Codec-Rate", CODEC_RATE),
        ("Channel-Read-Codec-Bit-Rate", CODEC_BIT_RATE),
    ]
)
_WRITE_CODEC = HeaderBlock(
    [
        ("Channel-Write-Codec-Name", CODEC_NAME),
        ("Channel-Write-Codec-Rate", CODEC_RATE),
        ("Channel-Write-Codec-Bit-Rate", CODEC_BIT_RATE),
    ]
)
_CHANNEL_STATE = {state: ("Channel-State", state.name) for state in ChannelState}
_CALL_STATE = {state: ("Channel-Call-State", state.name) for state in CallState}
_STATE_NUMBER = {state: ("Channel-State-Number", str(int(state))) for state in ChannelState}
_ANSWER_STATE = {
    state: ("Answer-State", state) for state in ("hangup", "answered", "early", "ringing")
}
_HANGUP_CAUSE: dict[str, tuple[str, str]] = {}

_stamps = itertools.count(1)


class _Stamped:
    """Every attribute assignment takes a fresh, never reused stamp, so a cache keyed
    on stamps sees any change, whoever made it and however (``times.answered = ...``)."""

    _stamp: int = 0

    if not TYPE_CHECKING:  # hidden from mypy, which would then accept any attribute name

        def __setattr__(self, name, value):
            object.__setattr__(self, name, value)
            object.__setattr__(self, "_stamp", next(_stamps))


@dataclass
class Times(_Stamped):
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
class CallerProfile(_Stamped):
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

    def block(self, prefix: str) -> HeaderBlock:
        """`headers` as a block, rebuilt only after the profile or its times changed."""
        blocks: dict[str, tuple[int, int, HeaderBlock]] | None = self.__dict__.get("_blocks")
        if blocks is None:
            blocks = {}
            # Not through __setattr__: a cache is no change of the profile.
            object.__setattr__(self, "_blocks", blocks)
        stamp, times_stamp = self._stamp, self.times._stamp
        cached = blocks.get(prefix)
        if cached is None or cached[0] != stamp or cached[1] != times_stamp:
            pairs = [pair for pair in self.headers(prefix) if pair[1]]
            cached = blocks[prefix] = (stamp, times_stamp, HeaderBlock(pairs))
        return cached[2]

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
        self._variables: dict[str, str] = {}
        # Read-only: variables change through set_var, which keeps the header cache right.
        self.variables: Mapping[str, str] = MappingProxyType(self._variables)
        # ("variable_<name>", value) per variable, in set order: built once per set_var.
        self._variable_pairs: dict[str, tuple[str, str]] = {}
        self._variable_block: HeaderBlock | None = None
        self._identity: tuple[tuple[str, str, str, str], HeaderBlock] | None = None
        self._call_uuid: tuple[str, str] | None = None
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
        variables, pairs = self._variables, self._variable_pairs
        if variables.pop(name, None) is not None:
            del pairs[name]
            self._variable_block = None
        if value:
            variables[name] = value
            pairs[name] = (f"variable_{name}", value)
            self._variable_block = None

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

    def _identity_block(self) -> HeaderBlock:
        """Channel-Name .. Channel-HIT-Dialplan: the same for most of a channel's life."""
        hit = "true" if self.direction == "inbound" or self.dialplan_flag else "false"
        key = (self.name, self.uuid, self.direction, hit)
        cached = self._identity
        if cached is None or cached[0] != key:
            pairs = [
                ("Channel-Name", self.name),
                ("Unique-ID", self.uuid),
                ("Call-Direction", self.direction),
                ("Presence-Call-Direction", self.direction),
                ("Channel-HIT-Dialplan", hit),
            ]
            cached = self._identity = (key, HeaderBlock(p for p in pairs if p[1]))
        return cached[1]

    def _call_uuid_pair(self) -> tuple[str, str]:
        value = self._variables.get("call_uuid") or self.uuid
        pair = self._call_uuid
        if pair is None or pair[1] != value:
            pair = self._call_uuid = ("Channel-Call-UUID", value)
        return pair

    def add_basic_data(self, event: Event) -> None:
        """switch_channel_event_set_basic_data: append this channel's headers to ``event``.

        The runs of headers that rarely change (caller profiles, variables) go in as
        cached blocks, and the rest as shared pairs: per event, little is built anew and
        the blocks are URL/JSON-encoded once, not for every event.
        """
        event.add_all(
            (
                _CHANNEL_STATE[self.running_state],
                _CALL_STATE[self.callstate],
                _STATE_NUMBER[self.state],
            )
        )
        event.add_block(self._identity_block())
        tail: list[tuple[str, str | None]] = []
        variables = self._variables
        if variables:
            tail.append(("Channel-Presence-ID", variables.get("presence_id")))
            tail.append(("Channel-Presence-Data", variables.get("presence_data")))
        tail.append(self._call_uuid_pair())
        tail.append(_ANSWER_STATE[self.answer_state])
        cause = self.hangup_cause
        if cause:
            pair = _HANGUP_CAUSE.get(cause)
            if pair is None:
                pair = _HANGUP_CAUSE[cause] = ("Hangup-Cause", cause)
            tail.append(pair)
        event.add_all(tail)
        if self.read_codec:
            event.add_block(_READ_CODEC)
        if self.write_codec:
            event.add_block(_WRITE_CODEC)
        if self.profile_set:
            event.add_block(self.caller.block("Caller"))
        if self.other_type and self.other_profile is not None:
            event.add("Other-Type", self.other_type)
            event.add_block(self.other_profile.block("Other-Leg"))

    def add_data(self, event: Event) -> None:
        """switch_channel_event_set_data: basic data, plus the variables for the events
        in EXTENDED_EVENTS."""
        self.add_basic_data(event)
        if event.name in EXTENDED_EVENTS:
            event.add_block(self.variable_block())

    def variable_block(self) -> HeaderBlock:
        """`variable_headers` as a block, rebuilt only after a variable changed."""
        block = self._variable_block
        if block is None:
            block = self._variable_block = HeaderBlock(self._variable_pairs.values())
        return block

    def basic_headers(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_basic_data, as a list."""
        event = Event("")
        self.add_basic_data(event)
        return event.headers

    def variable_headers(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_extended_data: ``variable_<name>`` in set order."""
        return list(self._variable_pairs.values())

    def data_headers(self, event_name: str) -> list[tuple[str, str]]:
        """switch_channel_event_set_data for an event of this name, as a list."""
        event = Event(event_name)
        self.add_data(event)
        return event.headers
