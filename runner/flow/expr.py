"""eslflow's own expressions: the text inside `${{ ... }}`, parsed once at load, run safely.

The syntax is a small subset of Python's expression grammar, read with `ast.parse` and
compiled into closures over a whitelist of node types; nothing reaches Python's `eval`,
no attribute of any Python object is ever read (`a.b` means the key `b` of mapping `a`),
and only the pure functions in `FUNCTIONS` (`exprvalues.py`, with the operators and
value types) can be called.

Names: `event` (current event headers), `trigger` (the triggering event's headers),
`vars` (flow variables and saved results), `uuid` (the channel uuid), `captures`
(`captures[1]` is `$1`). Literals: strings, numbers, True/False/None, lists.
Operators: `== != < <= > >= in not in and or not + - * / // %`, `x if c else y`,
`m['key']`, `m.key`, `s[0]`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from runner.flow.context import RenderContext
from runner.flow.errors import ExpressionError, did_you_mean
from runner.flow.exprvalues import ARITHMETIC, FUNCTIONS, binop, compare, is_number
from runner.flow.exprvalues import MAX_TEXT as MAX_TEXT
from runner.flow.exprvalues import RawStr as RawStr
from runner.flow.exprvalues import kind_of as kind_of
from runner.flow.exprvalues import to_text as to_text
from runner.flow.headers import header

Evaluator = Callable[[RenderContext], object]

MAX_EXPRESSION: Final = 2000
"""Longest expression, in characters: Python's parser fails with MemoryError on deep
nesting in long text (`not` x 20,000), so the text is bounded before it is parsed."""

MAX_EXPRESSION_DEPTH: Final = 50
"""Levels of nesting an expression may have (`1+1+...` is one level per `+`)."""

NAMES: Final = ("event", "trigger", "vars", "uuid", "captures")


class ExprSyntaxError(ValueError):
    """An expression that cannot be compiled; `offset` is the 0-based index of the problem."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message)


class _Captures(Mapping[int, str]):
    """`captures[1]` is `$1`; a capture that did not take part reads as an empty string."""

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[str]) -> None:
        self._values = values

    def __getitem__(self, key: int) -> str:
        if isinstance(key, int) and 1 <= key <= len(self._values):
            return self._values[key - 1]
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, len(self._values) + 1))

    def __len__(self) -> int:
        return len(self._values)


def _name_event(ctx: RenderContext) -> object:
    return ctx.event


def _name_trigger(ctx: RenderContext) -> object:
    return ctx.trigger


def _name_vars(ctx: RenderContext) -> object:
    return ctx.vars


def _name_uuid(ctx: RenderContext) -> object:
    return ctx.uuid


def _name_captures(ctx: RenderContext) -> object:
    return _Captures(ctx.captures)


_NAME_EVALUATORS: Final[dict[str, Evaluator]] = {
    "event": _name_event,
    "trigger": _name_trigger,
    "vars": _name_vars,
    "uuid": _name_uuid,
    "captures": _name_captures,
}

_HEADER_MAPPINGS: Final = frozenset({"event", "trigger"})


def _lookup(container: object, key: object, header_lookup: bool) -> object:
    """`container[key]`: mappings give None for a missing key, sequences for a bad index."""
    if isinstance(container, Mapping):
        if header_lookup and isinstance(key, str):
            return header(container, key)
        try:
            return container[key]
        except (KeyError, TypeError):
            return None
    if isinstance(container, str | list | tuple):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExpressionError(f"{kind_of(container)} index must be an integer")
        try:
            return container[key]
        except IndexError:
            return None
    if container is None:
        return None
    raise ExpressionError(f"cannot index {kind_of(container)}")


_COMPARE_NAMES: Final[dict[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}

_BINOP_NAMES: Final[dict[type[ast.operator], str]] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}

