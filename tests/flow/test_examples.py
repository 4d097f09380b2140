"""The example flows in flows/: valid, commented, accepted by the JSON Schema editors
use, and doing what their comments say."""

import datetime as dt
from pathlib import Path

import jsonschema
import pytest

from runner.flow import FlowSet, RenderContext, UnsafeSubstitutionError, load_flows
from runner.flow.steps import ApiStep, BgapiStep, ExecuteStep, IfStep, SwitchStep
from runner.flow.yamldoc import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "flows").glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/flow.schema.json"


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    return load_flows([ROOT / "flows"])


def test_every_example_loads(flows: FlowSet) -> None:
    assert sorted(flow.flow for flow in flows) == [
        "callback",
        "main-menu",
        "pin-gate",
        "recorded-team-line",
        "registration-monitor",
        "sales-closed",
        "sales-open",
        "support-line",
    ]
    assert [path.name for path in EXAMPLES] == [
        "business-hours.yaml",
        "callback.yaml",
        "ivr.yaml",
        "outbound-pin.yaml",
        "recording-announcement.yaml",
        "registration-monitor.yaml",
        "support-line.yaml",
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_points_editors_at_the_schema_and_explains_itself(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0] == SCHEMA_LINE
    comments = [line for line in lines[1:] if line.lstrip().startswith("#") or " # " in line]
    assert len(comments) >= 3, f"{path.name} needs comments that explain it"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_passes_the_committed_json_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(
        __import__("json").loads((ROOT / "schemas" / "flow.schema.json").read_text())
    )
    source = parse_yaml(path.read_text(), str(path))
    assert source.errors == []
    for document in source.documents:
        problems = [error.message for error in validator.iter_errors(document.data)]
        assert problems == []


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    validator = jsonschema.Draft202012Validator(
        __import__("json").loads((ROOT / "schemas" / "flow.schema.json").read_text())
    )
    good = {"flow": "t", "steps": ["stop", {"execute": "answer"}]}
    assert list(validator.iter_errors(good)) == []
    for bad in (
        {"flow": "t", "steps": [{"exectue": "answer"}]},
        {"flow": "t", "steps": [{"execute": {"app": "x", "tmeout": "3s"}}]},
        {"flow": "t", "stpes": []},
        {"flow": "t", "steps": [{"sleep": "10"}]},
        {"flow": "t", "steps": [{"hangup": "NORMAL_CLEARNG"}]},
        {"flow": "t", "trigger": {"event": "CHANEL_PARK"}, "steps": ["stop"]},
    ):
        assert list(validator.iter_errors(bad)) != [], bad


BERLIN_TUESDAY_11 = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)


def park(number: str, **more: str) -> dict[str, str]:
    return {"Event-Name": "CHANNEL_PARK", "Caller-Destination-Number": number, **more}


@pytest.mark.parametrize(
    ("now", "flow"),
    [
        (BERLIN_TUESDAY_11, "sales-open"),
        (dt.datetime(2025, 3, 4, 17, 1, tzinfo=dt.UTC), "sales-closed"),  # 18:01 Berlin
        (dt.datetime(2025, 3, 8, 10, 0, tzinfo=dt.UTC), "sales-open"),  # Saturday 11:00
        (dt.datetime(2025, 3, 8, 12, 0, tzinfo=dt.UTC), "sales-closed"),  # Saturday 13:00
        (dt.datetime(2025, 12, 24, 10, 0, tzinfo=dt.UTC), "sales-closed"),  # a holiday
    ],
)
def test_business_hours(flows: FlowSet, now: dt.datetime, flow: str) -> None:
    assert [m.flow.flow for m in flows.match_event(park("2000"), now)] == [flow]


def test_the_ivr_routes_digits(flows: FlowSet) -> None:
    (match,) = flows.match_event(park("5000"), BERLIN_TUESDAY_11)
    menu = match.flow
    switch = next(step for step in menu.steps if isinstance(step, SwitchStep))
    saved = RenderContext(vars={"menu": {"variable_menu_digit": "2"}})
    (call,) = switch.choose(saved)
    assert call.kind == "call"
    assert [step.kind for step in switch.choose(RenderContext(vars={"menu": {}}))] == ["execute"]


def test_the_callback_originates_after_hangup(flows: FlowSet) -> None:
    caller = park("*99", **{"Caller-Caller-ID-Number": "1001"})
    (match,) = flows.match_event(caller, BERLIN_TUESDAY_11)
    assert (match.flow.flow, match.captures) == ("callback", ("1001",))
    originate = match.flow.on_hangup[0]
    assert isinstance(originate, BgapiStep)
    context = RenderContext(captures=match.captures, vars={"callee": "1001"})
    assert originate.render_command(context) == (
        "originate {origination_caller_id_number=5000}user/1001 5000 XML default"
    )
    report = match.flow.on_hangup[1]
    assert isinstance(report, IfStep)


def test_the_registration_monitor_refuses_a_forged_user(flows: FlowSet) -> None:
    register = {
        "Event-Name": "CUSTOM",
        "Event-Subclass": "sofia::register",
        "profile-name": "internal",
        "from-user": "1001",
        "from-host": "pbx.example.com",
        "user-agent": "friendly-scanner",
    }
    (match,) = flows.match_event(register, BERLIN_TUESDAY_11)
    branch = match.flow.steps[1]
    assert isinstance(branch, IfStep)
    flush = branch.then[1]
    assert isinstance(flush, ApiStep)
    context = RenderContext(captures=match.captures, event=register)
    assert flush.render_command(context) == (
        "sofia profile internal flush_inbound_reg 1001@pbx.example.com"
    )
    forged = RenderContext(
        captures=match.captures, event={**register, "from-user": "${system(id)}"}
    )
    with pytest.raises(
        UnsafeSubstitutionError, match="value from event header from-user would put"
    ):
        flush.render_command(forged)


def test_the_outbound_flow_takes_9xxx_connections(flows: FlowSet) -> None:
    chosen = flows.match_outbound({"Caller-Destination-Number": "9123"}, BERLIN_TUESDAY_11)
    assert chosen is not None
    assert (chosen.flow.flow, chosen.captures, chosen.flow.outbound) == ("pin-gate", ("123",), True)
    assert [step.kind for step in chosen.flow.steps[:2]] == ["resume", "linger"]
    read = chosen.flow.steps[3]
    assert isinstance(read, ExecuteStep) and read.execute.app == "read"


def test_subscriptions_of_the_examples(flows: FlowSet) -> None:
    assert sorted(str(key) for key in flows.subscriptions()) == [
        "CHANNEL_PARK",
        "CUSTOM sofia::register",
        "DTMF",
    ]
