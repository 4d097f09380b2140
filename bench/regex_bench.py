"""Cost of one flow-regex search: Python's re (before) against regex with a time bound (now).

Every regex condition of the example flows is searched in a few typical header values;
the figure is the mean time of one search. Then the hostile cases of issue 10: 40
characters against `^(a+)+$` (which `regex` optimises) and against `^(a|a)+$` (which it
cannot; the time bound ends it).

    python bench/regex_bench.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from runner.flow import load_flows
from runner.flow.checks import _regex_conditions
from runner.flow.regexes import RegexTimeout, compile_regex, search

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ["1234", "5000", "*9912345", "internal", "+OK 8d2f-11", "NORMAL_CLEARING", "Alice"]


def mean_ns(run: object, rounds: int) -> float:
    assert callable(run)
    started = time.perf_counter()
    for _ in range(rounds):
        run()
    return (time.perf_counter() - started) / rounds * 1e9


def main() -> None:
    flows = load_flows([ROOT / "flows"])
    patterns = [c.expression for flow in flows for _, c in _regex_conditions(flow, ())]
    pairs = [(p, s) for p in patterns for s in SUBJECTS]
    old = [(re.compile(p.pattern, re.ASCII), s) for p, s in pairs]

    def with_re() -> None:
        for pattern, subject in old:
            pattern.search(subject)

    def with_regex() -> None:
        for pattern, subject in pairs:
            pattern.search(subject)

    def bounded() -> None:
        for pattern, subject in pairs:
            search(pattern, subject)

    rounds = 2000
    for name, run in (("re", with_re), ("regex", with_regex), ("regex + timeout", bounded)):
        best = min(mean_ns(run, rounds) for _ in range(5)) / len(pairs)
        print(f"{name:16} {best:8.0f} ns per search ({len(pairs)} pattern x value pairs)")

    nested = compile_regex("^(a+)+$")
    started = time.perf_counter()
    search(nested, "a" * 40 + "!")
    print(f"^(a+)+$ on 40 chars: {(time.perf_counter() - started) * 1000:.2f} ms")
    alternation = compile_regex("^(a|a)+$")
    started = time.perf_counter()
    try:
        search(alternation, "a" * 40 + "!")
        outcome = "finished"
    except RegexTimeout:
        outcome = "timed out"
    print(f"^(a|a)+$ on 40 chars: {(time.perf_counter() - started) * 1000:.2f} ms ({outcome})")


if __name__ == "__main__":
    main()
