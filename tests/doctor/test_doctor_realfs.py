"""`eslflow doctor` against a real FreeSWITCH: a ready switch, and misconfigured ones."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from helpers.freeswitch import RealSwitch, free_port, private_or_skip
from typer.testing import CliRunner

from runner.cli import app

pytestmark = pytest.mark.realfs


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", *args], env=env)
    return result.exit_code, result.output


def rows(output: str) -> dict[str, tuple[str, str]]:
    """check -> (status, first detail line), from the text table."""
    out = {}
    for line in output.splitlines()[1:]:
        if not line.strip() or line.startswith(" "):
            continue
        if ": " in line and line.split(": ")[0].split()[0].isdigit():
            continue  # the summary line
        check, status, detail = (part.strip() for part in line_split(line))
        out[check] = (status, detail)
    return out


def line_split(line: str) -> tuple[str, str, str]:
    # Columns are separated by two spaces; the check name may contain single spaces.
    check, rest = line.split("  ", 1)
    status, _, detail = rest.strip().partition("  ")
    return check, status, detail


def inbound(switch: RealSwitch) -> list[str]:
    return ["--inbound", f"{switch.host}:{switch.port}", "--password", switch.password]


def test_a_ready_switch_passes_every_check_and_each_call_says_what_it_did(
    real_switch: RealSwitch,
) -> None:
    assert real_switch.outbound_port is not None
    code, output = doctor(
        *inbound(real_switch),
        "--outbound",
        f"127.0.0.1:{real_switch.outbound_port}",
        "--call",
        "9002",
        "--call",
        "9000",
        "--call",
        "9001",
        "--call",
        "9003",
    )
    assert code == 0, output
    table = rows(output)
    assert table["event socket"] == ("ok", f"{real_switch.host}:{real_switch.port} answered")
    assert table["acl"] == ("ok", "this host is allowed in")
    assert table["auth"] == ("ok", "password accepted")
    assert table["version"][0] == "ok"
    assert table["version"][1].startswith("FreeSWITCH 1.10.12")
    assert table["events"][0] == "ok"
    assert table["events"][1].startswith("5 events subscribed in json; a test event came back")
    assert table["clock"][0] == "ok"
    where = f"127.0.0.1:{real_switch.outbound_port}"
    assert table["outbound listener"] == ("ok", f"listening on {where} for the test")
    assert table["call 9002"] == ("ok", "parks: CHANNEL_PARK arrived (apps run: answer park)")
    assert table["call 9000"] == (
        "ok",
        f"`socket` reached our outbound listener at {where} (async full)",
    )
    # A sync socket reports itself as static (capture g2_outbound_sync).
    assert table["call 9001"] == (
        "ok",
        f"`socket` reached our outbound listener at {where} (static full)",
    )
    assert table["call 9003"] == ("ok", "parks: CHANNEL_PARK arrived (apps run: park)")
    assert output.splitlines()[-1] == "11 ok: ready"


def registration_flow(folder: Path) -> Path:
    flow = folder / "reg.yaml"
    flow.write_text(
        "flow: registrations\n"
        "trigger: {event: CUSTOM, subclass: 'sofia::register'}\n"
        "steps:\n  - log: registered\n"
    )
    return flow


def test_json_format_and_the_events_the_flows_need(real_switch: RealSwitch, tmp_path: Path) -> None:
    flow = registration_flow(tmp_path)
    code, output = doctor(*inbound(real_switch), "--flows", str(flow), "--format", "json")
    assert code == 0, output
    report = json.loads(output)
    assert report["ok"] is True
    events = next(c for c in report["checks"] if c["check"] == "events")
    assert events["status"] == "ok"
    assert events["detail"].splitlines()[1].split() == [
        "CHANNEL_BRIDGE",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CUSTOM",
        "sofia::register",
    ]
    assert not any(c["check"].startswith("call") for c in report["checks"])


def test_a_wrong_password_fails_auth_and_never_shows_the_password(real_switch: RealSwitch) -> None:
    secret = "Not-The-Password-31337"
    code, output = doctor(
        "--inbound", f"{real_switch.host}:{real_switch.port}", "--password", secret
    )
    assert code == 1
    table = rows(output)
    assert table["auth"][0] == "fail"
    assert table["auth"][1].endswith("rejected the password (-ERR invalid)")
    assert "version" not in table
    assert secret not in output
    assert output.splitlines()[-1] == "2 ok, 1 fail: NOT READY"


def test_nothing_listening_fails_the_first_check() -> None:
    port = free_port()
    code, output = doctor("--inbound", f"127.0.0.1:{port}")
    assert code == 1
    status, detail = rows(output)["event socket"]
    assert status == "fail"
    assert detail == f"cannot connect to FreeSWITCH at 127.0.0.1:{port}: Connection refused"
    assert f"is mod_event_socket loaded and listening on 127.0.0.1:{port}?" in output


@pytest.mark.anyio
async def test_a_port_that_never_greets_times_out() -> None:
    async def silent(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep(5)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, silent)
        code, output = await anyio.to_thread.run_sync(
            lambda: doctor("--inbound", f"127.0.0.1:{port}", "--timeout", "0.5")
        )
        tg.cancel_scope.cancel()
    assert code == 1
    assert rows(output)["event socket"] == (
        "fail",
        f"FreeSWITCH at 127.0.0.1:{port} did not greet us in 0.5 s",
    )


def test_a_socket_extension_pointing_elsewhere_fails_and_an_unknown_one_is_reported(
    real_switch: RealSwitch,
) -> None:
    elsewhere = free_port()  # the switch's 9000 connects to real_switch.outbound_port, not here
    code, output = doctor(
        *inbound(real_switch),
        "--outbound",
        f"127.0.0.1:{elsewhere}",
        "--call",
        "9000",
        "--call",
        "7777",
        "--timeout",
        "2",
    )
    assert code == 1
    table = rows(output)
    assert table["call 9000"] == (
        "fail",
        f"runs `socket 127.0.0.1:{real_switch.outbound_port} async full`, but nothing reached "
        f"127.0.0.1:{elsewhere} within 2 s",
    )
    # The vanilla dialplan's catch-all logs the default-password warning and sleeps.
    status, detail = table["call 7777"]
    assert status == "fail"
    assert "(apps run: set log log log log sleep)" in detail


def test_a_socket_call_from_an_address_the_allow_list_refuses(
    real_switch: RealSwitch, tmp_path: Path
) -> None:
    config = tmp_path / "eslflow.yaml"
    config.write_text(
        f"inbound: [{{host: {real_switch.host}, port: {real_switch.port}, "
        f"password_env: DOCTOR_PW}}]\n"
        f"outbound: {{listen: '127.0.0.1:{real_switch.outbound_port}', allow: [10.0.0.0/8]}}\n"
        f"flows: [{registration_flow(tmp_path)}]\n"
    )
    code, output = doctor(
        "--config", str(config), "--call", "9000", env={"DOCTOR_PW": real_switch.password}
    )
    assert code == 1, output
    assert rows(output)["call 9000"] == (
        "fail",
        f"`socket` reached 127.0.0.1:{real_switch.outbound_port} from 127.0.0.1, which the "
        "outbound allow-list refuses",
    )


def test_an_acl_that_excludes_this_host(
    real_switch: RealSwitch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with private_or_skip(tmp_path_factory.mktemp("fs-acl"), acl="192.0.2.0/24") as refusing:
        code, output = doctor(*inbound(refusing))
    assert code == 1
    table = rows(output)
    assert table["event socket"][0] == "ok"
    assert table["acl"] == (
        "fail",
        f"FreeSWITCH at 127.0.0.1:{refusing.port} refused this address (event socket ACL): "
        "Access Denied, go away.",
    )
    assert "auth" not in table
