"""sendmsg from an inbound connection on the real switch: execute, hangup, unknown apps."""

from __future__ import annotations

import anyio
import pytest
from helpers.conformance import SHORT_TONE, Collected, esl, originate_parked
from helpers.freeswitch import RealSwitch

from runner.esl import EslChannelGone, EslCommandError, InboundConnection

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]
__all__ = ["esl"]

NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000"


async def test_execute_wait_and_hangup_with_a_cause(esl: InboundConnection) -> None:
    await esl.subscribe(["ALL"], "plain")
    got = Collected(esl.connection.event_buffer())
    uuid = await originate_parked(esl)
    done = await esl.execute(uuid, "playback", SHORT_TONE, wait=True, event_uuid="pb-1")
    assert done is not None
    assert done["Unique-ID"] == uuid
    assert done["Application"] == "playback"
    assert done["Application-Data"] == SHORT_TONE
    assert done["Application-Response"] == "FILE PLAYED"
    assert done["Application-UUID"] == "pb-1"
    started = await got.until("CHANNEL_EXECUTE", "pb-1")
    assert started["Application-UUID"] == "pb-1"
    assert (await esl.hangup(uuid, "CALL_REJECTED")).reply_text == "+OK"
    hangup = await got.until("CHANNEL_HANGUP_COMPLETE")
    assert hangup["Unique-ID"] == uuid
    assert hangup["Hangup-Cause"] == "CALL_REJECTED"


async def test_an_unknown_application_hangs_the_channel_up(esl: InboundConnection) -> None:
    await esl.subscribe(["ALL"], "plain")
    got = Collected(esl.connection.event_buffer())
    uuid = await originate_parked(esl)
    # `+OK` at once; then FreeSWITCH hangs the channel up and never reports the app.
    with anyio.fail_after(5), pytest.raises(EslChannelGone) as caught:
        await esl.execute(uuid, "no_such_app", "x", wait=True)
    where = f"{esl.host}:{esl.port}"
    assert str(caught.value) == (
        f"{where}: execute no_such_app did not run to completion: "
        f"channel {uuid} hung up (DESTINATION_OUT_OF_ORDER)"
    )
    mine = [e for e in got.take() if e.get("Unique-ID") == uuid]
    assert [e.name for e in mine if e.get("Application") == "no_such_app"] == []
    hangup = next(e for e in mine if e.name == "CHANNEL_HANGUP")
    assert hangup["Hangup-Cause"] == "DESTINATION_OUT_OF_ORDER"
    # Only the originate's park runs, and ends after the hangup.
    assert [(e.name, e.get("Application")) for e in mine if "EXECUTE" in e.name] == [
        ("CHANNEL_EXECUTE", "park"),
        ("CHANNEL_EXECUTE_COMPLETE", "park"),
    ]
    assert mine.index(hangup) < [e.name for e in mine].index("CHANNEL_EXECUTE_COMPLETE")


async def test_sendmsg_to_a_channel_that_does_not_exist(esl: InboundConnection) -> None:
    with pytest.raises(EslCommandError) as caught:
        await esl.execute(NO_SUCH_UUID, "answer")
    assert caught.value.reply_text == f"-ERR invalid session id [{NO_SUCH_UUID}]"
    with pytest.raises(EslCommandError) as caught:
        await esl.hangup(NO_SUCH_UUID)
    assert str(caught.value) == (
        f"'sendmsg {NO_SUCH_UUID}' failed: -ERR invalid session id [{NO_SUCH_UUID}]"
    )


async def test_hangup_of_a_ringing_call(real_switch: RealSwitch, esl: InboundConnection) -> None:
    await esl.subscribe(["CHANNEL_HANGUP_COMPLETE"], "plain")
    got = Collected(esl.connection.event_buffer())
    uuid = await originate_parked(esl, "9003")
    assert (await esl.hangup(uuid, "USER_BUSY")).reply_text == "+OK"
    event = await got.until("CHANNEL_HANGUP_COMPLETE")
    assert event["Hangup-Cause"] == "USER_BUSY"
    assert event["Answer-State"] == "hangup"
