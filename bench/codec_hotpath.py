"""CPU time of the codec's hot paths on the captures, to compare two checkouts.

    python bench/codec_hotpath.py                    # this checkout
    python bench/codec_hotpath.py --src ../main      # another checkout's runner/

Best of --reps runs, in CPU seconds (the machine is shared): framing every capture
with `Parser.feed`, the lazy `get` of three names on every plain event, the full
decode behind `.headers`, and `decode_json_event` on every json event.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tests" / "data" / "captures"


def best(run: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT, help="checkout whose runner/ to time")
    parser.add_argument("--reps", type=int, default=15, help="runs of each; the best counts")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.src.resolve()))
    from runner.esl.codec import Parser
    from runner.esl.decode import decode_json_event
    from runner.esl.event import Event

    streams = [path.read_bytes() for path in sorted(CAPTURES.glob("*.recv.bin"))]
    events = [m for data in streams for m in Parser().feed(data) if isinstance(m, Event)]
    plain = [(e._head, e.body) for e in events if e.format == "plain"]
    json_bodies = []
    for data in streams:
        pos = 0
        while (start := data.find(b"Content-Type: text/event-json\n\n", pos)) >= 0:
            line = data.rfind(b"Content-Length: ", 0, start)
            length = int(data[line + 16 : start - 1])
            body_at = start + len(b"Content-Type: text/event-json\n\n")
            json_bodies.append(data[body_at : body_at + length])
            pos = body_at + length

    def feed() -> None:
        for data in streams:
            Parser().feed(data)

    def lazy_get() -> None:
        for _ in range(20):
            for head, body in plain:
                event = Event.from_plain_head(head, body)  # type: ignore[arg-type]
                event.get("Event-Name"), event.get("Unique-ID"), event.get("Nope")

    def headers() -> None:
        for head, body in plain:
            Event.from_plain_head(head, body).headers  # type: ignore[arg-type]  # noqa: B018

    def json_decode() -> None:
        for _ in range(10):
            for body in json_bodies:
                decode_json_event(body)

    print(f"runner from {args.src.resolve()}")
    print(f"feed, {sum(map(len, streams))} bytes:        {best(feed, args.reps) * 1000:7.1f} ms")
    print(f"lazy get x3 x20, {len(plain)} events:  {best(lazy_get, args.reps) * 1000:7.1f} ms")
    print(f".headers, {len(plain)} plain events:   {best(headers, args.reps) * 1000:7.1f} ms")
    json_ms = best(json_decode, args.reps) * 1000
    print(f"json decode x10, {len(json_bodies)} events:  {json_ms:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
