"""Flow instances and the router, with a scripted link: step semantics, errors, hangup."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import anyio
import pytest

from runner.engine.instance import FlowInstance
from runner.engine.link import Link, StepFailed
from runner.engine.router import Router
from runner.flow import load_flow_sources
from runner.flow.flowset import FlowSet

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UUID = "11111111-2222-3333-4444-555555555555"


class ScriptedLink(Link):
    """Records what a flow sends and answers like FreeSWITCH would, at once."""

    def __init__(self, uuid: str = UUID) -> None:
        super().__init__(uuid)
        self.sent: list[tuple[object, ...]] = []
        self.instance: FlowInstance | None = None
        self.fail_apps: dict[str, str] = {}
        self.hangup_on: str | None = None
        self.stays_up = False  # a switch that ignores the hangup command
        self.api_delay = 0.0  # seconds FreeSWITCH takes to answer an api command
        self.api_results: dict[str, str] = {}
        self.app_variables: dict[str, dict[str, str]] = {}

    async def execute(
        self,
        app: str,
        arg: str | None,
        *,
        event_uuid: str,
        loops: int | None,
        lock: bool,
        hold_bleg: bool,
    ) -> None:
        self.sent.append(("execute", app, arg))
        if app in self.fail_apps:
            raise StepFailed(f"FreeSWITCH answered {self.fail_apps[app]}")
        assert self.instance is not None
        if app == self.hangup_on:
            self.instance.channel_gone({"Event-Name": "CHANNEL_HANGUP", "Unique-ID": self.uuid})
            return
        for name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"):
            event = {
                "Event-Name": name,
                "Unique-ID": self.uuid,
                "Application": app,
                "Application-Data": arg or "",
                "Application-UUID": event_uuid,
                "Application-Response": "_none_",
                **self.app_variables.get(app, {}),
            }
            self.instance.offer(event)

    async def sendmsg(self, headers: Sequence[tuple[str, str]]) -> None:
        self.sent.append(("sendmsg", *headers))

    async def hangup(self, cause: str) -> None:
        self.sent.append(("hangup", cause))
        assert self.instance is not None
        if not self.stays_up:
            self.instance.channel_gone({"Event-Name": "CHANNEL_HANGUP", "Unique-ID": self.uuid})

    async def sendevent(
        self, name: str, headers: dict[str, str], body: str | None, subclass: str | None
    ) -> None:
        self.sent.append(("sendevent", name, subclass, headers, body))

    async def api(self, command: str, *, errors_ok: bool = False) -> str:
        self.sent.append(("api", command))
        if self.api_delay:
            await anyio.sleep(self.api_delay)
        result = self.api_results.get(command.split(" ", 1)[0], "+OK")
        if result.startswith("-ERR") and not errors_ok:
            raise StepFailed(f"api {command.split(' ', 1)[0]} failed: {result.strip()}")
        return result

    async def bgapi(self, command: str, timeout: float | None, *, errors_ok: bool = False) -> str:
        self.sent.append(("bgapi", command))
        return "+OK job done\n"


def flowset(text: str) -> FlowSet:
    return load_flow_sources([("flows/test.yaml", text)])


async def run(
    text: str,
    trigger: Mapping[str, str],
    *,
    link: ScriptedLink | None = None,
    captures: tuple[str, ...] = (),
    during: Callable[[FlowInstance], object] | None = None,
) -> tuple[FlowInstance, ScriptedLink]:
    flows = flowset(text)
    link = link or ScriptedLink()
    instance = FlowInstance(flows.flows[0], flows, link, trigger, captures, clock=lambda: NOW)
    link.instance = instance
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(instance.run)
            if during is not None:
                await anyio.sleep(0.01)
                during(instance)
    return instance, link


PARK = {
    "Event-Name": "CHANNEL_PARK",
    "Unique-ID": UUID,
    "Caller-Destination-Number": "1001",
    "Caller-Caller-ID-Name": "Alice",
}


async def test_steps_run_in_order_with_captures_and_freeswitch_variables_untouched() -> None:
    _, link = await run(
        """
