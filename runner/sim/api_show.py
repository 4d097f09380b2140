"""What ``show channels`` and ``show calls`` print: their columns, one row per channel,
as FreeSWITCH's core database lays them out (plain table or ``as json``)."""

from __future__ import annotations

import json
import time

from runner.sim.core import SwitchCore
from runner.sim.session import Session

CHANNEL_COLUMNS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
)

CALL_COLUMNS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
    "b_uuid",
    "b_direction",
    "b_created",
    "b_created_epoch",
    "b_name",
    "b_state",
    "b_cid_name",
    "b_cid_num",
    "b_ip_addr",
    "b_dest",
    "b_presence_id",
    "b_presence_data",
    "b_accountcode",
    "b_callstate",
    "b_callee_name",
    "b_callee_num",
    "b_callee_direction",
    "b_sent_callee_name",
    "b_sent_callee_num",
    "call_created_epoch",
)


def channel_row(core: SwitchCore, session: Session) -> dict[str, str]:
    ch = session.channel
    cp = ch.caller
    created = cp.times.created // 1_000_000
    app = ch.variables.get("current_application", "")
    row = dict.fromkeys(CALL_COLUMNS + CHANNEL_COLUMNS, "")
    row.update(
        uuid=ch.uuid,
        direction=ch.direction,
        created=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        created_epoch=str(created),
        name=ch.name,
        state=ch.running_state.name,
        cid_name=cp.caller_id_name,
        cid_num=cp.caller_id_number,
        ip_addr=cp.network_addr,
        dest=cp.destination_number,
        application=app,
        application_data=ch.variables.get("current_application_data", ""),
        dialplan=cp.dialplan,
        context=cp.context,
        read_codec="L16",
        read_rate="8000",
        read_bit_rate="128000",
        write_codec="L16",
        write_rate="8000",
        write_bit_rate="128000",
        hostname=core.identity.hostname,
        presence_id=ch.variables.get("presence_id", ""),
        presence_data=ch.variables.get("presence_data", ""),
        callstate=ch.callstate.name,
        callee_name=cp.callee_id_name,
        callee_num=cp.callee_id_number,
        callee_direction="RECV" if ch.variables.get("channel_cid_flipped") else "",
        call_uuid=ch.uuid if ch.direction == "outbound" else "",
        initial_cid_name=cp.orig_caller_id_name,
        initial_cid_num=cp.orig_caller_id_number,
        initial_ip_addr=cp.network_addr,
        initial_dest=cp.destination_number,
        initial_dialplan=cp.dialplan,
        initial_context=cp.context,
    )
    return row


def table(rows: list[dict[str, str]], columns: tuple[str, ...], as_json: bool) -> str:
    if as_json:
        if not rows:
            return '{"row_count": 0}\n'
        body = {"row_count": len(rows), "rows": [{c: r[c] for c in columns} for r in rows]}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if not rows:
        return "\n0 total.\n"
    lines = [",".join(columns)] + [",".join(r[c] for c in columns) for r in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"
