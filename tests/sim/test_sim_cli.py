"""`eslflow sim`: options, errors, and a real run in a subprocess."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import anyio
import pytest
from helpers.esl_raw import RawClient
from helpers.sim_process import sim_process
from typer.testing import CliRunner

from runner.cli import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["sim", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_bad_listen_address_is_a_usage_error() -> None:
    code, _, err = run("--listen", "nonsense")
    assert code == 2, err
    assert "expected HOST:PORT (e.g. 127.0.0.1:8021), got 'nonsense'" in err


def test_an_invalid_scenario_is_reported_with_its_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("calls:\n  - destinaton: '1000'\n")
    code, out, err = run("--scenario", str(bad))
    assert code == 1, out + err
    assert err.startswith(f"eslflow: {bad}:2:5: calls[0]: unknown key 'destinaton'")
    assert out == ""


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run("--listen", f"127.0.0.1:{port}")
    assert code == 1
    assert err == f"eslflow: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_an_acl_entry_that_is_not_a_network() -> None:
    code, _, err = run("--listen", "127.0.0.1:0", "--allow", "nowhere")
    assert code == 1
    assert err == "eslflow: invalid ACL entry 'nowhere': expected an address or CIDR\n"


def test_duration_stops_the_simulator() -> None:
    code, out, err = run("--listen", "127.0.0.1:0", "--duration", "0.05")
    assert code == 0, err
    assert out.startswith("eslflow sim: FreeSWITCH simulator listening on 127.0.0.1:")
    assert "extensions 9000/9001 connect to the outbound socket at 127.0.0.1:8084\n" in out


def test_serves_a_client_plays_a_scenario_and_never_shows_the_password(tmp_path: Path) -> None:
    scenario = tmp_path / "calls.yaml"
    scenario.write_text(
        textwrap.dedent(
            """\
            calls:
              - destination: "9002"
                caller: {number: "+4930123456", name: Alice}
                uuid: 7f1d5a6e-0c0b-4c9a-8d2e-3b4a5c6d7e8f
            """
        )
    )

    async def client(port: int) -> None:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            esl = RawClient(stream)
            assert (await esl.read()).content_type == "auth/request"
            assert await esl.reply("auth s3cret-pw") == "+OK accepted"
            for _ in range(200):  # the scenario places the call right after listening
                if await esl.api("uuid_exists 7f1d5a6e-0c0b-4c9a-8d2e-3b4a5c6d7e8f") == "true":
                    break
                await anyio.sleep(0.01)
            assert (
                await esl.api("uuid_getvar 7f1d5a6e-0c0b-4c9a-8d2e-3b4a5c6d7e8f caller_id_name")
                == "Alice"
            )

    with sim_process(
        "--password", "s3cret-pw", "--scenario", str(scenario), "--speed", "20"
    ) as sim:
        anyio.run(client, sim.port)
    assert sim.process.returncode == 0, sim.output
    assert (
        "eslflow sim: call 7f1d5a6e-0c0b-4c9a-8d2e-3b4a5c6d7e8f from +4930123456 to 9002"
        in sim.output
    )
    assert not any("s3cret-pw" in line for line in sim.output)


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_load_mode_streams_events_to_the_first_subscriber(fmt: str) -> None:
    async def subscriber(port: int) -> list[str]:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            esl = RawClient(stream)
            await esl.read()
            await esl.reply("auth ClueCon")
            await esl.reply(f"event {fmt} ALL")
            return [(await esl.event()).event_get("Event-Name") or "" for _ in range(2000)]

    with sim_process("--load", "2000", "--heartbeat", "1000000") as sim:
        names = anyio.run(subscriber, sim.port)
    assert all(name.startswith("CHANNEL_") for name in names)
    assert {"CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"} <= set(names)
    assert any(line.startswith("eslflow sim: load: offered 2000 events in ") for line in sim.output)
