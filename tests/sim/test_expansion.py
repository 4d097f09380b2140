"""The simulator expands as FreeSWITCH does (tests/realfs/test_guard_realfs.py checks the
model in tests/helpers/fs_expander.py against a real 1.10.12; the simulator follows it)."""

from __future__ import annotations

import itertools
import random

import pytest
from helpers.fs_expander import expand_once

from runner.sim.expansion import expand

VARS = {"a": "A", "b": "${a}!", "long": "0123456789", "name": "long"}


def lookup(name: str) -> str | None:
    return VARS.get(name)


def test_matches_the_model_when_no_variable_is_set() -> None:
    rng = random.Random(10)
    words = ["".join(w) for n in range(7) for w in itertools.product("$\\'{}a ", repeat=n)]
    for _ in range(20_000):
        text = rng.choice(words)
        assert expand(text, lambda name: None) == expand_once(text)[0], repr(text)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${a}-$${a}", "A-A"),
        ("${b}", "A!"),  # a variable's value is expanded too
        ("${${name}}", "0123456789"),  # and its name
        ("${long:3}", "3456789"),
        ("${long:-3}", "789"),
        ("${long:2:3}", "234"),
        ("${long[0]}", "0123456789"),
        ("${system(touch /tmp/x)}|${expr 1+1}", "|"),  # the simulator runs no API
        ("x=$\\'{a}", "x=${a}"),
        ("\\${a} \\\\${a}", "${a} \\A"),
        ("O'Brien 50% off $5 C:\\path", "O'Brien 50% off $5 C:\\path"),
        ("${a", "A"),
        ("$${x", ""),
    ],
)
def test_variables_offsets_and_escapes(text: str, result: str) -> None:
    assert expand(text, lookup) == result


def test_set_expands_its_value_twice_in_the_simulator_too() -> None:
    once = expand("x=$\\'{a}", lookup)
    assert expand(once.partition("=")[2], lookup) == "A"
