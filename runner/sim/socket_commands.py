"""What each mod_event_socket command does to a `Connection` (mod_event_socket.c
parse_command): the reply text it returns, typos included, and its effect.

`Connection._dispatch` picks the command; these functions carry it out. They return the
Reply-Text (or the bytes to write), or None when they wrote the answer themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.freeswitch import EVENT_NAMES
from runner.sim.api import execute_api, run_background
from runner.sim.core import LOG_LEVELS, log_level, new_uuid
from runner.sim.event import Event, Format, name_event
from runner.sim.wire import (
    Command,
    encode_api_response,
    encode_reply,
    encode_reply_headers,
)

if TYPE_CHECKING:
    from runner.sim.listener import Connection

# Event types `myevents` subscribes to (mod_event_socket.c parse_command).
MYEVENTS = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)
ALL_TYPES = frozenset(EVENT_NAMES) - {"ALL"}
# Commands whose argument is itself a command (mod_event_socket.c auth_api_command).
SNEAKY_COMMANDS = ("bgapi", "sched_api", "eval", "expand", "xml_wrap")


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "on", "1", "allow", "enable")


def userauth(conn: Connection, spec: str) -> str | bytes:
    user, at, domain = spec.partition("@")
    password = ""
    if at and ":" in domain:
        domain, _, password = domain.partition(":")
    if ":" in user:
        user, _, password = user.partition(":")
    account = conn.config.users.get(f"{user}@{domain}") if user and domain else None
    if account is None or not password or account.password != password:
        conn.running = False
        return "-ERR invalid"
    conn.authed = True
    conn.allow_log = account.allowed_log
    events_text = account.allowed_events or "all"
    if account.allowed_events is not None:
        conn.allowed_types = set()
        custom = False
        delim = " " if " " in account.allowed_events else ","
        for word in account.allowed_events.split(delim):
            if custom:
                conn.allowed_subclasses.add(word)
                continue
            name = name_event(word)
            if name == "ALL":
                conn.allowed_types = None
                break
            if name is not None:
                conn.allowed_types.add(name)
                custom = custom or name == "CUSTOM"
    if account.allowed_api is not None:
        delim = " " if " " in account.allowed_api else ","
        conn.allowed_api = {w for w in account.allowed_api.split(delim) if w}
    return encode_reply_headers(
        [
            ("Reply-Text", "+OK accepted"),
            ("Allowed-Events", events_text),
            ("Allowed-API", account.allowed_api or "all"),
            ("Allowed-LOG", "true" if account.allowed_log else "false"),
        ]
    )


def api_allowed(conn: Connection, command: str, arg: str | None) -> bool:
    if conn.allowed_api is None:
        return True
    check: str | None = command
    rest = arg
    while check is not None:
        if check not in conn.allowed_api:
            return False
        if check.lower() not in SNEAKY_COMMANDS or not rest:
            return True
        check, _, tail = rest.partition(" ")
        rest = tail or None
    return True


def filter(conn: Connection, spec: str) -> str:
    spec = spec.lstrip(" ")
    name, sep, value = spec.partition(" ")
    if name.lower() == "delete" and sep:
        target, sep2, target_value = value.partition(" ")
        if target.lower() == "all":
            conn.filters.clear()
        else:
            conn.filters = [
                (k, v)
                for k, v in conn.filters
                if not (k.lower() == target.lower() and (not target_value or v == target_value))
            ]
        return f"+OK filter deleted. [{target}][{target_value if sep2 else ''}]"
    if sep:
        header_value: str | None = value
        if name.lower() == "add":
            name, sep3, rest = value.partition(" ")
            header_value = rest if sep3 else None
        if header_value:
            conn.filters.append((name, header_value))
        elif header_value == "":
            conn.filters = [(k, v) for k, v in conn.filters if k.lower() != name.lower()]
        shown = header_value if header_value is not None else "(null)"
        return f"+OK filter added. [{name}]=[{shown}]"
    return "-ERR invalid syntax"


def myevents(conn: Connection, line: str) -> str:
    if conn.myevents:
        return "-ERR aready enabled."
    checked = line
    if conn.session is None:
        uuid, sep, _fmt = line[9:].partition(" ")
        checked = line[: 9 + len(uuid)]
        channel = conn.core.channels.get(uuid)
        session = channel.session if channel is not None else None
        if session is None or session.destroyed.is_set():
            if sep:
                return "-ERR invalid uuid"
        else:
            # switch_core_session_locate takes a read lock the listener keeps.
            conn.session = session
            session.hold()
            session.watch_down(conn.kick)
            conn.async_mode = True
    conn.event_types |= MYEVENTS
    conn.myevents = True
    conn.events_enabled = True
    conn.core.listening_changed()
    if "xml" in checked or "XML" in checked:
        conn.format = Format.XML
    if "json" in checked or "JSON" in checked:
        conn.format = Format.JSON
    return "+OK Events Enabled"


def divert(conn: Connection, rest: str) -> str:
    if conn.session is None:
        return "-ERR not controlling a session."
    value = rest.lstrip(" ")
    if not value:
        return "-ERR missing value."
    if value.lower() == "on":
        conn.session.divert_events = True
        conn.session.divert_sink = conn
        return "+OK events diverted"
    conn.session.divert_events = False
    conn.session.divert_sink = None
    return "+OK events not diverted"


async def sendmsg(conn: Connection, cmd: Command, rest: str) -> str:
    uuid: str | None = rest.lstrip(" ") or cmd.header("session-id")
    async_mode = conn.async_mode or truthy(cmd.header("async"))
    own = conn.session
    if uuid and own is not None and uuid == own.channel.uuid:
        uuid = None
    if not uuid and own is not None:
        if async_mode:
            return "+OK" if own.queue_private(cmd) else "-ERR memory error"
        await conn.drain()  # the application may run for a while
        await own.parse_private(cmd)
        return "+OK"
    channel = conn.core.channels.get(uuid) if uuid else None
    target = channel.session if channel is not None else None
    if target is not None and not target.destroyed.is_set():
        return "+OK" if target.queue_private(cmd) else "-ERR memory error"
    return f"-ERR invalid session id [{uuid or ''}]"


def sendevent(conn: Connection, cmd: Command, line: str) -> str:
    core = conn.core
    event_uuid = new_uuid()
    word = line[9:].lstrip(" \t")
    resolved = name_event(word) if word else None
    name = resolved if resolved is not None else "CUSTOM"
    subclass = cmd.header("Event-Subclass") if name == "CUSTOM" else None
    event = Event(
        name,
        [("Command", line), *cmd.headers, ("Event-UUID", event_uuid)],
        subclass=subclass,
        body=cmd.body,
    )
    target_uuid = cmd.header("unique-id")
    channel = core.channels.get(target_uuid) if target_uuid else None
    if channel is not None and channel.session is not None:
        # Queued to the session as it is (switch_core_session_queue_event), never
        # prepared for delivery: the session fires it from its media or park loop with
        # its channel data added and no Event-Name, Core-UUID or Event-Date-* headers
        # (mod_event_socket.c parse_command, switch_ivr.c; seen on 1.10.12).
        channel.session.queue_event(event)
    else:
        prepped = core.new_event(name, "mod_event_socket.c", "parse_command", 2275)
        event.headers += prepped.headers
        core.fire(event)
    return f"+OK {event_uuid}"


async def api(conn: Connection, text: str) -> None:
    command, sep, arg = text.partition(" ")
    if not api_allowed(conn, command, arg if sep else None):
        conn.write(encode_reply("-ERR permission denied"))
        return
    await conn.drain()  # the command may take a while (msleep, originate)
    result = await execute_api(conn.core, command, arg if sep else None)
    body = result.output if result.found else f"-ERR {command} Command not found!\n"
    conn.write(encode_api_response(body or "-ERR no reply\n"))


def bgapi(conn: Connection, cmd: Command, text: str) -> str | bytes:
    command, sep, arg = text.partition(" ")
    if not api_allowed(conn, command, arg if sep else None):
        return "-ERR permission denied"
    job_uuid = (cmd.header("job-uuid") or new_uuid())[:36]
    owner = conn.session.channel.uuid if conn.session is not None else None
    core = conn.core

    async def job() -> None:
        await run_background(core, job_uuid, command, arg if sep else None, owner)

    core.spawn(job, name=f"bgapi {command}")
    return encode_reply_headers(
        [("Reply-Text", f"+OK Job-UUID: {job_uuid}"), ("Job-UUID", job_uuid)]
    )


def log(conn: Connection, rest: str) -> str:
    if not conn.allow_log:
        return "-ERR permission denied"
    level_s = rest.lstrip(" ").split(" ", 1)[0]
    level = log_level(level_s) if level_s else LOG_LEVELS["DEBUG"]
    if level is None:
        return "-ERR invalid log level"
    conn.log_level = level
    conn.log_enabled = True
    return f"+OK log level {level_s} [{level}]"


def event(conn: Connection, rest: str) -> str:
    space = rest.find(" ")
    key_count = 0
    custom = False
    if space >= 0:
        for count, word in enumerate(rest[space + 1 :].split(" ")):
            if count == 0 and word.lower() in ("xml", "plain", "json"):
                conn.format = Format(word.lower())
                continue
            if custom:
                if conn.allowed_types is not None and word not in conn.allowed_subclasses:
                    return "-ERR permission denied"
                conn.subclasses.add(word)
                continue
            name = name_event(word)
            if name is None:
                continue
            if conn.allowed_types is not None and name not in conn.allowed_types:
                return "-ERR permission denied"
            key_count += 1
            if name == "ALL":
                conn.event_all = True
                conn.event_types |= ALL_TYPES
                conn.subclasses |= (
                    conn.core.reserved_subclasses
                    if conn.allowed_types is None
                    else conn.allowed_subclasses
                )
            else:
                conn.event_types.add(name)
            if name == "CUSTOM":
                custom = True
    if not key_count:
        return "-ERR no keywords supplied"
    conn.events_enabled = True
    conn.core.listening_changed()
    return f"+OK event listener enabled {conn.format.value}"


def nixevent(conn: Connection, rest: str) -> str:
    space = rest.find(" ")
    key_count = 0
    custom = False
    if space >= 0:
        for word in rest[space + 1 :].split(" "):
            if custom:
                conn.subclasses.discard(word)
                continue
            name = name_event(word)
            if name is None:
                continue
            key_count += 1
            if name == "CUSTOM":
                custom = True
            elif name == "ALL":
                conn.event_all = False
                conn.event_types.clear()
            else:
                if conn.event_all:
                    conn.event_all = False
                    conn.event_types = set(ALL_TYPES)
                conn.event_types.discard(name)
    if not key_count:
        return "-ERR no keywords supplied"
    conn.events_enabled = True
    return "+OK events nixed"


async def connect(conn: Connection) -> None:
    """Outbound ``connect``: the channel's data as a command/reply (no Content-Length)."""
    session = conn.session
    assert session is not None
    ch = session.channel
    event = conn.core.new_event("CHANNEL_DATA", "mod_event_socket.c", "parse_command", 2021)
    unique: dict[str, str] = {}
    for name, value in [
        *ch.caller.headers("Channel"),
        *ch.data_headers("CHANNEL_DATA"),
        ("Content-Type", "command/reply"),
        ("Reply-Text", "+OK\n"),
        ("Socket-Mode", "async" if conn.async_mode else "static"),
        ("Control", "full" if conn.full else "single-channel"),
    ]:
        # CHANNEL_DATA events keep one header per name (EF_UNIQ_HEADERS): the last wins.
        unique.pop(name, None)
        unique[name] = value
    body = [(k, v) for k, v in event.headers if k not in unique]
    event.headers = body + list(unique.items())
    conn.connected.set()
    session.signal.notify()  # the socket application goes on (async: it parks now)
    conn.write(event.plain_body())
