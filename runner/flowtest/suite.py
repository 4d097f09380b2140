"""Running test files: find, validate, load their flows (once per set), run, check.

    suite = run_tests([Path("flows/tests")], on_result=print_it)
    suite.ok          # every test passed

A test file that cannot be read or validated, or whose flows do not load, is an error
with its `path:line:col` messages; the other tests still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runner.flow import FlowValidationError, load_flows
from runner.flow.errors import FlowError, did_you_mean
from runner.flow.flowset import FlowSet
from runner.flowtest.check import Failure, check, races
from runner.flowtest.harness import Run, run_case
from runner.flowtest.loader import LoadedCase, find_test_files, load_test_file
from runner.flowtest.models.expect import Expect

Status = Literal["passed", "failed", "error"]


@dataclass(slots=True)
class CaseResult:
    """The verdict on one test case (or on a test file that could not be used)."""

    path: Path
    name: str
    line: int
    status: Status
    failures: list[Failure] = field(default_factory=list)
    problems: list[FlowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run: Run | None = None
    loaded: LoadedCase | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    @property
    def seconds(self) -> float:
        return self.run.seconds if self.run is not None else 0.0

    @property
    def simulated(self) -> float:
        return self.run.outcome.duration if self.run is not None else 0.0


@dataclass(slots=True)
class SuiteResult:
    """Every verdict, in the order the tests ran."""

    results: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)


class FlowCache:
    """Each distinct set of flow paths is loaded once per run of the suite."""

    def __init__(self) -> None:
        self._sets: dict[tuple[str, ...], FlowSet | FlowValidationError] = {}

    def get(self, paths: Sequence[Path]) -> FlowSet | FlowValidationError:
        key = tuple(str(path) for path in paths)
        found = self._sets.get(key)
        if found is None:
            try:
                found = load_flows(list(paths))
            except FlowValidationError as exc:
                found = exc
            self._sets[key] = found
        return found


def _expects(loaded: LoadedCase) -> Iterable[tuple[tuple[str | int, ...], Expect]]:
    case = loaded.case
    if case.expect is not None:
        yield ("expect",), case.expect
    for index, call in enumerate(case.all_calls()):
        if call.expect is not None:
            where: tuple[str | int, ...] = (
                ("call", "expect") if case.call is not None else ("calls", index, "expect")
            )
            yield where, call.expect


def unknown_flows(loaded: LoadedCase, flows: FlowSet) -> list[FlowError]:
    """Flow names a test expects that no loaded flow has (a typo, or the wrong flows:)."""
    names = [flow.flow for flow in flows]
    errors = []
    for path, expect in _expects(loaded):
        named: list[tuple[tuple[str | int, ...], str]] = []
        if expect.flow is not None:
            named.append(((*path, "flow"), expect.flow))
        for index, name in enumerate(expect.flows or ()):
            named.append(((*path, "flows", index), name))
        for where, name in named:
            if name not in flows:
                mark = loaded.document.values.get(where)
                message = (
                    f"no flow named '{name}' in {', '.join(map(str, loaded.flow_paths))}"
                    f"{did_you_mean(name, names)}"
                )
                errors.append(loaded.source.error(mark, message))
    return errors


def run_loaded(loaded: LoadedCase, cache: FlowCache, *, recording: bool = False) -> CaseResult:
    """Run one valid test case and judge it (when `recording`, its expectations are about
    to be replaced: flow names in them need not exist)."""
    result = CaseResult(loaded.path, loaded.name, loaded.line, "error", loaded=loaded)
    flows = cache.get(loaded.flow_paths)
    if isinstance(flows, FlowValidationError):
        result.problems = list(flows.errors)
        return result
    problems = [] if recording else unknown_flows(loaded, flows)
    if problems:
        result.problems = problems
        return result
    result.run = run_case(loaded.case, flows)
    result.failures = check(loaded, result.run.outcome)
    result.status = "failed" if result.failures else "passed"
    if result.failures:
        result.notes = races(result.run.outcome)
    return result


def run_tests(
    paths: Sequence[Path | str],
    *,
    on_result: Callable[[CaseResult], None] | None = None,
    cache: FlowCache | None = None,
) -> SuiteResult:
    """Run every test case in `paths` (files, or folders searched for *.test.yaml)."""
    began = time.perf_counter()
    cache = cache or FlowCache()
    suite = SuiteResult()

    def report(result: CaseResult) -> None:
        suite.results.append(result)
        if on_result is not None:
            on_result(result)

    files, missing = find_test_files(paths)
    for error in missing:
        report(CaseResult(Path(error.path), "(test files)", 0, "error", problems=[error]))
    for path in files:
        test_file = load_test_file(path)
        if test_file.errors:
            report(CaseResult(path, "(invalid test file)", 0, "error", problems=test_file.errors))
        for loaded in test_file.cases:
            report(run_loaded(loaded, cache))
    suite.seconds = time.perf_counter() - began
    return suite
