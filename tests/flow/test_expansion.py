"""The expansion and argument guards (issue 10, findings 11-12), without a switch.

The hostile values are refused with text naming the value's origin; ordinary values pass
unchanged; and a model of FreeSWITCH's expander (tests/helpers/fs_expander.py, checked
against the real switch in tests/realfs/test_guard_realfs.py) runs no expansion on
anything the guard lets through, however many passes it makes.
"""

from __future__ import annotations

import itertools
import random
import time

import pytest
from helpers.fs_expander import expand, expand_once
from helpers.hostile import (
    ARG_SAFE,
    BENIGN,
    EXPANDING,
    REWRITTEN,
    SCOPE,
    SHAPE,
    SPLIT,
)

from runner.flow import FlowValidationError, load_flow_sources
from runner.flow.context import RenderContext
from runner.flow.errors import UnsafeSubstitutionError
from runner.flow.expansion import Piece, expansion_culprit
from runner.flow.steps import ExecuteStep
from runner.flow.template import Guard, Template

WHERE = "flows/x.yaml:12:7: flow 'f' step execute"
ORIGIN = "capture $1"
TRUSTED = "only if the value is trusted, mark the step `raw: true` or wrap it in raw(...)"
EXPANSION = (
    f"{WHERE}: value from {ORIGIN} would put '${{' into the command, and FreeSWITCH expands "
    f"${{...}} when it runs it (${{system(...)}} runs a shell command); refused — {TRUSTED}"
)


def render(before: str, value: str, after: str = "", guard: Guard = Guard.APP_ARG) -> str:
    template = Template.parse(before + "$1" + after)
    ctx = RenderContext(captures=(value,), event={}, vars={}, uuid="u-1")
    return template.render(ctx, guard=guard, where=WHERE).text


# -- the model agrees with what the real switch did (seen on 1.10.12, see realfs) ---------


@pytest.mark.parametrize(
    ("text", "passes", "result", "count"),
    [
        ("$\\'{system(id)}", 1, "${system(id)}", 0),
        ("$\\'{system(id)}", 2, "", 1),
        ("$\\\\{system(id)}", 2, "$\\{system(id)}", 0),
        ("\\${system(id)}", 1, "${system(id)}", 0),
        ("\\\\${system(id)}", 1, "\\", 1),
        ("a\\'b", 1, "ab", 0),
        ("a\\\\b", 2, "a\\b", 0),
        ("$$5", 1, "$$5", 0),
        ("$$5 ${x}", 1, "$5 ", 1),
        ("${a}x${b}", 1, "x", 2),
        ("${system(id)", 1, "", 1),
    ],
)
def test_the_expander_model(text: str, passes: int, result: str, count: int) -> None:
    assert expand(text, passes) == (result, count)


# -- findings 11: values that expand -------------------------------------------------------


@pytest.mark.parametrize("guard", [Guard.APP_ARG, Guard.APP_LINE, Guard.COMMAND])
@pytest.mark.parametrize("name", list(EXPANDING))
def test_a_value_that_expands_after_any_pass_is_refused(name: str, guard: Guard) -> None:
    with pytest.raises(UnsafeSubstitutionError) as caught:
        render("x=", EXPANDING[name], guard=guard)
    assert str(caught.value) == EXPANSION
    assert caught.value.origin == ORIGIN


@pytest.mark.parametrize("name", list(SPLIT))
def test_a_sequence_built_across_value_and_flow_text_is_refused(name: str) -> None:
    before, value, after = SPLIT[name]
    with pytest.raises(UnsafeSubstitutionError) as caught:
        render(before, value, after)
    assert str(caught.value) == EXPANSION


@pytest.mark.parametrize("name", list(REWRITTEN))
def test_a_value_with_an_escape_the_expander_rewrites_is_refused(name: str) -> None:
    value = REWRITTEN[name]
    escape = "$$" if "$$" in value else value[value.index("\\") :][:2]
    with pytest.raises(UnsafeSubstitutionError) as caught:
        render("x=", value)
    assert str(caught.value) == (
        f"{WHERE}: value from {ORIGIN} would put the escape '{escape}' into the command, "
        "which FreeSWITCH's expander rewrites (\\\\ to \\, \\$ to $, \\' dropped, $$ to $): "
        f"the value would not arrive as sent; refused — {TRUSTED}"
    )


def test_an_escape_split_across_value_and_text_is_refused() -> None:
    with pytest.raises(UnsafeSubstitutionError, match="would put the escape '\\\\''"):
        render("x=", "a\\", "'b")


