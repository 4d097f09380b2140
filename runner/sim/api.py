"""API commands (mod_commands) the simulator answers, with FreeSWITCH's exact output.

`execute_api` mirrors switch_api_execute: it strips the command and its argument, runs
the command, and fires the API event (created before the command runs, so its
Event-Sequence is lower than the events the command causes, fired after it returns).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from runner.sim.api_media import api_uuid_break, api_uuid_send_dtmf
from runner.sim.api_show import CALL_COLUMNS, CHANNEL_COLUMNS, channel_row, table
from runner.sim.core import VERSION, VERSION_HUMAN, SwitchCore, log_level, uptime_text
from runner.sim.endpoints import (
    OriginateError,
    flip_cid,
    originate_leg,
    parse_app_target,
    wait_answer,
)
from runner.sim.event import url_encode
from runner.sim.session import Session
from runner.sim.states import cause_from_name
from runner.sim.wire import Command, c_atoi

ApiFunc = Callable[[SwitchCore, str], Awaitable[str]]


@dataclass(frozen=True)
class ApiResult:
    found: bool
    output: str


async def execute_api(core: SwitchCore, command: str, arg: str | None) -> ApiResult:
    """Run one API command; ``found`` is False for a command nobody registered."""
    cmd = command.strip()
    arg_used = arg.strip() if arg is not None else None
    event = core.new_event("API", "switch_loadable_module.c", "switch_api_execute", 2954)
    event.add("API-Command", cmd)
    event.add("API-Command-Argument", arg_used)
    func = core.api_commands.get(cmd.lower()) or API_COMMANDS.get(cmd.lower())
    if func is None:
        core.fire(event)
        return ApiResult(False, "INVALID COMMAND!\n")
    try:
        output = await func(core, arg_used or "")
    except Exception as exc:
        core.log(3, "api.py", cmd, 0, f"api {cmd} failed: {exc!r}")
        output = f"-ERR {cmd} failed: {exc}\n"
    core.fire(event)
    return ApiResult(True, output)


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def separate_string(text: str, limit: int) -> list[str]:
    """switch_separate_string(buf, ' ', argv, limit) as mod_commands uses it.

    Runs of spaces separate arguments, single quotes group (``'&socket(h:p async)'``),
    a backslash escapes; the last of ``limit`` arguments keeps the rest of the line.
    Quotes and escapes are then removed and each argument trimmed.
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n and len(parts) < limit:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        if len(parts) == limit - 1:
            parts.append(text[i:])
            break
        start, quoted = i, False
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 1
            elif ch == "'":
                quoted = not quoted
            elif ch == " " and not quoted:
                break
            i += 1
        parts.append(text[start:i])
    return [_cleanup(part) for part in parts]


def _cleanup(part: str) -> str:
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "\\" and i + 1 < len(part):
            nxt = part[i + 1]
            if nxt in "'\"\\" or nxt in _UNESCAPE:
                out.append(_UNESCAPE.get(nxt, nxt))
                i += 2
                continue
        if ch == "'" and (quoted or "'" in part[i + 1 :]):
            quoted = not quoted
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip(" ")


def _session(core: SwitchCore, uuid: str) -> Session | None:
    channel = core.channels.get(uuid)
    if channel is None or channel.session is None or channel.session.destroyed.is_set():
        return None
    return channel.session


# -- system ---------------------------------------------------------------------------------


