"""Chaos benchmark of the sans-I/O ESL codec: fuzzed frames in, no surprise out (issue 10).

Frames FreeSWITCH 1.10.12 sent (tests/data/captures) are mutated — bit flips, truncation,
duplicated and deleted lines, huge, negative and non-ASCII Content-Length, hostile
values and URL escapes, deep JSON, splices, changed Content-Types — joined into streams
of one to four frames, cut at random points (sometimes one byte per feed) and fed to a
fresh `Parser`; every message that comes out is read in full (tests/helpers/codec_fuzz.py).
The promise: messages or `EslProtocolError`, never another exception, never a hang.

    python bench/chaos_codec.py                    # 1,000,000 frames, one core
    python bench/chaos_codec.py --frames 2000      # what the test suite runs

Prints the counts; exits 1 if any exception other than `EslProtocolError` or any hang
(a stream over --hang-seconds of CPU) was seen.
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.codec_fuzz import capture_frames, mutate, read_fully, split  # noqa: E402

from runner.esl.codec import Parser  # noqa: E402
from runner.esl.errors import EslProtocolError  # noqa: E402

_QUOTED = re.compile(r"[\d'\"(]")


class Hang(Exception):
    """A stream took longer than the per-stream CPU bound."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


class Tally:
    """What the run saw."""

    def __init__(self) -> None:
        self.frames = 0
        self.streams = 0
        self.bytes = 0
        self.feeds = 0
        self.messages = 0
        self.protocol_errors: Counter[str] = Counter()
        self.other: Counter[str] = Counter()
        self.other_examples: dict[str, str] = {}
        self.hangs = 0
        self.peak_buffered = 0
        self.worst_scan_ratio = 0.0
        self.slowest = 0.0


def run_stream(data: bytes, rng: random.Random, tally: Tally) -> None:
    parser = Parser()
    peak = 0
    try:
        for chunk in split(rng, data):
            tally.feeds += 1
            messages = parser.feed(chunk)
            peak = max(peak, parser.buffered)
            for message in messages:
                read_fully(message)
                tally.messages += 1
        parser.close()
    except EslProtocolError as exc:
        # Group by the start of the message, before any value or number it quotes.
        tally.protocol_errors[_QUOTED.split(str(exc), maxsplit=1)[0].strip()] += 1
    finally:
        tally.peak_buffered = max(tally.peak_buffered, peak)
        tally.worst_scan_ratio = max(tally.worst_scan_ratio, parser.bytes_scanned / len(data))


def run(frames: int, seed: int, hang_seconds: float) -> Tally:
    seeds = capture_frames()
    rng = random.Random(seed)
    tally = Tally()
    signal.signal(signal.SIGVTALRM, _on_alarm)
    while tally.frames < frames:
        count = min(rng.randint(1, 4), frames - tally.frames)
        data = b"".join(mutate(rng, rng.choice(seeds), seeds) for _ in range(count)) or b"\n"
        tally.frames += count
        tally.streams += 1
        tally.bytes += len(data)
        started = time.process_time()
        # A CPU-time alarm: a stream that loops for ever is cut off and counted.
        signal.setitimer(signal.ITIMER_VIRTUAL, hang_seconds)
        try:
            run_stream(data, rng, tally)
        except Hang:
            tally.hangs += 1
        except Exception as exc:
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            tally.other[key] += 1
            tally.other_examples.setdefault(key, traceback.format_exc() + f"stream: {data!r}")
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        tally.slowest = max(tally.slowest, time.process_time() - started)
    return tally


def report(tally: Tally, seconds: float, cpu: float) -> None:
    print(f"frames:                {tally.frames}")
    print(f"streams:               {tally.streams} ({tally.feeds} feeds, {tally.bytes} bytes)")
    print(f"messages:              {tally.messages}")
    print(f"EslProtocolError:      {sum(tally.protocol_errors.values())}")
    for text, count in tally.protocol_errors.most_common(8):
        print(f"    {count:8d}  {text}")
    print(f"other exceptions:      {sum(tally.other.values())}")
    for text, count in tally.other.most_common():
        print(f"    {count:8d}  {text}")
    print(f"hangs:                 {tally.hangs}")
    print(f"peak buffered bytes:   {tally.peak_buffered}")
    print(f"worst bytes scanned per byte fed: {tally.worst_scan_ratio:.2f}")
    print(f"slowest stream:        {tally.slowest * 1000:.1f} ms CPU")
    print(f"total time:            {seconds:.1f} s wall, {cpu:.1f} s CPU")
    print(f"frames/s:              {tally.frames / max(seconds, 1e-9):.0f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="fuzzed frames to feed")
    parser.add_argument("--seed", type=int, default=10, help="random seed (runs repeat)")
    parser.add_argument(
        "--hang-seconds", type=float, default=2.0, help="CPU bound per stream of 1-4 frames"
    )
    parser.add_argument("--show", type=int, default=3, help="tracebacks of surprises to print")
    args = parser.parse_args(argv)
    started, cpu = time.perf_counter(), time.process_time()
    tally = run(args.frames, args.seed, args.hang_seconds)
    report(tally, time.perf_counter() - started, time.process_time() - cpu)
    for key in list(tally.other_examples)[: args.show]:
        print(f"\n--- {key}\n{tally.other_examples[key][-3000:]}", file=sys.stderr)
    return 1 if tally.other or tally.hangs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
