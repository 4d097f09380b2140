"""Aligning expected and actual lists: the longest common subsequence under the matching
rule, with a missing item shown before the extra one that took its place."""

from __future__ import annotations

from runner.flowtest.check import align


def shown(expected: str, actual: str) -> list[str]:
    pairs = align(list(expected), list(actual), lambda e, a: e == a.lower())
    out = []
    for pair in pairs:
        if pair.expected is not None and pair.actual is not None:
            out.append(f" {pair.actual}")
        elif pair.expected is not None:
            out.append(f"-{pair.expected}")
        else:
            out.append(f"+{pair.actual}")
    return out


def test_equal_lists_match_item_by_item() -> None:
    assert shown("abc", "ABC") == [" A", " B", " C"]


def test_a_changed_item_is_a_minus_then_a_plus() -> None:
    assert shown("abc", "AXC") == [" A", "-b", "+X", " C"]


def test_missing_and_extra_items_keep_their_places() -> None:
    assert shown("abcd", "ACDE") == [" A", "-b", " C", " D", "+E"]
    assert shown("", "AB") == ["+A", "+B"]
    assert shown("ab", "") == ["-a", "-b"]


def test_the_longest_common_run_wins() -> None:
    assert shown("abab", "BAB") == ["-a", " B", " A", " B"]


def test_missing_indexes_point_back_at_the_expected_items() -> None:
    pairs = align(["x", "y", "z"], ["x", "z"], lambda e, a: e == a)
    assert [(pair.expected, pair.expected_index) for pair in pairs if pair.actual is None] == [
        ("y", 1)
    ]
