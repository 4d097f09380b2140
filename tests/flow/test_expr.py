"""The `${{ }}` expression language: what it computes, and what it refuses, exactly."""

import pytest

from runner.flow.context import RenderContext
from runner.flow.errors import ExpressionError
from runner.flow.expr import ExprSyntaxError, RawStr, compile_expression, to_text

CTX = RenderContext(
    captures=("1000", "x"),
    event={"Caller-Caller-ID-Name": "Bob", "DTMF-Digit": "5", "Empty": ""},
    trigger={"Event-Name": "CHANNEL_PARK"},
    vars={"job": "+OK 1234", "attempts": 2, "digit": {"DTMF-Digit": "7"}, "flag": True},
    uuid="8b5c4a10-0000-4000-8000-000000000001",
)


def run(source: str) -> object:
    return compile_expression(source).evaluate(CTX)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("event['Caller-Caller-ID-Name']", "Bob"),
        ("event['caller-caller-id-name']", "Bob"),  # headers read case-insensitively
        ("event['Missing']", None),
        ("trigger['Event-Name']", "CHANNEL_PARK"),
        ("vars.job", "+OK 1234"),
        ("vars['job']", "+OK 1234"),
        ("vars.digit['dtmf-digit']", "7"),  # a saved event reads like an event
        ("vars.nothing", None),
        ("uuid", "8b5c4a10-0000-4000-8000-000000000001"),
        ("captures[1]", "1000"),
        ("captures[2]", "x"),
        ("captures[3]", None),
        ("vars.attempts + 1", 3),
        ("vars.attempts * 3 - 1", 5),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("-vars.attempts", -2),
        ("int(event['DTMF-Digit']) + 1", 6),
        ("lower(event['Caller-Caller-ID-Name']) + '!'", "bob!"),
        ("upper('a')", "A"),
        ("strip('  a ')", "a"),
        ("len(event['Caller-Caller-ID-Name'])", 3),
        ("len(event['Missing'])", 0),
        ("default(event['Empty'], 'anonymous')", "anonymous"),
        ("default(event['Missing'], 'anonymous')", "anonymous"),
        ("default(vars.job, 'none')", "+OK 1234"),
        ("replace(vars.job, '+OK ', '')", "1234"),
        ("startswith(vars.job, '+OK')", True),
        ("endswith(vars.job, '34')", True),
        ("str(vars.attempts)", "2"),
        ("event['DTMF-Digit'] in ['1', '5']", True),
        ("event['DTMF-Digit'] not in ('1', '2')", True),
        ("'OK' in vars.job", True),
        ("'x' in event['Missing']", False),
        ("1 < vars.attempts <= 2", True),
        ("'a' < 'b'", True),
        ("vars.attempts == 2 and vars.flag", True),
        ("vars.nothing or 'fallback'", "fallback"),
        ("not vars.flag", False),
        ("'yes' if vars.attempts > 1 else 'no'", "yes"),
        ("  uuid  ", "8b5c4a10-0000-4000-8000-000000000001"),
        ("(vars.attempts\n + 1)", 3),
    ],
)
def test_evaluates(source: str, value: object) -> None:
    assert run(source) == value


def test_raw_marks_the_value_trusted() -> None:
    value = run("raw(vars.job)")
    assert isinstance(value, RawStr)
    assert value == "+OK 1234"


@pytest.mark.parametrize(
    ("source", "origin"),
    [
        ("event['Caller-Caller-ID-Name']", "event header Caller-Caller-ID-Name"),
        ("trigger['Event-Name']", "trigger header Event-Name"),
        ("vars.job", "variable job"),
        ("vars.digit['DTMF-Digit']", "variable digit['DTMF-Digit']"),
        ("captures[2]", "capture $2"),
        ("uuid", "channel uuid"),
        (
            "lower(event['Caller-Caller-ID-Name'])",
            "expression `lower(event['Caller-Caller-ID-Name'])` "
            "(from event header Caller-Caller-ID-Name)",
        ),
        ("1 + 2", "expression `1 + 2`"),
    ],
)
def test_origin_names_the_data_source(source: str, origin: str) -> None:
    assert compile_expression(source).origin == origin


