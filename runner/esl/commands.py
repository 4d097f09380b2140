"""Serializers for every command mod_event_socket takes: arguments in, exact bytes out.

A command is one line ended by an empty line; `sendmsg`, `sendevent` and `bgapi` add
header lines, and may carry a `content-length` body. FreeSWITCH splits commands on LF,
so a CR or LF inside a value would end the command and start another one of the
value's choosing: every value is checked and an `UnsafeValueError` names the field.

Text becomes bytes with `surrogateescape`: the codec decodes what FreeSWITCH sends the
same way, so a caller name holding bytes that are not UTF-8 (say `\xff\xfe`) goes back
on the wire as exactly those bytes. A surrogate that stands for no byte (a JSON event's
`\ud800`) has no bytes to send and is refused like a line break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from runner.esl.errors import EslUsageError, UnsafeValueError
from runner.text import unsendable

EventFormat = Literal["plain", "json", "xml"]
Headers = Mapping[str, str] | Sequence[tuple[str, str]]

_FORMATS = ("plain", "json", "xml")


def _check(field: str, value: str, *, secret: bool = False) -> str:
    """A value for one line: no CR or LF, and bytes to send for every character."""
    if "\n" in value or "\r" in value:
        raise UnsafeValueError(field, value, secret=secret)
    if "\0" in value or not value.isascii():  # the common ASCII value costs no call
        _sendable(field, value, secret=secret)
    return value


def _sendable(field: str, value: str, *, secret: bool = False) -> str:
    """Every character has bytes, and FreeSWITCH will read them all."""
    reason = unsendable(value)
    if reason is not None:
        raise UnsafeValueError(field, value, reason, secret=secret)
    return value


def wire_bytes(text: str) -> bytes:
    """`text` as the bytes it was decoded from (UTF-8, surrogate escapes as raw bytes)."""
    return text.encode("utf-8", "surrogateescape")


_WHITESPACE = re.compile(r"\s")


def _word(field: str, value: str) -> str:
    """A single token of a command line: no whitespace, not empty."""
    _check(field, value)
    if not value or _WHITESPACE.search(value):
        raise UnsafeValueError(field, value, "must be one word without spaces")
    return value


def _line(line: str) -> bytes:
    return wire_bytes(line) + b"\n\n"


def _header_lines(headers: Iterable[tuple[str, str]], where: str) -> list[str]:
    lines = []
    for name, value in headers:
        _check(f"{where} header name {name!r}", name)
        if not name or ":" in name or name != name.strip():
            raise UnsafeValueError(
                f"{where} header name", name, "must be a non-empty name without ':'"
            )
        _check(f"{where} header {name!r}", value)
        lines.append(f"{name}: {value}")
    return lines


def _with_body(first: str, lines: list[str], body: str | bytes | None) -> bytes:
    """Header lines, then a `content-length` body if one is given."""
    if body is None:
        return wire_bytes("\n".join([first, *lines]) + "\n\n")
    raw = wire_bytes(_sendable("body", body)) if isinstance(body, str) else body
    head = "\n".join([first, *lines, f"content-length: {len(raw)}"])
    return wire_bytes(head) + b"\n\n" + raw


def _pairs(headers: Headers | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


# -- session -----------------------------------------------------------------------------------


def auth(password: str) -> bytes:
    """`auth <password>`: the answer to the inbound `auth/request` greeting."""
    return _line(f"auth {_check('password', password, secret=True)}")


def userauth(user: str, domain: str, password: str) -> bytes:
    """`userauth <user>@<domain>:<password>` (directory users with esl permissions)."""
    _word("user", user)
    _word("domain", domain)
    return _line(f"userauth {user}@{domain}:{_check('password', password, secret=True)}")


def describe(data: bytes) -> str:
    """A command's first line for messages and logs, its password (if any) masked."""
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    verb, _, rest = first.partition(" ")
    if verb == "auth":
        return "auth ********"
    if verb == "userauth":
        return f"userauth {rest.split(':', 1)[0]}:********"
    return first


def connect() -> bytes:
    """`connect`: the first command on an outbound socket; FreeSWITCH answers with the
    channel data (capture g1_outbound_async.O)."""
    return _line("connect")


def exit() -> bytes:
    """`exit`: FreeSWITCH answers `+OK bye`, a disconnect notice, then closes."""
    return _line("exit")


def resume() -> bytes:
    """`resume` (outbound): the dialplan goes on when the socket closes, instead of the
    call being hung up."""
    return _line("resume")


