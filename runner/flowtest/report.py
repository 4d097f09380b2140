"""How `eslflow test` reports: a line per test, the diff of a failure, JUnit XML for CI.

PASS  flows/tests/ivr.test.yaml:4  digit 1 reaches sales  (1.5 s simulated)
FAIL  flows/tests/ivr.test.yaml:30  a wrong digit says goodbye  (23.5 s simulated)
      commands: 1 expected command missing, 1 unexpected
        (- expected, not sent   + sent, not expected)
          execute answer                        flows/ivr.yaml:12:5
        - execute playback voicemail/vm-bye.wav expected at flows/tests/ivr.test.yaml:41:9
        + execute playback voicemail/vm-goodbye.wav  flows/ivr.yaml:31:9

Values in a report are a caller's (a name, a log line): every line goes out through
`printable`, so a control character cannot move the terminal's cursor or make the JUnit
file invalid XML, and bytes that were not UTF-8 show as `\\xff`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from runner.flowtest.harness import format_seconds
from runner.flowtest.suite import CaseResult, SuiteResult
from runner.text import printable

_LABELS = {"passed": "PASS ", "failed": "FAIL ", "error": "ERROR"}
_INDENT = "      "


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def headline(result: CaseResult) -> str:
    """The one line every test gets."""
    line = f"{_LABELS[result.status]} {result.where}  {result.name}"
    if result.run is not None:
        line += f"  ({format_seconds(result.simulated)} s simulated)"
    return line


def details(result: CaseResult) -> list[str]:
    """What went wrong, indented under the headline (nothing for a pass)."""
    lines: list[str] = []
    for problem in result.problems:
        lines.extend(_INDENT + text for text in problem.display().splitlines())
    for failure in result.failures:
        lines.append(_INDENT + failure.headline)
        lines.extend(_INDENT + text for text in failure.lines)
    lines.extend(_INDENT + note for note in result.notes)
    return lines


def trace(result: CaseResult) -> list[str]:
    """What happened, for `-v`: flows started, commands sent by steps, log lines, errors."""
    if result.run is None:
        return []
    outcome = result.run.outcome
    sent = [command for command in outcome.commands if command.by_step]
    summaries = [printable(command.summary()) for command in sent]
    width = min(max((len(text) for text in summaries), default=0), 64)
    rows: list[tuple[float, int, str]] = []
    for flow in outcome.flows:
        on = f" on {flow.uuid}" if flow.uuid else ""
        rows.append((flow.time, 0, f"flow {flow.flow} started{on}"))
    for command, summary in zip(sent, summaries, strict=True):
        summary = summary if len(summary) <= 64 else summary[:61] + "..."
        rows.append((command.time, 1, f"{summary:<{width}}  {command.where}"))
    rows += [(line.time, 2, f"log {line.level}: {line.message}") for line in outcome.logs]
    rows += [(line.time, 2, f"error: {line.message}") for line in outcome.errors]
    rows.sort(key=lambda row: row[:2])
    return [f"{_INDENT}{time:>6g} s  {text}".rstrip() for time, _, text in rows]


def render(result: CaseResult, *, verbose: bool = False) -> str:
    """The headline; the details of a failure; with `verbose`, what happened too."""
    lines = [headline(result)]
    lines.extend(details(result))
    if verbose:
        lines.extend(trace(result))
    return _text(lines)


def _text(lines: Iterable[str]) -> str:
    return "\n".join(printable(line) for line in lines)


def summary(suite: SuiteResult) -> str:
    total = len(suite.results)
    parts = [f"{suite.count('passed')} passed"]
    if suite.count("failed"):
        parts.append(f"{suite.count('failed')} failed")
    if suite.count("error"):
        parts.append(_plural(suite.count("error"), "error"))
    return f"{_plural(total, 'test')}: {', '.join(parts)} in {suite.seconds:.2f} s"


# --- JUnit XML ---------------------------------------------------------------------------


def _suite_name(path: Path) -> str:
    return str(path)


def junit_xml(suite: SuiteResult) -> ET.ElementTree[ET.Element]:
    """JUnit XML as CI systems read it: one <testsuite> per test file, one <testcase> per
    test, <failure> for a test whose expectations failed, <error> for one that could not
    run (an invalid test file, flows that do not load)."""
    root = ET.Element("testsuites", name="eslflow test")
    by_file: dict[Path, list[CaseResult]] = {}
    for result in suite.results:
        by_file.setdefault(result.path, []).append(result)
    for path, results in by_file.items():
        element = ET.SubElement(root, "testsuite", name=_suite_name(path))
        _fill_suite(element, path, results)
    _counts(root, suite.results)
    root.set("time", f"{suite.seconds:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def _fill_suite(element: ET.Element, path: Path, results: Iterable[CaseResult]) -> None:
    results = list(results)
    for result in results:
        case = ET.SubElement(
            element,
            "testcase",
            name=printable(result.name),
            classname=str(path),
            file=str(path),
            line=str(result.line),
            time=f"{result.seconds:.3f}",
        )
        text = _text(details(result))
        if result.status == "failed":
            first = result.failures[0].headline if result.failures else "failed"
            failure = ET.SubElement(case, "failure", message=printable(first), type="expectation")
            failure.text = text
        elif result.status == "error":
            first = str(result.problems[0]) if result.problems else "error"
            error = ET.SubElement(case, "error", message=printable(first), type="invalid")
            error.text = text
    _counts(element, results)
    element.set("time", f"{sum(r.seconds for r in results):.3f}")


def _counts(element: ET.Element, results: list[CaseResult]) -> None:
    element.set("tests", str(len(results)))
    element.set("failures", str(sum(1 for r in results if r.status == "failed")))
    element.set("errors", str(sum(1 for r in results if r.status == "error")))
    element.set("skipped", "0")


def write_junit(suite: SuiteResult, path: Path) -> None:
    junit_xml(suite).write(path, encoding="utf-8", xml_declaration=True)
