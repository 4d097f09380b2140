"""What the issue-10 hardening of values costs: serializing commands and formatting log
lines, for ordinary values and for hostile ones (bytes that are not UTF-8, CR/LF, ESC).

Each figure is the best of 7 runs of N operations, in microseconds per operation, so a
busy machine shows through as little as it can.

    python bench/wire_text_bench.py            # N = 50,000
    python bench/wire_text_bench.py -n 200000
"""

from __future__ import annotations

import argparse
import logging
import sys
import timeit
from collections.abc import Callable
from functools import partial

from runner.engine.logs import JsonFormatter, TextFormatter
from runner.esl import commands

UUID = "5f0c2d1e-1111-4222-8333-944445555666"
PLAIN = "Alice Example"
HOSTILE = (b"A\xff\xfe\xc3\xa9 \x1b[2J".decode("utf-8", "surrogateescape")) + "\r\nFAKE"


def _best(op: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(op, number=number, repeat=7)) / number * 1e6


def _record(name: str) -> logging.LogRecord:
    record = logging.LogRecord(
        "runner.flow", logging.INFO, __file__, 1, "caller %s pressed %s", (name, "5"), None
    )
    record.uuid = UUID
    record.flow = "main-menu"
    record.step = "flows/ivr.yaml:12:7: flow 'main-menu' step log"
    return record


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="operations per run")
    n = parser.parse_args(argv).n
    name_arg = {"plain": PLAIN, "raw bytes": HOSTILE.replace("\r\n", "")}
    rows: list[tuple[str, str, float]] = []
    for kind, value in name_arg.items():
        rows.append(
            (
                "sendmsg execute (body)",
                kind,
                _best(
                    partial(commands.execute, "set", f"x={value}", uuid=UUID, event_uuid=UUID), n
                ),
            )
        )
        rows.append(("api", kind, _best(partial(commands.api, f"uuid_setvar {UUID} x {value}"), n)))
    text, json_ = TextFormatter(), JsonFormatter()
    for kind, value in {"plain": PLAIN, "hostile": HOSTILE}.items():
        record = _record(value)
        rows.append(("log line, text", kind, _best(partial(text.format, record), n)))
        rows.append(("log line, json", kind, _best(partial(json_.format, record), n)))
    print(f"{'operation':<24} {'value':<10} {'us/op':>8}")
    for operation, kind, micros in rows:
        print(f"{operation:<24} {kind:<10} {micros:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