@pytest.mark.parametrize("name", list(SCOPE))
def test_a_value_opening_scope_variables_is_refused(name: str) -> None:
    with pytest.raises(UnsafeSubstitutionError) as caught:
        render("", SCOPE[name])
    assert str(caught.value) == (
        f"{WHERE}: value from {ORIGIN} would start the argument with '%[', which FreeSWITCH "
        f"reads as scope variables for the application, not as its argument; refused — {TRUSTED}"
    )
    assert render("x=", SCOPE[name]).startswith("x=%")  # only at the start of the argument


@pytest.mark.parametrize(
    ("before", "value"), [("${x}", "%[a=b]c"), ("${x}", "[a=b]c"), ("${x}${y}", "a[b]")]
)
def test_scope_variables_after_the_flows_leading_expansions_are_refused(
    before: str, value: str
) -> None:
    with pytest.raises(UnsafeSubstitutionError, match="scope variables"):
        render(before, value)
    assert render("x" + before, value) == f"x{before}{value}"  # not at the start


@pytest.mark.parametrize("name", list(BENIGN))
def test_ordinary_values_pass_unchanged_and_stay_unchanged_on_the_switch(name: str) -> None:
    value = BENIGN[name]
    text = render("x=", value)
    assert text == f"x={value}"
    # `set` expands twice; api `expand` may add passes: nothing changes, nothing runs.
    assert expand(text, 4) == (text, 0)


def test_raw_lifts_the_expansion_rule() -> None:
    template = Template.parse("x=$1")
    ctx = RenderContext(captures=(EXPANDING["quote-escape"],))
    assert template.render(ctx, guard=Guard.APP_ARG, raw=True).text.startswith("x=$\\'{")


def test_the_flows_own_expansions_still_pass() -> None:
    assert render("x=${uuid} ", "O'Brien", " $${domain}") == "x=${uuid} O'Brien $${domain}"


# -- the rule holds for any composition (checked against the model) ----------------------

ALPHABET = "$\\'{}a"


def test_nothing_the_guard_accepts_ever_expands() -> None:
    """Every flow text / value / flow text over the expander's special characters: if the
    flow's text alone opens nothing and the guard accepts, 3 passes run 0 expansions."""
    rng = random.Random(11)
    words = ["".join(w) for n in range(4) for w in itertools.product(ALPHABET, repeat=n)]
    accepted = refused = 0
    for _ in range(25_000):
        before, value, after = rng.choice(words), rng.choice(words), rng.choice(words)
        if expand(before + "\0" + after, 3)[1] or expand(before + after, 3)[1]:
            continue  # the flow's own text expands: not the value's doing
        text = before + value + after
        piece = Piece(len(before), len(before) + len(value), "v", False)
        if expansion_culprit(text, [piece]) is not None:
            refused += 1
            continue
        accepted += 1
        assert expand(text, 3)[1] == 0, repr((before, value, after))
    assert accepted > 6_000 and refused > 3_000  # both sides were exercised


def test_escaped_flow_text_stays_the_flows() -> None:
    # A value cannot undo the flow's own escape: `\` + `\${x}` would become `\\${x}`.
    with pytest.raises(UnsafeSubstitutionError, match="would put"):
        render("x=", "\\", "\\${uuid}")
    assert expand_once("x=\\\\${uuid}")[1] == 1


# -- finding 12: argument injection in api/bgapi ------------------------------------------

MEANING = {
    "originate-app": ("a space", "an argument separator"),
    "extra-app": ("'&'", "an application to run (&app(args))"),
    "channel-vars": ("'{'", "a block of channel variables"),
    "leg-vars": ("'['", "a block of channel variables"),
    "second-leg": ("','", "a separator between call legs"),
    "sequential-leg": ("'|'", "a separator between call legs"),
    "enterprise-leg": ("':_:'", "a separator between call legs"),
    "extra-arg": ("a space", "an argument separator"),
    "tab-arg": ("whitespace ('\\t')", "an argument separator"),
    "quote": ("'''", "quoting or an escape"),
    "uri-param": ("';'", "a separator of URI parameters"),
    "delimiter": ("'^'", "a change of argument delimiter (^^x)"),
}


@pytest.mark.parametrize("name", list(SHAPE))
def test_a_value_that_changes_an_api_commands_shape_is_refused(name: str) -> None:
    char, meaning = MEANING[name]
    with pytest.raises(UnsafeSubstitutionError) as caught:
        render("originate user/", SHAPE[name], " &park()", guard=Guard.COMMAND)
    assert str(caught.value) == (
        f"{WHERE}: value from {ORIGIN} contains {char}, which FreeSWITCH's commands read as "
        f"{meaning}; refused: it could add arguments, applications or call legs to the "
        f"command — {TRUSTED}"
    )