def linger(seconds: int | None = None) -> bytes:
    """`linger [seconds]` (outbound): keep delivering events after hangup."""
    if seconds is None:
        return _line("linger")
    if seconds < 0:
        raise EslUsageError(f"linger seconds must be >= 0, not {seconds}")
    return _line(f"linger {seconds}")


def nolinger() -> bytes:
    return _line("nolinger")


def getvar(name: str) -> bytes:
    """`getvar <name>` (outbound): a channel variable of the controlled session."""
    return _line(f"getvar {_word('variable name', name)}")


# -- api ---------------------------------------------------------------------------------------


def api(command: str) -> bytes:
    """`api <command> [args]`: runs now, answered by an api/response with the output."""
    command = _check("api command", command).strip()
    if not command:
        raise EslUsageError("api needs a command")
    return _line(f"api {command}")


def bgapi(command: str, job_uuid: str | None = None) -> bytes:
    """`bgapi <command>`: replied at once with a Job-UUID; the output comes later in a
    BACKGROUND_JOB event. FreeSWITCH uses our `Job-UUID` header when we give one."""
    command = _check("bgapi command", command).strip()
    if not command:
        raise EslUsageError("bgapi needs a command")
    if job_uuid is None:
        return _line(f"bgapi {command}")
    return wire_bytes(f"bgapi {command}\nJob-UUID: {_word('Job-UUID', job_uuid)}\n\n")


# -- subscriptions -----------------------------------------------------------------------------


def _format(fmt: str) -> str:
    if fmt not in _FORMATS:
        raise EslUsageError(f"event format must be plain, json or xml, not {fmt!r}")
    return fmt


def event(names: Iterable[str], format: EventFormat = "plain") -> bytes:
    """`event <format> <names...>`: adds to the subscriptions and sets the format of every
    later event on this connection. A CUSTOM subclass follows `CUSTOM`:
    `event(["CHANNEL_ANSWER", "CUSTOM", "sofia::register"])`."""
    words = [_word("event name", n) for n in names]
    if not words:
        raise EslUsageError("event needs at least one event name (or ALL)")
    return _line(f"event {_format(format)} {' '.join(words)}")


def nixevent(names: Iterable[str]) -> bytes:
    """`nixevent <names...>`: removes subscriptions."""
    words = [_word("event name", n) for n in names]
    if not words:
        raise EslUsageError("nixevent needs at least one event name")
    return _line(f"nixevent {' '.join(words)}")


def noevents() -> bytes:
    """`noevents`: drops every subscription."""
    return _line("noevents")


def myevents(uuid: str | None = None, format: EventFormat | None = None) -> bytes:
    """`myevents [<uuid> [format]]`: only the events of one channel.

    FreeSWITCH 1.10 reads the uuid first: `myevents json <uuid>` is answered
    `-ERR invalid uuid` (capture d3_myevents_json_uuid_wrong_order); without a uuid
    (outbound) the format may stand alone.
    """
    words = ["myevents"]
    if uuid is not None:
        words.append(_word("uuid", uuid))
    if format is not None:
        words.append(_format(format))
    return _line(" ".join(words))


def divert_events(on: bool) -> bytes:
    """`divert_events on|off` (outbound): events of the session's input callbacks."""
    return _line(f"divert_events {'on' if on else 'off'}")


def filter(header: str, value: str) -> bytes:
    """`filter <header> <value>`: only events where one of the filters matches (OR)."""
    _word("filter header", header)
    value = _check("filter value", value)
    if not value:
        raise EslUsageError("filter needs a value")
    return _line(f"filter {header} {value}")


def filter_delete(header: str, value: str | None = None) -> bytes:
    """`filter delete <header> [<value>]`; `filter delete all` removes every filter."""
    _word("filter header", header)
    if value is None:
        return _line(f"filter delete {header}")
    return _line(f"filter delete {header} {_check('filter value', value)}")


def log(level: int | str) -> bytes:
    """`log <level>`: log/data messages at that level (0-7 or a name like DEBUG)."""
    return _line(f"log {_word('log level', str(level))}")


def nolog() -> bytes:
    return _line("nolog")


# -- sendevent ---------------------------------------------------------------------------------


def sendevent(
    name: str,
    headers: Headers | None = None,
    body: str | bytes | None = None,
    *,
    subclass: str | None = None,
) -> bytes:
    """`sendevent <name>` with header lines and an optional body (`content-length`).

    For CUSTOM, `subclass` becomes the `Event-Subclass` header.
    """
    _word("event name", name)
    pairs = _pairs(headers)
    if subclass is not None:
        pairs.insert(0, ("Event-Subclass", _word("Event-Subclass", subclass)))
    lines = _header_lines(pairs, "sendevent")
    if body is not None:
        lines.append("content-type: text/plain")
    return _with_body(f"sendevent {name}", lines, body)


