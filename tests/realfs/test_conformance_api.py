"""api, bgapi, auth, userauth, the ACL, log and exit on the real switch (inbound)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from helpers.conformance import esl
from helpers.freeswitch import RealSwitch, new_uuid, private_or_skip

from runner.esl import (
    ApiResponse,
    CommandReply,
    EslAclError,
    EslAuthError,
    EslCommandError,
    EslUsageError,
    InboundConnection,
    open_connection,
)

pytestmark = [pytest.mark.anyio, pytest.mark.realfs]
__all__ = ["esl"]

NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000"
DENIED = "Access Denied, go away."
INVALID = "-ERR invalid"
GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

# What an authenticated inbound connection is told, command by command (mod_event_socket.c
# parse_command; the typos are FreeSWITCH's own).
INBOUND_REPLIES = [
    (b"api\n\n", "-ERR command not found"),
    (b"bgapi\n\n", "-ERR command not found"),
    (b"filter\n\n", "-ERR command not found"),
    (b"filter Event-Name\n\n", "-ERR invalid syntax"),
    (b"linger\n\n", "-ERR not controlling a session"),
    (b"nolinger\n\n", "-ERR not controlling a session"),
    (b"divert_events on\n\n", "-ERR not controlling a session."),
    (b"myevents\n\n", "-ERR command not found"),
    (b"resume\n\n", "-ERR command not found"),
    (b"getvar x\n\n", "-ERR command not found"),
    (b"connect\n\n", "-ERR command not found"),
    (b"event plain\n\n", "-ERR no keywords supplied"),
    (b"nixevent\n\n", "-ERR no keywords supplied"),
    (b"noevents\n\n", "-ERR not listening for events"),
    (b"log bogus\n\n", "-ERR invalid log level"),
    (b"nolog\n\n", "-ERR not loging"),
    (b"sendmsg\n\n", "-ERR invalid session id []"),
    (
        f"sendmsg {NO_SUCH_UUID}\ncall-command: hangup\n\n".encode(),
        f"-ERR invalid session id [{NO_SUCH_UUID}]",
    ),
    (f"myevents {NO_SUCH_UUID} plain\n\n".encode(), "-ERR invalid uuid"),
    (b"myevents json " + NO_SUCH_UUID.encode() + b"\n\n", "-ERR invalid uuid"),
]


async def test_inbound_reply_texts(esl: InboundConnection) -> None:
    replies = [await esl.connection.send(raw) for raw, _ in INBOUND_REPLIES]
    assert [r.headers for r in replies] == [
        {"Content-Type": "command/reply", "Reply-Text": text} for _, text in INBOUND_REPLIES
    ]
    with pytest.raises(EslCommandError) as caught:
        await esl.connection.command(b"nolog\n\n")
    assert str(caught.value) == "'nolog' failed: -ERR not loging"


async def test_api_outputs_and_errors_carry_a_content_length(esl: InboundConnection) -> None:
    assert (await esl.api("version")).startswith("FreeSWITCH Version 1.10.12-release")
    assert await esl.api("echo  two  spaces ") == "two  spaces"  # the line is trimmed
    cases = {
        "bogus_command": "-ERR bogus_command Command not found!\n",
        f"uuid_kill {NO_SUCH_UUID}": "-ERR No such channel!\n",
        f"uuid_getvar {NO_SUCH_UUID} x": "-ERR No such channel!\n",
        "originate": "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>]"
        " [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n",
    }
    for command, body in cases.items():
        reply = await esl.connection.send(f"api {command}\n\n".encode())
        assert reply == ApiResponse(
            headers={"Content-Type": "api/response", "Content-Length": str(len(body))},
            body=body,
        )
        assert await esl.api(command) == body  # returned, not raised
    with pytest.raises(EslUsageError, match=r"^api needs a command$"):
        await esl.connection.api(" ")  # never reaches the wire


async def test_a_large_api_output_arrives_whole(esl: InboundConnection) -> None:
    reply = await esl.connection.send(b"api show modules\n\n")
    assert isinstance(reply, ApiResponse)
    body = reply.body.encode()
    assert len(body) > 16_000  # several TCP segments' worth
    assert reply.headers["Content-Length"] == str(len(body))
    assert body.startswith(b"type,name,ikey,filename\n")
    total = int(body.rstrip().rsplit(b"\n", 1)[1].split()[0])
    assert body.rstrip().endswith(b" total.")
    assert body.count(b"\n") == total + 3  # header, rows, blank line, total


async def test_a_blocking_api_holds_back_later_replies(esl: InboundConnection) -> None:
    order: list[str] = []
    started = anyio.current_time()

    async def call(command: str) -> None:
        await esl.api(command)
        order.append(f"{command} {anyio.current_time() - started:.1f}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "msleep 600")
        await anyio.sleep(0.05)
        tg.start_soon(call, "echo after")
    assert [o.split()[0] for o in order] == ["msleep", "echo"]
    assert float(order[1].split()[-1]) >= 0.55
    # bgapi does not block: its reply is at once, the sleep ends in the job.
    started = anyio.current_time()
    job = await esl.connection.bgapi_start("msleep 600")
    assert anyio.current_time() - started < 0.5  # the msleep itself is 0.6 s
    await esl.connection.ensure_background_jobs()
    assert await job.result() == "+OK"


async def test_bgapi_with_and_without_our_job_uuid(esl: InboundConnection) -> None:
    conn = esl.connection
    await conn.ensure_background_jobs()
    events = conn.events()
    ours = new_uuid()
    reply = await conn.command(f"bgapi echo ours\nJob-UUID: {ours}\n\n".encode())
    assert reply.headers == {
        "Content-Type": "command/reply",
        "Reply-Text": f"+OK Job-UUID: {ours}",
        "Job-UUID": ours,
    }
    theirs = await conn.command(b"bgapi echo theirs\n\n")
    assert theirs.reply_text == f"+OK Job-UUID: {theirs.job_uuid}"
    assert theirs.job_uuid is not None and theirs.job_uuid != ours
    jobs = {}
    with anyio.fail_after(5):
        async for event in events:
            if event.name == "BACKGROUND_JOB":
                jobs[event["Job-UUID"]] = event
                if len(jobs) == 2:
                    break
    for uuid, body, arg in ((ours, "ours", "ours"), (theirs.job_uuid, "theirs", "theirs")):
        job = jobs[uuid]
        assert job.body == body
        assert job.get("Job-Command") == "echo"
        assert job.get("Job-Command-Arg") == arg
        assert job.get("Content-Length") == str(len(body))
    # Results are matched to the call however they interleave: the slow one first.
    async with anyio.create_task_group() as tg:
        results: dict[str, str] = {}

        async def run(command: str) -> None:
            results[command] = await esl.bgapi(command)

        tg.start_soon(run, "msleep 300")
        tg.start_soon(run, "echo quick")
    assert results == {"msleep 300": "+OK", "echo quick": "quick"}
    # The connection goes on after a BACKGROUND_JOB that nobody waits for (theirs).
    assert await esl.api("echo still here") == "still here"


async def test_a_wrong_password_is_refused_without_echoing_it(real_switch: RealSwitch) -> None:
    where = f"{real_switch.host}:{real_switch.port}"
    secret = "Not-The-Password-42"
    with pytest.raises(EslAuthError) as caught:
        async with InboundConnection.connect(real_switch.host, real_switch.port, secret):
            pass  # pragma: no cover
    assert str(caught.value) == f"FreeSWITCH at {where} rejected the password ({INVALID})"
    assert secret not in repr(caught.value)


async def test_commands_before_auth_are_not_found_and_the_socket_stays(
    real_switch: RealSwitch,
) -> None:
    stream = await anyio.connect_tcp(real_switch.host, real_switch.port)
    async with open_connection(stream, name="raw") as conn:
        greeting = await conn.wait_greeting()
        assert greeting.headers == {"Content-Type": "auth/request"}
        for raw in (b"api status\n\n", b"event plain ALL\n\n", b"bogus\n\n"):
            reply = await conn.send(raw)
            assert reply == CommandReply(
                headers={"Content-Type": "command/reply", "Reply-Text": "-ERR command not found"},
                reply_text="-ERR command not found",
            )
        reply = await conn.send(f"auth {real_switch.password}\n\n".encode())
        assert reply.headers == {"Content-Type": "command/reply", "Reply-Text": "+OK accepted"}
        await conn.exit()
        assert conn.closed and conn.disconnect_notice is not None
        assert conn.disconnect_notice.body == GOODBYE


async def test_exit_is_honoured_even_before_auth(real_switch: RealSwitch) -> None:
    stream = await anyio.connect_tcp(real_switch.host, real_switch.port)
    async with open_connection(stream, name="raw") as conn:
        await conn.wait_greeting()
        reply = await conn.send(b"exit\n\n")
        assert reply.headers == {"Content-Type": "command/reply", "Reply-Text": "+OK bye"}
        with anyio.fail_after(3):
            await conn.wait_closed()
        notice = conn.disconnect_notice
        assert notice is not None
        assert dict(notice.headers) == {
            "Content-Type": "text/disconnect-notice",
            "Content-Length": str(len(GOODBYE)),
        }
        assert notice.body == GOODBYE


async def test_userauth_of_a_directory_user_with_esl_permissions(
    real_switch: RealSwitch, esl: InboundConnection
) -> None:
    if real_switch.dir is None:
        pytest.skip("needs a private instance whose directory the test can extend")
    domain = await esl.api("global_getvar domain")
    user_file = real_switch.dir / "conf" / "directory" / "default" / "esltest.xml"
    # The preprocessor drops the lines that hold <include> tags: they need lines of their own.
    user_file.write_text(
        '<include>\n<user id="esltest"><params>'
        '<param name="password" value="x"/>'
        '<param name="esl-password" value="Esl.Pw-1"/>'
        '<param name="esl-allowed-api" value="echo,version"/>'
        '<param name="esl-allowed-events" value="BACKGROUND_JOB"/>'
        "</params></user>\n</include>\n"
    )
    try:
        assert (await esl.api("reloadxml")).startswith("+OK")
        async with InboundConnection.connect(
            real_switch.host, real_switch.port, "Esl.Pw-1", user=f"esltest@{domain}"
        ) as limited:
            assert await limited.api("echo allowed") == "allowed"
            # A refused api is a command/reply, not an api/response.
            denied = await limited.connection.send(b"api status\n\n")
            assert denied.headers == {
                "Content-Type": "command/reply",
                "Reply-Text": "-ERR permission denied",
            }
            with pytest.raises(EslCommandError) as caught_api:
                await limited.api("status")
            assert str(caught_api.value) == "'api status' failed: -ERR permission denied"
            with pytest.raises(EslCommandError) as caught_event:
                await limited.subscribe(["ALL"], "plain")
            assert caught_event.value.reply_text == "-ERR permission denied"
            # bgapi subscribes to BACKGROUND_JOB alone, which this user may receive.
            assert await limited.bgapi("echo in the background") == "in the background"
        where = f"{real_switch.host}:{real_switch.port}"
        for user, password in ((f"esltest@{domain}", "wrong"), (f"1000@{domain}", "1234")):
            with pytest.raises(EslAuthError) as caught:
                async with InboundConnection.connect(
                    real_switch.host, real_switch.port, password, user=user
                ):
                    pass  # pragma: no cover
            # A user without esl-password cannot log in with its SIP password either.
            assert str(caught.value) == f"FreeSWITCH at {where} rejected the password ({INVALID})"
    finally:
        user_file.unlink()
        await esl.api("reloadxml")


async def test_an_acl_refusal_is_a_rude_rejection(tmp_path: Path) -> None:
    with private_or_skip(tmp_path / "acl", acl="192.0.2.0/24") as switch:
        where = f"{switch.host}:{switch.port}"
        with anyio.fail_after(5), pytest.raises(EslAclError) as caught:
            async with InboundConnection.connect(switch.host, switch.port, switch.password):
                pass  # pragma: no cover
    assert str(caught.value) == (
        f"FreeSWITCH at {where} refused this address (event socket ACL): {DENIED}"
    )


async def test_log_frames_and_nolog(esl: InboundConnection) -> None:
    conn = esl.connection
    assert (await conn.log(7)).reply_text == "+OK log level 7 [7]"
    assert (await conn.log("WARNING")).reply_text == "+OK log level WARNING [4]"
    marker = new_uuid()
    await esl.api(f"log WARNING conformance {marker}")
    await esl.api(f"log DEBUG hidden {marker}")
    with anyio.fail_after(3):
        while not (lines := [m for m in conn.logs() if marker in m.body]):
            await anyio.sleep(0.05)
    (line,) = lines
    assert dict(line.headers) == {
        "Content-Type": "log/data",
        "Content-Length": str(len(line.body.encode())),
        "Log-Level": "4",
        "Text-Channel": "3",
        "Log-File": "mod_commands.c",
        "Log-Func": "log_function",
        "Log-Line": line.headers["Log-Line"],
        "User-Data": "",
    }
    assert line.level == 4
    # The body is the whole formatted log line, date and source included.
    assert line.body.endswith(f"mod_commands.c:{line.headers['Log-Line']} conformance {marker}\n")
    assert " [WARNING] " in line.body
    assert (await conn.nolog()).reply_text == "+OK no longer logging"
    await esl.api(f"log WARNING after {marker}")
    await esl.api("echo barrier")
    assert [m for m in conn.logs() if marker in m.body] == []