@pytest.mark.parametrize("name", list(ARG_SAFE))
def test_one_word_values_pass_in_api_commands(name: str) -> None:
    value = ARG_SAFE[name]
    text = render("uuid_setvar u-1 v ", value, guard=Guard.COMMAND)
    assert text == f"uuid_setvar u-1 v {value}"


def test_bridge_takes_a_dial_string_so_its_values_keep_their_shape() -> None:
    flow = """flow: f
trigger: {event: CUSTOM, subclass: "t::probe"}
steps:
  - execute: {app: bridge, arg: "{origination_caller_id_name=${{ event['X-Value'] }}}user/1"}
  - execute: {app: set, arg: "x=${{ event['X-Value'] }}"}
"""
    loaded = load_flow_sources([("flows/x.yaml", flow)])["f"]
    bridge, set_ = loaded.steps
    assert isinstance(bridge, ExecuteStep) and isinstance(set_, ExecuteStep)

    def ctx(value: str) -> RenderContext:
        return RenderContext(captures=(), event={"X-Value": value}, vars={}, uuid="u")

    # A name with spaces stays one variable's value; one with a comma would add another.
    name = "John Smith & Co (Sales)"
    assert bridge.render_arg(ctx(name)) == f"{{origination_caller_id_name={name}}}user/1"
    for value, char in [
        ("John,origination_caller_id_number=666", "','"),
        ("x}sofia/gateway/evil/900|", "'}'"),
        ("1000:_:sofia/gateway/evil/900", "':_:'"),
        ("it's", "'''"),
        (SHAPE["second-leg"], "','"),
    ]:
        with pytest.raises(UnsafeSubstitutionError, match=f"contains {char}, which FreeSWITCH"):
            bridge.render_arg(ctx(value))
        assert set_.render_arg(ctx(value)) == "x=" + value


# -- load time: a value inside a flow-written ${...} -----------------------------------------

HEAD = """flow: f
trigger: {event: CUSTOM, subclass: "t::probe"}
when: [{field: X-Value, expression: "^(.*)$"}]
steps:
"""
HOLE = (
    "is inside a FreeSWITCH ${...} written in the flow, so the value would choose what "
    "FreeSWITCH expands (${system(...)} runs a shell command); refused — write the variable "
    "name out, or mark the step `raw: true` only if the value is trusted"
)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ('  - execute: {app: set, arg: "x=${$1}"}\n', "5:35: '$1'"),
        ('  - execute: {app: set, arg: "x=$${$1}"}\n', "5:36: '$1'"),
        ('  - execute: {app: set, arg: "x=${a_$1}"}\n', "5:37: '$1'"),
        ('  - execute: {app: set, arg: "x=${expr $1}"}\n', "5:40: '$1'"),
        ('  - execute: {app: set, arg: "x=${a${b}$1}"}\n', "5:40: '$1'"),
        ('  - execute: {app: set, arg: "x=${system($1"}\n', "5:42: '$1'"),
        ("  - execute:\n      app: set\n      arg: x=$\\'{$1}\n", "7:18: '$1'"),
        (
            "  - api: \"uuid_setvar ${{ uuid }} a ${${{ event['X'] }}}\"\n",
            "5:39: '${{ event['X'] }}'",
        ),
        ('  - bgapi: "expand ${$1}"\n', "5:22: '$1'"),
        ("  - xferext: ['set x=${$1}']\n", "5:24: '$1'"),
    ],
)
def test_a_substitution_inside_a_flow_written_expansion_is_refused_at_load(
    step: str, expected: str
) -> None:
    with pytest.raises(FlowValidationError) as caught:
        load_flow_sources([("flows/t.yaml", HEAD + step)])
    assert [str(error) for error in caught.value.errors] == [f"flows/t.yaml:{expected} {HOLE}"]


@pytest.mark.parametrize(
    "step",
    [
        '  - execute: {app: set, arg: "x=${$1}"}\n    raw: true\n',
        '  - execute: {app: set, arg: "x=${a} $1 ${b}"}\n',
        '  - log: "${$1}"\n',
        "  - sendevent: {event: CUSTOM, subclass: a::b, headers: {X: '${$1}'}}\n",
    ],
)
def test_raw_steps_and_sinks_that_never_expand_may_hold_them(step: str) -> None:
    load_flow_sources([("flows/t.yaml", HEAD + step)])


@pytest.mark.parametrize(
    "value", ["$\\'" * 20_000 + "{", "{" * 60_000, "${" * 30_000, "\\" * 60_000 + "'"]
)
def test_the_guard_costs_linear_time_on_long_values(value: str) -> None:
    # 60,000 characters take ~0.15 s here; a quadratic scan would take minutes.
    started = time.perf_counter()
    with pytest.raises(UnsafeSubstitutionError):
        render("x=", value, "${x}", guard=Guard.COMMAND)
    assert time.perf_counter() - started < 1.0