# -- sendmsg -----------------------------------------------------------------------------------


def sendmsg(uuid: str | None, headers: Headers, body: str | bytes | None = None) -> bytes:
    """`sendmsg [<uuid>]` with call-command headers; outbound sockets omit the uuid."""
    first = "sendmsg" if uuid is None else f"sendmsg {_word('uuid', uuid)}"
    return _with_body(first, _header_lines(_pairs(headers), "sendmsg"), body)


def execute(
    app: str,
    arg: str | None = None,
    *,
    uuid: str | None = None,
    event_uuid: str | None = None,
    loops: int | None = None,
    event_lock: bool = False,
    hold_bleg: bool = False,
    arg_in_body: bool = True,
) -> bytes:
    """`sendmsg` `call-command: execute`: run a dialplan application on the channel.

    The argument goes in the body (`content-type: text/plain` + `content-length`) by
    default: switch_ivr.c takes the body as the argument when `execute-app-arg` is
    absent, which allows any length and multi-line arguments without risking the
    framing. `arg_in_body=False` sends the one-line `execute-app-arg` header instead.
    Completion is the CHANNEL_EXECUTE_COMPLETE whose `Application-UUID` is `event_uuid`.
    """
    headers = [("call-command", "execute"), ("execute-app-name", _word("application", app))]
    body: str | None = None
    if arg is not None and arg != "":
        if arg_in_body:
            body = arg
        else:
            headers.append(("execute-app-arg", _check("execute-app-arg", arg)))
    if loops is not None:
        if loops == 0 or loops < -1:
            # switch_ivr.c runs `x < loops || loops < 0` times: -1 repeats until stopped.
            raise EslUsageError(f"loops must be at least 1 (or -1 for ever), not {loops}")
        headers.append(("loops", str(loops)))
    if event_lock:
        headers.append(("event-lock", "true"))
    if hold_bleg:
        headers.append(("hold-bleg", "true"))
    if event_uuid is not None:
        headers.append(("Event-UUID", _word("Event-UUID", event_uuid)))
    if body is not None:
        headers.append(("content-type", "text/plain"))
    return sendmsg(uuid, headers, body)


def hangup(cause: str = "NORMAL_CLEARING", *, uuid: str | None = None) -> bytes:
    """`sendmsg` `call-command: hangup` with `hangup-cause` (a Q.850 cause name)."""
    return sendmsg(
        uuid, [("call-command", "hangup"), ("hangup-cause", _word("hangup-cause", cause))]
    )


def unicast(
    *,
    uuid: str | None = None,
    local_ip: str | None = None,
    local_port: int | None = None,
    remote_ip: str | None = None,
    remote_port: int | None = None,
    transport: Literal["udp", "tcp"] | None = None,
    flags: str | None = None,
) -> bytes:
    """`sendmsg` `call-command: unicast`: stream the channel's audio to a socket.

    Unset fields take FreeSWITCH's defaults (127.0.0.1:8025 -> 127.0.0.1:8026, udp;
    switch_ivr.c). `flags` is e.g. `native`.
    """
    headers = [("call-command", "unicast")]
    for name, value in (
        ("local-ip", local_ip),
        ("local-port", None if local_port is None else str(local_port)),
        ("remote-ip", remote_ip),
        ("remote-port", None if remote_port is None else str(remote_port)),
        ("transport", transport),
        ("flags", flags),
    ):
        if value is not None:
            headers.append((name, _word(name, value)))
    return sendmsg(uuid, headers)


def nomedia(nomedia_uuid: str, *, uuid: str | None = None) -> bytes:
    """`sendmsg` `call-command: nomedia`: take the media of `nomedia_uuid` off the switch."""
    return sendmsg(
        uuid, [("call-command", "nomedia"), ("nomedia-uuid", _word("nomedia-uuid", nomedia_uuid))]
    )


def xferext(applications: Sequence[tuple[str, str | None]], *, uuid: str | None = None) -> bytes:
    """`sendmsg` `call-command: xferext`: replace the channel's extension with these
    applications, one `application: <app> <arg>` header each, run in order."""
    if not applications:
        raise EslUsageError("xferext needs at least one application")
    headers = [("call-command", "xferext")]
    for app, arg in applications:
        _word("application", app)
        headers.append(("application", app if not arg else f"{app} {arg}"))
    return sendmsg(uuid, headers)
