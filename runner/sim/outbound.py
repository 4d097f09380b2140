"""The ``socket`` application: the simulator connects to an outbound ESL server.

Mirrors mod_event_socket.c ``socket_function``: try each ``host:port`` (``|``-separated)
in turn; in ``async`` mode the connection runs beside the call, which parks and runs the
sendmsg commands it receives; otherwise (shown as ``static``) the connection runs inside
the call and a sendmsg runs before its reply is sent.

When the connection ends and the call is still up, the call goes on in the dialplan if
the server sent ``resume`` (or set ``socket_resume=true``); otherwise it is hung up
(NORMAL_CLEARING), as issue 3 specifies.
"""

from __future__ import annotations

import anyio

from runner.network import TCP, Network
from runner.sim.listener import Connection, ListenerConfig
from runner.sim.session import Session
from runner.sim.traffic import Traffic

DEFAULT_PORT = 8084
CONNECT_TIMEOUT = 5.0


def _split_host(host: str) -> tuple[str, int, str | None]:
    path: str | None = None
    port = DEFAULT_PORT
    name = host
    if ":" in host and not host.startswith("["):
        name, _, port_text = host.rpartition(":")
        port_text, slash, path_text = port_text.partition("/")
        port = int(port_text) if port_text.isdigit() else DEFAULT_PORT
        path = path_text if slash else None
    elif host.startswith("["):
        close = host.find("]")
        name = host[1:close]
        rest = host[close + 1 :]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    return name, port, path


async def socket_app(
    session: Session,
    data: str | None,
    *,
    config: ListenerConfig,
    traffic: Traffic,
    network: Network = TCP,
) -> None:
    """``socket <host:port>[|<host:port>...] [async] [full]`` (mod_event_socket).

    Bind ``config``, ``traffic`` and ``network`` with functools.partial to register it
    as an app.
    """
    data = data or ""
    core = session.core
    ch = session.channel
    argv = data.split(" ")
    if not argv or not argv[0]:
        core.log(3, "mod_event_socket.c", "socket_function", 391, "Parse Error!", uuid=ch.uuid)
        return
    flags = {a.lower() for a in argv[1:]}
    stream = None
    peer = ""
    for host in argv[0].split("|"):
        if not host:
            core.log(3, "mod_event_socket.c", "socket_function", 402, "Missing Host!", uuid=ch.uuid)
            continue
        name, port, path = _split_host(host)
        if path is not None:
            ch.set_var("socket_path", path)
        ch.set_var("socket_host", name)
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                stream = await network.connect_tcp(name, port)
            peer = f"{name}:{port}"
            break
        except (OSError, TimeoutError) as exc:
            core.log(
                3,
                "mod_event_socket.c",
                "socket_function",
                451,
                f"Socket Error: {exc}",
                uuid=ch.uuid,
            )
    if stream is None:
        core.log(3, "mod_event_socket.c", "socket_function", 456, "Socket Error!", uuid=ch.uuid)
        return
    record = traffic.open("outbound", peer)
    async_mode = "async" in flags
    conn = Connection(
        core, stream, config, record, session=session, async_mode=async_mode, full="full" in flags
    )
    session.hold()  # listener_run holds a read lock on the session until it ends
    if async_mode:
        session.controlled = True  # switch_ivr_park sets CF_CONTROLLED; the socket clears it

        async def serve() -> None:
            try:
                await conn.serve()
            finally:
                record.closed = True

        core.spawn(serve, name=f"outbound {peer}")
        # mod_event_socket waits for `connect` (or the end) before parking the call.
        while ch.ready() and not conn.finished.is_set() and not conn.connected.is_set():
            await session.signal.wait(None)
        if ch.ready() and not conn.finished.is_set():
            await session.park()
        await session.process_private_events()
    else:
        try:
            await conn.serve()
        finally:
            record.closed = True
    if ch.ready() and not (session.socket_resume or conn.resume):
        session.hangup("NORMAL_CLEARING")
