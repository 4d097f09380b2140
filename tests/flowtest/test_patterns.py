"""Expected values: exact strings or /regex/, and how a recorded value is written back."""

from __future__ import annotations

import pytest

from runner.flowtest.patterns import escape, parse_pattern, written_exact
from runner.flowtest.record import written


@pytest.mark.parametrize(
    ("written_as", "value", "matches"),
    [
        ("ivr/ivr-welcome.wav", "ivr/ivr-welcome.wav", True),
        ("ivr/ivr-welcome.wav", "ivr/ivr-welcome.wav ", False),
        ("/welcome/", "ivr/ivr-welcome.wav", True),  # searched, as the dialplan does
        ("/^welcome/", "ivr/ivr-welcome.wav", False),
        ("/^user\\/10\\d\\d/", "user/1001@example.com", True),
        ("/^user\\/10\\d\\d/", "user/2001@example.com", False),
        ("/WELCOME/i", "ivr/ivr-welcome.wav", True),
        ("/WELCOME/", "ivr/ivr-welcome.wav", False),
        ("/\\d/", "٣", False),  # ASCII digits, as PCRE reads \d
        ("/", "/", True),  # one slash is text
        ("/a/x", "/a/x", True),  # an unknown flag: text
        ("", "", True),
    ],
)
def test_exact_or_regex(written_as: str, value: str, matches: bool) -> None:
    assert parse_pattern(written_as).matches(value) is matches


def test_nothing_matches_a_missing_value() -> None:
    assert parse_pattern("/.*/").matches(None) is False
    assert parse_pattern("").matches(None) is False


def test_a_bad_regex_says_where_inside_the_value() -> None:
    with pytest.raises(ValueError, match="missing \\), unterminated subpattern") as raised:
        parse_pattern("/wel(come/")
    assert raised.value.offset == 4  # type: ignore[attr-defined]  # the '(' after the '/'


@pytest.mark.parametrize(
    "text",
    ["plain", "/tmp/recordings/", "/a/i", "a.b (c) [d] {e} $f ^g | h \\ i/j *+?", "/"],
)
def test_a_value_written_exactly_matches_only_itself(text: str) -> None:
    pattern = parse_pattern(written_exact(text))
    assert pattern.matches(text)
    assert not pattern.matches(text + "x")
    assert not pattern.matches("x" + text)


def test_escape_keeps_words_and_spaces_readable() -> None:
    assert (
        escape("called 1001 back (ok): $1/${x}") == "called 1001 back \\(ok\\): \\$1\\/\\$\\{x\\}"
    )


def test_recorded_values_turn_unknown_uuids_into_a_regex() -> None:
    mine = "00000000-0000-4000-8000-000000000001"
    other = "6f1c2a3e-9b7d-4c1e-8f2a-0b1c2d3e4f5a"
    assert written(f"uuid_setvar {mine} routed true", {mine}) == (f"uuid_setvar {mine} routed true")
    text = f"called 1001 back, new call {other}"
    recorded = written(text, {mine})
    assert recorded == "/^called 1001 back, new call [0-9a-f-]{36}$/"
    assert parse_pattern(recorded).matches(text.replace(other, "1" * 8 + other[8:]))
    both = f"bridge {mine} {other}"
    assert written(both, {mine}) == f"/^bridge {mine} [0-9a-f-]{{36}}$/"
