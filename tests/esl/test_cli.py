"""`eslflow esl api|bgapi|events`, run as the real command against a scripted switch."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest
from helpers.fake_switch import FakeSwitch, api_response, plain_event, reply, running
from typer.testing import CliRunner

from runner.cli import app
from runner.esl.cli import join_filter_args

pytestmark = pytest.mark.anyio

ESLFLOW = [sys.executable, "-m", "runner"]


async def eslflow(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    with anyio.fail_after(20):
        result = await anyio.run_process(
            [*ESLFLOW, *args], check=False, env={**os.environ, **(env or {})}
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_api_prints_the_body_exactly() -> None:
    def answers(peer: object, command: bytes) -> bytes | None:
        if command == b"api global_getvar hostname\n\n":
            return api_response("vm")
        return None

    async with running(FakeSwitch(on_command=answers)) as switch:
        code, out, err = await eslflow(
            "esl", "api", "global_getvar", "hostname", "--port", str(switch.port)
        )
    assert (code, out, err) == (0, "vm\n", "")


async def test_api_error_body_exits_1() -> None:
    def answers(peer: object, command: bytes) -> bytes | None:
        return api_response("-ERR bogus Command not found!\n") if b"bogus" in command else None

    async with running(FakeSwitch(on_command=answers)) as switch:
        code, out, err = await eslflow("esl", "api", "bogus", "--port", str(switch.port))
    assert (code, out, err) == (1, "-ERR bogus Command not found!\n", "")


async def test_password_comes_from_the_environment() -> None:
    async with running(FakeSwitch(password="s3cret")) as switch:
        code, out, _ = await eslflow(
            "esl", "api", "status", "--port", str(switch.port), env={"ESL_PASSWORD": "s3cret"}
        )
        assert (code, out) == (0, "+OK status\n")
        assert switch.peers[0].commands[0] == b"auth s3cret\n\n"


async def test_wrong_password_is_one_line_on_stderr() -> None:
    async with running(FakeSwitch()) as switch:
        code, out, err = await eslflow(
            "esl", "api", "status", "--port", str(switch.port), "--password", "nope"
        )
    assert (code, out) == (1, "")
    assert err == (
        f"eslflow: FreeSWITCH at 127.0.0.1:{switch.port} rejected the password (-ERR invalid)\n"
    )


async def test_bgapi_prints_the_job_result() -> None:
    async with running(FakeSwitch()) as switch:
        code, out, err = await eslflow("esl", "bgapi", "status", "--port", str(switch.port))
    assert (code, out, err) == (0, "+OK result of status\n", "")


async def test_events_prints_json_lines_and_stops_after_count() -> None:
    def with_events(peer: object, command: bytes) -> bytes | None:
        if command.startswith(b"event "):
            return reply("+OK event listener enabled json") + b"".join(
                plain_event(
                    {"Event-Name": "CUSTOM", "Event-Subclass": "a::b", "Caller": f"Ann é {i}"},
                    "body\n" if i == 0 else None,
                )
                for i in range(3)
            )
        return None

    async with running(FakeSwitch(on_command=with_events)) as switch:
        code, out, err = await eslflow(
            "esl", "events", "--count", "2", "--format", "plain",
            "--filter", "Event-Subclass", "a::b", "--filter", "Caller=Ann",
            "CUSTOM", "a::b", "--port", str(switch.port),
        )  # fmt: skip
        sent = switch.peers[0].commands
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {"Event-Name": "CUSTOM", "Event-Subclass": "a::b", "Caller": "Ann é 0",
         "Content-Length": "5", "_body": "body\n"},
        {"Event-Name": "CUSTOM", "Event-Subclass": "a::b", "Caller": "Ann é 1"},
    ]  # fmt: skip
    assert sent[1:4] == [
        b"filter Event-Subclass a::b\n\n",
        b"filter Caller Ann\n\n",
        b"event plain CUSTOM a::b\n\n",
    ]


def test_connection_refused_exits_1_with_one_line() -> None:
    result = CliRunner().invoke(app, ["esl", "api", "status", "--port", "1"])
    assert result.exit_code == 1, result.output
    assert result.output == (
        "eslflow: cannot connect to FreeSWITCH at 127.0.0.1:1: Connection refused\n"
    )


def test_bad_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["esl", "events", "--format", "yaml"])
    assert result.exit_code == 2, result.output
    assert "must be plain, json or xml" in result.output


def test_filter_words_are_joined() -> None:
    assert join_filter_args(["esl", "events", "--filter", "A", "b c", "X"]) == [
        "esl", "events", "--filter", "A=b c", "X",
    ]  # fmt: skip
    assert join_filter_args(["--filter", "A=b", "C"]) == ["--filter", "A=b", "C"]