_FORBIDDEN: Final[dict[type[ast.AST], str]] = {
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Dict: "mapping literals",
    ast.Set: "set literals",
    ast.Starred: "'*' unpacking",
    ast.NamedExpr: "':='",
    ast.JoinedStr: "f-strings",
    ast.Slice: "slices",
    ast.Await: "await",
    ast.Yield: "yield",
}


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: evaluate it with a `RenderContext`.

    `origin` says where its value comes from, for error messages (`event header X`,
    `variable job`, `capture $1`, or the expression text); `var_refs` and
    `capture_refs` list the variables and captures it reads with constant keys.
    """

    source: str
    origin: str
    var_refs: frozenset[str]
    capture_refs: frozenset[int]
    _run: Evaluator = field(repr=False, compare=False)
    reads: frozenset[tuple[object, ...]] = field(default=frozenset(), compare=False)
    """Every data path it reads, longest chains only: `('event', 'Caller-Caller-ID-Name')`,
    `('vars', 'entry', 'variable_pin')`; a bare `('event',)` means the whole mapping (or
    keys that are not constants). The engine keeps only the headers flows read."""

    def evaluate(self, ctx: RenderContext) -> object:
        """The expression's value; ExpressionError (naming the expression) when it fails."""
        try:
            return self._run(ctx)
        except ExpressionError as exc:
            raise ExpressionError(f"expression `{self.source}`: {exc}") from None
        except RecursionError:
            raise ExpressionError(f"expression `{self.source}`: nested too deeply") from None


