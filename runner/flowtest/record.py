"""`eslflow test --record`: write a test's `expect:` from what the engine actually did.

Each test in the file runs as usual; its expectations are then replaced by what
happened (the flows that started, every command with exact values, the events sent, how
the call ended, log lines and errors), so the test passes as recorded and a person
reviews the diff. Everything else in the file, comments included, stays as written.
A test without `at:` gets the time it was recorded at, so it means the same tomorrow.

Values are written exactly, except UUIDs the switch made up during the call (another
leg's, a job's): those become a regex, since they differ on every run.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from runner.flowtest.harness import CallOutcome, Outcome
from runner.flowtest.loader import LoadedCase, load_test_file
from runner.flowtest.patterns import escape, written_exact
from runner.flowtest.suite import CaseResult, FlowCache, run_loaded
from runner.flowtest.traffic import SentCommand

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BARE: Final = frozenset({"nolinger", "myevents", "resume"})


class RecordError(Exception):
    """A file that cannot be recorded (invalid, or its flows do not load)."""


def written(value: str, known: set[str]) -> str:
    """How a recorded test writes `value`: exactly, with unknown UUIDs as a regex."""
    if not any(found not in known for found in _UUID.findall(value)):
        return written_exact(value)
    parts = []
    last = 0
    for found in _UUID.finditer(value):
        parts.append(escape(value[last : found.start()]))
        parts.append(escape(found.group()) if found.group() in known else "[0-9a-f-]{36}")
        last = found.end()
    parts.append(escape(value[last:]))
    return "/^" + "".join(parts) + "$/"


def _flow_map(**items: Any) -> CommentedMap:
    data = CommentedMap(items)
    data.fa.set_flow_style()
    return data


def _flow_seq(items: Sequence[Any]) -> CommentedSeq:
    data = CommentedSeq(items)
    data.fa.set_flow_style()
    return data


def command_item(sent: SentCommand, known: set[str]) -> Any:
    """A recorded command as a test writes it (`execute: answer`, `hangup: X`, ...)."""
    kind = sent.kind
    if kind == "execute":
        if not sent.arg:
            return CommentedMap(execute=sent.app)
        return CommentedMap(execute=_flow_map(app=sent.app, arg=written(sent.arg, known)))
    if kind == "hangup":
        return CommentedMap(hangup=sent.cause)
    if kind == "sendmsg":
        headers = {name: written(value, known) for name, value in sent.headers}
        return CommentedMap(sendmsg=_flow_map(**headers))
    if kind in ("api", "bgapi"):
        return CommentedMap({kind: written(sent.rest, known)})
    if kind in _BARE or (kind == "linger" and not sent.rest):
        return kind
    if kind == "linger":
        return CommentedMap(linger=int(sent.rest) if sent.rest.isdigit() else sent.rest)
    if kind == "divert_events":
        return CommentedMap(divert_events=sent.rest)
    return CommentedMap(command=written(sent.line, known))


def event_item(sent: SentCommand, known: set[str]) -> CommentedMap:
    item = CommentedMap(event=sent.event_name)
    subclass = sent.header("Event-Subclass")
    if subclass is not None:
        item["subclass"] = subclass
    headers = {
        name: written(value, known)
        for name, value in sent.headers
        if name.lower() not in ("event-subclass", "content-type")
    }
    if headers:
        item["headers"] = _flow_map(**headers)
    if sent.body is not None:
        item["body"] = written(sent.body, known)
    return item


def expectation(
    outcome: Outcome, uuid: str | None, call: CallOutcome | None, known: set[str]
) -> CommentedMap:
    """The `expect:` mapping of what happened (to one call, or in the whole test)."""

    def owns(other: str) -> bool:
        return uuid is None or other == uuid

    expect = CommentedMap()
    flows = [flow.flow for flow in outcome.flows if owns(flow.uuid)]
    if len(flows) == 1:
        expect["flow"] = flows[0]
    else:
        expect["flows"] = _flow_seq(flows)
    sent = [c for c in outcome.commands if c.by_step and owns(c.uuid)]
    expect["commands"] = CommentedSeq(command_item(c, known) for c in sent if c.kind != "sendevent")
    events = [event_item(c, known) for c in sent if c.kind == "sendevent"]
    if events:
        expect["events_sent"] = CommentedSeq(events)
    if call is not None and call.placed:
        if call.hangup_cause is not None:
            expect["hangup_cause"] = call.hangup_cause
        expect["answered"] = call.answered
    logs = [written(line.message, known) for line in outcome.logs if owns(line.uuid)]
    if logs:
        expect["logs"] = CommentedSeq(logs)
    errors = [written(line.message, known) for line in outcome.errors if owns(line.uuid)]
    if errors:
        expect["errors"] = CommentedSeq(errors)
    return expect


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments and key order stay
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def _set_at(document: CommentedMap, at: datetime) -> None:
    if "at" in document:
        return
    keys = list(document)
    position = next(
        (keys.index(key) for key in ("call", "calls", "events") if key in document), len(keys)
    )
    document.insert(position, "at", at.replace(microsecond=0).isoformat())


def _store(document: CommentedMap, loaded: LoadedCase, outcome: Outcome) -> None:
    case = loaded.case
    known = {call.uuid for call in outcome.calls}
    if outcome.started_at is not None:
        _set_at(document, outcome.started_at)
    if case.calls is not None:
        for index, call in enumerate(outcome.calls):
            document["calls"][index]["expect"] = expectation(outcome, call.uuid, call, known)
        outside = any(flow.uuid not in known for flow in outcome.flows)
        if outside:
            document["expect"] = expectation(outcome, None, None, known)
        elif "expect" in document:
            del document["expect"]
        return
    first = outcome.calls[0] if outcome.calls else None
    expect = expectation(outcome, None, first, known)
    if case.call is not None and case.call.expect is not None:
        document["call"]["expect"] = expect
    else:
        document["expect"] = expect


@dataclass(slots=True)
class Recorded:
    """The recorded file and the runs that produced it."""

    path: Path
    results: list[CaseResult]


def record_file(path: Path, cache: FlowCache | None = None) -> Recorded:
    """Run every test of `path` and rewrite their expectations from what happened."""
    cache = cache or FlowCache()
    test_file = load_test_file(path)
    if test_file.errors:
        raise RecordError("\n".join(error.display() for error in test_file.errors))
    yaml = _yaml()
    text = path.read_text(encoding="utf-8")
    documents = list(yaml.load_all(text))
    documents = [document for document in documents if document is not None]
    if len(documents) != len(test_file.cases):  # pragma: no cover - both read the same text
        raise RecordError(f"{path}: could not match its documents to its tests")
    results = []
    for document, loaded in zip(documents, test_file.cases, strict=True):
        result = run_loaded(loaded, cache, recording=True)
        if result.run is None:
            problems = "\n".join(problem.display() for problem in result.problems)
            raise RecordError(problems or f"{loaded.where}: could not run")
        _store(document, loaded, result.run.outcome)
        results.append(result)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    path.write_text(out.getvalue(), encoding="utf-8")
    return Recorded(path, results)


def new_test_text(
    *,
    name: str,
    destination: str,
    caller_number: str | None = None,
    caller_name: str | None = None,
    dtmf: Sequence[str] = (),
    hangup_after: str | None = None,
    at: str | None = None,
    flows: Sequence[str] = (),
) -> str:
    """The inputs of a new test file, for `record_file` to complete."""
    document = CommentedMap()
    document["test"] = name
    if flows:
        document["flows"] = _flow_seq(list(flows))
    if at is not None:
        document["at"] = at
    call = CommentedMap()
    call["destination"] = destination
    if caller_number is not None or caller_name is not None:
        caller = _flow_map()
        if caller_number is not None:
            caller["number"] = caller_number
        if caller_name is not None:
            caller["name"] = caller_name
        call["caller"] = caller
    if dtmf:
        call["dtmf"] = _flow_seq(list(dtmf))
    if hangup_after is not None:
        call["hangup_after"] = hangup_after
    document["call"] = call
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()
