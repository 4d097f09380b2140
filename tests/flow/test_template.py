"""Templates: the three kinds of `$`, origins of substituted values, and the wire guards."""

import pytest

from runner.flow.context import RenderContext
from runner.flow.errors import ExpressionError, UnsafeSubstitutionError
from runner.flow.expansion import Piece
from runner.flow.template import (
    Capture,
    Expr,
    Guard,
    Literal,
    Rendered,
    Template,
    TemplateSyntaxError,
)

WHERE = "flows/x.yaml:12:7: flow 'support-line' step execute"


def ctx(**event: str) -> RenderContext:
    return RenderContext(
        captures=("1000",),
        event=event,
        vars={"job": "+OK 1234", "n": 3},
        uuid="u-1",
    )


def test_parses_once_into_parts() -> None:
    template = Template.parse("user/$1@${domain_name} $${global} ${{ uuid }} $0 $10 5$ $")
    assert [type(part) for part in template.parts] == [
        Literal,
        Capture,
        Literal,
        Expr,
        Literal,
        Capture,
        Literal,
    ]
    assert template.parts[0] == Literal("user/")
    assert template.parts[1] == Capture(1, 5)
    assert template.parts[2] == Literal("@${domain_name} $${global} ")
    assert template.parts[4] == Literal(" $0 ")
    assert template.parts[5] == Capture(1, 49)
    assert template.parts[6] == Literal("0 5$ $")
    assert template.capture_refs == {1}
    assert not template.is_literal


def test_freeswitch_variables_pass_through_untouched() -> None:
    template = Template.parse("${domain_name} $${hold_music} ${cond(1 == 1 ? a : b)}")
    assert template.is_literal
    assert template.render(ctx()).text == "${domain_name} $${hold_music} ${cond(1 == 1 ? a : b)}"


def test_render_records_where_each_piece_came_from() -> None:
    template = Template.parse(
        "user/$1@${domain_name} ${{ event['Caller-Caller-ID-Name'] }} ${{ vars.job }}"
    )
    rendered = template.render(ctx(**{"Caller-Caller-ID-Name": "Bob"}))
    assert rendered == Rendered(
        text="user/1000@${domain_name} Bob +OK 1234",
        pieces=(
            Piece(5, 9, "capture $1", False),
            Piece(25, 28, "event header Caller-Caller-ID-Name", False),
            Piece(29, 37, "variable job", False),
        ),
    )


def test_a_missing_capture_or_header_is_empty() -> None:
    rendered = Template.parse("[$2][${{ event['Nope'] }}]").render(ctx())
    assert rendered.text == "[][]"


def test_evaluate_keeps_the_type_of_a_lone_expression() -> None:
    assert Template.parse("${{ vars.n + 1 }}").evaluate(ctx()) == 4
    assert Template.parse("n=${{ vars.n + 1 }}").evaluate(ctx()) == "n=4"
    assert Template.parse("plain").evaluate(ctx()) == "plain"


def test_closing_braces_inside_a_string_do_not_end_the_expression() -> None:
    assert Template.parse("${{ '}}' }}!").render(ctx()).text == "}}!"


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("a ${{ uuid", "'${{' is not closed: expected '}}'", 2),
        (
            "a ${{ evnt }} b",
            "unknown name 'evnt' — did you mean 'event'? "
            "(names: event, trigger, vars, uuid, captures)",
            6,
        ),
        ("x ${{ 1 + }}", "invalid expression: invalid syntax", 9),
        ("${{ }}", "empty expression", 3),
    ],
)
def test_syntax_errors_point_into_the_text(text: str, message: str, offset: int) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        Template.parse(text)
    assert str(caught.value) == message
    assert caught.value.offset == offset


INJECTION = (
    f"{WHERE}: value from event header Caller-Caller-ID-Name would put '${{' into the "
    "command, and FreeSWITCH expands ${...} when it runs it (${system(...)} runs a shell "
    "command); refused — only if the value is trusted, mark the step `raw: true` or wrap it "
    "in raw(...)"
)


@pytest.mark.parametrize("guard", [Guard.APP_ARG, Guard.COMMAND])
def test_a_value_carrying_dollar_brace_is_refused_in_args_and_commands(guard: Guard) -> None:
    template = Template.parse("playback ${{ event['Caller-Caller-ID-Name'] }}")
    evil = ctx(**{"Caller-Caller-ID-Name": "${system(rm -rf /)}"})
    with pytest.raises(UnsafeSubstitutionError) as caught:
        template.render(evil, guard=guard, where=WHERE)
    assert str(caught.value) == INJECTION
    assert caught.value.origin == "event header Caller-Caller-ID-Name"