flow: support
trigger: CHANNEL_PARK
when:
  - field: Caller-Destination-Number
    expression: ^(1\\d{3})$
steps:
  - execute: answer
  - execute: {app: bridge, arg: "user/$1@${domain_name}"}
  - hangup: NORMAL_CLEARING
""",
        PARK,
        captures=("1001",),
    )
    assert link.sent == [
        ("execute", "answer", None),
        ("execute", "bridge", "user/1001@${domain_name}"),
        ("hangup", "NORMAL_CLEARING"),
    ]


async def test_event_values_with_dollar_brace_are_refused_in_app_args(
    caplog: pytest.LogCaptureFixture,
) -> None:
    evil = dict(PARK, **{"Caller-Caller-ID-Name": "${system(touch /tmp/x)}"})
    instance, link = await run(
        """
flow: greet
trigger: CHANNEL_PARK
steps:
  - execute: {app: set, arg: "caller=${{ event['Caller-Caller-ID-Name'] }}"}
  - hangup
""",
        evil,
    )
    assert link.sent == []
    assert instance.failed
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == (
        "flows/test.yaml:5:5: flow 'greet' step execute: value from event header "
        "Caller-Caller-ID-Name would put '${' into the command, and FreeSWITCH expands ${...} "
        "when it runs it (${system(...)} runs a shell command); refused — only if the value "
        "is trusted, mark the step `raw: true` or wrap it in raw(...)"
    )


async def test_raw_lets_a_value_through() -> None:
    evil = dict(PARK, **{"Caller-Caller-ID-Name": "${caller_id_name}"})
    _, link = await run(
        """
flow: greet
trigger: CHANNEL_PARK
steps:
  - execute: {app: set, arg: "caller=${{ event['Caller-Caller-ID-Name'] }}"}
    raw: true
""",
        evil,
    )
    assert link.sent == [("execute", "set", "caller=${caller_id_name}")]


async def test_a_line_break_from_an_event_never_reaches_a_header() -> None:
    evil = dict(PARK, **{"Caller-Caller-ID-Name": "Eve\nEvent-Name: HACK"})
    instance, link = await run(
        """
flow: notify
trigger: CHANNEL_PARK
steps:
  - sendevent:
      event: CUSTOM
      subclass: "eslflow::routed"
      headers: {Caller: "${{ event['Caller-Caller-ID-Name'] }}"}
""",
        evil,
    )
    assert link.sent == []
    assert instance.failed


async def test_err_reply_runs_on_error_with_the_message() -> None:
    link = ScriptedLink()
    link.fail_apps["bridge"] = "-ERR invalid session id [x]"
    instance, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: bridge user/1000
  - log: not reached
on_error:
  - set: {reason: "${{ vars.error }}"}
  - hangup: USER_BUSY
""",
        PARK,
        link=link,
    )
    assert link.sent == [("execute", "bridge", "user/1000"), ("hangup", "USER_BUSY")]
    assert instance.vars["reason"] == "FreeSWITCH answered -ERR invalid session id [x]"
    assert instance.failed


async def test_hangup_mid_step_cancels_and_runs_on_hangup() -> None:
    link = ScriptedLink()
    link.hangup_on = "playback"
    instance, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: playback long.wav
  - execute: playback never.wav
on_hangup:
  - api: "log INFO ${{ uuid }} hung up"
