"""The raw-socket ceiling for bench/engine_bench.py: the 5-step flow, hand-written.

One blocking socket, json events, a dict of call states, no flow language, no asyncio:
answer -> playback -> (set) -> api uuid_setvar -> hangup, each step started when the
previous completed, exactly as the engine's flow does. Usage: raw_responder.py PORT
"""

from __future__ import annotations

import json
import socket
import sys
from collections import deque


def main(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    api_waiting: deque[str] = deque()  # uuids whose api reply comes next, in order
    replies_to_skip = 0  # command/reply answers we do not look at

    def send(data: bytes) -> None:
        sock.sendall(data)

    def execute(uuid: str, app: str, arg: str | None, step: int) -> None:
        nonlocal replies_to_skip
        body = b""
        head = f"sendmsg {uuid}\ncall-command: execute\nexecute-app-name: {app}\n"
        head += f"Event-UUID: {uuid}:{step}\n"
        if arg:
            body = arg.encode()
            head += f"content-type: text/plain\ncontent-length: {len(body)}\n"
        send(head.encode() + b"\n" + body)
        replies_to_skip += 1

    send(b"auth ClueCon\n\n")
    send(b"event json CHANNEL_PARK CHANNEL_EXECUTE_COMPLETE\n\n")
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return
        buf += data
        while True:
            end = buf.find(b"\n\n")
            if end < 0:
                break
            head = buf[:end].decode()
            length = 0
            ctype = ""
            for line in head.split("\n"):
                name, _, value = line.partition(": ")
                if name == "Content-Length":
                    length = int(value)
                elif name == "Content-Type":
                    ctype = value
            if len(buf) < end + 2 + length:
                break
            body = buf[end + 2 : end + 2 + length]
            buf = buf[end + 2 + length :]
            if ctype == "api/response":
                uuid = api_waiting.popleft()
                hangup = f"sendmsg {uuid}\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"
                send(hangup.encode())
                continue
            if ctype != "text/event-json":
                continue
            event = json.loads(body)
            name = event.get("Event-Name")
            uuid = event.get("Unique-ID", "")
            if name == "CHANNEL_PARK":
                execute(uuid, "answer", None, 1)
            elif name == "CHANNEL_EXECUTE_COMPLETE":
                app_uuid = event.get("Application-UUID", "")
                if not app_uuid.startswith(uuid + ":"):
                    continue
                step = app_uuid.rsplit(":", 1)[1]
                if step == "1":
                    execute(uuid, "playback", "ivr/ivr-welcome.wav", 2)
                elif step == "2":
                    dest = event.get("Caller-Destination-Number", "")
                    api_waiting.append(uuid)
                    send(f"api uuid_setvar {uuid} routed {dest}\n\n".encode())


if __name__ == "__main__":
    main(int(sys.argv[1]))
