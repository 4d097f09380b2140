"""`eslflow esl ...`: talk to FreeSWITCH's event socket from the shell, like `fs_cli -x`.

Thin commands over `InboundConnection`; errors become one line on stderr and exit 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import typer

from runner.aio import run
from runner.esl.errors import EslError
from runner.esl.event import Event
from runner.esl.inbound import InboundConnection
from runner.esl.password import PasswordError, clean_password
from runner.text import json_line

esl_app = typer.Typer(
    name="esl",
    help="Talk to a FreeSWITCH event socket (inbound mode) from the shell.",
    no_args_is_help=True,
)

Host = Annotated[str, typer.Option("--host", help="FreeSWITCH event socket address.")]
Port = Annotated[int, typer.Option("--port", help="Event socket port.")]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="Event socket password (default: $ESL_PASSWORD, else ClueCon).",
        show_default=False,
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for the connection and the reply.")
]


def _password(given: str | None) -> str:
    """--password, else $ESL_PASSWORD, else ClueCon; a bad one exits naming its source."""
    if given is not None:
        value, source = given, "--password"
    else:
        value, source = os.environ.get("ESL_PASSWORD", "ClueCon"), "$ESL_PASSWORD"
    try:
        return clean_password(value, source)
    except PasswordError as exc:
        raise _fail(exc) from None


def _fail(message: object) -> typer.Exit:
    typer.echo(f"eslflow: {message}", err=True)
    return typer.Exit(1)


def event_json(event: Event) -> str:
    """One event as one JSON line: every header decoded, the body under `_body`.

    A byte that was not UTF-8 on the wire shows as a `\\udcff` escape, so the line is
    valid UTF-8 and decodes back (with surrogateescape) to the very bytes."""
    return json_line(event.to_dict())


def _write_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _write_exact(text: str) -> None:
    """`text` to stdout as the bytes FreeSWITCH sent (not UTF-8, perhaps), like fs_cli."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


def _filter_pair(item: str) -> tuple[str, str]:
    header, sep, value = item.partition("=")
    if not sep:
        header, sep, value = item.partition(" ")
    if not sep or not header or not value:
        raise typer.BadParameter(f"{item!r}: expected HEADER VALUE", param_hint="--filter")
    return header, value


def join_filter_args(argv: list[str]) -> list[str]:
    """`--filter HEADER VALUE` (two words, as the ESL command reads) -> `--filter HEADER=VALUE`.

    typer options take a fixed number of words only once; this lets `--filter` repeat.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if (
            word == "--filter"
            and i + 2 < len(argv)
            and "=" not in argv[i + 1]
            and " " not in argv[i + 1]
        ):
            out += [word, f"{argv[i + 1]}={argv[i + 2]}"]
            i += 3
            continue
        out.append(word)
        i += 1
    return out


def _print_output(main: Callable[[], Awaitable[str]]) -> None:
    """Print an api/bgapi output exactly, as fs_cli -x does; exit 1 when it is -ERR."""
    try:
        body = run(main)
    except EslError as exc:
        raise _fail(exc) from None
    _write_exact(body if not body or body.endswith("\n") else body + "\n")
    if body.startswith("-ERR"):
        raise typer.Exit(1)


@esl_app.command("api")
def api_command(
    command: Annotated[list[str], typer.Argument(help="The api command and its arguments.")],
    host: Host = "127.0.0.1",
    port: Port = 8021,
    password: Password = None,
    timeout: Timeout = 30.0,
) -> None:
    """Run an api command and print its output exactly (exit 1 when it is -ERR)."""
    secret = _password(password)

    async def main() -> str:
        async with InboundConnection.connect(
            host, port, secret, timeout=timeout, command_timeout=timeout
        ) as conn:
            return await conn.api(" ".join(command))

    _print_output(main)


@esl_app.command("bgapi")
def bgapi_command(
    command: Annotated[list[str], typer.Argument(help="The api command and its arguments.")],
    host: Host = "127.0.0.1",
    port: Port = 8021,
    password: Password = None,
    timeout: Timeout = 60.0,
) -> None:
    """Run an api command in the background and print its BACKGROUND_JOB result."""
    secret = _password(password)

    async def main() -> str:
        async with InboundConnection.connect(
            host, port, secret, timeout=timeout, command_timeout=timeout
        ) as conn:
            return await conn.bgapi(" ".join(command))

    _print_output(main)


@esl_app.command("events")
def events_command(
    events: Annotated[
        list[str] | None,
        typer.Argument(help="Event names, CUSTOM subclasses after CUSTOM (default: ALL)."),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="Wire format to subscribe in: plain, json or xml.")
    ] = "json",
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many events.")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="Only events where HEADER is VALUE: `--filter HEADER VALUE` or "
            "`--filter HEADER=VALUE` (repeatable; filters are OR'ed).",
            metavar="HEADER VALUE",
        ),
    ] = None,
    host: Host = "127.0.0.1",
    port: Port = 8021,
    password: Password = None,
    timeout: Timeout = 10.0,
) -> None:
    """Print events as JSON lines (all headers decoded, body under _body)."""
    if format not in ("plain", "json", "xml"):
        raise typer.BadParameter("must be plain, json or xml", param_hint="--format")
    fmt: Literal["plain", "json", "xml"] = format  # type: ignore[assignment]
    pairs = [_filter_pair(item) for item in filters or []]
    secret = _password(password)

    async def main() -> None:
        async with InboundConnection.connect(host, port, secret, timeout=timeout) as conn:
            stream = conn.events()
            for header, value in pairs:
                await conn.filter(header, value)
            await conn.subscribe(events or ["ALL"], fmt)
            seen = 0
            async for event in stream:
                _write_line(event_json(event))
                seen += 1
                if count is not None and seen >= count:
                    return

    try:
        run(main)
    except EslError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:  # pragma: no cover - interactive use
        raise typer.Exit(0) from None