def test_collects_variable_and_capture_references() -> None:
    expression = compile_expression("vars.a + vars['b'] + captures[3] + len(vars.c.d)")
    assert expression.var_refs == {"a", "b", "c"}
    assert expression.capture_refs == {3}


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        (
            "evnt['x']",
            "unknown name 'evnt' — did you mean 'event'? "
            "(names: event, trigger, vars, uuid, captures)",
            0,
        ),
        ("true", "unknown name 'true' — write True", 0),
        ("event.__class__", "'.__class__': names starting with '_' are not allowed", 6),
        (
            "vars.job.upper()",
            "method calls like '.upper()' are not supported; functions: default, endswith, "
            "int, len, lower, raw, replace, startswith, str, strip, upper",
            0,
        ),
        (
            "1 + open('x')",
            "unknown function 'open' (functions: default, endswith, int, len, lower, raw, "
            "replace, startswith, str, strip, upper)",
            4,
        ),
        (
            "lowr('A')",
            "unknown function 'lowr' — did you mean 'lower'? (functions: default, endswith, "
            "int, len, lower, raw, replace, startswith, str, strip, upper)",
            0,
        ),
        ("lower", "function 'lower' must be called: lower(...)", 0),
        ("lower('a', 'b')", "lower() takes 1 argument, got 2", 0),
        ("default(x=1)", "default() takes no keyword arguments", 0),
        ("lambda: 1", "lambda not allowed in expressions", 0),
        ("2 ** 8", "operator '**' not allowed in expressions", 0),
        ("1 << 2", "operator '<<' not allowed in expressions", 0),
        ("~1", "operator '~' not allowed in expressions", 0),
        ("vars.job[1:2]", "slices not allowed in expressions", 9),
        ("[x for x in vars]", "comprehensions not allowed in expressions", 0),
        ("{'a': 1}", "mapping literals not allowed in expressions", 0),
        ("f'{uuid}'", "f-strings not allowed in expressions", 0),
        ("(y := 1)", "':=' not allowed in expressions", 1),
        ("1 is 1", "'Is' comparison not allowed", 0),
        ("b'x'", "literal b'x' not allowed in expressions", 0),
        ("vars.attempts +", "invalid expression: invalid syntax", 15),
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
    ],
)
def test_refuses_at_compile_time(source: str, message: str, offset: int) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        compile_expression(source)
    assert str(caught.value) == message
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "vars.job + 1",
            "cannot use '+' on a string and an integer; use str() or int() to convert",
        ),
        ("vars.job - 1", "cannot use '-' on a string and an integer"),
        ("vars.job < 1", "cannot compare a string with an integer using '<'"),
        ("int(vars.job)", "int(): '+OK 1234' is not a whole number"),
        ("int(vars.digit)", "int() needs a string or number, got a mapping"),
        ("1 / 0", "division by zero"),
        ("-vars.job", "cannot negate a string"),
        ("lower(vars.attempts)", "lower() needs a string, got an integer"),
        ("vars.job[uuid]", "a string index must be an integer"),
        ("vars.attempts['x']", "cannot index an integer"),
        ("1 in vars.attempts", "'in' needs a string, list or mapping on its right"),
        ("1 in vars.job", "'in' a string needs a string, got an integer"),
        ("len(vars.flag)", "len() needs a string, mapping or list, got a boolean"),
    ],
)
def test_fails_at_run_time_with_the_expression_named(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        run(source)
    assert str(caught.value) == f"expression `{source}`: {message}"


def test_long_strings_are_refused() -> None:
    ctx = RenderContext(vars={"s": "x" * 40000})
    with pytest.raises(ExpressionError, match="string longer than 65536 characters"):
        compile_expression("vars.s + vars.s").evaluate(ctx)


def test_huge_numbers_are_refused() -> None:
    source = " * ".join(["99999999999999999999"] * 20)
    with pytest.raises(ExpressionError, match="number too large"):
        compile_expression(source).evaluate(CTX)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (False, "false"), (3, "3"), (2.5, "2.5"), ("a", "a")],
)
def test_to_text(value: object, text: str) -> None:
    assert to_text(value) == text


def test_to_text_refuses_a_mapping() -> None:
    with pytest.raises(ExpressionError, match=r"a mapping cannot be put into text"):
        to_text({"a": "b"})