def test_a_global_variable_reference_from_a_value_is_refused_too() -> None:
    template = Template.parse("x=$1")
    evil = RenderContext(captures=("$${hold_music}",))
    with pytest.raises(UnsafeSubstitutionError, match=r"value from capture \$1 would put '\$\{'"):
        template.render(evil, guard=Guard.APP_ARG)


def test_a_dollar_brace_split_across_a_value_and_the_text_is_refused() -> None:
    template = Template.parse("${{ event['A'] }}{system(id)}")
    with pytest.raises(UnsafeSubstitutionError, match="value from event header A would put"):
        template.render(ctx(A="$"), guard=Guard.APP_ARG)


def test_a_dollar_brace_split_across_two_values_is_refused() -> None:
    template = Template.parse("${{ event['A'] }}${{ event['B'] }}")
    with pytest.raises(UnsafeSubstitutionError, match="value from event header A would put"):
        template.render(ctx(A="$", B="{system(id)}"), guard=Guard.COMMAND)


def test_the_flows_own_freeswitch_variables_are_not_refused() -> None:
    template = Template.parse("user/$1@${domain_name}")
    rendered = template.render(ctx(), guard=Guard.APP_ARG)
    assert rendered.text == "user/1000@${domain_name}"


def test_raw_step_allows_dollar_brace() -> None:
    template = Template.parse("set x=${{ event['A'] }}")
    rendered = template.render(ctx(A="${b}"), guard=Guard.APP_ARG, raw=True)
    assert rendered.text == "set x=${b}"


def test_raw_function_allows_only_its_value() -> None:
    template = Template.parse("${{ raw(event['A']) }} ${{ event['B'] }}")
    assert template.render(ctx(A="${a}", B="b"), guard=Guard.APP_ARG).text == "${a} b"
    with pytest.raises(UnsafeSubstitutionError, match="value from event header B"):
        template.render(ctx(A="${a}", B="${b}"), guard=Guard.APP_ARG)


@pytest.mark.parametrize("guard", [Guard.HEADER, Guard.APP_ARG, Guard.COMMAND])
@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_line_breaks_in_values_never_reach_the_wire(guard: Guard, newline: str) -> None:
    template = Template.parse("${{ event['Caller-Caller-ID-Name'] }}")
    evil = ctx(**{"Caller-Caller-ID-Name": f"Bob{newline}api system reboot"})
    with pytest.raises(UnsafeSubstitutionError) as caught:
        template.render(evil, guard=guard, where=WHERE, raw=True)
    assert str(caught.value) == (
        f"{WHERE}: value from event header Caller-Caller-ID-Name contains a line break "
        "(CR or LF); refused: on the wire it would end this command and start another"
    )


def test_a_header_must_be_one_line_even_from_the_flow_text() -> None:
    with pytest.raises(UnsafeSubstitutionError) as caught:
        Template.parse("a\nb").render(ctx(), guard=Guard.HEADER, where=WHERE)
    assert str(caught.value) == (
        f"{WHERE}: text contains a line break (CR or LF); refused: it must be one line"
    )


def test_an_app_arg_may_span_lines_written_in_the_flow() -> None:
    # Multi-line args go in the body form of sendmsg execute; only values may not break.
    assert Template.parse("a\nb $1").render(ctx(), guard=Guard.APP_ARG).text == "a\nb 1000"


def test_a_body_takes_anything() -> None:
    rendered = Template.parse("${{ event['A'] }}").render(ctx(A="${x}\n"), guard=Guard.BODY)
    assert rendered.text == "${x}\n"


def test_expression_failures_name_the_step() -> None:
    with pytest.raises(ExpressionError) as caught:
        Template.parse("${{ vars.job + 1 }}").render(ctx(), where=WHERE)
    assert str(caught.value) == (
        f"{WHERE}: expression `vars.job + 1`: cannot use '+' on a string and an integer; "
        "use str() or int() to convert"
    )


def test_a_mapping_cannot_be_rendered_as_text() -> None:
    context = RenderContext(vars={"digit": {"DTMF-Digit": "1"}})
    with pytest.raises(ExpressionError) as caught:
        Template.parse("${{ vars.digit }}").render(context, where=WHERE)
    assert str(caught.value) == (
        f"{WHERE}: expression `vars.digit`: a mapping cannot be put into text; "
        "pick one item with [...]"
    )
