"""Comparing what happened (`Outcome`) with what a test expects: a list of `Failure`s.

Lists (commands, events_sent, flows, logs) are compared in order. Every expected item
must be found, in that order; with `partial: false` (the default) every actual item must
be expected too. Both lists are aligned by their longest common subsequence under the
matching rules, so a diff shows exactly which items are missing and which are extra,
with the flow file:line of the step that sent each command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from runner.flow.yamldoc import DataPath
from runner.flowtest.harness import CallOutcome, Outcome, StartedFlow, format_seconds
from runner.flowtest.loader import LoadedCase
from runner.flowtest.models.expect import Expect
from runner.flowtest.patterns import Pattern
from runner.flowtest.traffic import (
    SentCommand,
    command_matches,
    describe_event,
    describe_pattern,
    event_matches,
)
from runner.text import printable

E = TypeVar("E")
A = TypeVar("A")

# Summaries longer than this are cut in the diff's first column (the place still shows).
SUMMARY_WIDTH = 64


@dataclass(slots=True)
class Failure:
    """One way the run differs from the test: a headline and the lines that show it."""

    headline: str
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Pair(Generic[E, A]):
    """An aligned position: both sides (a match), or only one (missing or extra)."""

    expected: E | None
    actual: A | None
    expected_index: int = -1


def align(
    expected: Sequence[E], actual: Sequence[A], matches: Callable[[E, A], bool]
) -> list[Pair[E, A]]:
    """Expected and actual items aligned by their longest common subsequence.

    Between two matches, the missing expected items come before the extra actual ones,
    so a changed item shows as a `-` line followed by its `+` line.
    """
    n, m = len(expected), len(actual)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            if matches(expected[i], actual[j]):
                row[j] = below[j + 1] + 1
            else:
                row[j] = max(below[j], row[j + 1])
    pairs: list[Pair[E, A]] = []
    i = j = 0
    missing: list[Pair[E, A]] = []
    extra: list[Pair[E, A]] = []
    while i < n or j < m:
        if (
            i < n
            and j < m
            and matches(expected[i], actual[j])
            and (table[i][j] == table[i + 1][j + 1] + 1)
        ):
            pairs += missing + extra
            missing, extra = [], []
            pairs.append(Pair(expected[i], actual[j], i))
            i += 1
            j += 1
        elif j < m and (i == n or table[i][j + 1] >= table[i + 1][j]):
            extra.append(Pair(None, actual[j]))
            j += 1
        else:
            missing.append(Pair(expected[i], None, i))
            i += 1
    return pairs + missing + extra


@dataclass(slots=True)
class Scope:
    """Which part of the run an `expect` is about: everything, or one call."""

    label: str  # "" for the whole test, "call 2" for one call
    uuid: str | None
    path: DataPath  # where the expect is written
    call: CallOutcome | None = None

    def owns(self, uuid: str) -> bool:
        return self.uuid is None or uuid == self.uuid

    def name(self, what: str) -> str:
        return f"{self.label}: {what}" if self.label else what


def _shorten(text: str, width: int = SUMMARY_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _diff(
    pairs: list[Pair[E, A]],
    expected_text: Callable[[E], str],
    actual_text: Callable[[A], str],
    expected_place: Callable[[int], str],
    actual_place: Callable[[A], str],
    partial: bool,
) -> list[str]:
    """`  ` matched, `- ` expected but missing, `+ ` sent but not expected (`  ` too when
    partial: an extra item is then fine); each line ends with where the item comes from."""
    rows: list[tuple[str, str, str]] = []
    for pair in pairs:
        if pair.expected is not None and pair.actual is not None:
            rows.append((" ", actual_text(pair.actual), actual_place(pair.actual)))
        elif pair.expected is not None:
            where = f"expected at {expected_place(pair.expected_index)}"
            rows.append(("-", expected_text(pair.expected), where))
        elif pair.actual is not None:
            mark = " " if partial else "+"
            rows.append((mark, actual_text(pair.actual), actual_place(pair.actual)))
    # Escaped before measuring, so the columns line up as printed (a caller's value may
    # hold control characters or bytes that are not UTF-8).
    rows = [(mark, printable(text), where) for mark, text, where in rows]
    width = min(max((len(text) for _, text, _ in rows), default=0), SUMMARY_WIDTH)
    return [f"{mark} {_shorten(text):<{width}}  {where}".rstrip() for mark, text, where in rows]


def _count(pairs: Sequence[Pair[E, A]], partial: bool, noun: str) -> str | None:
    missing = sum(1 for p in pairs if p.actual is None)
    extra = 0 if partial else sum(1 for p in pairs if p.expected is None)
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append(f"{missing} expected {noun}{'s' if missing > 1 else ''} missing")
    if extra:
        parts.append(f"{extra} unexpected")
    return ", ".join(parts)


class Checker:
    """Checks one run of one test case."""

    def __init__(self, loaded: LoadedCase, outcome: Outcome) -> None:
        self.loaded = loaded
        self.case = loaded.case
        self.outcome = outcome
        self.failures: list[Failure] = []
        self.claimed_errors: set[int] = set()

    def check(self) -> list[Failure]:
        outcome = self.outcome
        if outcome.timed_out:
            lines = [f"  {line}" for line in outcome.still_running]
            self.failures.append(
                Failure(
                    f"still running after {format_seconds(outcome.duration)} s of simulated time "
                    "(the test's timeout)",
                    lines,
                )
            )
        for scope, expect in self._expects():
            self._check(scope, expect)
        unclaimed = [
            line for index, line in enumerate(outcome.errors) if index not in self.claimed_errors
        ]
        if unclaimed:
            self.failures.append(
                Failure(
                    f"{len(unclaimed)} unexpected error{'s' if len(unclaimed) > 1 else ''} "
                    "(list expected ones under expect.errors)",
                    [f"  {line.message}" for line in unclaimed],
                )
            )
        for call in outcome.calls:
            if call.note is not None:
                self.failures.append(Failure(f"call {call.index + 1}: {call.note}"))
        return self.failures

    def _expects(self) -> list[tuple[Scope, Expect]]:
        case = self.case
        found: list[tuple[Scope, Expect]] = []
        if case.expect is not None:
            single = self.outcome.calls[0] if case.call is not None else None
            found.append((Scope("", None, ("expect",), single), case.expect))
        for index, call in enumerate(case.all_calls()):
            if call.expect is None:
                continue
            outcome = self.outcome.calls[index]
            if case.call is not None:
                scope = Scope("", outcome.uuid, ("call", "expect"), outcome)
            else:
                scope = Scope(
                    f"call {index + 1}", outcome.uuid, ("calls", index, "expect"), outcome
                )
            found.append((scope, call.expect))
        return found

    def _partial(self, expect: Expect) -> bool:
        return expect.partial if expect.partial is not None else self.case.partial

    def _check(self, scope: Scope, expect: Expect) -> None:
        partial = self._partial(expect)
        flows = [flow for flow in self.outcome.flows if scope.owns(flow.uuid)]
        if expect.flow is not None:
            self._check_flow(scope, expect.flow, flows)
        if expect.flows is not None:
            self._check_list(
                scope,
                "flows",
                list(expect.flows),
                flows,
                lambda name, flow: name == flow.flow,
                lambda name: name,
                lambda flow: flow.flow,
                lambda flow: f"at {flow.time:g} s",
                partial,
                noun="flow",
            )
        sent = [c for c in self.outcome.commands if c.by_step and scope.owns(c.uuid)]
        if expect.commands is not None:
            self._check_list(
                scope,
                "commands",
                list(expect.commands),
                [c for c in sent if c.kind != "sendevent"],
                command_matches,
                describe_pattern,
                SentCommand.summary,
                lambda c: c.where,
                partial,
                noun="command",
            )
        if expect.events_sent is not None:
            self._check_list(
                scope,
                "events_sent",
                list(expect.events_sent),
                [c for c in sent if c.kind == "sendevent"],
                event_matches,
                describe_event,
                SentCommand.summary,
                lambda c: c.where,
                partial,
                noun="event",
            )
        if expect.logs is not None:
            logs = [line for line in self.outcome.logs if scope.owns(line.uuid)]
            self._check_list(
                scope,
                "logs",
                list(expect.logs),
                logs,
                lambda pattern, line: pattern.matches(line.message),
                str,
                lambda line: line.message,
                lambda line: f"at {line.time:g} s",
                partial,
                noun="log line",
            )
        self._check_errors(scope, expect)
        call = scope.call
        if call is not None:
            self._check_call(scope, expect, call)

    def _check_flow(self, scope: Scope, name: str, flows: list[StartedFlow]) -> None:
        if flows and flows[0].flow == name:
            return
        where = self.loaded.place((*scope.path, "flow"))
        if not flows:
            actual = "no flow started"
        else:
            actual = f"{flows[0].flow} did"
            if any(flow.flow == name for flow in flows):
                actual += f" ({name} started later)"
        self.failures.append(
            Failure(
                scope.name(f"flow: expected {name} to take the call, but {actual}"),
                [f"  expected at {where}"],
            )
        )

    def _check_list(
        self,
        scope: Scope,
        what: str,
        expected: list[E],
        actual: list[A],
        matches: Callable[[E, A], bool],
        expected_text: Callable[[E], str],
        actual_text: Callable[[A], str],
        actual_place: Callable[[A], str],
        partial: bool,
        *,
        noun: str,
    ) -> None:
        pairs = align(expected, actual, matches)
        problem = _count(pairs, partial, noun)
        if problem is None:
            return

        def expected_place(index: int) -> str:
            return self.loaded.place((*scope.path, what, index))

        lines = _diff(pairs, expected_text, actual_text, expected_place, actual_place, partial)
        headline = scope.name(f"{what}: {problem}")
        legend = "  (- expected, not sent   + sent, not expected)"
        if what in ("flows", "logs"):
            legend = "  (- expected, not seen   + seen, not expected)"
        self.failures.append(Failure(headline, [legend, *(f"  {line}" for line in lines)]))

    def _check_errors(self, scope: Scope, expect: Expect) -> None:
        owned = [
            (index, line) for index, line in enumerate(self.outcome.errors) if scope.owns(line.uuid)
        ]
        pairs = align(
            list(expect.errors),
            owned,
            lambda pattern, item: pattern.matches(item[1].message),
        )
        for pair in pairs:
            if pair.expected is not None and pair.actual is not None:
                self.claimed_errors.add(pair.actual[0])
        missing = [pair for pair in pairs if pair.actual is None]
        if missing:
            lines = [
                f"  - {pair.expected}  expected at "
                f"{self.loaded.place((*scope.path, 'errors', pair.expected_index))}"
                for pair in missing
            ]
            self.failures.append(
                Failure(scope.name(f"errors: {len(missing)} expected error(s) not reported"), lines)
            )

    def _check_call(self, scope: Scope, expect: Expect, call: CallOutcome) -> None:
        path = scope.path
        if not call.placed:
            return
        if expect.hangup_cause is not None and call.hangup_cause != expect.hangup_cause:
            actual = call.hangup_cause or "nothing: the call was still up at the end"
            self.failures.append(
                Failure(
                    scope.name(f"hangup_cause: expected {expect.hangup_cause}, got {actual}"),
                    [f"  expected at {self.loaded.place((*path, 'hangup_cause'))}"],
                )
            )
        if expect.answered is not None and call.answered != expect.answered:
            said = "answered" if expect.answered else "not answered"
            was = "it was" if call.answered else "it was not"
            self.failures.append(
                Failure(
                    scope.name(f"answered: expected the call {said}, but {was}"),
                    [f"  expected at {self.loaded.place((*path, 'answered'))}"],
                )
            )
        if expect.variables is not None:
            lines = []
            for name, pattern in expect.variables.items():
                value = call.variables.get(name)
                if not pattern.matches(value):
                    got = "not set" if value is None else f"'{value}'"
                    lines.append(
                        f"  {name}: expected {_quote(pattern)}, got {got}  "
                        f"(expected at {self.loaded.place((*path, 'variables', name))})"
                    )
            if lines:
                self.failures.append(Failure(scope.name(f"variables: {len(lines)} differ"), lines))


def _quote(pattern: Pattern) -> str:
    return str(pattern) if pattern.is_regex else f"'{pattern}'"


def check(loaded: LoadedCase, outcome: Outcome) -> list[Failure]:
    """Every way `outcome` differs from what `loaded` expects (empty: the test passes)."""
    return Checker(loaded, outcome).check()


def races(outcome: Outcome) -> list[str]:
    """Moments when flows running side by side sent commands to one call at once.

    Their relative order on the wire is up to the scheduler (as it is up to the threads
    of a real switch): a test that fails only sometimes usually fails there.
    """
    by_moment: dict[tuple[str, float], list[SentCommand]] = {}
    for command in outcome.commands:
        if command.by_step and command.uuid:
            by_moment.setdefault((command.uuid, command.time), []).append(command)
    notes = []
    for (uuid, moment), commands in by_moment.items():
        flows = list(dict.fromkeys((c.instance, c.flow) for c in commands))
        if len(flows) > 1:
            names = " and ".join(str(flow) for _, flow in flows)
            notes.append(
                f"note: {names} sent commands to {uuid} at the same moment ({moment:g} s): "
                "which goes first is up to the scheduler"
            )
    return notes
