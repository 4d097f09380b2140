"""The CDR variables a channel reports at CS_REPORTING (switch_channel_set_timestamps)."""

from __future__ import annotations

import time

from runner.sim.channel import Channel

_STAMPS: dict[int, str] = {}


def _stamp(micros: int) -> str:
    """Local time of a timestamp, to the second (a call's stamps share a few seconds)."""
    second = micros // 1_000_000
    text = _STAMPS.get(second)
    if text is None:
        if len(_STAMPS) > 1000:
            _STAMPS.clear()
        text = _STAMPS[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
    return text


def cdr_variables(ch: Channel) -> list[tuple[str, str]]:
    """switch_channel_set_timestamps: the variables CHANNEL_HANGUP_COMPLETE reports."""
    t = ch.caller.times
    out: list[tuple[str, str]] = [("digits_dialed", "".join(ch.dtmf_log) or "none")]
    out.append(("start_stamp", _stamp(t.created)))
    out.append(("profile_start_stamp", _stamp(t.profile_created)))
    for name, value in (
        ("answer_stamp", t.answered),
        ("bridge_stamp", t.bridged),
        ("hold_stamp", t.last_hold),
        ("resurrect_stamp", t.resurrected),
        ("progress_stamp", t.progress),
        ("progress_media_stamp", t.progress_media),
    ):
        if value:
            out.append((name, _stamp(value)))
    out.append(("end_stamp", _stamp(t.hungup)))

    def pair(prefix: str, micros: int) -> list[tuple[str, str]]:
        return [(f"{prefix}_epoch", str(micros // 1_000_000)), (f"{prefix}_uepoch", str(micros))]

    out += pair("start", t.created)
    out += pair("profile_start", t.profile_created)
    out += pair("answer", t.answered)
    out += pair("bridge", t.bridged)
    out += pair("last_hold", t.last_hold)
    out += [
        ("hold_accum_seconds", str(t.hold_accum // 1_000_000)),
        ("hold_accum_usec", str(t.hold_accum)),
        ("hold_accum_ms", str(t.hold_accum // 1000)),
    ]
    out += pair("resurrect", t.resurrected)
    out += pair("progress", t.progress)
    out += pair("progress_media", t.progress_media)
    out += pair("end", t.hungup)
    created_s, hungup_s = t.created // 1_000_000, t.hungup // 1_000_000
    created_ms, hungup_ms = t.created // 1000, t.hungup // 1000
    duration = hungup_s - created_s
    billsec = billmsec = billusec = legbill = legbillms = 0
    answersec = answermsec = 0
    if t.answered:
        billsec = hungup_s - t.answered // 1_000_000
        billmsec = hungup_ms - t.answered // 1000
        billusec = t.hungup - t.answered
        legbill = duration
        legbillms = hungup_ms - created_ms
        answersec = t.answered // 1_000_000 - created_s
        answermsec = t.answered // 1000 - created_ms
    answerusec = t.answered - t.created if t.answered else 0
    progresssec = progressms = progressus = 0
    if t.progress:
        progresssec = t.progress // 1_000_000 - created_s
        progressms = t.progress // 1000 - created_ms
        progressus = t.progress - t.created
    pmsec = pmms = pmus = 0
    if t.progress_media:
        pmsec = t.progress_media // 1_000_000 - created_s
        pmms = t.progress_media // 1000 - created_ms
        pmus = t.progress_media - t.created
    waitsec = waitms = waitus = 0
    if t.bridged > t.created:
        waitsec = t.bridged // 1_000_000 - created_s
        waitms = t.bridged // 1000 - created_ms
        waitus = t.bridged - t.created
    if ch.app_log:
        last_app, last_arg = ch.app_log[-1]
        out.append(("last_app", last_app))
        if last_arg:
            out.append(("last_arg", last_arg))
    cid = ch.caller
    caller_id = (
        f'"{cid.caller_id_name}" <{cid.caller_id_number}>'
        if cid.caller_id_name
        else cid.caller_id_number
    )
    if caller_id:
        out.append(("caller_id", caller_id))
    out += [
        ("duration", str(duration)),
        ("billsec", str(billsec)),
        ("progresssec", str(progresssec)),
        ("answersec", str(answersec)),
        ("waitsec", str(waitsec)),
        ("progress_mediasec", str(pmsec)),
        ("flow_billsec", str(legbill)),
        ("mduration", str(hungup_ms - created_ms)),
        ("billmsec", str(billmsec)),
        ("progressmsec", str(progressms)),
        ("answermsec", str(answermsec)),
        ("waitmsec", str(waitms)),
        ("progress_mediamsec", str(pmms)),
        ("flow_billmsec", str(legbillms)),
        ("uduration", str(t.hungup - t.created)),
        ("billusec", str(billusec)),
        ("progressusec", str(progressus)),
        ("answerusec", str(answerusec)),
        ("waitusec", str(waitus)),
        ("progress_mediausec", str(pmus)),
        ("flow_billusec", str(t.hungup - t.created if t.answered else 0)),
    ]
    return out