""",
        PARK,
        link=link,
    )
    assert link.sent == [("execute", "playback", "long.wav"), ("api", f"log INFO {UUID} hung up")]
    assert instance.hung_up and not instance.failed


async def test_wait_for_dtmf_with_timeout_and_saved_event() -> None:
    def press(instance: FlowInstance) -> None:
        instance.offer({"Event-Name": "DTMF", "Unique-ID": "other", "DTMF-Digit": "9"})
        instance.offer({"Event-Name": "DTMF", "Unique-ID": UUID, "DTMF-Digit": "1"})

    _instance, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - wait: {event: DTMF, timeout: 2s, save: digit}
  - switch: "${{ vars.digit['DTMF-Digit'] }}"
    cases:
      "1": [{execute: "transfer 1000 XML default"}]
    default: [{hangup: CALL_REJECTED}]
""",
        PARK,
        during=press,
    )
    assert link.sent == [("execute", "transfer", "1000 XML default")]


async def test_wait_timeout_runs_on_timeout() -> None:
    _, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - wait: {event: DTMF, timeout: 50ms}
    on_timeout: [{hangup: NO_ANSWER}]
""",
        PARK,
    )
    assert link.sent == [("hangup", "NO_ANSWER")]


async def test_execute_timeout_goes_to_on_error_and_names_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Silent(ScriptedLink):
        async def execute(self, app: str, arg: str | None, **_: object) -> None:  # type: ignore[override]
            self.sent.append(("execute", app, arg))

    instance, _ = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: playback, arg: x.wav, timeout: 50ms}
""",
        PARK,
        link=Silent(),
    )
    assert instance.failed
    assert "playback did not complete within 0.05 s" in caplog.text


async def test_save_keeps_the_completion_event_and_if_uses_it() -> None:
    link = ScriptedLink()
    link.app_variables["read"] = {"variable_pin": "1234"}
    _, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: read, arg: "4 4 prompt.wav pin 5000 #", save: entry}
  - if:
      value: "${{ vars.entry['variable_pin'] }}"
      equals: "1234"
    then: [{execute: "playback ok.wav"}]
    else: [{hangup: CALL_REJECTED}]
""",
        PARK,
        link=link,
    )
    assert link.sent[-1] == ("execute", "playback", "ok.wav")


async def test_repeat_call_goto_and_stop() -> None:
    _, link = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - repeat: 3
    counter: n
    steps: [{call: beep}]
    until: [{test: "vars.n >= 2"}]
  - goto: finish
  - log: never
blocks:
  beep: [{api: "log INFO beep ${{ vars.n }}"}]
  finish:
    - api: "log INFO done"
    - stop
    - api: "log INFO never"
""",
        PARK,
    )
    assert link.sent == [
        ("api", "log INFO beep 1"),
        ("api", "log INFO beep 2"),
        ("api", "log INFO done"),
    ]


async def test_api_err_body_fails_the_step() -> None:
    link = ScriptedLink()
    link.api_results["uuid_kill"] = "-ERR No such channel!\n"
    instance, _ = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - api: "uuid_kill ${{ uuid }}"
on_error: [{set: {why: "${{ vars.error }}"}}]
""",
        PARK,
        link=link,
    )
    assert instance.vars["why"] == "api uuid_kill failed: -ERR No such channel!"


async def test_channel_less_flow_cannot_execute(caplog: pytest.LogCaptureFixture) -> None:
    flows = flowset(
        """
flow: reg
trigger: {event: CUSTOM, subclass: "sofia::register"}
steps:
  - execute: answer
"""
    )

    class NoChannel(Link):
        pass

    instance = FlowInstance(
        flows.flows[0], flows, NoChannel(""), {"Event-Name": "CUSTOM"}, (), clock=lambda: NOW
    )
    with anyio.fail_after(2):
        await instance.run()
    assert instance.failed
    assert "this flow has no channel" in caplog.text


ROUTED = """
flow: a
trigger: CHANNEL_PARK
on_busy: {policy}
steps:
  - wait: {{event: DTMF}}
  - api: "log INFO $1"
when:
  - field: Caller-Destination-Number
    expression: ^(\\d+)$
