"""Every capture in tests/data/captures, replayed against the simulator.

For each connection the simulator must send the same messages as FreeSWITCH 1.10.12
did: same framing (outer header names, in order), same Content-Types, the exact
Reply-Texts (UUIDs aside), api bodies (UUIDs and numbers aside, where the data is the
same), and for every event the same header names in the same order plus the key values
(state, call state, answer state, application, cause).

Where FreeSWITCH's own threads race (two call legs, the event thread against the
connection thread), events are compared per call leg, in order, and the capture's
ordering across legs is not required; each such case says why below. Bodies that hold
data the simulator does not have (FreeSWITCH's full module list, 177 kB of XML
configuration) or order differently (rows of `show channels`) are compared by shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from helpers.esl_frames import Msg
from helpers.sim_replay import replay_scenario, uuid_norm

KEY_VALUES = (
    "Event-Name",
    "Event-Subclass",
    "Channel-State",
    "Channel-State-Number",
    "Channel-Call-State",
    "Answer-State",
    "Hangup-Cause",
    "Application",
    "Application-Data",
    "Application-Response",
    "API-Command",
    "Job-Command",
    "Job-Command-Arg",
    "Content-Type",
    "Socket-Mode",
    "Control",
    "Reply-Text",
)


@dataclass(frozen=True)
class Spec:
    strict: bool = True  # compare the global order of all messages
    heartbeat: float = 1e6
    acl: tuple[str, ...] = ("127.0.0.0/8",)
    # api bodies compared by shape only (the data differs: module lists, row order)
    api_shapes: dict[int, str] = field(default_factory=dict)
    # (connection, event name) pairs FreeSWITCH itself delivers or not depending on a race
    racy: frozenset[tuple[str, str]] = frozenset()
    # stop comparing a connection after this many messages (extra scheduler noise)
    limit: dict[str, int] = field(default_factory=dict)


# Where FreeSWITCH's legs raced: the two legs' threads interleave differently in captures
# of the same scenario (compare c_events_all_xml with _plain); events are then compared
# per leg, in order.
LEGS_RACE = "leg threads interleave differently than in the plain capture"
RACY_PARK = frozenset({("O", "CHANNEL_PARK")})

SCENARIOS: dict[str, Spec] = {
    "a1_auth_wrongpass": Spec(),
    "a2_auth_api": Spec(),
    "b_bgapi_plain": Spec(),
    "b_bgapi_json": Spec(),
    "b_bgapi_xml": Spec(),
    "c_events_all_plain": Spec(heartbeat=12.0),
    # A second RE_SCHEDULE (another FreeSWITCH timer) ends the json capture.
    "c_events_all_json": Spec(heartbeat=12.0, limit={"E": 53}),
    "c_events_all_xml": Spec(strict=False, heartbeat=12.0),  # LEGS_RACE (CALL_UPDATE early)
    "d1_filters": Spec(strict=False),  # LEGS_RACE (the two legs' park EXECUTE)
    "d2_misc_commands": Spec(),
    "d3_myevents_plain": Spec(),
    "d3_myevents_uuid_json": Spec(),
    "d3_myevents_uuid_xml": Spec(),
    "d3_myevents_json_uuid_wrong_order": Spec(),
    "d3_myevents_bogus_uuid": Spec(),
    "d3_myevents_json_no_uuid": Spec(),
    "d3_myevents_then_linger": Spec(),
    "e_sendmsg": Spec(),
    "f_sendevent": Spec(),
    # CHANNEL_PARK races the `myevents` command in FreeSWITCH (g4 got it, g1-g3 did not).
    "g1_outbound_async": Spec(racy=RACY_PARK),
    # In sync mode FreeSWITCH's event thread and the socket race: the linger notice
    # came before CHANNEL_HANGUP in the capture; the simulator queues the event first.
    "g2_outbound_sync": Spec(strict=False, racy=RACY_PARK),
    "g3_outbound_async_nolinger": Spec(racy=RACY_PARK),
    "g4_outbound_async_linger_2s": Spec(racy=RACY_PARK),
    "h1_cmd_before_auth": Spec(),
    "h2_wrongpass_retry": Spec(),
    "h3_large_api": Spec(api_shapes={2: "csv", 3: "csv", 4: "xml"}),
    "h4_event_resubscribe": Spec(),
    "h5_crlf_pipelining": Spec(),
    "h6_active_channel_api": Spec(
        api_shapes={3: "json", 4: "json", 5: "csv", 6: "dump", 7: "dump"}
    ),
    "h7_same_conn_interleave": Spec(),
    "h8_blocking_api": Spec(),
    "h9_acl_rude_rejection": Spec(acl=("10.0.0.0/8",)),
}


def _norm_body(body: bytes) -> str:
    text = uuid_norm(body.decode("utf-8", "replace"))
    return re.sub(r"\d+", "<n>", text)


def _shape(kind: str, body: bytes) -> object:
    text = body.decode("utf-8", "replace")
    if kind == "csv":
        lines = text.split("\n")
        return (lines[0], lines[-1] == "" and re.fullmatch(r"\d+ total\.", lines[-2]) is not None)
    if kind == "json":
        import json

        data = json.loads(text)
        return (data["row_count"], [sorted(row) for row in data.get("rows", [])])
    if kind == "dump":
        if text.startswith("{"):
            import json

            return list(json.loads(text, object_pairs_hook=lambda p: [k for k, _ in p]))
        return [line.split(": ", 1)[0] for line in text.split("\n")]
    if kind == "xml":
        return text.split(" ", 2)[:2]
    raise AssertionError(kind)


def _role(headers: list[tuple[str, str]], seen: dict[tuple[str, str], int]) -> str:
    values = dict(headers)
    uuid = values.get("Unique-ID")
    name = values.get("Channel-Name")
    if uuid is None or name is None:
        return "core"
    key = (name, uuid)
    if key not in seen:
        seen[key] = sum(1 for n, _ in seen if n == name)
    return f"{name}#{seen[key]}"


def _signature(
    msg: Msg, index: int, spec: Spec, roles: dict[tuple[str, str], int]
) -> tuple[object, ...]:
    ctype = msg.content_type
    headers = msg.event()
    if headers is not None:
        return ("event", _role(headers, roles), dict(headers).get("Event-Name"))
    if ctype == "command/reply" and msg.get("Socket-Mode"):
        # the outbound `connect` reply: a channel-data dump in command/reply clothing
        return (
            "connect",
            tuple(msg.names),
            msg.get("Reply-Text"),
            msg.get("Socket-Mode"),
            msg.get("Control"),
        )
    if ctype == "command/reply":
        return ("reply", tuple(msg.names), uuid_norm(msg.get("Reply-Text") or ""))
    if ctype == "api/response":
        if index in spec.api_shapes:
            return ("api", tuple(msg.names), _shape(spec.api_shapes[index], msg.body))
        return ("api", tuple(msg.names), _norm_body(msg.body))
    if ctype == "log/data":
        return (
            "log",
            tuple(msg.names),
            msg.get("Log-Level"),
            msg.get("Log-File"),
            msg.get("Log-Func"),
        )
    return (
        ctype,
        tuple(msg.names),
        uuid_norm(msg.body.decode("utf-8", "replace")),
        msg.get("Content-Disposition"),
        msg.get("Linger-Time"),
    )


def _key_values(headers: list[tuple[str, str]]) -> dict[str, str]:
    values = dict(headers)
    # The outbound server's port is whatever the test listened on.
    return {
        k: re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", uuid_norm(values[k]))
        for k in KEY_VALUES
        if k in values
    }


def compare(name: str, spec: Spec, expected: list[Msg], actual: list[Msg]) -> None:
    if name in spec.limit:
        expected, actual = expected[: spec.limit[name]], actual[: spec.limit[name]]
    exp_roles: dict[tuple[str, str], int] = {}
    act_roles: dict[tuple[str, str], int] = {}
    exp_sig = [_signature(m, i, spec, exp_roles) for i, m in enumerate(expected)]
    act_sig = [_signature(m, i, spec, act_roles) for i, m in enumerate(actual)]
    racy = {event for conn, event in spec.racy if conn == name}

    def keep(sig: tuple[object, ...]) -> bool:
        return not (sig[0] == "event" and sig[2] in racy)

    exp_idx = [i for i, s in enumerate(exp_sig) if keep(s)]
    act_idx = [i for i, s in enumerate(act_sig) if keep(s)]
    if spec.strict:
        assert [exp_sig[i] for i in exp_idx] == [act_sig[i] for i in act_idx], f"connection {name}"
        pairs = list(zip(exp_idx, act_idx, strict=True))
    else:
        exp_plain = [exp_sig[i] for i in exp_idx if exp_sig[i][0] != "event"]
        act_plain = [act_sig[i] for i in act_idx if act_sig[i][0] != "event"]
        assert exp_plain == act_plain, f"connection {name}: non-event messages"
        pairs = []
        for role in sorted({s[1] for s in exp_sig + act_sig if s[0] == "event"}, key=str):
            e = [i for i in exp_idx if exp_sig[i][0] == "event" and exp_sig[i][1] == role]
            a = [i for i in act_idx if act_sig[i][0] == "event" and act_sig[i][1] == role]
            assert [exp_sig[i][2] for i in e] == [act_sig[i][2] for i in a], f"{name} {role}"
            pairs += list(zip(e, a, strict=True))
    for ei, ai in pairs:
        exp_msg, act_msg = expected[ei], actual[ai]
        assert exp_msg.names == act_msg.names, f"{name}[{ai}] outer headers"
        exp_h, act_h = exp_msg.event(), act_msg.event()
        if exp_h is not None and act_h is not None:
            where = f"{name}[{ai}] {dict(exp_h).get('Event-Name')}"
            assert [k for k, _ in exp_h] == [k for k, _ in act_h], where
            assert _key_values(exp_h) == _key_values(act_h), where
        elif exp_msg.get("Socket-Mode"):
            assert exp_msg.names == act_msg.names


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_capture_replays_identically(scenario: str) -> None:
    spec = SCENARIOS[scenario]
    conns, replay = await replay_scenario(scenario, heartbeat=spec.heartbeat, acl=spec.acl)
    for name, conn in sorted(conns.items()):
        compare(name, spec, conn.expected, replay.received[name])
