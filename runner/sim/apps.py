"""Dialplan applications the simulator runs (mod_dptools, mod_event_socket's ``socket``).

Each application is ``async def app(session, data)``; ``data`` is the argument after
variable expansion. Media does not exist here: playback and prompts take simulated time
(see `media_seconds`), digits come from the far end (scripted or injected DTMF).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from runner.sim.core import log_level
from runner.sim.event import name_event
from runner.sim.session import Session
from runner.sim.states import cause_from_name
from runner.sim.wire import c_atoi

App = Callable[[Session, str | None], Awaitable[None]]
"""An application: ``await app(session, data)``; mod_event_socket adds ``socket``."""

_TONE_SEGMENT = re.compile(r"%\(([^)]*)\)")
_LOOPS = re.compile(r"(?:^|;)\s*loops=(-?\d+)")


def media_seconds(path: str, default: float, known: dict[str, float]) -> float | None:
    """How long playing ``path`` takes, in seconds; None means until interrupted.

    ``tone_stream://%(on,off,freq)...;loops=N`` plays every segment's on+off time N times,
    ``silence_stream://ms`` is ms long (-1 forever); other paths use ``known`` or
    ``default``.
    """
    if path in known:
        return known[path]
    if path.startswith("tone_stream://"):
        spec = path[len("tone_stream://") :]
        total_ms = 0
        for segment in _TONE_SEGMENT.findall(spec):
            parts = [p.strip() for p in segment.split(",")]
            on = c_atoi(parts[0]) if parts else 0
            off = c_atoi(parts[1]) if len(parts) > 1 else 0
            total_ms += max(on, 0) + max(off, 0)
        loops_match = _LOOPS.search(spec)
        loops = int(loops_match.group(1)) if loops_match else 1
        if loops < 0:
            return None
        return total_ms * max(loops, 1) / 1000.0
    if path.startswith("silence_stream://"):
        ms = c_atoi(path[len("silence_stream://") :].split(",")[0])
        return None if ms < 0 else ms / 1000.0
    return default


def _file_type(path: str) -> str | None:
    if path.lower().startswith("tone_stream:"):
        return "tone_stream"
    if path.lower().startswith("local_stream:"):
        return "local_stream"
    return None


async def play(session: Session, path: str, on_digit: Callable[[str], bool] | None = None) -> bool:
    """switch_ivr_play_file: PLAYBACK_START, wait, playback_* variables, PLAYBACK_STOP.

    With ``on_digit`` (the playback app's input callback) buffered and arriving DTMF
    is taken off the channel one digit at a time; the callback returning True stops
    the file. Returns True if the file played to its end or was broken off
    (uuid_break, a terminator: mod_dptools reports both as FILE PLAYED), False if the
    channel hung up.
    """
    core = session.core
    config = core.media
    seconds = media_seconds(path, config.default_seconds, config.durations)
    ftype = _file_type(path)
    session.fire(
        "PLAYBACK_START",
        "switch_ivr_play_say.c",
        "switch_ivr_play_file",
        1655,
        after=[("Playback-File-Type", ftype), ("Playback-File-Path", path)],
    )
    started = core.clock.now()
    while True:
        left = None if seconds is None else seconds - (core.clock.now() - started)
        if left is not None and left <= 0:
            interrupted = broke = False
            break
        interrupted = await session.wait(left, dtmf=on_digit is not None)
        broke = session.last_wait_broke
        if on_digit is not None and session.dtmf and session.channel.ready():
            if on_digit(session.dtmf.popleft()):
                interrupted = broke = True
                break
            continue
        break
    elapsed = core.clock.now() - started
    played = min(elapsed, seconds) if seconds is not None else elapsed
    samples = int(played * 8000)
    ch = session.channel
    ch.set_var("playback_last_offset_pos", str(samples))
    ch.set_var("playback_seconds", str(samples // 8000))
    ch.set_var("playback_ms", str(samples // 8))
    ch.set_var("playback_samples", str(samples))
    session.fire(
        "PLAYBACK_STOP",
        "switch_ivr_play_say.c",
        "switch_ivr_play_file",
        2033,
        after=[
            ("Playback-File-Type", ftype),
            ("Playback-File-Path", path),
            ("Playback-Status", "break" if broke else "done"),
        ],
    )
    return broke or not interrupted


async def app_answer(session: Session, data: str | None) -> None:
    session.mark_answered()


async def app_pre_answer(session: Session, data: str | None) -> None:
    session.mark_pre_answered()


async def app_park(session: Session, data: str | None) -> None:
    if session.parked:
        # switch_ivr_park refuses a channel an outbound socket already controls.
        session.core.log(
            3,
            "switch_ivr.c",
            "switch_ivr_park",
            975,
            "Cannot park channels that are under control already.",
            uuid=session.channel.uuid,
        )
        return
    await session.park()


async def app_hangup(session: Session, data: str | None) -> None:
    session.hangup(cause_from_name(data))


async def app_set(session: Session, data: str | None) -> None:
    """`set name=value`: mod_dptools base_set expands the value a second time."""
    if not data:
        return
    name, sep, value = data.partition("=")
    session.channel.set_var(name.strip(), session.expand(value) if sep and value else None)


async def app_export(session: Session, data: str | None) -> None:
    """Set a variable and record it in ``export_vars`` (for legs this call originates)."""
    if not data:
        return
    name, sep, value = data.partition("=")
    name = name.strip()
    local = True
    if name.startswith("nolocal:"):
        name = name[len("nolocal:") :]
        local = False
    ch = session.channel
    if local:
        ch.set_var(name, value if sep else None)
    exported = [v for v in (ch.variables.get("export_vars") or "").split(",") if v]
    if name not in exported:
        exported.append(name)
    ch.set_var("export_vars", ",".join(exported))
    session.exported[name] = value


async def app_unset(session: Session, data: str | None) -> None:
    if data:
        session.channel.set_var(data.strip(), None)


async def app_sleep(session: Session, data: str | None) -> None:
    if data:
        await session.wait(max(c_atoi(data), 0) / 1000.0)


async def app_playback(session: Session, data: str | None) -> None:
    ch = session.channel
    if not data:
        ch.set_var("current_application_response", "FILE NOT FOUND")
        return
    ch.set_var("playback_terminator_used", None)
    # mod_dptools on_dtmf: playback takes the digits the channel has; a terminator
    # (playback_terminators, default "*") ends it, any other digit is dropped. So a
    # digit left over from a read never reaches the next read (seen on 1.10.12).
    terminators = ch.get_var("playback_terminators")
    if terminators is None:
        terminators = "*"
    elif terminators.lower() == "any":
        terminators = "1234567890*#"
    elif terminators.lower() == "none":
        terminators = ""

    def on_digit(digit: str) -> bool:
        if digit in terminators:
            ch.set_var("playback_terminator_used", digit)
            return True
        return False

    played = await play(session, data, on_digit)
    ch.set_var("current_application_response", "FILE PLAYED" if played else "PLAYBACK ERROR")


async def collect_digits(
    session: Session,
    *,
    max_digits: int,
    terminators: str,
    first_timeout: float,
    digit_timeout: float,
) -> tuple[str, str | None]:
    """Gather DTMF like switch_ivr_collect_digits_count: (digits, terminator used)."""
    digits = ""
    timeout = first_timeout
    while len(digits) < max_digits and session.channel.ready():
        if not session.dtmf:
            await session.wait(timeout, dtmf=True)
            if not session.dtmf:
                break  # timed out, or the channel hung up
        digit = session.dtmf.popleft()
        if digit in terminators:
            return digits, digit
        digits += digit
        timeout = digit_timeout
    return digits, None


async def _prompt_and_collect(
    session: Session,
    prompt: str | None,
    *,
    max_digits: int,
    terminators: str,
    timeout_ms: int,
    digit_timeout_ms: int,
) -> tuple[str, str | None]:
    await session.next_dtmf_entry()
    if prompt:
        await play(session, prompt)
    return await collect_digits(
        session,
        max_digits=max_digits,
        terminators=terminators,
        first_timeout=timeout_ms / 1000.0,
        digit_timeout=(digit_timeout_ms or timeout_ms) / 1000.0,
    )


async def app_read(session: Session, data: str | None) -> None:
    """``read <min> <max> <file> <var> <timeout_ms> <terminators> [digit_timeout_ms]``."""
    if not data:
        return
    argv = data.split(" ")
    min_digits = max(c_atoi(argv[0]), 1)
    max_digits = max(c_atoi(argv[1]) if len(argv) > 1 else 0, min_digits)
    prompt = argv[2] if len(argv) > 2 else None
    var_name = argv[3] if len(argv) > 3 else None
    timeout = max(c_atoi(argv[4]) if len(argv) > 4 else 1000, 1000)
    terminators = argv[5] if len(argv) > 5 and argv[5] else "#"
    digit_timeout = c_atoi(argv[6]) if len(argv) > 6 else 0
    digits, term = await _prompt_and_collect(
        session,
        prompt,
        max_digits=max_digits,
        terminators=terminators,
        timeout_ms=timeout,
        digit_timeout_ms=digit_timeout,
    )
    ch = session.channel
    ch.set_var("read_terminator_used", term)
    if var_name:
        ch.set_var(var_name, digits or None)
    # switch_ivr_read: fewer than min digits is TOO_SMALL ("failure"), also after a
    # timeout; enough digits but no terminator and fewer than max is "timeout".
    if len(digits) < min_digits or not ch.ready():
        ch.set_var("read_result", "failure")
    elif term is None and len(digits) < max_digits:
        ch.set_var("read_result", "timeout")
    else:
        ch.set_var("read_result", "success")


async def app_play_and_get_digits(session: Session, data: str | None) -> None:
    """``play_and_get_digits <min> <max> <tries> <timeout> <terminators> <file> <invalid_file>
    <var> <regexp> [digit_timeout] [transfer_on_failure]`` (switch_ivr_play_and_get_digits)."""
    if not data:
        return
    argv = data.split(" ")
    arg = argv.__getitem__
    min_digits = max(c_atoi(arg(0)), 0)
    max_digits = c_atoi(arg(1)) if len(argv) > 1 else 0
    tries = max(c_atoi(arg(2)) if len(argv) > 2 else 1, 1)
    timeout = max(c_atoi(arg(3)) if len(argv) > 3 else 1000, 1000)
    terminators = arg(4) if len(argv) > 4 else ""
    prompt = arg(5) if len(argv) > 5 else None
    invalid = arg(6) if len(argv) > 6 else None
    var_name = arg(7) if len(argv) > 7 else None
    regex = arg(8) if len(argv) > 8 else None
    digit_timeout = c_atoi(arg(9)) if len(argv) > 9 else 0
    on_failure = arg(10) if len(argv) > 10 else None
    if max_digits < min_digits:
        max_digits = min_digits
    if terminators == "none":
        terminators = ""
    ch = session.channel
    for _ in range(tries):
        if not ch.ready():
            return
        digits, term = await _prompt_and_collect(
            session,
            prompt,
            max_digits=max_digits,
            terminators=terminators,
            timeout_ms=timeout,
            digit_timeout_ms=digit_timeout,
        )
        ch.set_var("read_terminator_used", term)
        valid = min_digits <= len(digits) <= max_digits and (
            not regex or re.search(regex, digits) is not None
        )
        if valid and (digits or min_digits == 0):
            if var_name:
                ch.set_var(var_name, digits or None)
            ch.set_var("read_result", "success")
            return
        if var_name and digits:
            ch.set_var(f"{var_name}_invalid", digits)
        if invalid and ch.ready():
            await play(session, invalid)
    ch.set_var("read_result", "failure")
    if var_name:
        ch.set_var(var_name, None)
    if on_failure and ch.ready():
        parts = on_failure.split(" ")
        session.transfer(
            parts[0],
            parts[1] if len(parts) > 1 else "XML",
            parts[2] if len(parts) > 2 else ch.caller.context,
        )


async def app_transfer(session: Session, data: str | None) -> None:
    """``transfer <destination> [dialplan] [context]``: route again from CS_ROUTING."""
    if not data:
        return
    parts = data.split(" ")
    ch = session.channel
    session.transfer(
        parts[0],
        parts[1] if len(parts) > 1 and parts[1] else "XML",
        parts[2] if len(parts) > 2 and parts[2] else ch.caller.context,
    )


async def app_log(session: Session, data: str | None) -> None:
    """``log [level] message`` (mod_dptools log_function)."""
    if data is None:
        return
    level_word, sep, text = data.partition(" ")
    level = 7  # DEBUG, also for an unknown level word
    if sep:
        parsed = log_level(level_word)
        level = parsed if parsed is not None else 7
    else:
        text = level_word
    session.core.log(level, "mod_dptools.c", "log_function", 1865, text, uuid=session.channel.uuid)


async def app_event(session: Session, data: str | None) -> None:
    """``event Name=value,...``: fire CHANNEL_APPLICATION (or the Event-Name given)."""
    core = session.core
    ev = core.new_event("CHANNEL_APPLICATION", "mod_dptools.c", "event_function", 1943)
    for item in (data or "").split(","):
        var, sep, val = item.strip().partition("=")
        var, val = var.strip(), val.strip()
        if not sep:
            continue
        if var.lower() == "event-name":
            resolved = name_event(val)
            if resolved is not None:
                ev.name = resolved
            ev.headers = [h for h in ev.headers if h[0].lower() != "event-name"]
            ev.add(var, val)
        elif var.lower() == "event-subclass":
            ev.subclass = val
            ev.add(var, val)
        else:
            ev.add(var, val)
    session.channel.add_data(ev)
    core.fire(ev)


async def app_bridge(session: Session, data: str | None) -> None:
    """``bridge <dial string>``: originate a leg, connect both, wait for one to hang up."""
    from runner.sim.bridge import bridge

    await bridge(session, data or "")


async def app_echo(session: Session, data: str | None) -> None:
    await session.wait(None)


async def app_info(session: Session, data: str | None) -> None:
    level = log_level(data) if data else 6
    lines = "".join(f"{k}: {v}\n" for k, v in session.channel.data_headers("CHANNEL_DATA"))
    session.core.log(
        level if level is not None else 6,
        "mod_dptools.c",
        "info_function",
        1884,
        f"CHANNEL_DATA:\n{lines}",
        uuid=session.channel.uuid,
    )


APPLICATIONS: dict[str, App] = {
    "answer": app_answer,
    "pre_answer": app_pre_answer,
    "park": app_park,
    "hangup": app_hangup,
    "set": app_set,
    "export": app_export,
    "unset": app_unset,
    "sleep": app_sleep,
    "playback": app_playback,
    "read": app_read,
    "play_and_get_digits": app_play_and_get_digits,
    "transfer": app_transfer,
    "log": app_log,
    "event": app_event,
    "bridge": app_bridge,
    "echo": app_echo,
    "info": app_info,
}