"""


def park(number: str) -> dict[str, str]:
    return dict(PARK, **{"Caller-Destination-Number": number})


DTMF = {"Event-Name": "DTMF", "Unique-ID": UUID}
HANGUP = {"Event-Name": "CHANNEL_HANGUP", "Unique-ID": UUID}


async def route(
    text: str, batches: list[list[dict[str, str]]], *, api_delay: float = 0.0
) -> tuple[list[tuple[object, ...]], Router]:
    """Route each batch of events synchronously (as one socket read delivers them),
    letting the instances run between batches: what every instance sent, in order."""
    flows = flowset(text)
    links: list[ScriptedLink] = []
    async with anyio.create_task_group() as tg:

        def spawn(instance: FlowInstance) -> None:
            assert isinstance(instance.link, ScriptedLink)
            instance.link.instance = instance
            tg.start_soon(instance.run)

        router = Router(flows, spawn, clock=lambda: NOW)

        def link(uuid: str) -> ScriptedLink:
            links.append(ScriptedLink(uuid))
            links[-1].api_delay = api_delay
            return links[-1]

        with anyio.fail_after(5):
            for batch in batches:
                for event in batch:
                    router.route(event, link)
                await anyio.sleep(0.02)
    return [entry for link_ in links for entry in link_.sent], router


async def route_twice(policy: str) -> tuple[list[tuple[object, ...]], Router]:
    return await route(
        ROUTED.format(policy=policy), [[park("1"), park("2")], [DTMF], [DTMF], [DTMF], [HANGUP]]
    )


async def test_a_hangup_step_ends_the_steps_and_runs_on_hangup() -> None:
    flow = """
flow: f
trigger: CHANNEL_PARK
steps:
  - if: {field: Caller-Destination-Number, equals: "1001"}
    then: [{hangup: USER_BUSY}]
  - api: "log INFO not reached"
on_hangup:
  - api: "log INFO hung up"
"""
    instance, link = await run(flow, PARK)
    assert link.sent == [("hangup", "USER_BUSY"), ("api", "log INFO hung up")]
    assert instance.hung_up and not instance.failed


async def test_a_channel_that_stays_up_after_hangup_fails_the_step(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runner.engine.steps.HANGUP_WAIT", 0.05)
    link = ScriptedLink()
    link.stays_up = True
    flow = """
flow: f
trigger: CHANNEL_PARK
steps:
  - hangup
  - api: "log INFO not reached"