class _Compiler:
    """Turns a parsed expression into closures, refusing every construct not whitelisted."""

    def __init__(self, parsed: str, lead: int) -> None:
        self.parsed = parsed  # "(" + the expression + ")"
        self.lead = lead  # index in the user's text where the expression starts
        self.line_starts = [0]
        for index, char in enumerate(parsed):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.var_refs: set[str] = set()
        self.capture_refs: set[int] = set()
        self.sources: list[str] = []
        self.reads: set[tuple[object, ...]] = set()
        self._chained = False  # compiling the container of a subscript or attribute

    def offset(self, node: ast.AST) -> int:
        """0-based index into the user's text of `node`."""
        return self.index(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def index(self, line: int, col: int) -> int:
        """0-based index into the user's text of ast's (line, column in UTF-8 bytes)."""
        start = self.line_starts[line - 1]
        line_text = self.parsed[start:].split("\n", 1)[0]
        chars = len(line_text.encode()[:col].decode(errors="ignore"))
        return max(0, self.lead + start + chars - 1)

    def fail(self, message: str, node: ast.AST) -> ExprSyntaxError:
        return ExprSyntaxError(message, self.offset(node))

    def compile(self, node: ast.expr) -> Evaluator:
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            what = _FORBIDDEN.get(type(node), f"'{type(node).__name__}'")
            raise self.fail(f"{what} not allowed in expressions", node)
        result: Evaluator = handler(node)
        return result

    def _Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise self.fail(f"literal {value!r} not allowed in expressions", node)
        return lambda ctx: value

    def _Name(self, node: ast.Name) -> Evaluator:
        if node.id in _NAME_EVALUATORS:
            if node.id == "uuid":
                self.sources.append("channel uuid")
            if not self._chained:
                self.reads.add((node.id,))
            return _NAME_EVALUATORS[node.id]
        if node.id in FUNCTIONS:
            raise self.fail(f"function '{node.id}' must be called: {node.id}(...)", node)
        if node.id in ("true", "false", "null"):
            python = {"true": "True", "false": "False", "null": "None"}[node.id]
            raise self.fail(f"unknown name '{node.id}' — write {python}", node)
        raise self.fail(
            f"unknown name '{node.id}'{did_you_mean(node.id, NAMES)} (names: {', '.join(NAMES)})",
            node,
        )

    def _key_path(self, node: ast.expr) -> tuple[str, list[object]] | None:
        """`event['X']` -> ('event', ['X']): a name followed by constant keys, else None."""
        keys: list[object] = []
        while True:
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                keys.append(node.slice.value)
                node = node.value
            elif isinstance(node, ast.Attribute):
                keys.append(node.attr)
                node = node.value
            else:
                break
        if isinstance(node, ast.Name) and node.id in _NAME_EVALUATORS:
            return node.id, keys[::-1]
        return None

    def _note_path(self, node: ast.expr) -> None:
        path = self._key_path(node)
        if path is None:
            if not self._chained:
                # A chain with a computed key (`event[vars.h]`): its base is read whole.
                base: ast.expr = node
                while isinstance(base, ast.Subscript | ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in _NAME_EVALUATORS:
                    self.reads.add((base.id,))
            return
        name, keys = path
        if not self._chained:
            self.reads.add((name, *keys))
        if name == "vars" and keys and isinstance(keys[0], str):
            self.var_refs.add(keys[0])
        if name == "captures" and len(keys) == 1 and isinstance(keys[0], int):
            self.capture_refs.add(keys[0])
        self.sources.append(describe_path(name, keys))

    def _index(self, node: ast.Subscript | ast.Attribute, key: Evaluator) -> Evaluator:
        chained, self._chained = self._chained, True
        try:
            container = self.compile(node.value)
        finally:
            self._chained = chained
        path = self._key_path(node.value)
        header_lookup = (
            path is not None and path[0] in _HEADER_MAPPINGS and not path[1]
        ) or _is_saved_event(path)

        def run(ctx: RenderContext) -> object:
            return _lookup(container(ctx), key(ctx), header_lookup)

        return run

    def _Subscript(self, node: ast.Subscript) -> Evaluator:
        if isinstance(node.slice, ast.Slice):
            raise self.fail("slices not allowed in expressions", node.slice)
        self._note_path(node)
        chained, self._chained = self._chained, False
        try:
            key = self.compile(node.slice)
        finally:
            self._chained = chained
        return self._index(node, key)

    def _Attribute(self, node: ast.Attribute) -> Evaluator:
        if node.attr.startswith("_"):
            line = node.end_lineno or node.lineno
            col = (node.end_col_offset or 0) - len(node.attr.encode())
            raise ExprSyntaxError(
                f"'.{node.attr}': names starting with '_' are not allowed", self.index(line, col)
            )
        self._note_path(node)
        attr = node.attr
        return self._index(node, lambda ctx: attr)

    def _Compare(self, node: ast.Compare) -> Evaluator:
        left = self.compile(node.left)
        steps: list[tuple[str, Evaluator]] = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            name = _COMPARE_NAMES.get(type(op))
            if name is None:
                raise self.fail(f"'{type(op).__name__}' comparison not allowed", node)
            steps.append((name, self.compile(comparator)))

        def run(ctx: RenderContext) -> object:
            current = left(ctx)
            for name, right in steps:
                value = right(ctx)
                if not compare(name, current, value):
                    return False
                current = value
            return True

        return run

    def _BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):

            def run_and(ctx: RenderContext) -> object:
                value: object = True
                for part in parts:
                    value = part(ctx)
                    if not value:
                        return value
                return value

            return run_and

        def run_or(ctx: RenderContext) -> object:
            value: object = False
            for part in parts:
                value = part(ctx)
                if value:
                    return value
            return value

        return run_or

    def _UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ctx: not operand(ctx)
        if isinstance(node.op, ast.USub | ast.UAdd):
            negate = isinstance(node.op, ast.USub)

            def run(ctx: RenderContext) -> object:
                value = operand(ctx)
                if not is_number(value):
                    raise ExpressionError(f"cannot negate {kind_of(value)}")
                return ARITHMETIC["-"](0, value) if negate else value

            return run
        raise self.fail("operator '~' not allowed in expressions", node)

    def _BinOp(self, node: ast.BinOp) -> Evaluator:
        name = _BINOP_NAMES.get(type(node.op))
        if name is None:
            symbol = {
                ast.Pow: "**",
                ast.LShift: "<<",
                ast.RShift: ">>",
                ast.BitOr: "|",
                ast.BitAnd: "&",
                ast.BitXor: "^",
                ast.MatMult: "@",
            }.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"operator '{symbol}' not allowed in expressions", node)
        left = self.compile(node.left)
        right = self.compile(node.right)
        return lambda ctx: binop(name, left(ctx), right(ctx))

    def _IfExp(self, node: ast.IfExp) -> Evaluator:
        test = self.compile(node.test)
        body = self.compile(node.body)
        orelse = self.compile(node.orelse)
        return lambda ctx: body(ctx) if test(ctx) else orelse(ctx)

    def _List(self, node: ast.List | ast.Tuple) -> Evaluator:
        items = [self.compile(item) for item in node.elts]
        return lambda ctx: tuple(item(ctx) for item in items)

    _Tuple = _List

    def _Call(self, node: ast.Call) -> Evaluator:
        if isinstance(node.func, ast.Attribute):
            raise self.fail(
                f"method calls like '.{node.func.attr}()' are not supported; "
                f"functions: {', '.join(FUNCTIONS)}",
                node,
            )
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise self.fail(
                f"unknown function '{called}'{did_you_mean(called, FUNCTIONS)}"
                f" (functions: {', '.join(FUNCTIONS)})",
                node.func,
            )
        if node.keywords:
            raise self.fail(f"{node.func.id}() takes no keyword arguments", node)
        arity, function = FUNCTIONS[node.func.id]
        if len(node.args) != arity:
            plural = "" if arity == 1 else "s"
            raise self.fail(
                f"{node.func.id}() takes {arity} argument{plural}, got {len(node.args)}", node
            )
        args = [self.compile(arg) for arg in node.args]
        if len(args) == 1:
            (only,) = args
            return lambda ctx: function(only(ctx))
        return lambda ctx: function(*(arg(ctx) for arg in args))


