"""The values eslflow expressions compute with: their types in flow-language words, how
they read as text, the functions a flow may call and the operators, all pure.

Split from `expr.py`, which parses and compiles expressions into closures over these.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from runner.flow.errors import ExpressionError

MAX_TEXT: Final = 65536
"""Longest string an expression may build; beyond it evaluation fails instead of eating memory."""


class RawStr(str):
    """A string a flow marked trusted with `raw(...)`: exempt from the `${` injection check."""

    __slots__ = ()


def kind_of(value: object) -> str:
    """A value's type in flow-language words, with its article: `a string`, `an integer`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a list"


def to_text(value: object) -> str:
    """How a value reads when it is put into text: null is empty, booleans are true/false."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ExpressionError(f"{kind_of(value)} cannot be put into text; pick one item with [...]")


def _text_arg(fn: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise ExpressionError(f"{fn}() needs a string, got {kind_of(value)}")


def _checked(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"string longer than {MAX_TEXT} characters")
    return text


def _fn_lower(value: object) -> object:
    return _text_arg("lower", value).lower()


def _fn_upper(value: object) -> object:
    return _text_arg("upper", value).upper()


def _fn_strip(value: object) -> object:
    return _text_arg("strip", value).strip()


def _fn_len(value: object) -> object:
    if value is None:
        return 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value)
    raise ExpressionError(f"len() needs a string, mapping or list, got {kind_of(value)}")


def _fn_int(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            raise ExpressionError(f"int(): '{value}' is not a whole number") from None
    raise ExpressionError(f"int() needs a string or number, got {kind_of(value)}")


def _fn_str(value: object) -> object:
    return to_text(value)


def _fn_default(value: object, fallback: object) -> object:
    return fallback if value is None or value == "" else value


def _fn_raw(value: object) -> object:
    return RawStr(to_text(value))


def _fn_replace(value: object, old: object, new: object) -> object:
    text = _text_arg("replace", value)
    return _checked(text.replace(_text_arg("replace", old), _text_arg("replace", new)))


def _fn_startswith(value: object, prefix: object) -> object:
    return _text_arg("startswith", value).startswith(_text_arg("startswith", prefix))


def _fn_endswith(value: object, suffix: object) -> object:
    return _text_arg("endswith", value).endswith(_text_arg("endswith", suffix))


FUNCTIONS: Final[dict[str, tuple[int, Callable[..., object]]]] = {
    "default": (2, _fn_default),
    "endswith": (2, _fn_endswith),
    "int": (1, _fn_int),
    "len": (1, _fn_len),
    "lower": (1, _fn_lower),
    "raw": (1, _fn_raw),
    "replace": (3, _fn_replace),
    "startswith": (2, _fn_startswith),
    "str": (1, _fn_str),
    "strip": (1, _fn_strip),
    "upper": (1, _fn_upper),
}
"""The only callables: name -> (number of arguments, function). All are pure."""


def compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("in", "not in"):
        if isinstance(right, str):
            if not isinstance(left, str):
                raise ExpressionError(f"'{op}' a string needs a string, got {kind_of(left)}")
            found = left in right
        elif isinstance(right, Mapping | list | tuple):
            found = left in right
        elif right is None:
            found = False
        else:
            raise ExpressionError(f"'{op}' needs a string, list or mapping on its right")
        return found if op == "in" else not found
    numbers = is_number(left) and is_number(right)
    strings = isinstance(left, str) and isinstance(right, str)
    if not (numbers or strings):
        raise ExpressionError(f"cannot compare {kind_of(left)} with {kind_of(right)} using '{op}'")
    return bool(ORDER[op](left, right))


ORDER: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

ARITHMETIC: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def binop(op: str, left: object, right: object) -> object:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _checked(left + right)
    if not (is_number(left) and is_number(right)):
        raise ExpressionError(
            f"cannot use '{op}' on {kind_of(left)} and {kind_of(right)}"
            + ("; use str() or int() to convert" if op == "+" else "")
        )
    try:
        result = ARITHMETIC[op](left, right)
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None
    if isinstance(result, int) and result.bit_length() > 256:
        raise ExpressionError("number too large")
    return result