"""
    instance, _ = await run(flow, PARK, link=link)
    assert link.sent == [("hangup", "NORMAL_CLEARING")]
    assert instance.failed
    assert "step hangup: the channel was still up 0.05 s after the hangup command" in caplog.text


async def test_on_busy_skip_queue_replace() -> None:
    sent, router = await route_twice("skip")
    assert sent == [("api", "log INFO 1")]
    sent, _ = await route_twice("queue")
    assert sent == [("api", "log INFO 1"), ("api", "log INFO 2")]
    sent, _ = await route_twice("replace")
    assert sent == [("api", "log INFO 2")]
    assert router.active == 0


async def route_in_one_read(steps: str, batches: list[list[str]]) -> list[tuple[object, ...]]:
    """PARK 1, then each batch (by name), then the hangup; the flow has these steps."""
    text = ROUTED.format(policy="skip").replace(LAST_WAIT, steps)
    events = {"DTMF": DTMF, "PARK 2": park("2"), "PARK 3": park("3")}
    named = [[events[name] for name in batch] for batch in batches]
    sent, router = await route(text, [[park("1")], *named, [HANGUP]])
    assert router.active == 0
    return sent


LAST_WAIT = '  - wait: {event: DTMF}\n  - api: "log INFO $1"\n'
TWO_WAITS = '  - wait: {event: DTMF}\n  - wait: {event: DTMF}\n  - api: "log INFO $1"\n'


async def test_on_busy_skip_judges_running_in_event_order() -> None:
    # The DTMF that ends instance 1 and the next PARK come in one read: in event
    # order the PARK is after the end (a `transfer`'s EXECUTE_COMPLETE + CHANNEL_PARK).
    assert await route_in_one_read(LAST_WAIT, [["DTMF", "PARK 2"], ["DTMF"]]) == [
        ("api", "log INFO 1"),
        ("api", "log INFO 2"),
    ]
    # Only the first of two such triggers starts; the second came while it ran.
    assert await route_in_one_read(LAST_WAIT, [["DTMF", "PARK 2", "PARK 3"], ["DTMF"]]) == [
        ("api", "log INFO 1"),
        ("api", "log INFO 2"),
    ]
    # The instance goes on waiting after the DTMF: the PARK came while it ran.
    assert await route_in_one_read(TWO_WAITS, [["DTMF", "PARK 2"], ["DTMF"], ["DTMF"]]) == [
        ("api", "log INFO 1"),
    ]
    # A PARK while the instance runs a step after its wait (a slow api) is skipped.
    sent, _ = await route(
        ROUTED.format(policy="skip"),
        [[park("1")], [DTMF], [park("2")], [], [], [DTMF], [HANGUP]],
        api_delay=0.05,
    )
    assert sent == [("api", "log INFO 1")]
    # A PARK while the instance waits is skipped, as before.
    assert await route_in_one_read(LAST_WAIT, [["PARK 2"], ["DTMF"], ["DTMF"]]) == [
        ("api", "log INFO 1"),
    ]


async def test_router_ignores_events_nobody_triggers_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    flows = flowset(ROUTED.format(policy="skip"))
    started: list[FlowInstance] = []
    router = Router(flows, started.append, clock=lambda: NOW)
    router.route({"Event-Name": "HEARTBEAT"}, ScriptedLink)
    router.route(dict(PARK, **{"Caller-Destination-Number": "x"}), ScriptedLink)
    assert started == []


async def test_an_api_error_is_saved_when_the_flow_keeps_the_output() -> None:
    link = ScriptedLink()
    link.api_results["originate"] = "-ERR USER_BUSY\n"
    instance, _ = await run(
        """
flow: f
trigger: CHANNEL_PARK
steps:
  - api: {command: originate, args: "user/1000 &park()", save: result}
  - if: {value: "${{ vars.result }}", expression: '^-ERR (\\S+)'}
    then: [{set: {why: "$1"}}]
""",
        PARK,
        link=link,
    )
    assert not instance.failed
    assert instance.vars["why"] == "USER_BUSY"


async def test_bridge_timeout_is_the_time_to_answer() -> None:
    class Bridging(ScriptedLink):
        answer = True

        async def execute(self, app: str, arg: str | None, *, event_uuid: str, **_: object) -> None:  # type: ignore[override]
            self.sent.append(("execute", app, arg))
            assert self.instance is not None
            instance = self.instance

            async def call() -> None:
                await anyio.sleep(0.02)
                if self.answer:
                    instance.offer({"Event-Name": "CHANNEL_BRIDGE", "Unique-ID": self.uuid})
                    await anyio.sleep(0.2)  # a conversation longer than the timeout
                    instance.offer(
                        {
                            "Event-Name": "CHANNEL_EXECUTE_COMPLETE",
                            "Unique-ID": self.uuid,
                            "Application-UUID": event_uuid,
                        }
                    )

            self.tg.start_soon(call)

    flow = """
flow: f
trigger: CHANNEL_PARK
steps:
  - execute: {app: bridge, arg: user/1000, timeout: 100ms}
  - hangup: NORMAL_CLEARING
on_error: [{set: {why: "${{ vars.error }}"}}]
"""
    async with anyio.create_task_group() as tg:
        answered = Bridging()
        answered.tg = tg  # type: ignore[attr-defined]
        instance, link = await run(flow, PARK, link=answered)
        assert link.sent[-1] == ("hangup", "NORMAL_CLEARING")
        ringing = Bridging()
        ringing.answer = False
        ringing.tg = tg  # type: ignore[attr-defined]
        instance, link = await run(flow, PARK, link=ringing)
        assert instance.vars["why"] == "bridge: no answer within 0.1 s"