async def api_status(core: SwitchCore, arg: str) -> str:
    count = len(core.channels)
    return (
        f"UP {uptime_text(core.uptime_micros())}\n"
        f"FreeSWITCH (Version {VERSION_HUMAN}) is ready\n"
        f"{core.sessions_since_startup} session(s) since startup\n"
        f"{count} session(s) - peak {core.peak_sessions}, last 5min {core.peak_sessions} \n"
        "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
        f"{core.max_sessions} session(s) max\n"
        "min idle cpu 0.00/100.00\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


_UPTIME_SCALE = {
    "": 1_000_000,
    "microseconds": 1,
    "us": 1,
    "milliseconds": 1000,
    "ms": 1000,
    "seconds": 1_000_000,
    "s": 1_000_000,
    "minutes": 60_000_000,
    "m": 60_000_000,
    "hours": 3_600_000_000,
    "h": 3_600_000_000,
    "days": 86_400_000_000,
    "d": 86_400_000_000,
}


async def api_uptime(core: SwitchCore, arg: str) -> str:
    scale = _UPTIME_SCALE.get(arg.lower())
    if scale is None:
        return "-USAGE: [us|ms|s|m|h|d|microseconds|milliseconds|seconds|minutes|hours|days]\n"
    return f"{core.uptime_micros() // scale}\n"


async def api_version(core: SwitchCore, arg: str) -> str:
    if arg and "short" in arg.split(" ")[0].lower():
        return "1.10.12\n"
    return f"FreeSWITCH Version {VERSION} ( 64bit)\n"


async def api_hostname(core: SwitchCore, arg: str) -> str:
    return core.identity.hostname


async def api_msleep(core: SwitchCore, arg: str) -> str:
    await core.clock.sleep(max(c_atoi(arg), 0) / 1000.0)
    return "+OK"


async def api_echo(core: SwitchCore, arg: str) -> str:
    return arg


async def api_log(core: SwitchCore, arg: str) -> str:
    if not arg:
        return "-ERR\n"
    level_word, sep, text = arg.partition(" ")
    level = 7  # DEBUG, also for an unknown level word
    if sep:
        parsed = log_level(level_word)
        level = parsed if parsed is not None else 7
    else:
        text = level_word
    core.log(level, "mod_commands.c", "log_function", 7200, text)
    return "+OK\n"


async def api_global_getvar(core: SwitchCore, arg: str) -> str:
    if not arg:
        return "".join(f"{k}={v}\n" for k, v in core.global_vars.items())
    return core.global_vars.get(arg, "")


async def api_global_setvar(core: SwitchCore, arg: str) -> str:
    name, sep, value = arg.partition("=")
    if not sep or not name.strip():
        return "-USAGE: <var>=<value> [=<value2>]\n"
    core.global_vars[name.strip()] = value.strip()
    return "+OK\n"


async def api_eval(core: SwitchCore, arg: str) -> str:
    """Expand ``${name}`` against a channel's data headers (``uuid:<uuid> ...``) and globals."""
    if not arg:
        return ""
    text = arg
    headers: dict[str, str] = {}
    if arg.lower().startswith("uuid:"):
        uuid, _, text = arg[5:].partition(" ")
        session = _session(core, uuid)
        if session is not None:
            headers = dict(session.channel.data_headers("CHANNEL_DATA"))
    if not text:
        return ""

    def lookup(name: str) -> str:
        if name in headers:
            return headers[name]
        return core.global_vars.get(name, "")

    return _expand(text, lookup)


def _expand(text: str, lookup: Callable[[str], str]) -> str:
    out = []
    i = 0
    while i < len(text):
        if text.startswith("${", i) or text.startswith("$${", i):
            start = text.index("{", i) + 1
            end = text.find("}", start)
            if end < 0:
                out.append(text[i:])
                break
            name = text[start:end]
            out.append("" if "(" in name else lookup(name))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


async def api_reloadxml(core: SwitchCore, arg: str) -> str:
    return "+OK [Success]\n"


async def api_xml_locate(core: SwitchCore, arg: str) -> str:
    if not arg:
        return "-ERR Invalid Input!\n"
    section = arg.split(" ")[0]
    return (
        f'<section name="{section}" description="Various Configuration">\n'
        '  <configuration name="event_socket.conf" description="Socket Client">\n'
        "    <settings>\n"
        f'      <param name="listen-ip" value="{core.identity.ipv4}"/>\n'
        "    </settings>\n"
        "  </configuration>\n"
        "</section>\n"
    )


# -- channels -------------------------------------------------------------------------------


async def api_originate(core: SwitchCore, arg: str) -> str:
    """``originate <dial string> <exten>|&app(args) [dialplan] [context] [cid_name] [cid_num]
    [timeout]`` (mod_commands originate_function)."""
    syntax = (
        "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
        "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
    )
    if not arg:
        return syntax
    argv = separate_string(arg, 10)
    if len(argv) < 2 or len(argv) > 7:
        return syntax
    argv = [None if a.lower() == "undef" else a for a in argv]  # type: ignore[misc]
    dial, exten = argv[0] or "", argv[1] or ""
    dialplan = argv[2] if len(argv) > 2 and argv[2] else "XML"
    context = argv[3] if len(argv) > 3 and argv[3] else "default"
    cid_name = argv[4] if len(argv) > 4 and argv[4] else ""
    cid_num = argv[5] if len(argv) > 5 and argv[5] else ""
    timeout = c_atoi(argv[6]) if len(argv) > 6 and argv[6] else 60
    try:
        leg = originate_leg(core, dial, cid_name=cid_name, cid_number=cid_num)
        await wait_answer(leg, float(timeout))
    except OriginateError as exc:
        return f"-ERR {exc.cause}\n"
    if leg.channel.name.startswith("loopback/"):
        flip_cid(leg)
    app = parse_app_target(exten)
    if app is not None:
        leg.go([app])
    else:
        leg.transfer_to = (exten, dialplan, context)
        leg.go([])
    return f"+OK {leg.channel.uuid}\n"


async def api_uuid_kill(core: SwitchCore, arg: str) -> str:
    if not arg:
        return "-USAGE: <uuid> [cause]\n"
    uuid, _, cause = arg.partition(" ")
    session = _session(core, uuid)
    if session is None or not session.channel.ready():
        return "-ERR No such channel!\n"
    session.hangup(cause_from_name(cause.strip() or None))
    return "+OK\n"


async def api_uuid_answer(core: SwitchCore, arg: str) -> str:
    session = _session(core, arg)
    if session is None or not session.channel.ready():
        return "-ERROR\n"
    session.mark_answered()
    return "+OK\n"


async def api_uuid_exists(core: SwitchCore, arg: str) -> str:
    return "true" if _session(core, arg) is not None else "false"


async def api_uuid_getvar(core: SwitchCore, arg: str) -> str:
    argv = separate_string(arg, 4)
    if len(argv) < 2 or not argv[0]:
        return "-USAGE: <uuid> <var>\n"
    session = _session(core, argv[0])
    if session is None:
        return "-ERR No such channel!\n"
    if not argv[1]:
        return "-ERR No variable name specified!\n"
    value = session.channel.get_var(argv[1])
    return value if value is not None else "_undef_"


async def api_uuid_setvar(core: SwitchCore, arg: str) -> str:
    argv = separate_string(arg, 3)
    if len(argv) not in (2, 3) or not argv[0]:
        return "-USAGE: <uuid> <var> [value]\n"
    session = _session(core, argv[0])
    if session is None:
        return "-ERR No such channel!\n"
    if not argv[1]:
        return "-ERR No variable specified\n"
    session.channel.set_var(argv[1], argv[2] if len(argv) == 3 else None)
    return "+OK\n"


async def api_uuid_broadcast(core: SwitchCore, arg: str) -> str:
    """``uuid_broadcast <uuid> <path>|<app>::<args> [aleg|bleg|both]``: queue it on the call."""
    argv = separate_string(arg, 4)
    if not arg or len(argv) < 2:
        return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
    session = _session(core, argv[0])
    if session is None:
        return "-ERR invalid uuid\n"
    app, sep, app_arg = argv[1].partition("::")
    if not sep:
        app, app_arg = "playback", argv[1]
    command = Command(
        "sendmsg",
        (
            ("call-command", "execute"),
            ("execute-app-name", app),
            ("execute-app-arg", app_arg),
        ),
    )
    session.queue_private(command)
    return "+OK Message sent\n"


async def api_uuid_transfer(core: SwitchCore, arg: str) -> str:
    argv = separate_string(arg, 5)
    if argv[1:2] and argv[1] in ("-bleg", "-both"):
        argv.pop(1)
    if len(argv) < 2:
        return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    session = _session(core, argv[0])
    if session is None:
        return "-ERR No such channel!\n"
    ch = session.channel
    session.transfer(
        argv[1],
        argv[2] if len(argv) > 2 else "XML",
        argv[3] if len(argv) > 3 else ch.caller.context,
    )
    return "+OK\n"


async def api_hupall(core: SwitchCore, arg: str) -> str:
    argv = separate_string(arg, 11)
    cause = cause_from_name(argv[0], "MANAGER_REQUEST") if argv else "MANAGER_REQUEST"
    matches = [(argv[i], argv[i + 1]) for i in range(1, len(argv) - 1, 2)]
    for channel in list(core.channels.values()):
        session = channel.session
        if session is None or not channel.ready():
            continue
        if all(channel.get_var(name) == value for name, value in matches):
            session.hangup(cause)
    if not matches:
        return f"+OK hangup all channels with cause {cause}\n"
    more = "..." if len(matches) > 1 else ""
    name, value = matches[0]
    return f"+OK hangup all channels matching [{name}]=[{value}]{more} with cause: {cause}\n"


async def api_uuid_dump(core: SwitchCore, arg: str) -> str:
    argv = separate_string(arg, 2)
    if not argv or not argv[0]:
        return "-USAGE: <uuid> [format]\n"
    session = _session(core, argv[0])
    if session is None:
        return "-ERR No such channel!\n"
    fmt = argv[1].lower() if len(argv) > 1 and argv[1] else "txt"
    event = core.new_event("CHANNEL_DATA", "mod_commands.c", "uuid_dump_function", 6468)
    session.channel.add_data(event)
    if fmt == "xml":
        return event.xml_body().decode("utf-8", "surrogateescape")
    if fmt == "json":
        return event.json_body().decode("utf-8", "surrogateescape")
    if fmt == "plain":
        return "".join(f"{k}: [{v}]\n" for k, v in event.headers) + "\n"
    return "".join(f"{k}: {url_encode(v)}\n" for k, v in event.headers) + "\n"


# -- show -------------------------------------------------------------------------------------


async def api_show(core: SwitchCore, arg: str) -> str:
    words = arg.split()
    as_json = len(words) >= 3 and words[-2].lower() == "as" and words[-1].lower() == "json"
    what = words[0].lower() if words else ""
    sessions = [
        ch.session
        for ch in core.channels.values()
        if ch.session is not None and not ch.session.destroyed.is_set()
    ]
    if what == "channels":
        return table([channel_row(core, s) for s in sessions], CHANNEL_COLUMNS, as_json)
    if what == "calls":
        return table([channel_row(core, s) for s in sessions], CALL_COLUMNS, as_json)
    if what == "api":
        rows = [
            {"name": name, "description": desc, "syntax": syntax, "ikey": "mod_commands"}
            for name, (desc, syntax) in sorted(API_HELP.items())
        ]
        return table(rows, ("name", "description", "syntax", "ikey"), as_json)
    if what in ("application", "applications"):
        rows = [
            {
                "name": name,
                "description": "",
                "syntax": "",
                "ikey": "mod_event_socket" if name == "socket" else "mod_dptools",
            }
            for name in sorted(core.applications)
        ]
        return table(rows, ("name", "description", "syntax", "ikey"), as_json)
    return "-USAGE: codec|endpoint|application|api|channels|calls|...\n"


API_COMMANDS: dict[str, ApiFunc] = {
    "status": api_status,
    "uptime": api_uptime,
    "version": api_version,
    "hostname": api_hostname,
    "msleep": api_msleep,
    "echo": api_echo,
    "log": api_log,
    "global_getvar": api_global_getvar,
    "global_setvar": api_global_setvar,
    "eval": api_eval,
    "reloadxml": api_reloadxml,
    "xml_locate": api_xml_locate,
    "originate": api_originate,
    "uuid_kill": api_uuid_kill,
    "uuid_answer": api_uuid_answer,
    "uuid_exists": api_uuid_exists,
    "uuid_getvar": api_uuid_getvar,
    "uuid_setvar": api_uuid_setvar,
    "uuid_broadcast": api_uuid_broadcast,
    "uuid_transfer": api_uuid_transfer,
    "uuid_dump": api_uuid_dump,
    "uuid_send_dtmf": api_uuid_send_dtmf,
    "uuid_break": api_uuid_break,
    "hupall": api_hupall,
    "show": api_show,
}

API_HELP: dict[str, tuple[str, str]] = {
    "status": ("Show current status", ""),
    "uptime": (
        "Show uptime",
        "[us|ms|s|m|h|d|microseconds|milliseconds|seconds|minutes|hours|days]",
    ),
    "version": ("Version", "[short]"),
    "hostname": ("Return the system hostname", ""),
    "msleep": ("Sleep N milliseconds", "<milliseconds>"),
    "echo": ("Echo", "<data>"),
    "log": ("Log", "<level> <message>"),
    "global_getvar": ("Get global var", "<var>"),
    "global_setvar": ("Set global var", "<var>=<value> [=<value2>]"),
    "eval": ("eval (noop)", "[uuid:<uuid> ]<expression>"),
    "reloadxml": ("Reload XML", ""),
    "xml_locate": ("Find some xml", "[root | <section> <tag> <tag_attr_name> <tag_attr_val>]"),
    "originate": ("Originate a call", "<call url> <exten>|&<application_name>(<app_args>)"),
    "uuid_kill": ("Kill channel", "<uuid> [cause]"),
    "uuid_send_dtmf": ("Send dtmf digits", "<uuid> <dtmf_data>"),
    "uuid_break": ("Break out of media sent to channel", "<uuid> [all]"),
    "uuid_answer": ("answer", "<uuid>"),
    "uuid_exists": ("Check if a uuid exists", "<uuid>"),
    "uuid_getvar": ("Get a variable from a channel", "<uuid> <var>"),
    "uuid_setvar": ("Set a variable", "<uuid> <var> [value]"),
    "uuid_broadcast": ("Execute dialplan application", "<uuid> <path> [aleg|bleg|holdb|both]"),
    "uuid_transfer": (
        "Transfer a session",
        "<uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]",
    ),
    "uuid_dump": ("Dump session vars", "<uuid> [format]"),
    "hupall": ("hupall", "<cause> [<var> <value>]"),
    "show": ("Show various reports", "codec|endpoint|application|api|channels|calls"),
}


async def run_background(
    core: SwitchCore, job_uuid: str, command: str, arg: str | None, owner: str | None = None
) -> None:
    """bgapi's api_exec thread: run the command, then fire BACKGROUND_JOB with the output."""
    result = await execute_api(core, command, arg)
    reply = result.output if result.found else f"-ERR {command} Command not found!\n"
    event = core.new_event("BACKGROUND_JOB", "mod_event_socket.c", "api_exec", 1572)
    event.add("Job-UUID", job_uuid)
    event.add("Job-Owner-UUID", owner)
    event.add("Job-Command", command)
    event.add("Job-Command-Arg", arg)
    event.body = reply
    core.fire(event)
    await anyio.lowlevel.checkpoint()
