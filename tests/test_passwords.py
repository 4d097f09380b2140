"""A password reaches FreeSWITCH's `auth` line and nothing else (issue 10 finding 9).

Every source (`password:`, `password_env`, `password_file`, `--password`,
`$ESL_PASSWORD`) drops one trailing CR LF or LF, as an environment file written on
Windows leaves it, and refuses any other control character with a message that names
the source and never the value; `eslflow run` and `eslflow esl` show it nowhere, not
even in their retry logs at debug level.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from helpers.fake_switch import FakeSwitch, api_response, running
from pydantic import ValidationError

from runner.engine.config import (
    ConfigError,
    EngineConfig,
    InboundNode,
    apply_overrides,
    load_config,
)
from runner.esl.password import PasswordError, clean_password

SECRET = "hunter2-Secret"
ESLFLOW = [sys.executable, "-m", "runner"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (SECRET, SECRET),
        (f"{SECRET}\r\n", SECRET),
        (f"{SECRET}\n", SECRET),
        (f" {SECRET} ", f" {SECRET} "),  # spaces are a password's own business
        ("pässwörd", "pässwörd"),
    ],
)
def test_one_trailing_line_end_is_dropped(given: str, sent: str) -> None:
    assert clean_password(given, "$ESL_PASSWORD") == sent


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "$ESL_PASSWORD is empty"),
        ("\r\n", "$ESL_PASSWORD is empty"),
        (f"{SECRET}\r", "$ESL_PASSWORD holds a line break"),
        (f"{SECRET}\n\n", "$ESL_PASSWORD holds a line break"),
        (f"{SECRET}\r\nauth x", "$ESL_PASSWORD holds a line break"),
        (f"{SECRET}\x00", "$ESL_PASSWORD holds a control character"),
        (f"{SECRET}\t", "$ESL_PASSWORD holds a control character"),
        (f"\x1b[2J{SECRET}", "$ESL_PASSWORD holds a control character"),
        (f"{SECRET}\x85", "$ESL_PASSWORD holds a control character"),
    ],
)
def test_other_control_characters_are_refused_unseen(given: str, message: str) -> None:
    with pytest.raises(PasswordError) as caught:
        clean_password(given, "$ESL_PASSWORD")
    assert str(caught.value) == message
    assert SECRET not in repr(caught.value)


@pytest.fixture
def no_esl_password(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("ESL_PASSWORD", raising=False)
    return monkeypatch


def test_every_config_source_strips_a_crlf(
    tmp_path: Path, no_esl_password: pytest.MonkeyPatch
) -> None:
    no_esl_password.setenv("PBX2_PASSWORD", f"{SECRET}\r\n")
    (tmp_path / "pbx3.password").write_bytes(f"{SECRET}\r\n".encode())
    path = tmp_path / "eslflow.yaml"
    path.write_text(
        "inbound:\n"
        f'  - {{name: pbx1, password: "{SECRET}\\r\\n"}}\n'
        "  - {name: pbx2, password_env: PBX2_PASSWORD}\n"
        "  - {name: pbx3, password_file: pbx3.password}\n"
        "  - {name: pbx4}\n"
    )
    no_esl_password.setenv("ESL_PASSWORD", f"{SECRET}\r\n")
    config = load_config(path)
    assert [node.resolve_password() for node in config.inbound] == [SECRET] * 4
    flagged = apply_overrides(EngineConfig(), inbound=["10.0.0.1:8021"], password=f"{SECRET}\n")
    assert flagged.inbound[0].resolve_password() == SECRET


def test_every_config_source_refuses_a_control_character_unseen(
    tmp_path: Path, no_esl_password: pytest.MonkeyPatch
) -> None:
    bad = f"{SECRET}\rauth x"
    no_esl_password.setenv("PBX2_PASSWORD", bad)
    no_esl_password.setenv("ESL_PASSWORD", bad)
    (tmp_path / "pbx3.password").write_bytes(f"{SECRET}\x1b\n".encode())
    path = tmp_path / "eslflow.yaml"
    path.write_text(
        "inbound:\n"
        "  - {name: pbx2, password_env: PBX2_PASSWORD}\n"
        "  - {name: pbx3, password_file: pbx3.password}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(error) for error in caught.value.errors] == [
        f"{path}:2:32: inbound node 'pbx2': password_env: environment variable PBX2_PASSWORD "
        "holds a line break",
        f"{path}:3:33: inbound node 'pbx3': password_file: {tmp_path / 'pbx3.password'}: "
        "the first line (the password) holds a control character",
    ]
    with pytest.raises(ConfigError) as default:
        InboundNode(name="pbx4").resolve_password()
    assert str(default.value) == (
        "configuration: inbound node 'pbx4': ESL_PASSWORD: environment variable ESL_PASSWORD "
        "holds a line break"
    )
    with pytest.raises(ValidationError) as literal:
        InboundNode(password=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as flag:
        apply_overrides(EngineConfig(), inbound=["10.0.0.1:8021"], password=bad)
    for error in (caught.value, default.value, literal.value, flag.value):
        for shown in (str(error), repr(error)):
            assert SECRET not in shown


# -- the commands, as a user runs them ---------------------------------------------------------


async def _eslflow(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    with anyio.fail_after(20):
        result = await anyio.run_process([*ESLFLOW, *args], check=False, env={**os.environ, **env})
    return result.returncode, result.stdout.decode(), result.stderr.decode()


pytestmark_anyio = pytest.mark.anyio


@pytestmark_anyio
async def test_esl_takes_a_crlf_env_file_password() -> None:
    async with running(FakeSwitch(password=SECRET)) as switch:
        code, out, err = await _eslflow(
            "esl", "api", "status", "--port", str(switch.port),
            env={"ESL_PASSWORD": f"{SECRET}\r\n"},
        )  # fmt: skip
        assert switch.peers[0].commands[0] == f"auth {SECRET}\n\n".encode()
    assert (code, out, err) == (0, "+OK status\n", "")


@pytestmark_anyio
@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"ESL_PASSWORD": f"{SECRET}\rexit"}, "$ESL_PASSWORD holds a line break"),
        (("--password", f"{SECRET}\x07"), {}, "--password holds a control character"),
    ],
)
async def test_esl_refuses_a_bad_password_without_showing_it(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    async with running(FakeSwitch(password=SECRET)) as switch:
        code, out, err = await _eslflow(
            "esl", "api", "status", "--port", str(switch.port), *args, env=env
        )
        assert switch.connections == 0
    assert (code, out, err) == (1, "", f"eslflow: {message}\n")


@pytestmark_anyio
async def test_run_refuses_a_bad_env_password_at_start_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(
        "flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - execute: answer\n"
    )
    async with running(FakeSwitch(password=SECRET)) as switch:
        code, _, err = await _eslflow(
            "run", "--flows", str(tmp_path), "--inbound", f"127.0.0.1:{switch.port}",
            env={"ESL_PASSWORD": f"{SECRET}\r\nx"},
        )  # fmt: skip
        assert switch.connections == 0
    assert code == 1
    assert err == (
        "configuration: inbound node '127.0.0.1:"
        f"{switch.port}': ESL_PASSWORD: environment variable ESL_PASSWORD holds a line break\n"
    )


@pytestmark_anyio
async def test_run_retry_logs_never_show_the_password(tmp_path: Path) -> None:
    """A switch that answers `auth` with garbage: `run` retries and logs each failure, at
    debug level, naming the command as `auth ********`."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.yaml").write_text("flow: f\ntrigger: CHANNEL_PARK\nsteps:\n  - execute: answer\n")

    def garbage(peer: object, command: bytes) -> bytes | None:
        return api_response("surprise") if command.startswith(b"auth ") else None

    async with running(FakeSwitch(password=SECRET, on_command=garbage)) as switch:
        config = tmp_path / "eslflow.yaml"
        config.write_text(
            f"flows: [{flows}]\nlog: {{level: debug}}\n"
            f"inbound: [{{port: {switch.port}, password_env: PBX_PASSWORD}}]\n"
        )
        with anyio.fail_after(20):
            async with await anyio.open_process(
                [*ESLFLOW, "run", "--config", str(config)],
                env={**os.environ, "PBX_PASSWORD": f"{SECRET}\r\n"},
            ) as process:
                while len(switch.peers) < 3 and process.returncode is None:
                    await anyio.sleep(0.05)
                # Before its first connection `run` is still starting; kill it.
                process.kill()
                await process.wait()
                assert process.stderr is not None
                err = (await process.stderr.receive(1 << 20)).decode()
        assert {peer.commands[0] for peer in switch.peers} == {f"auth {SECRET}\n\n".encode()}
    assert "'auth ********' was answered by" in err
    assert SECRET not in err