def _is_saved_event(path: tuple[str, list[object]] | None) -> bool:
    """`vars.digit['DTMF-Digit']`: a saved event's headers are looked up like FreeSWITCH does."""
    return path is not None and path[0] == "vars" and len(path[1]) == 1


def describe_path(name: str, keys: Sequence[object]) -> str:
    """Human words for a data path: `event header X`, `variable job`, `capture $1`."""
    if name == "uuid":
        return "channel uuid"
    if name in _HEADER_MAPPINGS and len(keys) == 1 and isinstance(keys[0], str):
        return f"{name} header {keys[0]}"
    if name == "vars" and keys:
        rest = "".join(f"[{key!r}]" for key in keys[1:])
        return f"variable {keys[0]}{rest}"
    if name == "captures" and len(keys) == 1 and isinstance(keys[0], int):
        return f"capture ${keys[0]}"
    return name + "".join(f"[{key!r}]" for key in keys)


def _too_deep() -> str:
    return f"expression nested too deeply: more than {MAX_EXPRESSION_DEPTH} levels"


def _deeper_than(root: ast.expr, limit: int) -> ast.AST | None:
    """The first node deeper than `limit` levels (without recursing: the compiler and the
    evaluator recurse once per level, so depth is bounded before they run)."""
    todo: list[tuple[ast.AST, int]] = [(root, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > limit:
            return node
        children = [
            (child, depth + 1)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr)  # operators and contexts are not levels
        ]
        todo.extend(reversed(children))  # leftmost first: the error points at the earliest
    return None


def compile_expression(source: str) -> Expression:
    """Parse and compile `source`; ExprSyntaxError (with an offset into `source`) when invalid."""
    stripped = source.strip()
    if not stripped:
        raise ExprSyntaxError("empty expression", 0)
    lead = len(source) - len(source.lstrip())
    if len(stripped) > MAX_EXPRESSION:
        raise ExprSyntaxError(
            f"expression too long: {len(stripped):,} characters, at most {MAX_EXPRESSION:,}",
            lead + MAX_EXPRESSION,
        )
    # Parentheses let an expression span lines; offsets are mapped back past the "(".
    parsed = "(" + stripped + ")"
    try:
        tree = ast.parse(parsed, mode="eval")
    except (MemoryError, RecursionError):  # the parser's own stack (3.11: s_push, too deep)
        raise ExprSyntaxError(_too_deep(), lead) from None
    except SyntaxError as exc:
        line_starts = [0] + [i + 1 for i, char in enumerate(parsed) if char == "\n"]
        line = min(max(exc.lineno or 1, 1), len(line_starts))
        index = line_starts[line - 1] + max(0, (exc.offset or 1) - 1)
        offset = min(max(0, lead + index - 1), len(source))
        raise ExprSyntaxError(f"invalid expression: {exc.msg}", offset) from None
    compiler = _Compiler(parsed, lead)
    deep = _deeper_than(tree.body, MAX_EXPRESSION_DEPTH)
    if deep is not None:
        raise ExprSyntaxError(_too_deep(), compiler.offset(deep))
    run = compiler.compile(tree.body)
    sources = list(dict.fromkeys(compiler.sources))
    path = compiler._key_path(tree.body)
    if path is not None:
        origin = describe_path(*path)
    elif sources:
        origin = f"expression `{stripped}` (from {', '.join(sources)})"
    else:
        origin = f"expression `{stripped}`"
    return Expression(
        source=stripped,
        origin=origin,
        var_refs=frozenset(compiler.var_refs),
        capture_refs=frozenset(compiler.capture_refs),
        _run=run,
        reads=frozenset(compiler.reads),
    )
